/*
Writes the new tokens' K and V rows into one layer's token-granular KV pool.
Pool layout (one layer): [kv_slots][KV_HEADS][HEAD_DIM] floatX, for K and V alike.
*/
#pragma once

#include "templates/kernels/common.cuh"

/*
k_cache[new_slots[t], :, :] = k[t, 0 : KV_HEADS*HEAD_DIM], same for v.
k, v: (n_tokens) rows at strides ld_k, ld_v (elements; column ranges of a merged projection);
new_slots: (n_tokens) int32. A negative slot is skipped (guard; the runtime never sends one).
Thread mapping: one thread per 16-byte chunk of one row, K and V both. Exact copy.
*/
template <int KV_HEADS, int HEAD_DIM>
__global__ void kv_store_kernel(floatX* __restrict__ k_cache, floatX* __restrict__ v_cache,
                                const floatX* __restrict__ k, int ld_k, const floatX* __restrict__ v,
                                int ld_v, const int32_t* __restrict__ new_slots, int n_tokens) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int ROW = KV_HEADS * HEAD_DIM;
  constexpr int CHUNKS = ROW / 8;
  const size_t n_items = (size_t)n_tokens * CHUNKS;
  for (size_t item = (size_t)blockIdx.x * blockDim.x + threadIdx.x; item < n_items;
       item += (size_t)gridDim.x * blockDim.x) {
    const int t = (int)(item / CHUNKS), c = (int)(item % CHUNKS);
    const int slot = new_slots[t];
    if (slot < 0) continue;
    const size_t dst = (size_t)slot * ROW + (size_t)c * 8;
    store128(k_cache + dst, load128(k + (size_t)t * ld_k + c * 8));
    store128(v_cache + dst, load128(v + (size_t)t * ld_v + c * 8));
  }
}

template <int KV_HEADS, int HEAD_DIM>
void kv_store_forward(floatX* k_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                      floatX* v_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                      const floatX* k /*[n_tokens, ld_k]*/, int ld_k,
                      const floatX* v /*[n_tokens, ld_v]*/, int ld_v,
                      const int32_t* new_slots /*[n_tokens]*/, int n_tokens, cudaStream_t stream) {
  static_assert((KV_HEADS * HEAD_DIM) % 8 == 0, "kv_store_forward: KV_HEADS*HEAD_DIM % 8 != 0");
  if (n_tokens <= 0) return;
  launch_check(ld_k >= KV_HEADS * HEAD_DIM, "kv_store_forward", "ld_k must be >= KV_HEADS*HEAD_DIM", ld_k);
  launch_check(ld_v >= KV_HEADS * HEAD_DIM, "kv_store_forward", "ld_v must be >= KV_HEADS*HEAD_DIM", ld_v);
  check_aligned16(k_cache, KV_HEADS * HEAD_DIM, "kv_store_forward", "k_cache");
  check_aligned16(v_cache, KV_HEADS * HEAD_DIM, "kv_store_forward", "v_cache");
  check_aligned16(k, ld_k, "kv_store_forward", "k");
  check_aligned16(v, ld_v, "kv_store_forward", "v");
  const size_t n_items = (size_t)n_tokens * (KV_HEADS * HEAD_DIM / 8);
  const int threads = 256;
  const int blocks = grid_stride_blocks((int64_t)n_items, threads);
  launch_pdl(kv_store_kernel<KV_HEADS, HEAD_DIM>, blocks, threads, 0, stream, k_cache, v_cache, k, ld_k, v,
             ld_v, new_slots, n_tokens);
}
