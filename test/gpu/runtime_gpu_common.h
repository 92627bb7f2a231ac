// runtime_gpu_common.h - shared pieces of the runtime GPU checks: the PASS/FAIL table, CUDA error
// checking, bf16/fp16 conversions on the host (cuda_bf16.h / cuda_fp16.h host functions, round to
// nearest even), a seeded generator and a parallel loop for CPU references.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/program.h"

namespace gpu_test {

struct CheckRow {
  std::string name;
  bool pass;
  std::string detail;
};

class CheckTable {
 public:
  void add(const std::string& name, bool pass, const std::string& detail = {}) {
    rows_.push_back({name, pass, detail});
    std::printf("%s  %s%s%s\n", pass ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : "  ",
                detail.c_str());
    std::fflush(stdout);
  }
  void info(const std::string& text) {
    std::printf("INFO  %s\n", text.c_str());
    std::fflush(stdout);
  }
  // Prints the summary table; returns the process exit code (1 if anything failed).
  int finish() const {
    int failed = 0;
    std::printf("\n==== runtime GPU checks ====\n");
    for (const auto& r : rows_) {
      std::printf("%-4s  %s\n", r.pass ? "PASS" : "FAIL", r.name.c_str());
      failed += !r.pass;
    }
    std::printf("%zu checks, %d failed\n", rows_.size(), failed);
    return failed ? 1 : 0;
  }

 private:
  std::vector<CheckRow> rows_;
};

inline void cuda_ok(cudaError_t err, const char* call) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string(call) + " failed: " + cudaGetErrorString(err));
}

// float <-> 16-bit storage of a compiled dtype (bf16 or fp16).
inline uint16_t to_bits(float x, llc::DType t) {
  if (t == llc::DType::bf16) return static_cast<__nv_bfloat16_raw>(__float2bfloat16_rn(x)).x;
  return static_cast<__half_raw>(__float2half_rn(x)).x;
}
inline float from_bits(uint16_t bits, llc::DType t) {
  if (t == llc::DType::bf16) {
    __nv_bfloat16_raw r;
    r.x = bits;
    return __bfloat162float(__nv_bfloat16(r));
  }
  __half_raw r;
  r.x = bits;
  return __half2float(__half(r));
}

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// uniform(-1, 1) from a counter-based hash: value i of stream `seed`.
inline float uniform_pm1(uint64_t seed, uint64_t i) {
  uint64_t h = splitmix64(seed ^ splitmix64(i));
  return static_cast<float>((h >> 40) * (1.0 / 16777216.0) * 2.0 - 1.0);
}

// fn(i) for i in [0, n), split over the machine's cores.
inline void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  int threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(n, 1)));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t i = t; i < n; i += threads) fn(i);
    });
  for (auto& th : pool) th.join();
}

void run_gemm_checks(CheckTable& table);
void run_weight_checks(CheckTable& table);

}  // namespace gpu_test
