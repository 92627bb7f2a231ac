// kernel_limits.h - the shapes the projection kernels accept, in one place for the three that
// depend on them: the kernels' static_asserts (gemv.cuh, gemv_prefill.cuh, prefill_wgmma.cuh),
// llc-select-linear-kernel, which picks a kernel for each llama.linear, and the llama.linear
// verifier, which checks a choice. Plain C++ (no CUDA): the compiler includes it too.
#pragma once

namespace kernel_limits {
// gemv.cuh and gemv_prefill.cuh: K in units of 32 (4 lanes x 8 elements), at most 64 rows a step.
constexpr int kGemvKMultiple = 32;
constexpr int kGemvMaxRows = 64;
// prefill_wgmma.cuh: K in stages of 64 (one 128-byte swizzled row), at most 128 rows a step (the
// widest wgmma N it instantiates).
constexpr int kWgmmaKMultiple = 64;
constexpr int kWgmmaMaxRows = 128;
}  // namespace kernel_limits
