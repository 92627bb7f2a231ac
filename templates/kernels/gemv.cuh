/*
Decode GEMV: the linear layers of a decode step, where the batch is a handful of rows and the
step's time is the time to stream the weights once from HBM.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= MAX_ROWS, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous; bias: (N) floatX or null;
out: (n_rows, ld_out) of OutT (floatX for activations, float for logits). fp32 accumulation.

Thread mapping: a block of 4 warps; each warp owns ROWS_PER_WARP = 2 consecutive weight rows and
walks K in 16-byte chunks, lane l taking chunks l, l + 32, l + 64, ... (coalesced 512-byte warp
reads of each weight row, streamed past L1, several loads in flight per lane). Each lane keeps
MAX_ROWS x ROWS_PER_WARP fp32 partial sums; x chunks are re-read per row pair from L1/L2 (x is
n_rows x K, tiny next to w). A fixed xor butterfly then reduces the 32 lanes.

Batch invariance: the sequence of floating-point operations that produces out[m, n] depends only
on K and the data of row m, never on n_rows or on m's position in the batch, so a sequence decodes
to bit-identical logits whether it runs alone or in a batch of any size (the runtime's batch = alone
guarantee rests on this; cuBLASLt picks different algorithms per batch size and breaks it).
*/
#pragma once

#include "templates/kernels/common.cuh"

namespace gemv {
constexpr int WARPS = 4;          // warps per block
constexpr int ROWS_PER_WARP = 2;  // weight rows per warp (x chunks are reused across them)
constexpr int UNROLL = 4;         // K chunks per lane in flight
}  // namespace gemv

template <typename T> __device__ __forceinline__ void store_out(T* p, float v) { *p = from_float<T>(v); }

template <int K, int MAX_ROWS, typename OutT>
__global__ void __launch_bounds__(gemv::WARPS * 32)
    gemv_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N) {
  using namespace gemv;
  constexpr int CHUNKS = K / 8;                 // 16-byte chunks per weight row
  constexpr int ITERS = CEIL_DIV(CHUNKS, 32);   // chunks per lane
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n0 = (blockIdx.x * WARPS + warp) * ROWS_PER_WARP;
  if (n0 >= N) return;

  float acc[ROWS_PER_WARP][MAX_ROWS];
#pragma unroll
  for (int r = 0; r < ROWS_PER_WARP; ++r)
#pragma unroll
    for (int m = 0; m < MAX_ROWS; ++m) acc[r][m] = 0.0f;

#pragma unroll UNROLL
  for (int i = 0; i < ITERS; ++i) {
    const int c = lane + 32 * i;
    if (CHUNKS % 32 != 0 && c >= CHUNKS) break;
    float wf[ROWS_PER_WARP][8];
#pragma unroll
    for (int r = 0; r < ROWS_PER_WARP; ++r) {
      // A row past N (odd N) reads row N-1 again; its sums are never stored.
      const int n = min(n0 + r, N - 1);
      const x128 wv = load128cs(w + (size_t)n * K + (size_t)c * 8);
#pragma unroll
      for (int e = 0; e < 8; ++e) wf[r][e] = to_float(wv.v[e]);
    }
#pragma unroll
    for (int m = 0; m < MAX_ROWS; ++m) {
      if (m < n_rows) {
        const x128 xv = load128(x + (size_t)m * ld_x + (size_t)c * 8);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const float xf = to_float(xv.v[e]);
#pragma unroll
          for (int r = 0; r < ROWS_PER_WARP; ++r) acc[r][m] = fmaf(wf[r][e], xf, acc[r][m]);
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < ROWS_PER_WARP; ++r) {
    const int n = n0 + r;
    const float b = (bias != nullptr && n < N) ? to_float(bias[n]) : 0.0f;
#pragma unroll
    for (int m = 0; m < MAX_ROWS; ++m) {
      if (m < n_rows) {
        // Every lane ends the butterfly with the sum, but each in its own association order:
        // take lane 0's, so row m's result never depends on which lane stores it.
        const float total = __shfl_sync(0xffffffffu, warp_reduce_sum(acc[r][m]), 0);
        if (lane == m && n < N) store_out(out + (size_t)m * ld_out + n, total + b);
      }
    }
  }
}

template <int K, int MAX_ROWS, typename OutT>
void gemv_forward(OutT* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                  int ld_x, const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/,
                  int n_rows, int N, cudaStream_t stream) {
  static_assert(K % 8 == 0, "gemv_forward: K must be a multiple of 8");
  static_assert(MAX_ROWS >= 1 && MAX_ROWS <= 32, "gemv_forward: MAX_ROWS in [1, 32]");
  if (n_rows <= 0 || N <= 0) return;
  launch_check(n_rows <= MAX_ROWS, "gemv_forward", "n_rows must be <= MAX_ROWS", n_rows);
  launch_check(ld_x >= K, "gemv_forward", "ld_x must be >= K", ld_x);
  launch_check(ld_out >= N, "gemv_forward", "ld_out must be >= N", ld_out);
  check_aligned16(x, ld_x, "gemv_forward", "x");
  check_aligned16(w, K, "gemv_forward", "w");
  const int rows_per_block = gemv::WARPS * gemv::ROWS_PER_WARP;
  gemv_kernel<K, MAX_ROWS, OutT><<<CEIL_DIV(N, rows_per_block), gemv::WARPS * 32, 0, stream>>>(
      out, ld_out, x, ld_x, w, bias, n_rows, N);
  cudaCheck(cudaGetLastError());
}
