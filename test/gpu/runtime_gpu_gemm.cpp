// runtime_gpu_gemm.cpp - GemmRunner against a CPU fp64 reference, on random inputs, with outputs
// poisoned (all-ones bytes = NaN) before each run and input/output padding checked.
//
// Tolerance, per output entry with ref = sum_k a*w (+ bias) in fp64 over the bf16/fp16-rounded
// inputs, and absdot = sum_k |a*w|:
//   |got - ref| <= out_eps * (|ref| + |bias|) + 2^-20 * absdot
// out_eps is twice the output dtype's unit roundoff u (bf16 2^-8, fp16 2^-11, fp32 2^-24), since
// the bias fallback rounds twice (the product, then product + bias): its error is at most
// u|p| + u|p + b| <= u(2|ref| + |b|) <= 2u(|ref| + |b|). So 2^-7, 2^-10, 2^-23. 2^-20 * absdot allows 16
// fp32 unit roundoffs of the magnitude being summed for the fp32 accumulation (blocked / split-K
// orders differ from ours). A wrong layout, a missing bias or a wrong ld gives errors of order |ref|.
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>

#include "runtime/gemm.h"
#include "runtime_gpu_common.h"

namespace gpu_test {
namespace {

using llc::DType;

struct Family {
  std::string label;
  DType in, out;
  int n, k;
  bool bias;
  bool force_fallback;
  int ldi_pad = 0, ldo_pad = 0;      // ldi = k + ldi_pad, ldo = n + ldo_pad
  int in_offset = 0, out_offset = 0; // elements: pointers off their 256-byte alignment
  std::vector<int> ms;
};

size_t out_elem(DType t) { return llc::dtype_size(t); }

// Device and host copies of one family's operands (sized for its largest m).
struct Operands {
  int max_m, ldi, ldo;
  std::vector<uint16_t> a_bits, w_bits, b_bits;
  std::vector<float> a, w, bias;  // the rounded values, as the GPU sees them
  void* d_a = nullptr;
  void* d_w = nullptr;
  void* d_b = nullptr;
  void* d_out = nullptr;
  size_t out_bytes = 0;
  ~Operands() {
    cudaFree(d_a);
    cudaFree(d_w);
    cudaFree(d_b);
    cudaFree(d_out);
  }
};

void make_operands(const Family& f, Operands& o, uint64_t seed) {
  o.max_m = *std::max_element(f.ms.begin(), f.ms.end());
  o.ldi = f.k + f.ldi_pad;
  o.ldo = f.n + f.ldo_pad;
  const uint16_t nan_bits = f.in == DType::bf16 ? 0x7fc0 : 0x7e00;
  o.a_bits.assign(size_t(o.max_m) * o.ldi, nan_bits);  // padding stays NaN: reading it poisons out
  o.a.assign(size_t(o.max_m) * f.k, 0.f);
  o.w_bits.resize(size_t(f.n) * f.k);
  o.w.resize(o.w_bits.size());
  parallel_for(o.max_m, [&](int64_t i) {
    for (int c = 0; c < f.k; ++c) {
      uint16_t b = to_bits(uniform_pm1(seed, uint64_t(i) * f.k + c), f.in);
      o.a_bits[size_t(i) * o.ldi + c] = b;
      o.a[size_t(i) * f.k + c] = from_bits(b, f.in);
    }
  });
  parallel_for(f.n, [&](int64_t r) {
    for (int c = 0; c < f.k; ++c) {
      size_t idx = size_t(r) * f.k + c;
      o.w_bits[idx] = to_bits(uniform_pm1(seed + 1, idx), f.in);
      o.w[idx] = from_bits(o.w_bits[idx], f.in);
    }
  });
  o.b_bits.resize(f.n);
  o.bias.resize(f.n);
  for (int j = 0; j < f.n; ++j) {
    o.b_bits[j] = to_bits(uniform_pm1(seed + 2, j), f.in);
    o.bias[j] = from_bits(o.b_bits[j], f.in);
  }
  cuda_ok(cudaMalloc(&o.d_a, (o.a_bits.size() + f.in_offset) * 2), "cudaMalloc");
  cuda_ok(cudaMalloc(&o.d_w, o.w_bits.size() * 2), "cudaMalloc");
  cuda_ok(cudaMalloc(&o.d_b, o.b_bits.size() * 2), "cudaMalloc");
  o.out_bytes = (size_t(o.max_m) * o.ldo + f.out_offset) * out_elem(f.out);
  cuda_ok(cudaMalloc(&o.d_out, o.out_bytes), "cudaMalloc");
  cuda_ok(cudaMemset(o.d_a, 0xff, (o.a_bits.size() + f.in_offset) * 2), "cudaMemset");
  cuda_ok(cudaMemcpy(static_cast<uint16_t*>(o.d_a) + f.in_offset, o.a_bits.data(), o.a_bits.size() * 2,
                     cudaMemcpyHostToDevice), "cudaMemcpy");
  cuda_ok(cudaMemcpy(o.d_w, o.w_bits.data(), o.w_bits.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  cuda_ok(cudaMemcpy(o.d_b, o.b_bits.data(), o.b_bits.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

void* out_ptr(const Family& f, const Operands& o) {
  return static_cast<uint8_t*>(o.d_out) + size_t(f.out_offset) * out_elem(f.out);
}
const void* in_ptr(const Family& f, const Operands& o) {
  return static_cast<const uint16_t*>(o.d_a) + f.in_offset;
}

void run_linear(llc::GemmRunner& g, const Family& f, const Operands& o, int m, cudaStream_t s) {
  g.linear(out_ptr(f, o), o.ldo, f.out, in_ptr(f, o), o.ldi, o.d_w, f.bias ? o.d_b : nullptr, f.in, m,
           f.n, f.k, s);
}

std::vector<uint8_t> download(const Operands& o) {
  std::vector<uint8_t> h(o.out_bytes);
  cuda_ok(cudaMemcpy(h.data(), o.d_out, h.size(), cudaMemcpyDeviceToHost), "cudaMemcpy");
  return h;
}

// Compares one m's output with the reference; returns "" or a description of the first failure.
std::string verify(const Family& f, const Operands& o, int m, const std::vector<uint8_t>& raw,
                   double* worst_ratio, std::string* coverage) {
  const size_t es = out_elem(f.out);
  const uint8_t* base = raw.data() + size_t(f.out_offset) * es;
  auto got_at = [&](int i, int j) -> double {
    const uint8_t* p = base + (size_t(i) * o.ldo + j) * es;
    if (f.out == DType::fp32) {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    uint16_t b;
    std::memcpy(&b, p, 2);
    return from_bits(b, f.out);
  };
  const double out_eps = f.out == DType::fp32 ? std::ldexp(1.0, -23)
                         : f.out == DType::bf16 ? std::ldexp(1.0, -7) : std::ldexp(1.0, -10);
  std::string first_error;
  std::mutex mu;
  double worst = 0;
  auto check = [&](int i, int j) {
    double ref = 0, absdot = 0;
    const float* a = &o.a[size_t(i) * f.k];
    const float* w = &o.w[size_t(j) * f.k];
    for (int c = 0; c < f.k; ++c) {
      double p = double(a[c]) * double(w[c]);
      ref += p;
      absdot += std::fabs(p);
    }
    double b = f.bias ? o.bias[j] : 0.0;
    ref += b;
    double tol = out_eps * (std::fabs(ref) + std::fabs(b)) + std::ldexp(absdot, -20);
    double got = got_at(i, j);
    double err = std::fabs(got - ref);
    std::lock_guard<std::mutex> lock(mu);
    if (!(err <= tol)) {  // NaN fails too
      if (first_error.empty())
        first_error = "out[" + std::to_string(i) + "][" + std::to_string(j) + "] = " + std::to_string(got) +
                      ", reference " + std::to_string(ref) + ", tolerance " + std::to_string(tol);
    } else {
      worst = std::max(worst, tol > 0 ? err / tol : 0.0);
    }
  };
  const double macs = double(m) * f.n * f.k;
  if (macs <= double(uint64_t(1) << 32)) {
    parallel_for(m, [&](int64_t i) {
      for (int j = 0; j < f.n; ++j) check(int(i), j);
    });
    *coverage = "all " + std::to_string(int64_t(m) * f.n) + " entries";
  } else {
    // Rows 0, m/2, m-1 and columns 0, n-1 whole, plus 4096 random entries.
    std::vector<int> rows = {0, m / 2, m - 1};
    parallel_for(int64_t(rows.size()) * f.n, [&](int64_t t) { check(rows[t / f.n], int(t % f.n)); });
    parallel_for(int64_t(m) * 2, [&](int64_t t) { check(int(t / 2), t % 2 ? f.n - 1 : 0); });
    std::mt19937_64 rng(uint64_t(m) * 7919 + f.n);
    std::vector<std::pair<int, int>> picks(4096);
    for (auto& p : picks) p = {int(rng() % m), int(rng() % f.n)};
    parallel_for(int64_t(picks.size()), [&](int64_t t) { check(picks[t].first, picks[t].second); });
    *coverage = "sampled: rows 0,m/2,m-1 + cols 0,n-1 + 4096 random";
  }
  // Nothing outside out[0..m)[0..n) was written: offset cells, row padding, rows >= m.
  auto untouched = [&](size_t from_elem, size_t to_elem) {  // [from, to) still all 0xff bytes
    auto first = raw.begin() + from_elem * es, last = raw.begin() + std::min(to_elem * es, raw.size());
    return first >= last || std::find_if(first, last, [](uint8_t b) { return b != 0xff; }) == last;
  };
  bool clean = untouched(0, f.out_offset) &&
               untouched(f.out_offset + size_t(m) * o.ldo, raw.size() / es);
  for (int i = 0; i < m && clean && f.ldo_pad > 0; ++i)
    clean = untouched(f.out_offset + size_t(i) * o.ldo + f.n, f.out_offset + size_t(i + 1) * o.ldo);
  if (!clean && first_error.empty()) first_error = "wrote outside out[m][n] (offset cells, row padding or rows >= m)";
  *worst_ratio = worst;
  return first_error;
}

std::string describe(const Family& f, int m) {
  return "gemm " + f.label + " " + llc::dtype_name(f.in) + "->" + llc::dtype_name(f.out) + " m=" +
         std::to_string(m) + " n=" + std::to_string(f.n) + " k=" + std::to_string(f.k) +
         " ldi=" + std::to_string(f.k + f.ldi_pad) + " ldo=" + std::to_string(f.n + f.ldo_pad) +
         (f.bias ? (f.force_fallback ? " bias(fallback)" : " bias") : "");
}

void run_family(CheckTable& table, llc::GemmRunner& g, const Family& f, uint64_t seed, cudaStream_t s) {
  Operands o;
  make_operands(f, o, seed);
  g.set_bias_epilogue_enabled(!f.force_fallback);
  for (int m : f.ms) {
    std::string name = describe(f, m);
    try {
      cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
      size_t plans_before = g.cached_plans();
      run_linear(g, f, o, m, s);
      cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
      bool path_epilogue = g.last_bias_used_epilogue();
      std::vector<uint8_t> first = download(o);
      double worst = 0;
      std::string coverage;
      std::string err = verify(f, o, m, first, &worst, &coverage);
      // The same call again: served from the plan cache, bitwise identical.
      cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
      size_t plans_mid = g.cached_plans();
      run_linear(g, f, o, m, s);
      cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
      if (err.empty() && download(o) != first) err = "second run differs from the first";
      if (err.empty() && (plans_mid != plans_before + 1 || g.cached_plans() != plans_mid))
        err = "plan cache: expected one new plan for a new problem and none for a repeat (" +
              std::to_string(plans_before) + " -> " + std::to_string(plans_mid) + " -> " +
              std::to_string(g.cached_plans()) + ")";
      char detail[160];
      std::snprintf(detail, sizeof(detail), "[%s; worst err/tol %.3f%s]", coverage.c_str(), worst,
                    f.bias ? (path_epilogue ? "; bias via epilogue" : "; bias via rank-1 fallback") : "");
      table.add(name, err.empty(), err.empty() ? detail : err);
    } catch (const std::exception& e) {
      table.add(name, false, std::string("exception: ") + e.what());
    }
  }
  g.set_bias_epilogue_enabled(true);
}

// Eager result vs. the same linear replayed from a CUDA graph captured in global mode.
void check_graph_replay(CheckTable& table, llc::GemmRunner& g, const Family& f, int m, cudaStream_t s) {
  std::string name = "graph replay of " + describe(f, m);
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  try {
    Operands o;
    make_operands(f, o, 99);
    g.set_bias_epilogue_enabled(!f.force_fallback);
    cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
    run_linear(g, f, o, m, s);  // chooses the algorithm before capture
    cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    std::vector<uint8_t> eager = download(o);
    cuda_ok(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
    try {
      run_linear(g, f, o, m, s);
    } catch (...) {
      cudaStreamEndCapture(s, &graph);
      throw;
    }
    cuda_ok(cudaStreamEndCapture(s, &graph), "cudaStreamEndCapture");
    cuda_ok(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
    cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
    cuda_ok(cudaGraphLaunch(exec, s), "cudaGraphLaunch");
    cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    bool same = download(o) == eager;
    double worst = 0;
    std::string coverage;
    std::string err = verify(f, o, m, eager, &worst, &coverage);
    table.add(name, same && err.empty(), same ? err : "replayed output differs from the eager run");
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  g.set_bias_epilogue_enabled(true);
}

// During capture the fallback cannot grow its ones vector: a clear error, not a broken graph.
void check_capture_growth_error(CheckTable& table, llc::GemmRunner& g, cudaStream_t s) {
  // Earlier checks grew the bf16 ones vector to 8192 entries; 20000 needs more.
  std::string name = "bias fallback refuses to allocate during capture (m=20000 never run before)";
  Family f{"capture-growth", DType::bf16, DType::bf16, 64, 64, true, true, 0, 0, 0, 0, {20000}};
  try {
    Operands o;
    make_operands(f, o, 5);
    g.set_bias_epilogue_enabled(false);
    std::string msg;
    cuda_ok(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
    try {
      run_linear(g, f, o, 20000, s);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(s, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    bool ok = msg.find("run this shape once before capturing it") != std::string::npos;
    table.add(name, ok, ok ? "" : "got: " + (msg.empty() ? std::string("no error") : msg));
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
  g.set_bias_epilogue_enabled(true);
}

void check_bad_arguments(CheckTable& table, llc::GemmRunner& g) {
  auto expect = [&](const std::string& name, const std::string& want, auto&& call) {
    std::string msg;
    try {
      call();
    } catch (const std::exception& e) {
      msg = e.what();
    }
    bool ok = msg.find(want) != std::string::npos;
    table.add("gemm rejects " + name, ok, ok ? "" : "got: " + (msg.empty() ? std::string("no error") : msg));
  };
  void* p = reinterpret_cast<void*>(uintptr_t(256));  // never dereferenced: rejected first
  expect("ldi < k", "ldi >= k", [&] { g.linear(p, 8, DType::bf16, p, 4, p, nullptr, DType::bf16, 2, 8, 8, nullptr); });
  expect("m = 0", "m, n, k >= 1", [&] { g.linear(p, 8, DType::bf16, p, 8, p, nullptr, DType::bf16, 0, 8, 8, nullptr); });
  expect("fp32 input", "found fp32", [&] { g.linear(p, 8, DType::fp32, p, 8, p, nullptr, DType::fp32, 2, 8, 8, nullptr); });
  expect("fp16 in, bf16 out", "output dtype", [&] { g.linear(p, 8, DType::bf16, p, 8, p, nullptr, DType::fp16, 2, 8, 8, nullptr); });
}

// Row invariance: the rows of an m-row product are bit-identical to the same rows computed in a
// product of fewer rows (a prompt prefilled alone or in a batch gives the same K/V and logits).
void check_row_invariance(CheckTable& table, llc::GemmRunner& g, const Family& f, cudaStream_t s) {
  std::string name = "row invariance of " + f.label + " n=" + std::to_string(f.n) + " k=" +
                     std::to_string(f.k) + " m=" + std::to_string(f.ms.back()) + " vs smaller m";
  try {
    Operands o;
    make_operands(f, o, 7);
    const size_t row_bytes = size_t(o.ldo) * out_elem(f.out);
    cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
    run_linear(g, f, o, f.ms.back(), s);
    cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    const std::vector<uint8_t> full = download(o);
    std::string err;
    for (int m : f.ms) {
      if (m == f.ms.back()) continue;
      cuda_ok(cudaMemset(o.d_out, 0xff, o.out_bytes), "cudaMemset");
      run_linear(g, f, o, m, s);
      cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
      const std::vector<uint8_t> part = download(o);
      for (int r = 0; r < m && err.empty(); ++r)
        if (memcmp(part.data() + f.out_offset * out_elem(f.out) + r * row_bytes,
                   full.data() + f.out_offset * out_elem(f.out) + r * row_bytes, f.n * out_elem(f.out)) != 0)
          err = "row " + std::to_string(r) + " of the m=" + std::to_string(m) + " product differs from m=" +
                std::to_string(f.ms.back());
    }
    table.add(name, err.empty(), err.empty() ? "bit-identical" : err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

}  // namespace

void run_gemm_checks(CheckTable& table) {
  cudaStream_t s;
  cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  llc::GemmRunner g;
  const std::vector<int> ms = {1, 3, 8, 64, 1000};
  std::vector<Family> families = {
      {"square", DType::bf16, DType::bf16, 4096, 4096, false, false, 0, 0, 0, 0, ms},
      {"lm_head", DType::bf16, DType::fp32, 128256, 2048, false, false, 0, 0, 0, 0, ms},
      {"qkv+bias", DType::bf16, DType::bf16, 2560, 2048, true, false, 0, 0, 0, 0, ms},
      {"qkv+bias", DType::bf16, DType::bf16, 2560, 2048, true, true, 0, 0, 0, 0, ms},
      {"logits+bias", DType::bf16, DType::fp32, 1000, 1024, true, false, 0, 0, 0, 0, {1, 64}},
      {"fp16", DType::fp16, DType::fp16, 2048, 2048, false, false, 0, 0, 0, 0, {1, 8, 64}},
      {"fp16+bias", DType::fp16, DType::fp16, 2048, 2048, true, false, 0, 0, 0, 0, {1, 64}},
      {"fp16+bias", DType::fp16, DType::fp16, 2048, 2048, true, true, 0, 0, 0, 0, {3}},
      {"fp16 logits", DType::fp16, DType::fp32, 300, 200, false, false, 0, 0, 0, 0, {3}},
      // Inputs and outputs as column ranges of wider rows, pointers off 256-byte alignment.
      {"strided", DType::bf16, DType::bf16, 512, 1000, true, false, 24, 64, 8, 24, {1, 3, 64}},
      {"strided", DType::bf16, DType::fp32, 512, 1000, false, false, 40, 8, 8, 4, {1, 64}},
      {"odd", DType::bf16, DType::bf16, 7, 9, true, false, 0, 0, 0, 0, {1, 3, 5}},
      {"odd", DType::bf16, DType::bf16, 7, 9, true, true, 0, 0, 0, 0, {5}},
      // The fallback's ones vector grows past its first 4096 entries.
      {"big-m", DType::bf16, DType::bf16, 64, 64, true, true, 0, 0, 0, 0, {5000}},
  };
  uint64_t seed = 1;
  for (const auto& f : families) run_family(table, g, f, seed++, s);

  check_graph_replay(table, g, {"square", DType::bf16, DType::bf16, 4096, 4096, false, false, 0, 0, 0, 0, {8}}, 8, s);
  check_graph_replay(table, g, {"qkv+bias", DType::bf16, DType::bf16, 2560, 2048, true, false, 0, 0, 0, 0, {8}}, 8, s);
  check_graph_replay(table, g, {"qkv+bias", DType::bf16, DType::bf16, 2560, 2048, true, true, 0, 0, 0, 0, {8}}, 8, s);
  // Prefill shapes of Llama-3.1-8B (QKV, down) and Qwen2 (QKV with bias), and the tied logits.
  const std::vector<int> prefill_ms = {1, 5, 12, 45, 300, 2048};
  for (const Family& f : std::vector<Family>{
           {"qkv_8b", DType::bf16, DType::bf16, 6144, 4096, false, false, 0, 0, 0, 0, prefill_ms},
           {"down_8b", DType::bf16, DType::bf16, 4096, 14336, false, false, 0, 0, 0, 0, prefill_ms},
           {"qkv+bias_qwen2", DType::bf16, DType::bf16, 2048, 1536, true, false, 0, 0, 0, 0, prefill_ms},
           {"logits_1b", DType::bf16, DType::fp32, 128256, 2048, false, false, 0, 0, 0, 0, {1, 2, 4, 16}},
       })
    check_row_invariance(table, g, f, s);
  check_capture_growth_error(table, g, s);
  check_bad_arguments(table, g);
  cudaStreamDestroy(s);
}

}  // namespace gpu_test
