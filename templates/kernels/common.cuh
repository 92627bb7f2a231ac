/*
Shared helpers for every kernel header in templates/kernels/ (llm.c style).
  floatX      the compiled activation/weight/KV dtype: __nv_bfloat16, or __half when LLC_DTYPE_FP16
              is defined before this header is included.
  cudaCheck   aborts with file:line and the CUDA error string.
  x128        16 bytes = 8 floatX, the unit of every vectorised load/store; load128/store128 need
              16-byte aligned addresses (check_aligned16 verifies pointers and row strides on the host).
  reductions  warp_reduce_{sum,max} (every lane gets the result), block_reduce_{sum,max} (every
              thread gets the result).
  grid_stride_blocks  the grid of a grid-stride elementwise kernel.
Invariant: everything here is a template, inline or a macro, so any number of translation units may
include it (one generated model.cu, several test files).
*/
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#ifdef LLC_DTYPE_FP16
typedef __half floatX;
#else
typedef __nv_bfloat16 floatX;
#endif

// ----------------------------------------------------------------------------------------------
// error checking

inline void cuda_check(cudaError_t error, const char* file, int line) {
  if (error != cudaSuccess) {
    fprintf(stderr, "[CUDA ERROR] at file %s:%d:\n%s\n", file, line, cudaGetErrorString(error));
    exit(EXIT_FAILURE);
  }
}
#define cudaCheck(err) (cuda_check((err), __FILE__, __LINE__))

// A launcher's precondition that the caller (generated code, runtime) got wrong: say which
// kernel, which argument and what was expected, then stop. Host side only.
inline void launch_check(bool ok, const char* kernel, const char* what, long long found) {
  if (!ok) {
    fprintf(stderr, "[LAUNCH ERROR] %s: %s (found %lld)\n", kernel, what, found);
    exit(EXIT_FAILURE);
  }
}

// x128 loads/stores need 16-byte aligned rows: the base pointer and the row stride (in elements).
inline void check_aligned16(const void* ptr, long long ld, const char* kernel, const char* name) {
  if ((reinterpret_cast<uintptr_t>(ptr) & 15) != 0) {
    fprintf(stderr, "[LAUNCH ERROR] %s: pointer '%s' = %p is not 16-byte aligned\n", kernel, name,
            ptr);
    exit(EXIT_FAILURE);
  }
  if (ld % 8 != 0) {
    fprintf(stderr, "[LAUNCH ERROR] %s: row stride of '%s' = %lld elements is not a multiple of 8\n",
            kernel, name, ld);
    exit(EXIT_FAILURE);
  }
}

// The run-time preconditions of every short-step projection launcher (gemv.cuh, gemv_prefill.cuh,
// prefill_wgmma.cuh): x (n_rows, ld_x), w (N, K), out (n_rows, ld_out). False when there is
// nothing to compute; a launch error naming `launcher` when the caller got an argument wrong.
inline bool projection_arguments_ok(const char* launcher, const void* x, int ld_x, const void* w, int K,
                                    int ld_out, int n_rows, int max_rows, int N) {
  if (n_rows <= 0 || N <= 0) return false;
  launch_check(n_rows <= max_rows, launcher, "n_rows must be <= MAX_ROWS", n_rows);
  launch_check(ld_x >= K, launcher, "ld_x must be >= K", ld_x);
  launch_check(ld_out >= N, launcher, "ld_out must be >= N", ld_out);
  check_aligned16(x, ld_x, launcher, "x");
  check_aligned16(w, K, launcher, "w");
  return true;
}

#define CEIL_DIV(M, N) (((M) + (N) - 1) / (N))

// Blocks for a grid-stride loop over n_items: one item per thread, capped at 32 blocks per SM of
// the H200 (132 SMs); at least one block.
inline int grid_stride_blocks(int64_t n_items, int threads) {
  const int64_t want = CEIL_DIV(n_items, (int64_t)threads), max_blocks = 132 * 32;
  return (int)(want < max_blocks ? (want > 0 ? want : 1) : max_blocks);
}

// ----------------------------------------------------------------------------------------------
// conversions (round to nearest even when narrowing)

__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(float x) { return x; }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }

// Two floats -> one 32-bit word of two floatX (lo = element with the lower index), as the
// tensor-core fragments and paired stores want them.
__device__ __forceinline__ uint32_t pack_floatX2(float lo, float hi) {
#ifdef LLC_DTYPE_FP16
  __half2 h = __floats2half2_rn(lo, hi);
#else
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
#endif
  return *reinterpret_cast<uint32_t*>(&h);
}

// ----------------------------------------------------------------------------------------------
// 16-byte vectors

