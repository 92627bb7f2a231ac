// output.h - what a generation run prints and writes.
//
// GenerationPrinter is the engine's TokenObserver: it keeps a CompletionTracker per sequence
// (text, stop strings, EOS, length) and prints as the mode says:
//   stream   - one text prompt: its completion text goes to stdout as it is generated;
//   labelled - otherwise: each sequence, when it finishes, as a block headed by its label,
//              finish reason and token count, with its ids (id prompts) and text (when known);
//   quiet    - nothing (--json prints everything at the end).
// The JSON builders give the --output-json / --json document and the --tokenize listing; the
// version text lists the compiled ModelSpec.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/completion.h"
#include "runtime/engine.h"
#include "runtime/metrics.h"
#include "runtime/prompts.h"

namespace llc {

enum class PrintMode { stream, labelled, quiet };

// stream for exactly one text request (unless json), labelled otherwise, quiet with json.
PrintMode choose_print_mode(const std::vector<Request>& requests, bool json);

class GenerationPrinter : public TokenObserver {
 public:
  GenerationPrinter(const std::vector<Request>& requests, const Tokenizer* tokenizer,
                    const FinishRules& rules, PrintMode mode, std::FILE* out);
  FinishReason on_token(int seq, int32_t token) override;
  const CompletionTracker& tracker(int seq) const { return *trackers_.at(seq); }
  bool has_text() const { return tokenizer_ != nullptr; }

 private:
  void print_block(int seq);

  const std::vector<Request>& requests_;
  const Tokenizer* tokenizer_;
  PrintMode mode_;
  std::FILE* out_;
  std::vector<std::unique_ptr<CompletionTracker>> trackers_;
  std::vector<std::vector<int32_t>> ids_;  // generated ids per sequence (for labelled blocks)
  std::string piece_;
};

// "1,2,3"
std::string join_ids(const std::vector<int32_t>& ids);

nlohmann::json model_json(const ModelSpec& spec);

// The --output-json / --json document of a generation run.
nlohmann::json results_json(const ModelSpec& spec, const std::vector<Request>& requests,
                            const RunResult& run, const GenerationPrinter& printer,
                            const Metrics& metrics, const nlohmann::json& settings);

// --tokenize: [{"label": ..., "text": ..., "ids": [...]}, ...]
nlohmann::json tokenize_json(const std::vector<Request>& requests);

// --version
std::string version_text(const ModelSpec& spec, const char* argv0);

// Serialises compactly (one line), invalid UTF-8 replaced (decoded text may hold any bytes).
std::string dump_json(const nlohmann::json& j);

// Writes `text` to `path`; throws std::runtime_error naming the file.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace llc
