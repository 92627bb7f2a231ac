// output.cpp - printing completions, the results document, --tokenize and --version.
#include "runtime/output.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "runtime/bench_report.h"
#include "runtime/device_buffer.h"
#include "runtime/version.h"

namespace llc {

PrintMode choose_print_mode(const std::vector<Request>& requests, bool json) {
  if (json) return PrintMode::quiet;
  if (requests.size() == 1 && requests[0].from_text) return PrintMode::stream;
  return PrintMode::labelled;
}

GenerationPrinter::GenerationPrinter(const std::vector<Request>& requests, const Tokenizer* tokenizer,
                                     const FinishRules& rules, PrintMode mode, std::FILE* out)
    : requests_(requests), tokenizer_(tokenizer), mode_(mode), out_(out) {
  trackers_.reserve(requests.size());
  ids_.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    FinishRules r = rules;
    r.max_new_tokens = requests[i].max_new_tokens;
    trackers_.push_back(std::make_unique<CompletionTracker>(tokenizer, r));
    ids_[i].reserve(static_cast<size_t>(r.max_new_tokens));
  }
}

FinishReason GenerationPrinter::on_token(int seq, int32_t token) {
  CompletionTracker& t = *trackers_.at(seq);
  piece_.clear();
  const FinishReason why = t.push(token, piece_);
  ids_[seq].push_back(token);
  if (mode_ == PrintMode::stream) {
    if (!piece_.empty()) {
      std::fwrite(piece_.data(), 1, piece_.size(), out_);
      std::fflush(out_);
    }
    if (why != FinishReason::none) {
      std::fputc('\n', out_);
      std::fflush(out_);
    }
  } else if (mode_ == PrintMode::labelled && why != FinishReason::none) {
    print_block(seq);
  }
  return why;
}

void GenerationPrinter::print_block(int seq) {
  const Request& r = requests_[seq];
  const CompletionTracker& t = *trackers_[seq];
  std::fprintf(out_, "--- %s (%s, %d tokens) ---\n", r.label.c_str(), finish_reason_name(t.finish()),
               t.n_tokens());
  if (!r.from_text) std::fprintf(out_, "ids: %s\n", join_ids(ids_[seq]).c_str());
  if (t.has_text()) {
    if (!r.from_text) std::fputs("text: ", out_);
    std::fwrite(t.text().data(), 1, t.text().size(), out_);
    std::fputc('\n', out_);
  }
  std::fflush(out_);
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s.push_back(',');
    s += std::to_string(ids[i]);
  }
  return s;
}

nlohmann::json model_json(const ModelSpec& s) {
  nlohmann::json j;
  j["architecture"] = s.architecture ? s.architecture : "";
  j["config"] = s.config_path ? s.config_path : "";
  j["dtype"] = dtype_name(s.dtype);
  j["n_layers"] = s.n_layers;
  j["hidden"] = s.hidden;
  j["n_heads"] = s.n_heads;
  j["n_kv_heads"] = s.n_kv_heads;
  j["head_dim"] = s.head_dim;
  j["intermediate"] = s.intermediate;
  j["vocab"] = s.vocab;
  j["max_batch"] = s.max_batch;
  j["max_context"] = s.max_context;
  j["max_prefill_tokens"] = s.max_prefill_tokens;
  j["bos_token_id"] = s.bos_token_id;
  j["eos_token_ids"] = std::vector<int>(s.eos_token_ids, s.eos_token_ids + s.n_eos);
  j["graph_buckets"] = std::vector<int>(s.graph_buckets, s.graph_buckets + s.n_graph_buckets);
  j["n_weights"] = s.n_weights;
  j["arena_bytes"] = s.arena_bytes;
  j["attention_kernels"] = s.attention_kernels ? s.attention_kernels : "";
  return j;
}

nlohmann::json results_json(const ModelSpec& spec, const std::vector<Request>& requests,
                            const RunResult& run, const GenerationPrinter& printer,
                            const Metrics& metrics, const nlohmann::json& settings) {
  nlohmann::json j;
  j["model"] = model_json(spec);
  j["settings"] = settings;
  nlohmann::json seqs = nlohmann::json::array();
  for (size_t i = 0; i < requests.size(); ++i) {
    const SequenceRun& r = run.seqs.at(i);
    nlohmann::json s;
    s["index"] = i;
    s["label"] = requests[i].label;
    if (requests[i].from_text) s["prompt_text"] = requests[i].text;
    s["prompt_ids"] = requests[i].prompt;
    s["generated_ids"] = r.generated;
    s["finish_reason"] = finish_reason_name(r.finish);
    if (printer.has_text()) s["text"] = printer.tracker(static_cast<int>(i)).text();
    if (requests[i].n_forced > 0) {
      s["teacher_forced"] = requests[i].n_forced;
      s["forced_predictions"] = r.forced_predictions;
    }
    s["ttft_ms"] = json_number(sequence_ttft_ms(r));
    s["tpot_ms"] = json_number(sequence_tpot_ms(r));
    if (r.logit_rows > 0) s["logit_rows"] = r.logit_rows;
    seqs.push_back(std::move(s));
  }
  j["sequences"] = std::move(seqs);
  j["metrics"] = metrics_json(metrics);
  return j;
}

nlohmann::json tokenize_json(const std::vector<Request>& requests) {
  nlohmann::json j = nlohmann::json::array();
  for (const Request& r : requests) {
    nlohmann::json e;
    e["label"] = r.label;
    if (r.from_text) e["text"] = r.text;
    e["ids"] = r.prompt;
    j.push_back(std::move(e));
  }
  return j;
}

std::string version_text(const ModelSpec& s, const char* argv0) {
  std::string out = std::string(argv0 ? argv0 : "model_bin") + " (llc-llama " + kVersion + ")\n";
  auto line = [&out](const char* key, const std::string& value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "  %-20s", key);
    out += buf + value + "\n";
  };
  std::vector<int> eos(s.eos_token_ids, s.eos_token_ids + s.n_eos);
  std::vector<int> buckets(s.graph_buckets, s.graph_buckets + s.n_graph_buckets);
  auto ints = [](const std::vector<int>& v) {
    std::string r;
    for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + std::to_string(v[i]);
    return r.empty() ? std::string("none") : r;
  };
  line("architecture", s.architecture ? s.architecture : "?");
  line("config", s.config_path ? s.config_path : "?");
  line("dtype", dtype_name(s.dtype));
  line("layers", std::to_string(s.n_layers));
  line("hidden", std::to_string(s.hidden));
  line("heads / kv heads", std::to_string(s.n_heads) + " / " + std::to_string(s.n_kv_heads));
  line("head_dim", std::to_string(s.head_dim));
  line("intermediate", std::to_string(s.intermediate));
  line("vocab", std::to_string(s.vocab));
  line("max_batch", std::to_string(s.max_batch));
  line("max_context", std::to_string(s.max_context));
  line("max_prefill_tokens", std::to_string(s.max_prefill_tokens));
  line("bos / eos", (s.bos_token_id >= 0 ? std::to_string(s.bos_token_id) : "none") + " / " + ints(eos));
  line("graph buckets", ints(buckets));
  line("weights", std::to_string(s.n_weights) + " program weights, " +
                      format_bytes(unique_weight_bytes(s)) + " (each tensor once)");
  line("arena", format_bytes(s.arena_bytes));
  line("attention", s.attention_kernels ? s.attention_kernels : "?");
  return out;
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_text_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) throw std::runtime_error("writing " + path + " failed: " + std::strerror(errno));
}

}  // namespace llc
