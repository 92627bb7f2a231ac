// runtime_gpu_tests.cpp - GPU checks of the runtime's data plane (host code only, no kernels of
// ours): GemmRunner against a CPU fp64 reference (runtime_gpu_gemm.cpp), and load_weights /
// random_weights on checkpoints written here (runtime_gpu_weights.cpp).
// Prints one PASS/FAIL line per check and a closing table; exits 1 if any check failed, 77 with
// "skipped: no GPU" where there is no usable GPU (ctest's SKIP_RETURN_CODE).
#include <cstdio>

#include "runtime_gpu_common.h"

int main() {
  int devices = 0;
  cudaError_t err = cudaGetDeviceCount(&devices);
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || (err == cudaSuccess && devices == 0)) {
    std::printf("skipped: no GPU (%s)\n", err == cudaSuccess ? "no devices" : cudaGetErrorName(err));
    return 77;
  }
  if (err != cudaSuccess) {
    std::printf("FAIL  cudaGetDeviceCount: %s\n", cudaGetErrorString(err));
    return 1;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device 0: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);

  gpu_test::CheckTable table;
  try {
    gpu_test::run_gemm_checks(table);
  } catch (const std::exception& e) {
    table.add("gemm checks ran to the end", false, e.what());
  }
  try {
    gpu_test::run_weight_checks(table);
  } catch (const std::exception& e) {
    table.add("weight checks ran to the end", false, e.what());
  }
  return table.finish();
}
