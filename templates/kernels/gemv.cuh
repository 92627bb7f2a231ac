/*
Decode GEMV: the linear layers of a decode step, where the batch is a handful of rows and the
step's time is the time to stream the weights once from HBM.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= MAX_ROWS, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous; bias: (N) floatX or null;
out: (n_rows, ld_out) of OutT (floatX for activations, float for logits). fp32 accumulation.

Thread mapping: blocks of 4 warps, as many as fill the GPU once, grid-striding over weight rows, one
row per warp at a time. A warp walks its row in 16-byte chunks, lane l taking chunks l, l + 32, ...
(coalesced 512-byte reads, streamed past L1), in segments of 8 chunks per lane whose weight loads
are issued back to back (128 bytes per lane in flight). Each lane keeps ROWS fp32 partial sums;
x chunks come from L1/L2 (x is n_rows x K, tiny next to w). A fixed xor butterfly then reduces the
32 lanes. The batch is rounded up to a power of two (ROWS, one instantiation each): the loops over
rows are fully unrolled and branch-free.

Batch invariance: the sequence of floating-point operations that produces out[m, n] depends only
on K and the data of row m, never on n_rows, ROWS or on m's position in the batch, so a sequence decodes
to bit-identical logits whether it runs alone or in a batch of any size (the runtime's batch = alone
guarantee rests on this; cuBLASLt picks different algorithms per batch size and breaks it).
*/
#pragma once

#include "templates/kernels/common.cuh"

namespace gemv {
constexpr int WARPS = 4;    // warps per block
constexpr int SEGMENT = 8;  // 16-byte weight chunks per lane loaded back to back

// One segment of N_CHUNKS chunks per lane: first every weight load of the segment (all in flight
// at once), then the multiply-adds against the ROWS x rows (unconditional loads: rows past the
// batch re-read its last row, so nothing branches and every load can be scheduled early).
template <int N_CHUNKS, int ROWS>
__device__ __forceinline__ void accumulate_segment(float (&acc)[ROWS], const floatX* __restrict__ x,
                                                   int ld_x, const floatX* __restrict__ wrow,
                                                   int first_chunk, int lane, int n_rows) {
  x128 wv[N_CHUNKS];
#pragma unroll
  for (int s = 0; s < N_CHUNKS; ++s) wv[s] = load128cs(wrow + (size_t)(first_chunk + s * 32 + lane) * 8);
#pragma unroll
  for (int s = 0; s < N_CHUNKS; ++s) {
    const int c = first_chunk + s * 32 + lane;
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
      const x128 xv = load128(x + (size_t)min(m, n_rows - 1) * ld_x + (size_t)c * 8);
#pragma unroll
      for (int e = 0; e < 8; ++e) acc[m] = fmaf(to_float(wv[s].v[e]), to_float(xv.v[e]), acc[m]);
    }
  }
}
}  // namespace gemv

template <typename T> __device__ __forceinline__ void store_out(T* p, float v) { *p = from_float<T>(v); }

// ROWS: the batch rounded up to a power of two; rows n_rows..ROWS-1 are computed and dropped.
template <int K, int ROWS, typename OutT>
__global__ void __launch_bounds__(gemv::WARPS * 32)
    gemv_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N) {
  using namespace gemv;
  constexpr int CHUNKS_PER_LANE = K / 256;  // K / 8 chunks per row, over 32 lanes
  constexpr int FULL = CHUNKS_PER_LANE / SEGMENT, TAIL = CHUNKS_PER_LANE % SEGMENT;
  const int lane = threadIdx.x % 32;
  const int total_warps = gridDim.x * WARPS;
  // Grid-stride over weight rows, one row per warp at a time: rows are the unit of work, so
  // the last wave is at most one row per warp short.
  for (int n = blockIdx.x * WARPS + threadIdx.x / 32; n < N; n += total_warps) {
    const floatX* wrow = w + (size_t)n * K;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.0f;
#pragma unroll 1
    for (int seg = 0; seg < FULL; ++seg)
      accumulate_segment<SEGMENT, ROWS>(acc, x, ld_x, wrow, seg * SEGMENT * 32, lane, n_rows);
    if constexpr (TAIL > 0)
      accumulate_segment<TAIL, ROWS>(acc, x, ld_x, wrow, FULL * SEGMENT * 32, lane, n_rows);

    const float b = bias != nullptr ? to_float(bias[n]) : 0.0f;
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
      // Every lane ends the butterfly with the sum, but each in its own association order:
      // take lane 0's, so row m's result never depends on which lane stores it.
      const float total = __shfl_sync(0xffffffffu, warp_reduce_sum(acc[m]), 0);
      if (lane == m && m < n_rows) store_out(out + (size_t)m * ld_out + n, total + b);
    }
  }
}

template <int K, int ROWS, typename OutT>
void gemv_launch(OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w, const floatX* bias,
                 int n_rows, int N, cudaStream_t stream) {
  // Enough resident blocks to fill every multiprocessor once (the occupancy and SM count are
  // properties of the device and the kernel, the same in every translation unit).
  static int grid_limit = 0;
  if (grid_limit == 0) {
    int device = 0, sms = 0, per_sm = 0;
    cudaCheck(cudaGetDevice(&device));
    cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    cudaCheck(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, gemv_kernel<K, ROWS, OutT>,
                                                            gemv::WARPS * 32, 0));
    grid_limit = sms * (per_sm > 0 ? per_sm : 1);
  }
  const int blocks = CEIL_DIV(N, gemv::WARPS);
  gemv_kernel<K, ROWS, OutT><<<blocks < grid_limit ? blocks : grid_limit, gemv::WARPS * 32, 0, stream>>>(
      out, ld_out, x, ld_x, w, bias, n_rows, N);
  cudaCheck(cudaGetLastError());
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
  // One instantiation per power of two up to MAX_ROWS (the decode batch buckets).
  if (n_rows <= 1) gemv_launch<K, 1, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  else if (n_rows <= 2 || MAX_ROWS <= 2) gemv_launch<K, (MAX_ROWS < 2 ? MAX_ROWS : 2), OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  else if (n_rows <= 4 || MAX_ROWS <= 4) gemv_launch<K, (MAX_ROWS < 4 ? MAX_ROWS : 4), OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  else if (n_rows <= 8 || MAX_ROWS <= 8) gemv_launch<K, (MAX_ROWS < 8 ? MAX_ROWS : 8), OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  else if (n_rows <= 16 || MAX_ROWS <= 16) gemv_launch<K, (MAX_ROWS < 16 ? MAX_ROWS : 16), OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  else gemv_launch<K, MAX_ROWS, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
}
