// test_common.h - shared helpers of the GPU kernel tests (kernel_tests): the PASS/FAIL ledger,
// seeded host RNG, bit-exact CPU conversions to/from bf16 and fp16 (written from the IEEE
// definitions, independent of cuda_bf16.h), device buffers that are poisoned before launches, and
// tolerance comparisons against double-precision references.
// Invariant: every check goes through check(); a check that cannot run is a FAIL, never a PASS.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "templates/kernels/common.cuh"
#include "templates/kernels/convert.cuh"

// ----------------------------------------------------------------------------------------------
// ledger

struct Ledger {
  int passed = 0, failed = 0;
};
inline Ledger& ledger() {
  static Ledger l;
  return l;
}
inline bool check(bool ok, const std::string& name, const std::string& details) {
  printf("%s %s %s\n", ok ? "PASS" : "FAIL", name.c_str(), details.c_str());
  fflush(stdout);
  (ok ? ledger().passed : ledger().failed)++;
  return ok;
}
inline void info(const std::string& line) {
  printf("INFO %s\n", line.c_str());
  fflush(stdout);
}
inline std::string fmt_str(const char* f, ...) __attribute__((format(printf, 1, 2)));
inline std::string fmt_str(const char* f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// ----------------------------------------------------------------------------------------------
// CPU conversions (round to nearest even), from the format definitions

inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

inline float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);                    // ties to even; overflow carries into inf
  return (uint16_t)(u >> 16);
}
inline float f16_to_f32(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
  double v;
  if (exp == 31) v = man ? NAN : INFINITY;
  else if (exp == 0) v = std::ldexp((double)man, -24);
  else v = std::ldexp(1024.0 + man, exp - 25);
  return (float)(sign ? -v : v);
}
inline uint16_t f32_to_f16(float f) {
  if (std::isnan(f)) return 0x7e00;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs((double)f);
  if (a >= 65520.0) return sign | 0x7c00;  // 65520 is the tie between 65504 and 2^16: to even = inf
  if (a < std::ldexp(1.0, -14)) {          // subnormal (or rounds up to the smallest normal)
    const double n = std::nearbyint(a * std::ldexp(1.0, 24));  // default mode: ties to even
    return sign | (uint16_t)n;
  }
  int e;
  const double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  double man = std::nearbyint((m * 2.0 - 1.0) * 1024.0);
  int exp = e - 1;
  if (man == 1024.0) { man = 0.0; ++exp; }
  if (exp > 15) return sign | 0x7c00;
  return sign | (uint16_t)((exp + 15) << 10) | (uint16_t)man;
}

#ifdef LLC_DTYPE_FP16
constexpr double kUnitRoundoff = 1.0 / 2048.0;  // fp16: 11 significant bits, u = 2^-11
inline float x_to_f32(uint16_t h) { return f16_to_f32(h); }
inline uint16_t f32_to_x(float f) { return f32_to_f16(f); }
#else
constexpr double kUnitRoundoff = 1.0 / 256.0;  // bf16: 8 significant bits, u = 2^-8
inline float x_to_f32(uint16_t h) { return bf16_to_f32(h); }
inline uint16_t f32_to_x(float f) { return f32_to_bf16(f); }
#endif
inline float round_x(double v) { return x_to_f32(f32_to_x((float)v)); }

// ----------------------------------------------------------------------------------------------
// RNG (host, seeded; every test draws fresh non-zero data)

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(uint64_t seed) : gen(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen); }
  int integer(int lo, int hi_inclusive) { return std::uniform_int_distribution<int>(lo, hi_inclusive)(gen); }
  double normal() { return std::normal_distribution<double>(0.0, 1.0)(gen); }
  // floatX bits of a uniform value, never exactly zero
  uint16_t x_uniform(double lo, double hi) {
    for (;;) {
      const uint16_t b = f32_to_x((float)uniform(lo, hi));
      if (x_to_f32(b) != 0.0f) return b;
    }
  }
  std::vector<uint16_t> x_vector(size_t n, double lo, double hi) {
    std::vector<uint16_t> v(n);
    for (auto& x : v) x = x_uniform(lo, hi);
    return v;
  }
};

// ----------------------------------------------------------------------------------------------
// device buffers

