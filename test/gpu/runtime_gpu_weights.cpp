// runtime_gpu_weights.cpp - load_weights and random_weights on a GPU: small checkpoints written
// here (BF16/F16/F32 tensors, single file and sharded) with a merged weight (q/k/v), a merged
// rank-1 bias and a tied lm_head, loaded into bf16 and fp16 programs with several staging sizes,
// every byte compared with what the file holds. Values are multiples of 1/64 in [-2, 2], exact in
// every dtype, so the expected device bytes do not depend on rounding. Column scales (folded norm
// weights): a merged weight and a scaled copy of the tied embedding hold W * S after loading (and
// after random generation), one rounding of the exact product; the scales and the unscaled copy do not.
//
// The ModelProgram here has kernel-free stand-ins for convert, fill_random and scale_columns: the
// runtime library
// holds no kernels (the real ones live in templates/kernels/convert.cuh and are compiled into each
// generated model.cu), and this host-only check compiles no device code. The stand-ins synchronize,
// copy to the host, convert / generate there and copy back: slow, exact, enough for these sizes.
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>

#include "runtime/weights.h"
#include "runtime_gpu_common.h"
#include "test/unit/safetensors_writer.h"

namespace gpu_test {
namespace {

using llc::DType;

DType g_compiled = DType::bf16;  // the stand-ins' compiled dtype
int g_convert_calls = 0;
int g_scale_calls = 0;

void stand_in_convert(void* dst, const void* src, DType src_type, int64_t n, cudaStream_t stream) {
  ++g_convert_calls;
  cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  const size_t se = llc::dtype_size(src_type);
  std::vector<uint8_t> in(size_t(n) * se);
  cuda_ok(cudaMemcpy(in.data(), src, in.size(), cudaMemcpyDeviceToHost), "cudaMemcpy");
  std::vector<uint16_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float x;
    if (src_type == DType::fp32) {
      std::memcpy(&x, &in[size_t(i) * 4], 4);
    } else {
      uint16_t b;
      std::memcpy(&b, &in[size_t(i) * 2], 2);
      x = from_bits(b, src_type);
    }
    out[size_t(i)] = to_bits(x, g_compiled);
  }
  cuda_ok(cudaMemcpy(dst, out.data(), out.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

void stand_in_fill_random(void* dst, int64_t n, uint64_t seed, float offset, float scale, cudaStream_t stream) {
  cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  std::vector<uint16_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = to_bits(offset + scale * uniform_pm1(seed, uint64_t(i)), g_compiled);
  cuda_ok(cudaMemcpy(dst, out.data(), out.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

void stand_in_scale_columns(void* w, const void* scale, int64_t rows, int64_t cols, cudaStream_t stream) {
  ++g_scale_calls;
  cuda_ok(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  std::vector<uint16_t> hw(static_cast<size_t>(rows * cols)), hs(static_cast<size_t>(cols));
  cuda_ok(cudaMemcpy(hw.data(), w, hw.size() * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
  cuda_ok(cudaMemcpy(hs.data(), scale, hs.size() * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
  for (size_t i = 0; i < hw.size(); ++i)
    hw[i] = to_bits(from_bits(hw[i], g_compiled) * from_bits(hs[i % size_t(cols)], g_compiled), g_compiled);
  cuda_ok(cudaMemcpy(w, hw.data(), hw.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
}

// Value i of test tensor `tid`: a multiple of 1/64 in [-127/64, 127/64].
float value(int tid, int64_t i) { return float(int((i * 37 + tid * 101) % 255) - 127) / 64.f; }

struct FileTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  int tid;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

std::string tensor_bytes(const FileTensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.numel(); ++i) {
    float x = value(t.tid, i);
    if (t.dtype == "F32") {
      s.append(reinterpret_cast<const char*>(&x), 4);
    } else {
      uint16_t b = to_bits(x, t.dtype == "BF16" ? DType::bf16 : DType::fp16);
      s.append(reinterpret_cast<const char*>(&b), 2);
    }
  }
  return s;
}

const std::string L0 = "model.layers.0.";

std::vector<FileTensor> checkpoint_tensors(bool all_bf16) {
  auto d = [&](const char* dt) { return all_bf16 ? std::string("BF16") : std::string(dt); };
  return {
      {"model.embed_tokens.weight", d("BF16"), {96, 64}, 1},
      {L0 + "self_attn.q_proj.weight", d("F16"), {64, 64}, 2},
      {L0 + "self_attn.k_proj.weight", d("F32"), {32, 64}, 3},
      {L0 + "self_attn.v_proj.weight", d("BF16"), {32, 64}, 4},
      {L0 + "self_attn.q_proj.bias", d("F32"), {64}, 5},
      {L0 + "self_attn.k_proj.bias", d("BF16"), {32}, 6},
      {L0 + "self_attn.v_proj.bias", d("F16"), {32}, 7},
      {L0 + "self_attn.o_proj.weight", d("F32"), {64, 64}, 8},
      {"model.norm.weight", d("BF16"), {64}, 9},
      {L0 + "mlp.up_proj.weight", d("F32"), {4096, 2560}, 10},  // 40 MB: several staging chunks
      {"lm_head.weight", "BF16", {96, 64}, 11},                  // not used: lm_head is tied
      {L0 + "self_attn.rotary_emb.inv_freq", "F32", {32}, 12},  // not used by the program
  };
}

// The program's weight table (order matters: indices are checked below).
class Program {
 public:
  struct Empty {};
  explicit Program(Empty) {}
  Program() {
    add(2, 64, {{"model.embed_tokens.weight", 96}});
    add(2, 64, {{L0 + "self_attn.q_proj.weight", 64}, {L0 + "self_attn.k_proj.weight", 32},
                {L0 + "self_attn.v_proj.weight", 32}});
    add(1, 1, {{L0 + "self_attn.q_proj.bias", 64}, {L0 + "self_attn.k_proj.bias", 32},
               {L0 + "self_attn.v_proj.bias", 32}});
    add(2, 64, {{L0 + "self_attn.o_proj.weight", 64}});
    add(1, 1, {{"model.norm.weight", 64}});
    add(2, 2560, {{L0 + "mlp.up_proj.weight", 4096}});
    add(2, 64, {{"model.embed_tokens.weight", 96}});  // lm_head, tied
  }
  static constexpr int kLmHead = 6;
  const llc::ModelProgram& get(DType dtype) {
    for (size_t i = 0; i < weights_.size(); ++i) weights_[i].sources = sources_[i].data();
    spec_ = {};
    spec_.dtype = dtype;
    spec_.n_weights = int(weights_.size());
    spec_.weights = weights_.data();
    program_ = {};
    program_.spec = &spec_;
    program_.convert = stand_in_convert;
    program_.fill_random = stand_in_fill_random;
    program_.scale_columns = stand_in_scale_columns;
    return program_;
  }
  const std::vector<llc::WeightSpec>& weights() const { return weights_; }
  std::vector<llc::WeightSpec>& weights() { return weights_; }

  void add(int rank, int64_t cols, std::vector<std::pair<std::string, int64_t>> srcs) {
    std::vector<llc::WeightSource> v;
    int64_t rows = 0;
    for (auto& [name, r] : srcs) {
      names_.push_back(name);
      v.push_back({names_.back().c_str(), r});
      rows += r;
    }
    sources_.push_back(v);
    weights_.push_back({rank, rows, cols, int(v.size()), nullptr});
  }

 private:
  std::deque<std::string> names_;
  std::deque<std::vector<llc::WeightSource>> sources_;
  std::vector<llc::WeightSpec> weights_;
  llc::ModelSpec spec_{};
  llc::ModelProgram program_{};
};

void write_checkpoint(const std::string& dir, const std::vector<FileTensor>& tensors, bool sharded) {
  std::vector<llc_test::TestTensor> all;
  for (const auto& t : tensors) all.push_back({t.name, t.dtype, t.shape, tensor_bytes(t)});
  if (!sharded) {
    llc_test::write_safetensors(dir + "/model.safetensors", all);
    return;
  }
  std::vector<llc_test::TestTensor> s1(all.begin(), all.begin() + 5), s2(all.begin() + 5, all.end());
  llc_test::write_safetensors(dir + "/model-00001-of-00002.safetensors", s1);
  llc_test::write_safetensors(dir + "/model-00002-of-00002.safetensors", s2);
  nlohmann::json map;
  for (const auto& t : s1) map[t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : s2) map[t.name] = "model-00002-of-00002.safetensors";
  llc_test::write_bytes(dir + "/model.safetensors.index.json",
                        nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump());
}

// Compares every program weight's device bytes with the values its sources hold.
std::string verify_loaded(const Program& prog, const std::vector<FileTensor>& tensors,
                          const llc::DeviceWeights& dw, DType dtype) {
  auto tid_of = [&](const std::string& name) {
    for (const auto& t : tensors)
      if (t.name == name) return t.tid;
    return -1;
  };
  if (dw.pointers.size() != prog.weights().size()) return "wrong number of weight pointers";
  if (dw.pointers[Program::kLmHead] != dw.pointers[0]) return "tied lm_head does not share the embedding";
  for (size_t i = 0; i < prog.weights().size(); ++i) {
    const llc::WeightSpec& w = prog.weights()[i];
    if (reinterpret_cast<uintptr_t>(dw.pointers[i]) % 256) return "weight " + std::to_string(i) + " not 256-byte aligned";
    std::vector<uint16_t> got(size_t(w.rows * w.cols));
    cuda_ok(cudaMemcpy(got.data(), dw.pointers[i], got.size() * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
    size_t at = 0;
    for (int s = 0; s < w.n_sources; ++s) {
      int tid = tid_of(w.sources[s].name);
      for (int64_t e = 0; e < w.sources[s].rows * w.cols; ++e, ++at) {
        uint16_t want = to_bits(value(tid, e), dtype);
        if (got[at] != want)
          return "weight " + std::to_string(i) + " (" + w.sources[s].name + ") element " + std::to_string(e) +
                 ": device holds " + std::to_string(from_bits(got[at], dtype)) + ", file " +
                 std::to_string(value(tid, e));
      }
    }
  }
  return {};
}

void check_load(CheckTable& table, const std::string& name, DType dtype, bool sharded, bool all_bf16,
                const llc::LoadOptions& opt, int expect_convert_calls /* -1: some, 0: none */) {
  try {
    llc_test::ScratchDir dir;
    auto tensors = checkpoint_tensors(all_bf16);
    write_checkpoint(dir.path(), tensors, sharded);
    Program prog;
    g_compiled = dtype;
    g_convert_calls = 0;
    cudaStream_t s;
    cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    std::string err;
    {
      llc::DeviceWeights dw = llc::load_weights(prog.get(dtype), dir.path(), s, opt);
      err = verify_loaded(prog, tensors, dw, dtype);
      if (err.empty() && expect_convert_calls == 0 && g_convert_calls != 0)
        err = "convert was called for a checkpoint already in the compiled dtype";
      if (err.empty() && expect_convert_calls != 0 && g_convert_calls == 0)
        err = "convert was never called although dtypes differ";
    }
    cudaStreamDestroy(s);
    table.add(name, err.empty(), err.empty() ? "[" + std::to_string(g_convert_calls) + " convert calls]" : err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

void check_random(CheckTable& table) {
  const std::string name = "random_weights: deterministic, tied, per-kind ranges, distinct sources";
  try {
    Program prog;
    g_compiled = DType::bf16;
    auto fetch = [&](const llc::DeviceWeights& dw, size_t i) {
      const auto& w = prog.weights()[i];
      std::vector<uint16_t> h(size_t(w.rows * w.cols));
      cuda_ok(cudaMemcpy(h.data(), dw.pointers[i], h.size() * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
      return h;
    };
    llc::DeviceWeights a = llc::random_weights(prog.get(DType::bf16), 7, nullptr);
    llc::DeviceWeights b = llc::random_weights(prog.get(DType::bf16), 7, nullptr);
    llc::DeviceWeights c = llc::random_weights(prog.get(DType::bf16), 8, nullptr);
    std::string err;
    for (size_t i = 0; i < prog.weights().size() && err.empty(); ++i)
      if (fetch(a, i) != fetch(b, i)) err = "same seed, different values in weight " + std::to_string(i);
    if (err.empty() && fetch(a, 0) == fetch(c, 0)) err = "seeds 7 and 8 gave the same embedding";
    if (err.empty() && a.pointers[Program::kLmHead] != a.pointers[0]) err = "tied lm_head not shared";
    const double slack = 1 + 1.0 / 128;  // bf16 rounding
    for (size_t i = 0; i < prog.weights().size() && err.empty(); ++i) {
      const auto& w = prog.weights()[i];
      auto h = fetch(a, i);
      double lo = 1e9, hi = -1e9;
      for (uint16_t x : h) {
        lo = std::min<double>(lo, from_bits(x, DType::bf16));
        hi = std::max<double>(hi, from_bits(x, DType::bf16));
      }
      bool is_bias = std::string(w.sources[0].name).find(".bias") != std::string::npos;
      double want_lo, want_hi;
      if (w.rank == 2) {
        want_hi = slack / std::sqrt(double(w.cols));
        want_lo = -want_hi;
      } else if (is_bias) {
        want_hi = 0.02 * slack;
        want_lo = -want_hi;
      } else {
        want_lo = 0.9 / slack;
        want_hi = 1.1 * slack;
      }
      if (lo < want_lo || hi > want_hi || !(hi > lo))
        err = "weight " + std::to_string(i) + " (" + w.sources[0].name + ") spans [" + std::to_string(lo) +
              ", " + std::to_string(hi) + "], expected inside [" + std::to_string(want_lo) + ", " +
              std::to_string(want_hi) + "] and not constant";
    }
    if (err.empty()) {
      auto qkv = fetch(a, 1);  // q rows [0, 64), k rows [64, 96): different name, different stream
      if (std::equal(qkv.begin(), qkv.begin() + 64 * 64 / 2, qkv.begin() + 64 * 64))
        err = "k_proj's random values repeat q_proj's";
    }
    table.add(name, err.empty(), err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

// The column-scale fixture: tensors (mixed dtypes, so convert runs first) and the program table.
std::vector<FileTensor> scaled_checkpoint_tensors() {
  return {
      {"model.embed_tokens.weight", "BF16", {96, 64}, 21},
      {L0 + "self_attn.q_proj.weight", "F16", {64, 64}, 22},
      {L0 + "self_attn.k_proj.weight", "F32", {32, 64}, 23},
      {L0 + "input_layernorm.weight", "F32", {64}, 24},
      {"model.norm.weight", "BF16", {64}, 25},
  };
}

// 0: q + k scaled by 2 (a later entry); 1: embedding; 2, 4: norms; 3: lm_head tied to the
// embedding's tensor but scaled by 4, so it must get its own allocation.
Program scaled_program(bool with_scales) {
  Program prog{Program::Empty{}};
  prog.add(2, 64, {{L0 + "self_attn.q_proj.weight", 64}, {L0 + "self_attn.k_proj.weight", 32}});
  prog.add(2, 64, {{"model.embed_tokens.weight", 96}});
  prog.add(1, 1, {{L0 + "input_layernorm.weight", 64}});
  prog.add(2, 64, {{"model.embed_tokens.weight", 96}});
  prog.add(1, 1, {{"model.norm.weight", 64}});
  if (with_scales) {
    prog.weights()[0].column_scale = 2;
    prog.weights()[3].column_scale = 4;
  }
  return prog;
}

std::vector<uint16_t> fetch_weight(const Program& prog, const llc::DeviceWeights& dw, size_t i) {
  const auto& w = prog.weights()[i];
  std::vector<uint16_t> h(size_t(w.rows * w.cols));
  cuda_ok(cudaMemcpy(h.data(), dw.pointers[i], h.size() * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
  return h;
}

// Loads the fixture into a `dtype` program and compares every weight with the file: W * S for the
// scaled ones (product of file values, rounded once to dtype), the file values for the rest.
void check_column_scale_load(CheckTable& table, DType dtype, const llc::LoadOptions& opt) {
  const std::string name = std::string("load ") + llc::dtype_name(dtype) +
                           " program with column scales: W' = W * S, scales and unscaled tie intact";
  try {
    llc_test::ScratchDir dir;
    const auto tensors = scaled_checkpoint_tensors();
    write_checkpoint(dir.path(), tensors, false);
    Program prog = scaled_program(true);
    g_compiled = dtype;
    g_scale_calls = 0;
    auto tid_of = [&](const std::string& n) {
      for (const auto& t : tensors)
        if (t.name == n) return t.tid;
      return -1;
    };
    std::string err;
    {
      llc::DeviceWeights dw = llc::load_weights(prog.get(dtype), dir.path(), nullptr, opt);
      if (dw.pointers[3] == dw.pointers[1]) err = "the scaled lm_head shares the unscaled embedding";
      if (err.empty() && g_scale_calls != 2)
        err = "scale_columns called " + std::to_string(g_scale_calls) + " times, expected 2";
      for (size_t i = 0; i < prog.weights().size() && err.empty(); ++i) {
        const llc::WeightSpec& w = prog.weights()[i];
        const auto got = fetch_weight(prog, dw, i);
        const int stid = w.column_scale >= 0 ? tid_of(prog.weights()[w.column_scale].sources[0].name) : -1;
        size_t at = 0;
        for (int s = 0; s < w.n_sources && err.empty(); ++s) {
          const int tid = tid_of(w.sources[s].name);
          for (int64_t e = 0; e < w.sources[s].rows * w.cols; ++e, ++at) {
            const float x = value(tid, e) * (stid >= 0 ? value(stid, e % w.cols) : 1.f);  // exact in fp32
            if (got[at] != to_bits(x, dtype)) {
              err = "weight " + std::to_string(i) + " (" + w.sources[s].name + ") element " + std::to_string(e) +
                    ": device holds " + std::to_string(from_bits(got[at], dtype)) + ", expected " +
                    std::to_string(from_bits(to_bits(x, dtype), dtype));
              break;
            }
          }
        }
      }
    }
    table.add(name, err.empty(), err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

// random_weights with column scales: deterministic, and each scaled weight equals the same seed's
// unscaled values times its scale's (one rounding), while the scales themselves are unchanged.
void check_column_scale_random(CheckTable& table) {
  const std::string name = "random_weights with column scales: deterministic, W' = W * S";
  try {
    Program scaled = scaled_program(true), plain = scaled_program(false);
    g_compiled = DType::bf16;
    llc::DeviceWeights a = llc::random_weights(scaled.get(DType::bf16), 7, nullptr);
    llc::DeviceWeights b = llc::random_weights(scaled.get(DType::bf16), 7, nullptr);
    llc::DeviceWeights u = llc::random_weights(plain.get(DType::bf16), 7, nullptr);
    std::string err;
    for (size_t i = 0; i < scaled.weights().size() && err.empty(); ++i) {
      const llc::WeightSpec& w = scaled.weights()[i];
      const auto got = fetch_weight(scaled, a, i);
      if (got != fetch_weight(scaled, b, i)) err = "same seed, different values in weight " + std::to_string(i);
      const auto raw = fetch_weight(plain, u, i);
      const auto scale = w.column_scale >= 0 ? fetch_weight(plain, u, size_t(w.column_scale)) : std::vector<uint16_t>();
      for (size_t e = 0; e < got.size() && err.empty(); ++e) {
        const float x = from_bits(raw[e], DType::bf16);
        const uint16_t want =
            scale.empty() ? raw[e] : to_bits(x * from_bits(scale[e % size_t(w.cols)], DType::bf16), DType::bf16);
        if (got[e] != want)
          err = "weight " + std::to_string(i) + " element " + std::to_string(e) + ": " +
                std::to_string(from_bits(got[e], DType::bf16)) + ", expected " +
                std::to_string(from_bits(want, DType::bf16));
      }
    }
    table.add(name, err.empty(), err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

// Loads a 1 GiB BF16 tensor (warm page cache) and reports the rate; checks a sample of it.
void report_load_speed(CheckTable& table) {
  const std::string name = "load_weights 1 GiB bf16 (speed in INFO line)";
  try {
    llc_test::ScratchDir dir;
    const int64_t rows = 32768, cols = 16384;
    const uint64_t n = uint64_t(rows) * cols;
    auto bits_at = [](uint64_t i) { return uint16_t(((i * 2654435761u) >> 13) & 0x3f7f); };
    {
      std::string header = nlohmann::json{{"big.weight", {{"dtype", "BF16"}, {"shape", {rows, cols}},
                                                          {"data_offsets", {0, n * 2}}}}}.dump();
      header.append((8 - header.size() % 8) % 8, ' ');
      std::ofstream out(dir.file("model.safetensors"), std::ios::binary);
      uint64_t len = header.size();
      out.write(reinterpret_cast<const char*>(&len), 8);
      out << header;
      std::vector<uint16_t> buf(size_t(1) << 22);
      for (uint64_t at = 0; at < n; at += buf.size()) {
        size_t cnt = size_t(std::min<uint64_t>(buf.size(), n - at));
        for (size_t j = 0; j < cnt; ++j) buf[j] = bits_at(at + j);
        out.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(cnt * 2));
      }
      if (!out) throw std::runtime_error("writing the 1 GiB test file failed (disk full?)");
    }
    llc::WeightSource src{"big.weight", rows};
    llc::WeightSpec w{2, rows, cols, 1, &src};
    llc::ModelSpec spec{};
    spec.dtype = DType::bf16;
    spec.n_weights = 1;
    spec.weights = &w;
    llc::ModelProgram prog{};
    prog.spec = &spec;
    prog.convert = stand_in_convert;
    g_compiled = DType::bf16;
    cudaStream_t s;
    cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    std::string err;
    {
      llc::DeviceWeights dw = llc::load_weights(prog, dir.path(), s);
      char line[128];
      std::snprintf(line, sizeof(line), "load_weights: 1 GiB in %.3f s = %.2f GB/s (warm page cache)",
                    dw.load_seconds, double(n * 2) / dw.load_seconds / 1e9);
      table.info(line);
      for (uint64_t probe = 0; probe < 4096 && err.empty(); ++probe) {
        uint64_t i = splitmix64(probe) % n;
        uint16_t got;
        cuda_ok(cudaMemcpy(&got, static_cast<uint16_t*>(dw.pointers[0]) + i, 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
        if (got != bits_at(i)) err = "element " + std::to_string(i) + " differs from the file";
      }
    }
    cudaStreamDestroy(s);
    table.add(name, err.empty(), err);
  } catch (const std::exception& e) {
    table.add(name, false, std::string("exception: ") + e.what());
  }
}

}  // namespace

void run_weight_checks(CheckTable& table) {
  llc::LoadOptions def;
  llc::LoadOptions tiny{(size_t(64) << 10) + 48, 1};  // 64 KiB + 48: chunks cut rows unevenly
  llc::LoadOptions mid{(size_t(8) << 20) + 16, 4};    // 2 pread threads per 8 MiB chunk
  check_load(table, "load bf16 program, single file, mixed dtypes, default staging", DType::bf16, false, false, def, -1);
  check_load(table, "load bf16 program, single file, mixed dtypes, 64 KiB staging", DType::bf16, false, false, tiny, -1);
  check_load(table, "load bf16 program, sharded, mixed dtypes, 8 MiB staging x4 threads", DType::bf16, true, false, mid, -1);
  check_load(table, "load fp16 program, sharded, mixed dtypes, default staging", DType::fp16, true, false, def, -1);
  check_load(table, "load fp16 program, single file, mixed dtypes, 64 KiB staging", DType::fp16, false, false, tiny, -1);
  check_load(table, "load bf16 program, all-BF16 file: direct copies, no convert", DType::bf16, false, true, def, 0);
  check_load(table, "load bf16 program, all-BF16 sharded, 64 KiB staging, no convert", DType::bf16, true, true, tiny, 0);
  check_random(table);
  check_column_scale_load(table, DType::bf16, def);
  check_column_scale_load(table, DType::fp16, tiny);
  check_column_scale_random(table);
  report_load_speed(table);
}

}  // namespace gpu_test
