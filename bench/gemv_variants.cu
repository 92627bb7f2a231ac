// gemv_variants.cu - times design variants of the decode GEMV against the copy bandwidth, to pick
// the shape of templates/kernels/gemv.cuh (a benchmark: prints numbers, asserts nothing).
//
//   nvcc -arch=sm_90 -O3 -std=c++17 -I. bench/gemv_variants.cu -o gemv_variants && ./gemv_variants
//
// Knobs: SEG (16-byte weight chunks per lane loaded back to back), WARPS per block, X_SMEM (stage
// the ROWS x K input in shared memory once per block instead of reading it through L1), and the
// grid (fill the GPU once and grid-stride, or one block per WARPS rows).
#include <algorithm>
#include <cstdio>
#include <vector>

#include "templates/kernels/common.cuh"
#include "templates/kernels/convert.cuh"
#include "test/gpu/test_common.h"  // median_ms

template <int K, int ROWS, int SEG, int WARPS, bool X_SMEM>
__global__ void __launch_bounds__(WARPS * 32)
    variant_kernel(floatX* __restrict__ out, const floatX* __restrict__ x, const floatX* __restrict__ w, int N) {
  extern __shared__ __align__(16) floatX xs[];
  const int lane = threadIdx.x % 32;
  const floatX* xin = x;
  if constexpr (X_SMEM) {
    for (int i = threadIdx.x; i < ROWS * K / 8; i += blockDim.x) store128(xs + i * 8, load128(x + i * 8));
    __syncthreads();
    xin = xs;
  }
  constexpr int CPL = K / 256;
  for (int n = blockIdx.x * WARPS + threadIdx.x / 32; n < N; n += gridDim.x * WARPS) {
    const floatX* wrow = w + (size_t)n * K;
    float acc[ROWS] = {};
#pragma unroll 1
    for (int seg = 0; seg < CPL / SEG; ++seg) {
      x128 wv[SEG];
#pragma unroll
      for (int s = 0; s < SEG; ++s) wv[s] = load128cs(wrow + (size_t)((seg * SEG + s) * 32 + lane) * 8);
#pragma unroll
      for (int s = 0; s < SEG; ++s) {
        const int c = (seg * SEG + s) * 32 + lane;
#pragma unroll
        for (int m = 0; m < ROWS; ++m) {
          const x128 xv = load128(xin + (size_t)m * K + (size_t)c * 8);
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[m] = fmaf(to_float(wv[s].v[e]), to_float(xv.v[e]), acc[m]);
        }
      }
    }
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
      const float t = __shfl_sync(0xffffffffu, warp_reduce_sum(acc[m]), 0);
      if (lane == m) out[(size_t)m * N + n] = from_float<floatX>(t);
    }
  }
}

double g_copy = 0;

template <int K, int ROWS, int SEG, int WARPS, bool X_SMEM>
void run(const char* shape, int N, bool fill_once) {
  const size_t bytes = (size_t)N * K * 2;
  const int copies = (int)std::max<size_t>(2, (600u << 20) / bytes + 1);
  std::vector<floatX*> ws(copies);
  for (auto& p : ws) {
    cudaCheck(cudaMalloc(&p, bytes));
    fill_random_forward(p, (int64_t)N * K, 1, 0.f, 0.05f, 0);
  }
  floatX *x, *out;
  cudaCheck(cudaMalloc(&x, (size_t)ROWS * K * 2));
  cudaCheck(cudaMalloc(&out, (size_t)ROWS * N * 2));
  fill_random_forward(x, (int64_t)ROWS * K, 2, 0.f, 1.f, 0);
  auto kernel = variant_kernel<K, ROWS, SEG, WARPS, X_SMEM>;
  const int smem = X_SMEM ? ROWS * K * 2 : 0;
  if (smem > 48 * 1024) cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  int per_sm = 0;
  cudaCheck(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, WARPS * 32, smem));
  const int blocks_all = CEIL_DIV(N, WARPS), limit = 132 * std::max(per_sm, 1);
  const int blocks = fill_once ? std::min(blocks_all, limit) : blocks_all;
  int call = 0;  // each call reads the next copy of the weight
  const double ms = median_ms([&] { kernel<<<blocks, WARPS * 32, smem>>>(out, x, ws[call++ % copies], N); });
  cudaCheck(cudaGetLastError());
  const double gbps = bytes / (ms * 1e-3) / 1e9;
  printf("%-10s N%-6d K%-5d rows%-2d SEG%-2d WARPS%d %s %s occ%d: %.4f ms %5.0f GB/s %.2f of copy\n", shape, N,
         K, ROWS, SEG, WARPS, X_SMEM ? "xsmem" : "xL1  ", fill_once ? "fill " : "plain", per_sm, ms, gbps,
         gbps / g_copy);
  for (auto p : ws) cudaFree(p);
  cudaFree(x);
  cudaFree(out);
}

template <int K, int ROWS>
void sweep(const char* shape, int N) {
  run<K, ROWS, 8, 4, false>(shape, N, true);
  run<K, ROWS, 8, 4, false>(shape, N, false);
  run<K, ROWS, 16, 4, false>(shape, N, true);
  run<K, ROWS, 4, 4, false>(shape, N, true);
  run<K, ROWS, 8, 8, false>(shape, N, true);
  run<K, ROWS, 8, 4, true>(shape, N, true);
  run<K, ROWS, 16, 8, true>(shape, N, true);
}

int main() {
  const size_t bytes = (size_t)1 << 31;
  char *src, *dst;
  cudaCheck(cudaMalloc(&src, bytes));
  cudaCheck(cudaMalloc(&dst, bytes));
  g_copy = 2.0 * bytes / (median_ms([&] { cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }) * 1e-3) / 1e9;
  printf("copy bandwidth %.0f GB/s\n", g_copy);
  cudaFree(src);
  cudaFree(dst);
  sweep<4096, 1>("gate_up", 28672);
  sweep<4096, 1>("qkv", 6144);
  sweep<14336, 1>("down", 4096);
  sweep<4096, 4>("gate_up", 28672);
  sweep<14336, 4>("down", 4096);
  return 0;
}
