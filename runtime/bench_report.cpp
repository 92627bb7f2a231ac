// bench_report.cpp - decode traffic, synthetic prompts and the benchmark table (see bench_report.h).
#include "runtime/bench_report.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <string_view>

#include "runtime/kv_sizing.h"
#include "runtime/metrics.h"

namespace llc {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The identity of a weight's storage: the list of its source tensors.
std::string weight_key(const WeightSpec& w) {
  std::string key;
  for (int i = 0; i < w.n_sources; ++i) {
    key += w.sources[i].name ? w.sources[i].name : "";
    key.push_back('\n');
  }
  return key;
}

bool is_embedding(const WeightSpec& w) {
  return w.n_sources == 1 && w.sources[0].name && ends_with(w.sources[0].name, "embed_tokens.weight");
}

bool is_lm_head(const WeightSpec& w) {
  return w.n_sources == 1 && w.sources[0].name && ends_with(w.sources[0].name, "lm_head.weight");
}

}  // namespace

size_t weight_bytes(const WeightSpec& w, DType dtype) {
  return static_cast<size_t>(w.rows) * static_cast<size_t>(w.rank == 2 ? w.cols : 1) * dtype_size(dtype);
}

size_t unique_weight_bytes(const ModelSpec& spec) {
  std::set<std::string> seen;
  size_t total = 0;
  for (int i = 0; i < spec.n_weights; ++i)
    if (seen.insert(weight_key(spec.weights[i])).second) total += weight_bytes(spec.weights[i], spec.dtype);
  return total;
}

size_t decode_weight_bytes(const ModelSpec& spec) {
  bool untied = false;
  for (int i = 0; i < spec.n_weights; ++i) untied |= is_lm_head(spec.weights[i]);
  size_t total = unique_weight_bytes(spec);
  if (untied) {
    for (int i = 0; i < spec.n_weights; ++i)
      if (is_embedding(spec.weights[i])) {
        total -= weight_bytes(spec.weights[i], spec.dtype);
        break;
      }
  }
  return total;
}

double decode_step_bytes(const ModelSpec& spec, int batch, double mean_context) {
  return static_cast<double>(decode_weight_bytes(spec)) +
         static_cast<double>(batch) * mean_context * static_cast<double>(kv_bytes_per_slot(spec));
}

std::vector<int32_t> synthetic_prompt(uint64_t seed, int index, int len, int vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(len));
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull + 1;
  for (int i = 0; i < len; ++i) {
    x += 0x9E3779B97F4A7C15ull;  // splitmix64
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    ids[static_cast<size_t>(i)] = static_cast<int32_t>(z % static_cast<uint64_t>(vocab));
  }
  return ids;
}

void finish_bench_row(const ModelSpec& spec, double copy_gbps, BenchRow& row) {
  row.step_bytes = decode_step_bytes(spec, row.batch, row.mean_context);
  row.bandwidth_gbps = row.step_ms_graph > 0 ? row.step_bytes / (row.step_ms_graph * 1e-3) / 1e9 : NAN;
  row.copy_ratio = copy_gbps > 0 ? row.bandwidth_gbps / copy_gbps : NAN;
}

std::string bench_table_header() {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%6s %10s %9s %9s %12s %10s %11s %13s %9s %7s", "batch", "prompt_tok",
                "TTFT_ms", "TPOT_ms", "decode_tok/s", "e2e_tok/s", "step_graph", "step_no_graph",
                "GB/s", "%copy");
  return buf;
}

std::string bench_table_row(const BenchRow& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%6d %10lld %9.2f %9.3f %12.1f %10.1f %8.3f ms %10.3f ms %9.0f %6.1f%%",
                r.batch, static_cast<long long>(r.prompt_tokens), r.ttft_ms, r.tpot_ms,
                r.decode_tokens_per_s, r.e2e_tokens_per_s, r.step_ms_graph, r.step_ms_nograph,
                r.bandwidth_gbps, 100.0 * r.copy_ratio);
  return buf;
}

nlohmann::json bench_row_json(const BenchRow& r) {
  nlohmann::json j;
  j["batch"] = r.batch;
  j["prompt_tokens"] = r.prompt_tokens;
  j["generated_tokens"] = r.generated_tokens;
  j["ttft_ms"] = json_number(r.ttft_ms);
  j["tpot_ms"] = json_number(r.tpot_ms);
  j["decode_tokens_per_s"] = json_number(r.decode_tokens_per_s);
  j["e2e_tokens_per_s"] = json_number(r.e2e_tokens_per_s);
  j["decode_step_ms_graph"] = json_number(r.step_ms_graph);
  j["decode_step_ms_no_graph"] = json_number(r.step_ms_nograph);
  j["mean_decode_context"] = json_number(r.mean_context);
  j["decode_step_bytes"] = json_number(r.step_bytes);
  j["bandwidth_GBps"] = json_number(r.bandwidth_gbps);
  j["bandwidth_fraction_of_copy"] = json_number(r.copy_ratio);
  return j;
}

}  // namespace llc
