// cuda_check.h - checking CUDA runtime calls on the host side of the runtime.
//
// LLC_CUDA(call) runs `call` and, unless it returned cudaSuccess, throws CudaError whose
// message names the call as written, the CUDA error name and string, and file:line, e.g.
//   cudaMalloc(&k, bytes) failed: cudaErrorMemoryAllocation (out of memory) at engine_setup.cpp:88
// program_main turns it into one `error: ...` line. Kernel templates use their own cudaCheck
// (templates/kernels/common.cuh), which exits instead: they never throw across device code.
#pragma once

#include <stdexcept>
#include <string>

#include <cuda_runtime.h>

namespace llc {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

inline void cuda_check(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so later calls do not report it again
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/') base = p + 1;
  throw CudaError(err, std::string(call) + " failed: " + cudaGetErrorName(err) + " (" +
                           cudaGetErrorString(err) + ") at " + base + ":" + std::to_string(line));
}

// True for the errors a machine without a usable GPU reports on its first CUDA call.
inline bool is_no_gpu_error(cudaError_t err) {
  return err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver;
}

}  // namespace llc

#define LLC_CUDA(call) ::llc::cuda_check((call), #call, __FILE__, __LINE__)