template <typename T>
struct DevBuf {
  T* ptr = nullptr;
  size_t n = 0;
  DevBuf() = default;
  explicit DevBuf(size_t count) : n(count) { cudaCheck(cudaMalloc(&ptr, (count ? count : 1) * sizeof(T))); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  DevBuf(DevBuf&& o) noexcept : ptr(o.ptr), n(o.n) { o.ptr = nullptr; o.n = 0; }
  DevBuf& operator=(DevBuf&& o) noexcept {
    if (this != &o) {
      if (ptr) cudaFree(ptr);
      ptr = o.ptr; n = o.n;
      o.ptr = nullptr; o.n = 0;
    }
    return *this;
  }
  ~DevBuf() { if (ptr) cudaFree(ptr); }
  template <typename H>
  void upload(const std::vector<H>& h) {
    static_assert(sizeof(H) == sizeof(T), "upload: host and device element sizes differ");
    if (h.size() != n) { fprintf(stderr, "upload: %zu elements for a buffer of %zu\n", h.size(), n); exit(2); }
    cudaCheck(cudaMemcpy(ptr, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  template <typename H>
  std::vector<H> download() const {
    static_assert(sizeof(H) == sizeof(T), "download: host and device element sizes differ");
    std::vector<H> h(n);
    cudaCheck(cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  // 0xFF bytes: NaN for floatX and float, -1 for int32
  void poison() { cudaCheck(cudaMemset(ptr, 0xFF, n * sizeof(T))); }
};
using XBuf = DevBuf<floatX>;

inline std::vector<int32_t> to_vec(std::initializer_list<int32_t> l) { return std::vector<int32_t>(l); }

// ----------------------------------------------------------------------------------------------
// comparisons

struct CompareResult {
  double max_abs = 0.0, max_rel_excess = 0.0, rel_l2 = 0.0;
  size_t n_bad = 0, n_nan = 0, first_bad = (size_t)-1;
  bool ok() const { return n_bad == 0 && n_nan == 0; }
  std::string str() const {
    return fmt_str("max_abs=%.3g rel_l2=%.3g bad=%zu nan=%zu first_bad=%lld", max_abs, rel_l2, n_bad, n_nan,
                   first_bad == (size_t)-1 ? -1LL : (long long)first_bad);
  }
};

// |got - ref| <= atol + rtol * |ref| for every element; NaN in got (e.g. a poisoned, unwritten
// element) always counts as bad.
inline CompareResult compare(const std::vector<float>& got, const std::vector<double>& ref, double atol, double rtol) {
  CompareResult r;
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], e = ref[i];
    if (std::isnan(g) || std::isinf(g) != std::isinf(e)) {
      if (std::isnan(g)) ++r.n_nan; else ++r.n_bad;
      if (r.first_bad == (size_t)-1) r.first_bad = i;
      continue;
    }
    if (std::isinf(e)) { if (g != e) { ++r.n_bad; if (r.first_bad == (size_t)-1) r.first_bad = i; } continue; }
    const double d = std::fabs(g - e);
    r.max_abs = std::max(r.max_abs, d);
    num += d * d;
    den += e * e;
    if (d > atol + rtol * std::fabs(e)) {
      ++r.n_bad;
      if (r.first_bad == (size_t)-1) r.first_bad = i;
    }
  }
  r.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return r;
}

inline std::vector<float> x_bits_to_f32(const std::vector<uint16_t>& bits) {
  std::vector<float> f(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) f[i] = x_to_f32(bits[i]);
  return f;
}

// ----------------------------------------------------------------------------------------------
// timing (informational benchmark lines only; never a pass/fail criterion)

// Median of 20 event-timed calls of `launch` after 3 warm-up calls, in milliseconds.
inline float median_ms(const std::function<void()>& launch) {
  for (int i = 0; i < 3; ++i) launch();
  cudaCheck(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  cudaCheck(cudaEventCreate(&a));
  cudaCheck(cudaEventCreate(&b));
  std::vector<float> ms;
  for (int i = 0; i < 20; ++i) {
    cudaCheck(cudaEventRecord(a));
    launch();
    cudaCheck(cudaEventRecord(b));
    cudaCheck(cudaEventSynchronize(b));
    float t;
    cudaCheck(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaCheck(cudaEventDestroy(a));
  cudaCheck(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Random copies of an (N, K) weight, enough of them (>= 512 MiB in all) that a benchmark reading
// them in turn finds none in the 60 MB L2.
inline std::vector<DevBuf<floatX>> weight_copies(int N, int K) {
  const size_t elems = (size_t)N * K;
  const int copies = (int)std::max<size_t>(2, (512u << 20) / (elems * sizeof(floatX)) + 1);
  std::vector<DevBuf<floatX>> ws;
  for (int i = 0; i < copies; ++i) {
    ws.emplace_back(elems);
    fill_random_forward(ws.back().ptr, (int64_t)elems, 11 + i, 0.0f, 0.05f, 0);
  }
  return ws;
}

// Device-to-device copy bandwidth in GB/s, counting bytes read + written (2 GiB buffers, median_ms):
// the ceiling the weight-streaming benchmarks report against.
inline double measure_copy_gbps() {
  const size_t bytes = (size_t)1 << 31;
  DevBuf<char> src(bytes), dst(bytes);
  cudaCheck(cudaMemset(src.ptr, 1, bytes));
  const float ms =
      median_ms([&] { cudaCheck(cudaMemcpyAsync(dst.ptr, src.ptr, bytes, cudaMemcpyDeviceToDevice)); });
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

// Test entry points (one file each).
void run_elementwise_tests();
void run_convert_tests();
void run_attention_tests();
void run_sampling_tests();
void run_gemv_tests();
void run_benchmarks();
void run_gemv_benchmarks();
