// gemv_variants.cu - times design variants of the tensor-core decode GEMV against the copy
// bandwidth, to pick the shape of templates/kernels/gemv.cuh (a benchmark: prints numbers,
// asserts nothing; correctness of the chosen design is test/gpu/test_gemv.cu's job).
//
//   nvcc -arch=sm_90 -O3 -std=c++17 -I. bench/gemv_variants.cu -o gemv_variants && ./gemv_variants
//
// Every variant computes out[m, n] = sum_k x[m, k] w[n, k] with gemv.cuh's fragment trick (a lane's
// 16-byte chunk of weight rows g and g+8 and of x row g are its mma registers as loaded). Knobs:
//   WARPS     warps per block, splitting K (interleaved units of 32 * J k);
//   J         16-byte chunks per lane per row and unit (bytes in flight per lane: 2 * 16 * J);
//   PREFETCH  load the next unit's weights before the current unit's mma (register double buffer);
//   PERSIST   a grid that fills the GPU once and strides over 16-row tiles, instead of one block per
//             tile.
// (The CUDA-core GEMV of the first design was swept by an earlier version of this file; its
// results are in docs/performance.md.)
#include <algorithm>
#include <cstdio>
#include <vector>

#include "templates/kernels/common.cuh"
#include "templates/kernels/convert.cuh"
#include "templates/kernels/mma.cuh"
#include "test/gpu/test_common.h"  // median_ms, measure_copy_gbps

template <int J>
__device__ __forceinline__ void load_unit(x128 (&lo)[J], x128 (&hi)[J], const floatX* w_lo, const floatX* w_hi,
                                          int unit) {
#pragma unroll
  for (int j = 0; j < J; ++j) {
    lo[j] = load128cs(w_lo + (size_t)unit * 32 * J + j * 32);
    hi[j] = load128cs(w_hi + (size_t)unit * 32 * J + j * 32);
  }
}

template <int J>
__device__ __forceinline__ void mma_unit(float (&acc)[4], const x128 (&lo)[J], const x128 (&hi)[J],
                                         const floatX* x_row, int unit) {
  x128 xv[J];
#pragma unroll
  for (int j = 0; j < J; ++j) xv[j] = load128(x_row + (size_t)unit * 32 * J + j * 32);
#pragma unroll
  for (int j = 0; j < J; ++j) {
    const uint32_t* l = reinterpret_cast<const uint32_t*>(&lo[j]);
    const uint32_t* h = reinterpret_cast<const uint32_t*>(&hi[j]);
    const uint32_t* b = reinterpret_cast<const uint32_t*>(&xv[j]);
    const uint32_t a0[4] = {l[0], h[0], l[1], h[1]}, a1[4] = {l[2], h[2], l[3], h[3]};
    mma_16816(acc, a0, b[0], b[1]);
    mma_16816(acc, a1, b[2], b[3]);
  }
}

