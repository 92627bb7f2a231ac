// gemm.h - the linear layers' matrix products through cuBLASLt.
//
// out[m, n] = in[m, k] . w[n, k]^T (+ bias[n]), row-major, fp32 accumulation, inputs bf16 or
// fp16 (the compiled dtype), output in the same dtype or fp32 (logits). The algorithm for each
// distinct problem is chosen once (cuBLASLt heuristics) and cached, so a call inside CUDA-graph
// capture only enqueues the matmul (choose algorithms by running each shape once before capture).
// One runner serves one stream at a time: its single workspace is shared by every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <cuda_runtime.h>

#include "runtime/program.h"

namespace llc {

class GemmRunner {
 public:
  explicit GemmRunner(size_t workspace_bytes = size_t(32) << 20);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // out: [m][ldo] of out_type; in: [m][ldi] of in_type; w: [n][k] of in_type (contiguous);
  // bias: [n] of in_type or nullptr. m may be any value >= 1 (the token count of a step).
  void linear(void* out, int ldo, DType out_type, const void* in, int ldi, const void* w,
              const void* bias, DType in_type, int m, int n, int k, cudaStream_t stream);

  // A bias is added by cuBLASLt's BIAS epilogue (bias in in_type) where cuBLASLt offers it for the
  // problem, else by a second, rank-1 GEMM: out += ones[m] x bias[n] (beta = 1). Tests turn the
  // epilogue off to exercise that fallback. The fallback's ones vector grows only outside graph
  // capture: run each biased shape once before capturing it (as for algorithm choice).
  void set_bias_epilogue_enabled(bool enabled);
  // For tests and reports: problems planned so far, and how the last biased call added its bias.
  size_t cached_plans() const;
  bool last_bias_used_epilogue() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llc
