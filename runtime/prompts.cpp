// prompts.cpp - collecting, tokenising and checking prompts (see prompts.h).
#include "runtime/prompts.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace llc {

std::string unescape_prompt_line(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      char n = line[i + 1];
      if (n == 'n' || n == 't' || n == 'r' || n == '\\') {
        out.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : '\\');
        ++i;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

std::vector<std::pair<int, std::string>> read_prompts_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PromptError("cannot read prompts file " + path + ": " + std::strerror(errno));
  std::vector<std::pair<int, std::string>> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    out.emplace_back(line_no, unescape_prompt_line(line));
  }
  if (in.bad()) throw PromptError("reading prompts file " + path + " failed: " + std::strerror(errno));
  return out;
}

std::vector<PromptInput> collect_prompts(const CliOptions& o) {
  std::vector<PromptInput> out;
  for (size_t i = 0; i < o.prompts.size(); ++i) {
    PromptInput p;
    p.label = "--prompt " + std::to_string(i);
    p.text = o.prompts[i];
    out.push_back(std::move(p));
  }
  if (!o.prompts_file.empty()) {
    auto lines = read_prompts_file(o.prompts_file);
    if (lines.empty()) throw PromptError("prompts file " + o.prompts_file + " holds no prompt");
    for (auto& [line_no, text] : lines) {
      PromptInput p;
      p.label = o.prompts_file + ":" + std::to_string(line_no);
      p.text = std::move(text);
      out.push_back(std::move(p));
    }
  }
  for (size_t i = 0; i < o.prompt_ids.size(); ++i) {
    PromptInput p;
    p.label = "--prompt-ids " + std::to_string(i);
    p.is_text = false;
    try {
      p.ids = parse_int_list(o.prompt_ids[i], p.label);
    } catch (const CliError& e) {
      throw PromptError(e.what());
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string find_tokenizer_file(const CliOptions& o) {
  if (!o.tokenizer_file.empty()) return o.tokenizer_file;
  if (o.weights_dir.empty()) return "";
  std::string path = o.weights_dir + "/tokenizer.json";
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? path : "";
}

std::vector<Request> build_requests(const std::vector<PromptInput>& inputs, const CliOptions& o,
                                    const Tokenizer* tokenizer, const GenerationDefaults& defaults,
                                    int vocab, int max_context) {
  std::vector<Request> out;
  out.reserve(inputs.size());
  for (const PromptInput& in : inputs) {
    Request r;
    r.label = in.label;
    r.max_new_tokens = o.max_new_tokens;
    r.sampling.temperature = o.temperature;
    r.sampling.top_k = o.top_k;
    r.sampling.top_p = o.top_p;
    r.sampling.seed = o.seed;
    if (in.is_text) {
      if (in.text.empty()) throw PromptError(in.label + ": the prompt is empty");
      if (!tokenizer)
        throw PromptError(in.label + ": a text prompt needs a tokenizer (no tokenizer.json in --weights "
                                     "DIR; give --tokenizer FILE or use --prompt-ids)");
      r.from_text = true;
      r.text = in.text;
      r.prompt = encode_prompt(*tokenizer, defaults, in.text);
      if (r.prompt.empty()) throw PromptError(in.label + ": the prompt tokenises to no tokens");
      for (size_t k = 0; k < r.prompt.size(); ++k)
        if (r.prompt[k] < 0 || r.prompt[k] >= vocab)
          throw PromptError(in.label + ": the tokenizer produced id " + std::to_string(r.prompt[k]) +
                            " (token " + std::to_string(k) + "), outside the model's vocabulary [0, " +
                            std::to_string(vocab) + "): tokenizer and model do not match");
    } else {
      if (in.ids.empty()) throw PromptError(in.label + ": the prompt is empty (no token ids)");
      r.prompt.reserve(in.ids.size());
      for (size_t k = 0; k < in.ids.size(); ++k) {
        if (in.ids[k] < 0 || in.ids[k] >= vocab)
          throw PromptError(in.label + ": token id " + std::to_string(in.ids[k]) + " (index " +
                            std::to_string(k) + ") is outside the vocabulary [0, " +
                            std::to_string(vocab) + ")");
        r.prompt.push_back(static_cast<int32_t>(in.ids[k]));
      }
      r.n_forced = o.teacher_force;
      if (r.n_forced >= static_cast<int>(r.prompt.size()))
        throw PromptError(in.label + ": --teacher-force " + std::to_string(r.n_forced) +
                          " needs a prompt longer than that (it has " +
                          std::to_string(r.prompt.size()) + " ids; at least one must be prefilled)");
    }
    const int64_t total = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
    if (total > max_context)
      throw PromptError(in.label + ": prompt of " + std::to_string(r.prompt.size()) +
                        " tokens + " + std::to_string(r.max_new_tokens) + " new tokens = " +
                        std::to_string(total) + " exceeds the compiled max_context " +
                        std::to_string(max_context));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace llc
