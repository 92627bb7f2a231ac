/*
The simple, obviously-correct attention, selectable for debugging (and usable for decode: the
runtime writes seq_starts = 0..n for decode steps, max_q_len = 1). Same semantics as
flash_attention_prefill_forward: causal over each sequence's cached prefix plus its new tokens,
K/V through the slot table, GQA by index. Slow: it reads K twice and has no tiling.
*/
#pragma once

#include <cmath>

#include "templates/kernels/common.cuh"

/*
Block (i, h, s): query i of sequence s, head h, position p = kv_len - q_len + i, KV head
h / (N_HEADS / N_KV_HEADS), keys j = 0 .. min(p, kv_len - 1):
  score_j = scale * sum_d float(q[d]) * float(k_j[d])   (fp32, sequential over d)
  m = max_j score_j,   out[d] = sum_j exp(score_j - m) v_j[d] / sum_j exp(score_j - m)
Pass 1: thread t scores keys t, t+128, ... and the block reduces the max. Pass 2: keys in chunks
of 128, exp(score - m) staged in shared memory, thread d accumulates column d. fp32 throughout,
accurate expf; one rounding of the output to floatX. A query with no visible key writes zeros.
*/
template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS>
__global__ void __launch_bounds__(128)
attention_reference_kernel(floatX* __restrict__ out, int ld_out, const floatX* __restrict__ q, int ld_q,
                           const floatX* __restrict__ k_cache, const floatX* __restrict__ v_cache,
                           const int32_t* __restrict__ slot_table, int max_context,
                           const int32_t* __restrict__ seq_starts, const int32_t* __restrict__ seq_rows,
                           const int32_t* __restrict__ kv_lens, float scale) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int D = HEAD_DIM, THREADS = 128;
  constexpr int GROUP = N_HEADS / N_KV_HEADS;
  __shared__ float s_q[D];
  __shared__ float s_p[THREADS];
  const int i = blockIdx.x, h = blockIdx.y, s = blockIdx.z, tid = threadIdx.x;
  const int seq_start = seq_starts[s], q_len = seq_starts[s + 1] - seq_start;
  if (i >= q_len) return;
  const int kv_len = kv_lens[s];
  const int n_keys = min(kv_len - q_len + i, kv_len - 1) + 1;
  const int kvh = h / GROUP;
  const int32_t* slots = slot_table + (size_t)seq_rows[s] * max_context;
  floatX* dst = out + (size_t)(seq_start + i) * ld_out + (size_t)h * D;
  for (int d = tid; d < D; d += THREADS) s_q[d] = to_float(q[(size_t)(seq_start + i) * ld_q + (size_t)h * D + d]);
  __syncthreads();

  auto score = [&](int j) {
    const floatX* k = k_cache + ((size_t)slots[j] * N_KV_HEADS + kvh) * D;
    float acc = 0.0f;
    for (int d = 0; d < D; ++d) acc += s_q[d] * to_float(k[d]);
    return acc * scale;
  };

  float m = -INFINITY;
  for (int j = tid; j < n_keys; j += THREADS) m = fmaxf(m, score(j));
  m = block_reduce_max(m);

  float acc = 0.0f, l = 0.0f;  // acc: column d = tid (D <= THREADS)
  for (int j0 = 0; j0 < n_keys; j0 += THREADS) {
    const int j = j0 + tid;
    const float p = j < n_keys ? expf(score(j) - m) : 0.0f;
    l += p;
    s_p[tid] = p;
    __syncthreads();
    const int n = min(THREADS, n_keys - j0);
    if (tid < D) {
      for (int jj = 0; jj < n; ++jj)
        acc += s_p[jj] * to_float(v_cache[((size_t)slots[j0 + jj] * N_KV_HEADS + kvh) * D + tid]);
    }
    __syncthreads();
  }
  l = block_reduce_sum(l);
  if (tid < D) dst[tid] = from_float<floatX>(n_keys > 0 && l > 0.0f ? acc / l : 0.0f);
}

template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS>
void attention_reference_forward(floatX* out /*[n_tokens, ld_out]*/, int ld_out,
                                 const floatX* q /*[n_tokens, ld_q]*/, int ld_q,
                                 const floatX* k_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                                 const floatX* v_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                                 const int32_t* slot_table /*[rows][max_context]*/, int max_context,
                                 const int32_t* seq_starts /*[n_seqs + 1]*/, const int32_t* seq_rows /*[n_seqs]*/,
                                 const int32_t* kv_lens /*[n_seqs]*/, int n_seqs, int max_q_len, float scale,
                                 cudaStream_t stream) {
  static_assert(HEAD_DIM <= 128, "attention reference: HEAD_DIM must be <= 128");
  static_assert(N_HEADS % N_KV_HEADS == 0, "attention reference: N_HEADS % N_KV_HEADS != 0");
  if (n_seqs <= 0 || max_q_len <= 0) return;
  launch_check(n_seqs <= 65535, "attention_reference_forward", "n_seqs must be <= 65535", n_seqs);
  launch_pdl(attention_reference_kernel<HEAD_DIM, N_HEADS, N_KV_HEADS>, dim3(max_q_len, N_HEADS, n_seqs), 128, 0, stream,
             out, ld_out, q, ld_q, k_cache, v_cache, slot_table, max_context, seq_starts, seq_rows, kv_lens, scale);
}
