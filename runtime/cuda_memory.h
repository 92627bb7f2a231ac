// cuda_memory.h - owning handles for the engine's device and pinned host allocations.
//
// DeviceMemory wraps cudaMalloc/cudaFree and PinnedMemory cudaMallocHost/cudaFreeHost; both are
// move-only, free on destruction, and say in their error what they were allocating and how big.
// Destructors never throw (a failed free at exit is ignored: the process is going away).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "runtime/cuda_check.h"

namespace llc {

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

class DeviceMemory {
 public:
  DeviceMemory() = default;
  DeviceMemory(size_t bytes, const char* what) { allocate(bytes, what); }
  ~DeviceMemory() { reset(); }
  DeviceMemory(DeviceMemory&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  DeviceMemory& operator=(DeviceMemory&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  void allocate(size_t bytes, const char* what) {
    reset();
    cudaError_t err = cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();
      throw CudaError(err, std::string("cudaMalloc of ") + format_bytes(bytes) + " for " + what +
                               " failed: " + cudaGetErrorName(err) + " (" +
                               cudaGetErrorString(err) + ")");
    }
    bytes_ = bytes;
  }
  void reset() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class PinnedMemory {
 public:
  PinnedMemory() = default;
  PinnedMemory(size_t bytes, const char* what) { allocate(bytes, what); }
  ~PinnedMemory() { reset(); }
  PinnedMemory(PinnedMemory&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  PinnedMemory& operator=(PinnedMemory&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;

  void allocate(size_t bytes, const char* what) {
    reset();
    cudaError_t err = cudaMallocHost(&ptr_, bytes == 0 ? 1 : bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();
      throw CudaError(err, std::string("cudaMallocHost of ") + format_bytes(bytes) + " for " + what +
                               " failed: " + cudaGetErrorName(err) + " (" +
                               cudaGetErrorString(err) + ")");
    }
    bytes_ = bytes;
  }
  void reset() {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  template <class T>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace llc
