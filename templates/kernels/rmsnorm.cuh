/*
RMSNorm and the fused residual add + RMSNorm, with Hugging Face's rounding order (LlamaRMSNorm):
  y      = floatX(float(s) * rsqrt(mean(float(s)^2) + eps))     normalised, cast to the input dtype
  normed = floatX(float(w) * float(y))                            then a floatX multiply by the weight
A null weight (llc-fold-norm-into-gemv: the consumer's weight carries w) gives normed = y.
For add_rmsnorm, s = floatX(float(x) + float(residual)) is the new residual stream (written to sum),
and the norm reads s after that rounding, exactly as the unfused model does.
*/
#pragma once

#include "templates/kernels/common.cuh"

// One block per row; the row stays in registers (PER_THREAD chunks of 8 per thread).
template <int HIDDEN>
struct RmsnormShape {
  static_assert(HIDDEN % 8 == 0, "rmsnorm: HIDDEN must be a multiple of 8");
  static constexpr int CHUNKS = HIDDEN / 8;
  static constexpr int THREADS = CHUNKS >= 256 ? 256 : (CHUNKS + 31) / 32 * 32;
  static constexpr int PER_THREAD = CEIL_DIV(CHUNKS, THREADS);
};

/*
Shared body. If ADD: s = floatX(x + residual) is stored to sum; else s = x.
normed[r, :] = floatX(w * floatX(s * rsqrt(sum(s^2) / HIDDEN + eps))).
x, residual, sum, normed: (n_rows, HIDDEN) floatX, rows contiguous; weight: (HIDDEN) floatX.
Thread mapping: block = row, thread j owns chunks j, j + THREADS, ... (16 bytes each).
Precision: sum of squares in fp32 (block tree reduction), rsqrtf, two floatX roundings as HF.
In-place (sum == x, or normed == x) is safe: a thread reads all its chunks before writing any.
*/
template <int HIDDEN, bool ADD>
__global__ void __launch_bounds__(RmsnormShape<HIDDEN>::THREADS)
rmsnorm_kernel(floatX* sum, floatX* normed, const floatX* x, const floatX* residual,
               const floatX* __restrict__ weight, float eps) {
  using S = RmsnormShape<HIDDEN>;
  // The norm weight is constant: its loads go out before the wait, overlapping the previous
  // kernel's tail instead of following the reduction.
  x128 w[S::PER_THREAD];
#pragma unroll
  for (int k = 0; k < S::PER_THREAD; ++k) {
    const int c = threadIdx.x + k * S::THREADS;
    if (c < S::CHUNKS && weight != nullptr) w[k] = load128(weight + c * 8);
  }
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  const size_t row = (size_t)blockIdx.x * HIDDEN;
  x128 s[S::PER_THREAD];
  float sumsq = 0.0f;
#pragma unroll
  for (int k = 0; k < S::PER_THREAD; ++k) {
    const int c = threadIdx.x + k * S::THREADS;
    if (c < S::CHUNKS) {
      s[k] = load128(x + row + c * 8);
      if (ADD) {
        const x128 r = load128(residual + row + c * 8);
#pragma unroll
        for (int e = 0; e < 8; ++e) s[k].v[e] = from_float<floatX>(to_float(s[k].v[e]) + to_float(r.v[e]));
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float f = to_float(s[k].v[e]);
        sumsq += f * f;
      }
    }
  }
  const float inv_rms = rsqrtf(block_reduce_sum(sumsq) / (float)HIDDEN + eps);
#pragma unroll
  for (int k = 0; k < S::PER_THREAD; ++k) {
    const int c = threadIdx.x + k * S::THREADS;
    if (c < S::CHUNKS) {
      x128 out;
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const floatX y = from_float<floatX>(to_float(s[k].v[e]) * inv_rms);
        out.v[e] = weight != nullptr ? from_float<floatX>(to_float(w[k].v[e]) * to_float(y)) : y;
      }
      if (ADD) store128(sum + row + c * 8, s[k]);
      store128(normed + row + c * 8, out);
    }
  }
}

template <int HIDDEN>
void rmsnorm_forward(floatX* out /*[n_rows, HIDDEN]*/, const floatX* x /*[n_rows, HIDDEN]*/,
                     const floatX* weight /*[HIDDEN] or null: 1*/, float eps, int n_rows, cudaStream_t stream) {
  if (n_rows <= 0) return;
  check_aligned16(out, HIDDEN, "rmsnorm_forward", "out");
  check_aligned16(x, HIDDEN, "rmsnorm_forward", "x");
  if (weight != nullptr) check_aligned16(weight, HIDDEN, "rmsnorm_forward", "weight");
  launch_pdl(rmsnorm_kernel<HIDDEN, false>, n_rows, RmsnormShape<HIDDEN>::THREADS, 0, stream,
             nullptr, out, x, nullptr, weight, eps);
}

template <int HIDDEN>
void add_rmsnorm_forward(floatX* sum /*[n_rows, HIDDEN]*/, floatX* normed /*[n_rows, HIDDEN]*/,
                         const floatX* x /*[n_rows, HIDDEN]*/, const floatX* residual /*[n_rows, HIDDEN]*/,
                         const floatX* weight /*[HIDDEN]*/, float eps, int n_rows, cudaStream_t stream) {
  if (n_rows <= 0) return;
  check_aligned16(sum, HIDDEN, "add_rmsnorm_forward", "sum");
  check_aligned16(normed, HIDDEN, "add_rmsnorm_forward", "normed");
  check_aligned16(x, HIDDEN, "add_rmsnorm_forward", "x");
  check_aligned16(residual, HIDDEN, "add_rmsnorm_forward", "residual");
  if (weight != nullptr) check_aligned16(weight, HIDDEN, "add_rmsnorm_forward", "weight");
  launch_pdl(rmsnorm_kernel<HIDDEN, true>, n_rows, RmsnormShape<HIDDEN>::THREADS, 0, stream,
             sum, normed, x, residual, weight, eps);
}
