// kv_sizing.cpp - KV pool and buffer sizing (see kv_sizing.h).
#include "runtime/kv_sizing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "runtime/scheduler.h"

namespace llc {

namespace {
std::string gb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  return buf;
}
}  // namespace

size_t kv_bytes_per_slot(const ModelSpec& s) {
  return size_t(2) * static_cast<size_t>(s.n_layers) * static_cast<size_t>(s.n_kv_heads) *
         static_cast<size_t>(s.head_dim) * dtype_size(s.dtype);
}

KvPlan plan_kv_cache(const ModelSpec& spec, size_t free_bytes, double fraction, int64_t kv_tokens) {
  KvPlan p;
  p.bytes_per_slot = kv_bytes_per_slot(spec);
  if (p.bytes_per_slot == 0) throw std::runtime_error("the model has no KV cache (zero bytes per token)");
  // Slot indices are int32 on the device.
  const int64_t max_slots = std::numeric_limits<int32_t>::max();
  int64_t usable;
  if (kv_tokens > 0) {
    usable = kv_tokens;
    if (usable + 1 > max_slots)
      throw std::runtime_error("--kv-tokens " + std::to_string(kv_tokens) + " exceeds the " +
                               std::to_string(max_slots - 1) + " slots int32 indices can address");
    const double need = static_cast<double>(usable + 1) * static_cast<double>(p.bytes_per_slot);
    if (need > static_cast<double>(free_bytes))
      throw std::runtime_error("--kv-tokens " + std::to_string(kv_tokens) + " needs " + gb(need) +
                               " of KV cache (" + std::to_string(p.bytes_per_slot) +
                               " bytes per token) but only " + gb(static_cast<double>(free_bytes)) +
                               " of GPU memory is free");
  } else {
    if (!(fraction > 0 && fraction <= 1))
      throw std::runtime_error("KV cache fraction " + std::to_string(fraction) + " is not in (0, 1]");
    const double budget = std::floor(static_cast<double>(free_bytes) * fraction);
    const int64_t slots = static_cast<int64_t>(budget / static_cast<double>(p.bytes_per_slot));
    usable = std::min(slots, max_slots) - 1;
    // More than every row at full context can never be used at once.
    usable = std::min(usable, static_cast<int64_t>(spec.max_batch) * spec.max_context);
  }
  if (usable < spec.max_context)
    throw std::runtime_error(
        "the KV cache would hold " + std::to_string(std::max<int64_t>(usable, 0)) + " tokens (" +
        (kv_tokens > 0 ? std::string("--kv-tokens")
                       : std::to_string(fraction) + " of " + gb(static_cast<double>(free_bytes)) +
                             " free") +
        ", " + std::to_string(p.bytes_per_slot) + " bytes per token) but one sequence of the "
        "compiled max_context needs " + std::to_string(spec.max_context) +
        ": free GPU memory, raise --kv-cache-fraction or --kv-tokens, or compile a smaller max_context");
  p.n_slots = usable + 1;
  p.cache_bytes = static_cast<size_t>(p.n_slots) * (p.bytes_per_slot / 2);
  return p;
}

int prefill_max_tokens(const ModelSpec& spec) { return std::max(spec.max_prefill_tokens, spec.max_batch); }

int64_t logits_rows(const ModelSpec& spec, bool all_logits) {
  return all_logits ? std::max<int64_t>(prefill_max_tokens(spec), spec.max_batch) : spec.max_batch;
}

void check_model_spec(const ModelSpec& s) {
  const auto bad = [](const std::string& field, long long v, const char* want) {
    throw std::invalid_argument("compiled ModelSpec: " + field + " = " + std::to_string(v) + " (" +
                                want + ")");
  };
  const std::pair<const char*, int> positive[] = {
      {"n_layers", s.n_layers},     {"hidden", s.hidden},
      {"n_heads", s.n_heads},       {"n_kv_heads", s.n_kv_heads},
      {"head_dim", s.head_dim},     {"intermediate", s.intermediate},
      {"vocab", s.vocab},           {"max_batch", s.max_batch},
      {"max_context", s.max_context}, {"max_prefill_tokens", s.max_prefill_tokens}};
  for (const auto& [name, v] : positive)
    if (v < 1) bad(name, v, "must be >= 1");
  if (s.n_heads % s.n_kv_heads != 0) bad("n_heads", s.n_heads, "must be a multiple of n_kv_heads");
  if (s.dtype != DType::bf16 && s.dtype != DType::fp16)
    bad("dtype", static_cast<int>(s.dtype), "must be bf16 or fp16");
  if (s.bos_token_id >= s.vocab) bad("bos_token_id", s.bos_token_id, "outside the vocabulary");
  if (s.n_eos < 0 || (s.n_eos > 0 && !s.eos_token_ids)) bad("n_eos", s.n_eos, "no eos_token_ids array");
  for (int i = 0; i < s.n_eos; ++i)
    if (s.eos_token_ids[i] < 0 || s.eos_token_ids[i] >= s.vocab)
      bad("eos_token_ids[" + std::to_string(i) + "]", s.eos_token_ids[i], "outside the vocabulary");
  if (s.n_graph_buckets < 1 || !s.graph_buckets) bad("n_graph_buckets", s.n_graph_buckets, "must be >= 1");
  check_graph_buckets(std::vector<int>(s.graph_buckets, s.graph_buckets + s.n_graph_buckets), s.max_batch);
  if (s.n_weights < 1 || !s.weights) bad("n_weights", s.n_weights, "the program names no weights");
}

}  // namespace llc