template <int K, int WARPS, int J, bool PREFETCH>
__global__ void __launch_bounds__(WARPS * 32)
    variant_kernel(floatX* __restrict__ out, const floatX* __restrict__ x, const floatX* __restrict__ w,
                   int n_rows, int N) {
  constexpr int UNITS = K / (32 * J);
  __shared__ float partial[WARPS][4][32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const floatX* x_row = x + (size_t)min(g, n_rows - 1) * K + t * 8;
  for (int tile = blockIdx.x; tile * 16 < N; tile += gridDim.x) {
    const int n0 = tile * 16;
    const floatX* w_lo = w + (size_t)min(n0 + g, N - 1) * K + t * 8;
    const floatX* w_hi = w + (size_t)min(n0 + g + 8, N - 1) * K + t * 8;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    x128 lo[J], hi[J];
    if constexpr (PREFETCH) {
      if (warp < UNITS) load_unit<J>(lo, hi, w_lo, w_hi, warp);
#pragma unroll 1
      for (int unit = warp; unit < UNITS; unit += WARPS) {
        x128 nlo[J], nhi[J];
        if (unit + WARPS < UNITS) load_unit<J>(nlo, nhi, w_lo, w_hi, unit + WARPS);
        mma_unit<J>(acc, lo, hi, x_row, unit);
#pragma unroll
        for (int j = 0; j < J; ++j) {
          lo[j] = nlo[j];
          hi[j] = nhi[j];
        }
      }
    } else {
#pragma unroll 1
      for (int unit = warp; unit < UNITS; unit += WARPS) {
        load_unit<J>(lo, hi, w_lo, w_hi, unit);
        mma_unit<J>(acc, lo, hi, x_row, unit);
      }
    }
#pragma unroll
    for (int c = 0; c < 4; ++c) partial[warp][c][lane] = acc[c];
    __syncthreads();
    for (int i = threadIdx.x; i < 128; i += WARPS * 32) {
      const int r = i % 16, col = i / 16, n = n0 + r;
      float total = 0.0f;
      for (int wp = 0; wp < WARPS; ++wp) total += partial[wp][(r / 8) * 2 + col % 2][(r % 8) * 4 + col / 2];
      if (col < n_rows && n < N) out[(size_t)col * N + n] = from_float<floatX>(total);
    }
    __syncthreads();  // partial is reused by the next tile
  }
}

double g_copy = 0;

template <int K, int WARPS, int J, bool PREFETCH>
void run(const char* shape, int N, int rows, bool persist) {
  const size_t bytes = (size_t)N * K * 2;
  const int copies = (int)std::max<size_t>(2, (512u << 20) / bytes + 1);  // defeat the 60 MB L2
  std::vector<XBuf> ws;
  for (int i = 0; i < copies; ++i) {
    ws.emplace_back((size_t)N * K);
    fill_random_forward(ws.back().ptr, (int64_t)N * K, 7 + i, 0.0f, 0.05f, 0);
  }
  XBuf x((size_t)8 * K), out((size_t)8 * N);
  fill_random_forward(x.ptr, (int64_t)x.n, 3, 0.0f, 1.0f, 0);
  auto kernel = variant_kernel<K, WARPS, J, PREFETCH>;
  int per_sm = 0, sms = 0;
  cudaCheck(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, WARPS * 32, 0));
  cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int tiles = CEIL_DIV(N, 16);
  const int grid = persist ? std::min(tiles, sms * per_sm) : tiles;
  // Ten back-to-back launches per timed call, as in a decode step (a lone launch between two
  // events also times the event and launch latency, which is most of a 10 us kernel's gap).
  constexpr int kBurst = 10;
  int call = 0;
  const double ms = median_ms([&] {
    for (int i = 0; i < kBurst; ++i)
      kernel<<<grid, WARPS * 32, 0, 0>>>(out.ptr, x.ptr, ws[call++ % copies].ptr, rows, N);
  }) / kBurst;
  const double gbps = bytes / (ms * 1e-3) / 1e9;
  std::printf("%-8s N%-6d K%-5d rows%d W%d J%d %-8s %-7s grid %5d (%d/SM): %7.4f ms %5.0f GB/s %.2f of copy\n",
              shape, N, K, rows, WARPS, J, PREFETCH ? "prefetch" : "plain", persist ? "persist" : "tiles",
              grid, per_sm, ms, gbps, gbps / g_copy);
}

template <int K>
void sweep(const char* shape, int N) {
  for (int rows : {1, 4}) {
    run<K, 8, 4, false>(shape, N, rows, false);  // templates/kernels/gemv.cuh as of this file
    run<K, 8, 4, true>(shape, N, rows, false);
    run<K, 8, 4, true>(shape, N, rows, true);
    run<K, 4, 4, true>(shape, N, rows, false);
    run<K, 4, 8, false>(shape, N, rows, false);
    run<K, 4, 8, true>(shape, N, rows, true);
    run<K, 16, 2, true>(shape, N, rows, false);
  }
}

int main() {
  g_copy = measure_copy_gbps();
  std::printf("copy bandwidth (read + write): %.0f GB/s\n", g_copy);
  sweep<4096>("qkv_8b", 6144);
  sweep<4096>("o_8b", 4096);
  sweep<4096>("gateup8b", 28672);
  sweep<14336>("down_8b", 4096);
  sweep<4096>("lmhead8b", 128256);
  sweep<2048>("qkv_1b", 3072);
  sweep<8192>("down_1b", 2048);
  return 0;
}
