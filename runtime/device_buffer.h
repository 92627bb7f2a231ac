// device_buffer.h - owning handles for the runtime's CUDA resources: device memory (DeviceBuffer,
// cudaMalloc), page-locked host memory (PinnedBuffer, cudaMallocHost) and ordering events
// (CudaEvent); and format_bytes(), which writes the sizes in their errors.
//
// A failed allocation throws CudaError (cuda_check.h) saying what was being allocated and how big:
//   cudaMalloc of 2.15 GB for the K cache failed: cudaErrorMemoryAllocation (out of memory)
// Invariant: a buffer frees exactly what it allocated, once (move-only); an empty buffer - also
// one asked for 0 bytes - holds nullptr and frees nothing. Destructors never throw (a failed
// free is ignored: during unwinding or at exit there is nothing better to do).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "runtime/cuda_check.h"

namespace llc {

// "1.50 GB", "12.00 MB" or "4096 bytes" (decimal units).
inline std::string format_bytes(size_t bytes) {
  char buf[64];
  double b = static_cast<double>(bytes);
  if (b >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  return buf;
}

namespace detail {

struct DeviceAllocator {
  static constexpr const char* kName = "cudaMalloc";
  static cudaError_t allocate(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
  static void deallocate(void* p) { cudaFree(p); }
};

struct PinnedAllocator {
  static constexpr const char* kName = "cudaMallocHost";
  static cudaError_t allocate(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }
  static void deallocate(void* p) { cudaFreeHost(p); }
};

// `bytes` of memory from Allocator; `what` (e.g. "the K cache") names it in a failure.
template <class Allocator>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  CudaBuffer(size_t bytes, const char* what) { allocate(bytes, what); }
  ~CudaBuffer() { reset(); }
  CudaBuffer(CudaBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  // Frees what the buffer held, then allocates `bytes` (nothing for 0).
  void allocate(size_t bytes, const char* what) {
    reset();
    if (bytes == 0) return;
    cudaError_t err = Allocator::allocate(&ptr_, bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();  // clear a non-sticky error so later calls do not report it again
      throw CudaError(err, std::string(Allocator::kName) + " of " + format_bytes(bytes) + " for " +
                               what + " failed: " + cuda_error_text(err));
    }
    bytes_ = bytes;
  }
  void reset() {
    if (ptr_) Allocator::deallocate(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  // Gives up ownership: the caller frees the pointer (cudaFree / cudaFreeHost).
  void* release() {
    bytes_ = 0;
    return std::exchange(ptr_, nullptr);
  }

  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace detail

// Device memory from cudaMalloc (256-byte aligned).
using DeviceBuffer = detail::CudaBuffer<detail::DeviceAllocator>;
// Page-locked host memory from cudaMallocHost (for asynchronous copies).
using PinnedBuffer = detail::CudaBuffer<detail::PinnedAllocator>;

// A CUDA event created with cudaEventDisableTiming (for ordering, not timing).
class CudaEvent {
 public:
  CudaEvent() { LLC_CUDA(cudaEventCreateWithFlags(&ev_, cudaEventDisableTiming)); }
  ~CudaEvent() {
    if (ev_) cudaEventDestroy(ev_);
  }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return ev_; }

 private:
  cudaEvent_t ev_ = nullptr;
};

}  // namespace llc
