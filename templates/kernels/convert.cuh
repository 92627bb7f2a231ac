/*
Weight conversion at load time and random weights for benchmarking.
  convert_forward:     dst (floatX) = src (bf16 / fp16 / fp32), round to nearest even. Widening to
                       fp32 first is exact, so every path has exactly one rounding.
  fill_random_forward: dst[i] = floatX(offset + scale * u(seed, i)), u uniform in [-1, 1) on a
                       2^-23 grid, a pure function of (seed, i) (a 64-bit hash), so the values do not
                       depend on the launch shape or on how a tensor is split into calls.
  scale_columns_forward: w[r][c] = floatX(float(w[r][c]) * float(scale[c])), in place: folds an
                       RMSNorm weight into the projection that follows it (WeightSpec::column_scale).
*/
#pragma once

#include "runtime/program.h"
#include "templates/kernels/common.cuh"

/*
dst[i] = floatX(float(src[i])) for i < n. SRC: __nv_bfloat16, __half or float. Grid-stride, one
element per thread per step (this runs once per weight at load time; bandwidth is not the goal).
*/
template <typename SRC>
__global__ void convert_kernel(floatX* __restrict__ dst, const SRC* __restrict__ src, int64_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    dst[i] = from_float<floatX>(to_float(src[i]));
  }
}

// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
__host__ __device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/*
dst[i] = floatX(offset + scale * u), u = (hash(seed, i) >> 40) * 2^-23 - 1 in [-1, 1).
hash(seed, i) = mix64(mix64(seed) + (i + 1) * golden) (distinct seeds give unrelated streams).
fp32 math, one rounding to floatX. Grid-stride over i.
*/
template <int UNUSED>
__global__ void fill_random_kernel(floatX* __restrict__ dst, int64_t n, uint64_t seed, float offset,
                                   float scale) {
  const uint64_t key = mix64(seed);
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const uint64_t h = mix64(key + ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ull);
    const float u = (float)(h >> 40) * (1.0f / 8388608.0f) - 1.0f;  // exact: 24-bit integer * 2^-23
    dst[i] = from_float<floatX>(offset + scale * u);
  }
}

/*
w[r][c] = floatX(float(w[r][c]) * float(scale[c])), in place. w: [rows][cols] floatX, row-major;
scale: [cols] floatX. fp32 product, one rounding to floatX. Grid-stride over the rows * cols
elements, one element per thread per step (runs once per weight at load time).
*/
template <int UNUSED>
__global__ void scale_columns_kernel(floatX* __restrict__ w, const floatX* __restrict__ scale, int64_t rows,
                                     int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    w[i] = from_float<floatX>(to_float(w[i]) * to_float(scale[i % cols]));
  }
}

inline void convert_forward(floatX* dst /*[n]*/, const void* src /*[n] of src_type*/,
                            llc::DType src_type, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const int threads = 256, blocks = grid_stride_blocks(n, threads);
  switch (src_type) {
    case llc::DType::bf16:
      convert_kernel<__nv_bfloat16><<<blocks, threads, 0, stream>>>(
          dst, static_cast<const __nv_bfloat16*>(src), n);
      break;
    case llc::DType::fp16:
      convert_kernel<__half><<<blocks, threads, 0, stream>>>(dst, static_cast<const __half*>(src), n);
      break;
    case llc::DType::fp32:
      convert_kernel<float><<<blocks, threads, 0, stream>>>(dst, static_cast<const float*>(src), n);
      break;
    default:
      launch_check(false, "convert_forward", "unknown source dtype", (long long)src_type);
  }
  cudaCheck(cudaGetLastError());
}

inline void fill_random_forward(floatX* dst /*[n]*/, int64_t n, uint64_t seed, float offset, float scale,
                                cudaStream_t stream) {
  if (n <= 0) return;
  const int threads = 256;
  fill_random_kernel<0><<<grid_stride_blocks(n, threads), threads, 0, stream>>>(dst, n, seed, offset, scale);
  cudaCheck(cudaGetLastError());
}

inline void scale_columns_forward(floatX* w /*[rows][cols]*/, const floatX* scale /*[cols]*/, int64_t rows,
                                  int64_t cols, cudaStream_t stream) {
  launch_check(rows >= 0, "scale_columns_forward", "rows must be >= 0", (long long)rows);
  launch_check(cols >= 0, "scale_columns_forward", "cols must be >= 0", (long long)cols);
  const int64_t n = rows * cols;
  if (n <= 0) return;
  const int threads = 256;
  scale_columns_kernel<0><<<grid_stride_blocks(n, threads), threads, 0, stream>>>(w, scale, rows, cols);
  cudaCheck(cudaGetLastError());
}
