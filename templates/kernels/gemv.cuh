/*
Decode GEMV: the linear layers of a decode step, where the batch is a handful of rows and the
step's time is the time to stream the weights once from HBM.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= MAX_ROWS, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous; bias: (N) floatX or null;
out: (n_rows, ld_out) of OutT (floatX for activations, float for logits). fp32 accumulation.

Thread mapping: a block of 4 warps; each warp owns ROWS_PER_WARP = 2 consecutive weight rows and
walks K in 16-byte chunks, lane l taking chunks l, l + 32, l + 64, ... (coalesced 512-byte warp
reads of each weight row, streamed past L1). K is walked in segments of 8 chunks per lane whose
16 weight loads are issued back to back, so 256 bytes per lane are in flight. Each lane keeps
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
constexpr int SEGMENT = 8;        // 16-byte weight chunks per lane loaded back to back per row

// One segment of N_CHUNKS chunks per lane: first every weight load of the segment (no branch in
// between, so they are all in flight at once), then the multiply-adds against x.
template <int N_CHUNKS, int K, int MAX_ROWS>
__device__ __forceinline__ void accumulate_segment(float (&acc)[ROWS_PER_WARP][MAX_ROWS],
                                                   const floatX* __restrict__ x, int ld_x,
                                                   const floatX* const (&wrow)[ROWS_PER_WARP],
                                                   int first_chunk, int lane, int n_rows) {
  x128 wv[ROWS_PER_WARP][N_CHUNKS];
#pragma unroll
  for (int s = 0; s < N_CHUNKS; ++s)
#pragma unroll
    for (int r = 0; r < ROWS_PER_WARP; ++r)
      wv[r][s] = load128cs(wrow[r] + (size_t)(first_chunk + s * 32 + lane) * 8);
#pragma unroll
  for (int s = 0; s < N_CHUNKS; ++s) {
    const int c = first_chunk + s * 32 + lane;
#pragma unroll
    for (int m = 0; m < MAX_ROWS; ++m) {
      if (m < n_rows) {
        const x128 xv = load128(x + (size_t)m * ld_x + (size_t)c * 8);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const float xf = to_float(xv.v[e]);
#pragma unroll
          for (int r = 0; r < ROWS_PER_WARP; ++r)
            acc[r][m] = fmaf(to_float(wv[r][s].v[e]), xf, acc[r][m]);
        }
      }
    }
  }
}
}  // namespace gemv

template <typename T> __device__ __forceinline__ void store_out(T* p, float v) { *p = from_float<T>(v); }

template <int K, int MAX_ROWS, typename OutT>
__global__ void __launch_bounds__(gemv::WARPS * 32)
    gemv_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N) {
  using namespace gemv;
  constexpr int CHUNKS_PER_LANE = K / 256;  // K / 8 chunks per row, over 32 lanes
  constexpr int FULL = CHUNKS_PER_LANE / SEGMENT, TAIL = CHUNKS_PER_LANE % SEGMENT;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n0 = (blockIdx.x * WARPS + warp) * ROWS_PER_WARP;
  if (n0 >= N) return;

  const floatX* wrow[ROWS_PER_WARP];
#pragma unroll
  for (int r = 0; r < ROWS_PER_WARP; ++r)  // a row past N (odd N) re-reads row N-1, never stored
    wrow[r] = w + (size_t)min(n0 + r, N - 1) * K;

  float acc[ROWS_PER_WARP][MAX_ROWS];
#pragma unroll
  for (int r = 0; r < ROWS_PER_WARP; ++r)
#pragma unroll
    for (int m = 0; m < MAX_ROWS; ++m) acc[r][m] = 0.0f;

#pragma unroll 1
  for (int seg = 0; seg < FULL; ++seg)
    accumulate_segment<SEGMENT, K, MAX_ROWS>(acc, x, ld_x, wrow, seg * SEGMENT * 32, lane, n_rows);
  if constexpr (TAIL > 0)
    accumulate_segment<TAIL, K, MAX_ROWS>(acc, x, ld_x, wrow, FULL * SEGMENT * 32, lane, n_rows);

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
  static_assert(K % 256 == 0, "gemv_forward: K must be a multiple of 256 (32 lanes x 8 elements)");
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