struct alignas(16) x128 {
  floatX v[8];
};

__device__ __forceinline__ x128 load128(const floatX* p) {
  return *reinterpret_cast<const x128*>(p);
}
// streaming load (read once: don't keep it in L1)
__device__ __forceinline__ x128 load128cs(const floatX* p) {
  int4 r = __ldcs(reinterpret_cast<const int4*>(p));
  return *reinterpret_cast<x128*>(&r);
}
__device__ __forceinline__ void store128(floatX* p, const x128& x) {
  *reinterpret_cast<x128*>(p) = x;
}
__device__ __forceinline__ x128 zero128() {
  x128 r;
  *reinterpret_cast<int4*>(&r) = make_int4(0, 0, 0, 0);
  return r;
}

// ----------------------------------------------------------------------------------------------
// reductions

__device__ __forceinline__ float warp_reduce_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ float warp_reduce_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the whole block; every thread gets the result. blockDim.x must be a multiple of 32
// (at most 1024). Uses a 32-float shared scratch array; safe to call repeatedly (it syncs before
// reusing the scratch).
__device__ __forceinline__ float block_reduce_sum(float v) {
  __shared__ float scratch[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  v = warp_reduce_sum(v);
  __syncthreads();  // a previous call may still be reading scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < n_warps ? scratch[lane] : 0.0f;
  return warp_reduce_sum(v);
}

// Max over the whole block; every thread gets the result. Same contract as block_reduce_sum.
__device__ __forceinline__ float block_reduce_max(float v) {
  __shared__ float scratch[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  v = warp_reduce_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < n_warps ? scratch[lane] : -INFINITY;
  return warp_reduce_max(v);
}

// ----------------------------------------------------------------------------------------------
// programmatic dependent launch (PDL, sm_90)
//
// A step is a chain of short kernels; with PDL each kernel is launched while its predecessor is
// still running, so its launch, block scheduling and any prologue that reads only constant data
// (GEMV weights) overlap the predecessor's tail instead of following it. The contract, kept by
// every kernel in templates/kernels/:
//   1. pdl_wait() before the first access to memory that an earlier kernel of the stream writes
//      or reads (activations, metadata, the KV cache, outputs): it returns once the preceding
//      grid has completed and its writes are visible. Completion is transitive (the predecessor
//      itself waited), so every earlier kernel is done too.
//   2. pdl_launch_dependents() right after that wait: the next kernel may start launching.
//   3. launch_pdl(...) launches such a kernel with programmatic stream serialisation allowed;
//      a kernel that does not follow 1. must never be launched with it.
// Early reads: a kernel may read before its pdl_wait() what the kernels two or more launches back
// in the stream (and the copies before them) wrote: the kernel just before it passed its own
// wait before letting it start, so everything earlier had completed. This holds because every
// block of every kernel passes its pdl_wait() before it exits (a grid whose blocks all left
// early would complete without implying its predecessor's completion): keep it so. The decode step's
// metadata (lengths, rows, slots: copied before its first kernel) and the slot table (its first
// kernel) are read that way by flash-decoding, which is at least the step's fourth kernel.
// Without the attribute (or before sm_90) both calls are no-ops, so the kernels stay correct on
// any stream, captured into a CUDA graph or not. LLC_NO_PDL=1 in the environment launches
// without the attribute (to measure what PDL buys).
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Whether launches use PDL: the device supports it (compute capability 9.0 or newer) and
// LLC_NO_PDL is not set. Asked once per process.
inline bool pdl_enabled() {
  static int enabled = -1;
  if (enabled < 0) {
    int device = 0, major = 0;
    cudaCheck(cudaGetDevice(&device));
    cudaCheck(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    const char* off = getenv("LLC_NO_PDL");
    enabled = major >= 9 && !(off != nullptr && off[0] != '\0' && off[0] != '0') ? 1 : 0;
  }
  return enabled == 1;
}

// Lets `kernel` take `smem` bytes of dynamic shared memory (the attribute is needed past 48 KiB).
// Called on every launch (a host-side attribute, not a stream operation, so it is legal during
// graph capture): a once-only static flag would be shared by every translation unit that
// instantiates the launcher, while each unit without -rdc holds its own copy of the kernel.
template <typename Kernel>
inline void allow_dynamic_smem(Kernel kernel, size_t smem) {
  if (smem > 48 * 1024) cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
}

// kernel<<<grid, block, smem, stream>>>(args...) with programmatic stream serialisation allowed
// (see the contract above), checking the launch.
template <typename... KernelArgs, typename... Args>
inline void launch_pdl(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem,
                       cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = pdl_enabled() ? 1 : 0;
  cudaCheck(cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(args)...));
}
