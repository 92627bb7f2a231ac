// cuda_check.h - checking CUDA runtime calls on the host side of the runtime.
//
// LLC_CUDA(call) runs `call` and, unless it returned cudaSuccess, throws CudaError whose
// message names the call as written, the CUDA error name and string, and file:line, e.g.
//   cudaStreamSynchronize(stream.s) failed: cudaErrorIllegalAddress (an illegal memory access
//   was encountered) at engine_setup.cpp:69
// LLC_CUDA_LAUNCH(what) checks cudaGetLastError() right after a kernel launch the same way,
// naming `what` (e.g. "program.convert (weight dtype conversion kernel)") instead of the call.
// These are the runtime's one check of CUDA runtime calls (device_buffer.h's failed allocations
// throw CudaError too); program_main turns the exception into one `error: ...` line. Kernel
// templates use their own cudaCheck (templates/kernels/common.cuh), which exits instead: they
// never throw across device code.
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

// "cudaErrorMemoryAllocation (out of memory)": the error's name and description.
inline std::string cuda_error_text(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

inline void cuda_check(cudaError_t err, const char* call, const char* file, int line) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so later calls do not report it again
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/') base = p + 1;
  throw CudaError(err, std::string(call) + " failed: " + cuda_error_text(err) + " at " + base + ":" +
                           std::to_string(line));
}

// True for the errors a machine without a usable GPU reports on its first CUDA call.
inline bool is_no_gpu_error(cudaError_t err) {
  return err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver;
}

}  // namespace llc

#define LLC_CUDA(call) ::llc::cuda_check((call), #call, __FILE__, __LINE__)
#define LLC_CUDA_LAUNCH(what) ::llc::cuda_check(cudaGetLastError(), (what), __FILE__, __LINE__)
