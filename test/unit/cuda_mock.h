// cuda_mock.h - a host-only stand-in for the CUDA runtime, for running the engine without a GPU.
//
// cuda_mock.cpp defines the CUDA runtime (and cublasLtCreate/Destroy) functions the runtime
// library calls; linked into an executable, they take precedence over libcudart.so, so the
// engine, its CUDA graphs and program_main run unchanged on the CPU: "device" memory is host
// memory, copies are memcpy, streams execute in order at once, events read the steady clock.
// Kernels of a mock program are host functions passed to mock_cuda_launch(): run at once, or,
// while a stream is capturing, recorded into the graph and run again by each cudaGraphLaunch.
// A CUDA call the mock does not define falls through to the real runtime and fails without a
// GPU, so a gap shows up as an error naming the call rather than as silent success.
#pragma once

#include <cstddef>
#include <functional>

namespace llc::mock {

void launch(std::function<void()> kernel);  // run now, or record while capturing
bool capturing();
void set_free_bytes(size_t bytes);          // what cudaMemGetInfo reports (default 1 GiB)
size_t live_allocations();                  // cudaMalloc'd blocks not yet freed

}  // namespace llc::mock
