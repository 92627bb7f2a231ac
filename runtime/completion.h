// completion.h - following one sequence's generated tokens: its text and when it ends.
//
// A CompletionTracker receives a sequence's generated ids one at a time, turns them into text
// with a StreamDecoder (special tokens skipped, never half a UTF-8 character), watches for stop
// strings across token boundaries (StopMatcher: the stop string is never released) and decides
// whether the token just received ends the sequence:
//   stop   - a stop string appeared in the decoded text (checked first);
//   eos    - the token is an end-of-sequence id (unless ignore_eos);
//   length - max_new_tokens reached.
// Without a tokenizer there is no text, and stop strings are refused (std::invalid_argument).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/scheduler.h"
#include "runtime/stop_matcher.h"
#include "runtime/tokenizer.h"

namespace llc {

struct FinishRules {
  std::vector<int32_t> eos_ids;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  int max_new_tokens = 1;
};

class CompletionTracker {
 public:
  CompletionTracker(const Tokenizer* tokenizer, const FinishRules& rules);

  // Appends the text that became final with this token to `printable`; returns why the sequence
  // ends with this token, or FinishReason::none.
  FinishReason push(int32_t token, std::string& printable);

  bool has_text() const { return decoder_ != nullptr; }
  const std::string& text() const { return text_; }  // all text released so far
  int n_tokens() const { return n_tokens_; }
  FinishReason finish() const { return finish_; }

 private:
  FinishRules rules_;
  std::unique_ptr<StreamDecoder> decoder_;
  StopMatcher stop_;
  std::string text_;
  int n_tokens_ = 0;
  FinishReason finish_ = FinishReason::none;
};

}  // namespace llc
