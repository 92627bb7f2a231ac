/*
RoPE of a token's Q and K heads with the KV store in the same kernel (llama.rope_kv_store, made by
llc-fuse-rope-kv-store): the roped K heads and the V row go straight into their pool slot.
*/
#pragma once

#include "templates/kernels/common.cuh"
#include "templates/kernels/rope.cuh"

/*
For token t (D = HEAD_DIM, ROW = KV_HEADS * D, slot = new_slots[t]):
  q[t, h*D ..]                 = rope(qk[t, h*D ..])               h < q_heads
  k_cache[slot, (h-q_heads)*D ..] = rope(qk[t, h*D ..])            q_heads <= h < q_heads + KV_HEADS
  v_cache[slot, :]             = v[t, 0 : ROW]
with rope exactly as rope_kernel (rope_rotate_chunk) and the copies exact, so the result equals
rope_forward then kv_store_forward bit for bit. A negative slot writes no K/V (kv_store's guard);
q is written regardless. qk, v: rows at strides ld_qk, ld_v; q: rows at stride ld_q; caches:
[kv_slots][KV_HEADS][HEAD_DIM] of one layer.
Thread mapping: one thread per (t, head, group of 8 rotation pairs) -- it loads and writes both
16-byte halves -- or per 16-byte chunk of the V row; grid-stride over all of them.
*/
template <int HEAD_DIM, int KV_HEADS>
__global__ void rope_kv_store_kernel(floatX* __restrict__ q, int ld_q, const floatX* __restrict__ qk, int ld_qk,
                                     const floatX* __restrict__ v, int ld_v,
                                     const int32_t* __restrict__ positions, RopeTable<HEAD_DIM> table,
                                     floatX* __restrict__ k_cache, floatX* __restrict__ v_cache,
                                     const int32_t* __restrict__ new_slots, int n_tokens, int q_heads) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int HALF = HEAD_DIM / 2;
  constexpr int GROUPS = HALF / 8;                 // rotation items per head
  constexpr int ROW = KV_HEADS * HEAD_DIM;
  constexpr int V_ITEMS = ROW / 8;                  // 16-byte chunks of a V row
  const int rope_items = (q_heads + KV_HEADS) * GROUPS;
  const int per_token = rope_items + V_ITEMS;
  const size_t n_items = (size_t)n_tokens * per_token;
  for (size_t item = (size_t)blockIdx.x * blockDim.x + threadIdx.x; item < n_items;
       item += (size_t)gridDim.x * blockDim.x) {
    const int t = (int)(item / per_token), r = (int)(item % per_token);
    const int slot = new_slots[t];
    if (r >= rope_items) {  // V chunk
      if (slot < 0) continue;
      const int c = r - rope_items;
      store128(v_cache + (size_t)slot * ROW + c * 8, load128(v + (size_t)t * ld_v + c * 8));
      continue;
    }
    const int h = r / GROUPS, i0 = (r % GROUPS) * 8;
    const floatX* src = qk + (size_t)t * ld_qk + (size_t)h * HEAD_DIM + i0;
    x128 a = load128(src), b = load128(src + HALF);
    rope_rotate_chunk(a, b, positions[t], table, i0);
    floatX* dst;
    if (h < q_heads) {
      dst = q + (size_t)t * ld_q + (size_t)h * HEAD_DIM + i0;
    } else {
      if (slot < 0) continue;
      dst = k_cache + (size_t)slot * ROW + (size_t)(h - q_heads) * HEAD_DIM + i0;
    }
    store128(dst, a);
    store128(dst + HALF, b);
  }
}

template <int HEAD_DIM, int KV_HEADS>
void rope_kv_store_forward(floatX* q /*[n_tokens, ld_q]: q_heads heads*/, int ld_q,
                           const floatX* qk /*[n_tokens, ld_qk]: q_heads then KV_HEADS heads*/, int ld_qk,
                           const floatX* v /*[n_tokens, ld_v]*/, int ld_v, const int32_t* positions /*[n_tokens]*/,
                           RopeTable<HEAD_DIM> table, floatX* k_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                           floatX* v_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                           const int32_t* new_slots /*[n_tokens]*/, int n_tokens, int q_heads,
                           cudaStream_t stream) {
  static_assert(HEAD_DIM % 16 == 0, "rope_kv_store_forward: HEAD_DIM must be a multiple of 16");
  if (n_tokens <= 0) return;
  constexpr int ROW = KV_HEADS * HEAD_DIM;
  launch_check(q_heads > 0, "rope_kv_store_forward", "q_heads must be positive", q_heads);
  launch_check(ld_q >= q_heads * HEAD_DIM, "rope_kv_store_forward", "ld_q must be >= q_heads*HEAD_DIM", ld_q);
  launch_check(ld_qk >= q_heads * HEAD_DIM + ROW, "rope_kv_store_forward",
               "ld_qk must be >= (q_heads + KV_HEADS)*HEAD_DIM", ld_qk);
  launch_check(ld_v >= ROW, "rope_kv_store_forward", "ld_v must be >= KV_HEADS*HEAD_DIM", ld_v);
  check_aligned16(q, ld_q, "rope_kv_store_forward", "q");
  check_aligned16(qk, ld_qk, "rope_kv_store_forward", "qk");
  check_aligned16(v, ld_v, "rope_kv_store_forward", "v");
  check_aligned16(k_cache, ROW, "rope_kv_store_forward", "k_cache");
  check_aligned16(v_cache, ROW, "rope_kv_store_forward", "v_cache");
  const size_t n_items = (size_t)n_tokens * ((q_heads + KV_HEADS) * (HEAD_DIM / 16) + ROW / 8);
  const int threads = 256;
  const int blocks = grid_stride_blocks((int64_t)n_items, threads);
  launch_pdl(rope_kv_store_kernel<HEAD_DIM, KV_HEADS>, blocks, threads, 0, stream, q, ld_q, qk, ld_qk, v,
             ld_v, positions, table, k_cache, v_cache, new_slots, n_tokens, q_heads);
}
