// cli.h - the generated binary's command line: the options and their parsing.
//
// parse_cli() turns argv into CliOptions and checks everything that does not need the model
// (ranges, combinations of flags); checks against the compiled model (context length, vocab)
// happen in prompts.cpp once the prompts are tokenised. Invalid input throws CliError with a
// message naming the flag and the value, which program_main prints as one `error: ...` line.
// engine_config() turns the options into the engine's settings (generation and --bench).
// Nothing here touches the GPU or the filesystem.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llc {

struct EngineConfig;  // engine.h

class CliError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CliOptions {
  // model and tokenizer
  std::string weights_dir;     // --weights DIR
  bool random_weights = false;
  std::string tokenizer_file;  // --tokenizer FILE (default DIR/tokenizer.json)
  int device = 0;

  // prompts, in this order: --prompt texts, --prompts-file lines, --prompt-ids lists
  std::vector<std::string> prompts;
  std::string prompts_file;
  std::vector<std::string> prompt_ids;  // raw "1,2,3" strings, parsed in prompts.cpp

  // generation
  int max_new_tokens = 128;
  bool max_new_tokens_given = false;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool ignore_eos = false;

  // engine
  bool cuda_graph = true;
  bool overlap_steps = true;  // --no-overlap: wait for each decode step before planning the next
  double kv_cache_fraction = 0.90;
  int64_t kv_tokens = 0;  // 0: size by fraction

  // output
  bool tokenize_only = false;
  bool json = false;
  std::string output_json;

  // debugging and tests
  int teacher_force = 0;
  std::string dump_logits;
  bool all_logits = false;

  // benchmark
  bool bench = false;
  std::vector<int> batch_sizes{1};
  int prompt_len = 128;
  bool prompt_len_given = false;
  int gen_len = 128;
  int bench_runs = 3;

  bool has_text_prompts() const { return !prompts.empty() || !prompts_file.empty(); }
  bool has_any_prompt() const { return has_text_prompts() || !prompt_ids.empty(); }
};

enum class CliAction { run, help, version };

struct CliResult {
  CliAction action = CliAction::run;
  CliOptions options;
  std::string help;  // filled for CliAction::help
};

// Throws CliError on unknown flags, bad values and invalid combinations.
CliResult parse_cli(int argc, const char* const* argv);

// The engine the options ask for: weights (or random weights and their seed), device, KV pool
// size, CUDA graphs, all-logits.
EngineConfig engine_config(const CliOptions& options);

// "1,2, 3" or "1 2 3" -> {1, 2, 3}. Throws CliError naming `what` and the bad item. Empty input
// gives an empty list (callers decide whether that is an error).
std::vector<int64_t> parse_int_list(std::string_view text, const std::string& what);

}  // namespace llc
