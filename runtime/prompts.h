// prompts.h - from the command line's prompts to checked requests (token ids + settings).
//
// collect_prompts() gathers --prompt texts, the --prompts-file lines and --prompt-ids lists, in
// that order, each with a label that error messages use ("--prompt 2", "prompts.txt:7",
// "--prompt-ids 0"). build_requests() tokenises texts (encode_prompt: BOS as the model
// directory's generation defaults say, as transformers does) and
// checks every request against the compiled model BEFORE any GPU work: empty prompts, ids outside
// [0, vocab), prompt + max new tokens beyond max_context, teacher forcing longer than the prompt.
// Errors throw PromptError naming the request and what was expected and found.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/cli.h"
#include "runtime/scheduler.h"
#include "runtime/tokenizer.h"

namespace llc {

class PromptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PromptInput {
  std::string label;
  bool is_text = true;
  std::string text;          // is_text
  std::vector<int64_t> ids;  // !is_text
};

struct Request {
  std::string label;
  bool from_text = false;
  std::string text;             // the prompt text, when from_text
  std::vector<int32_t> prompt;  // token ids (BOS included when added)
  int n_forced = 0;
  int max_new_tokens = 1;
  SamplingParams sampling;
};

// Decodes the prompts-file escapes \n \t \r \\ (other backslashes stay as they are).
std::string unescape_prompt_line(std::string_view line);

// The prompts of a prompts file: one per line, empty lines skipped, trailing '\r' dropped,
// escapes decoded. Throws PromptError if the file cannot be read.
std::vector<std::pair<int, std::string>> read_prompts_file(const std::string& path);

std::vector<PromptInput> collect_prompts(const CliOptions& options);

// The tokenizer file to use: --tokenizer FILE, else DIR/tokenizer.json when it exists, else "".
std::string find_tokenizer_file(const CliOptions& options);

// `tokenizer` may be null when every prompt is given as ids.
std::vector<Request> build_requests(const std::vector<PromptInput>& inputs, const CliOptions& options,
                                    const Tokenizer* tokenizer, const GenerationDefaults& defaults,
                                    int vocab, int max_context);

}  // namespace llc
