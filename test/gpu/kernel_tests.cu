// kernel_tests.cu - the GPU test program of templates/kernels: every kernel against an independent
// CPU reference (see test_*.cu), then informational timings (bench_attention.cu).
// Prints one PASS/FAIL line per check and a closing "N passed, N failed" line; exits 1 if anything
// failed, 77 ("skipped: no GPU") where no usable CUDA device exists (ctest SKIP_RETURN_CODE).
// Usage: kernel_tests [--no-bench | --gemv-bench-only]
#include <cstring>

#include "test/gpu/test_common.h"

int main(int argc, char** argv) {
  bool bench = true, checks = true;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--no-bench")) bench = false;
    else if (!strcmp(argv[i], "--gemv-bench-only")) checks = false;
    else { fprintf(stderr, "usage: %s [--no-bench | --gemv-bench-only]\n", argv[0]); return 2; }
  }
  int n_devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&n_devices);
  if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || (err == cudaSuccess && n_devices == 0)) {
    printf("skipped: no GPU (%s)\n", err == cudaSuccess ? "no CUDA device" : cudaGetErrorString(err));
    return 77;
  }
  cudaCheck(err);
  cudaDeviceProp prop;
  cudaCheck(cudaGetDeviceProperties(&prop, 0));
  info(fmt_str("device: %s, sm_%d%d, %d SMs", prop.name, prop.major, prop.minor, prop.multiProcessorCount));

  if (!checks) {  // the decode GEMV's timings alone (kernel tuning)
    run_gemv_benchmarks();
    return 0;
  }
  run_elementwise_tests();
  run_convert_tests();
  run_attention_tests();
  run_sampling_tests();
  run_gemv_tests();
  if (bench) {
    run_benchmarks();
    run_gemv_benchmarks();
  }

  const Ledger& l = ledger();
  printf("summary: %d passed, %d failed\n", l.passed, l.failed);
  if (l.passed + l.failed == 0) {
    printf("FAIL no checks ran\n");
    return 1;
  }
  return l.failed ? 1 : 0;
}
