// completion.cpp - text and finish decisions for one sequence (see completion.h).
#include "runtime/completion.h"

#include <algorithm>
#include <stdexcept>

namespace llc {

CompletionTracker::CompletionTracker(const Tokenizer* tokenizer, const FinishRules& rules)
    : rules_(rules), stop_(rules.stop) {
  if (tokenizer) {
    decoder_ = std::make_unique<StreamDecoder>(*tokenizer, /*skip_special_tokens=*/true);
  } else if (!rules.stop.empty()) {
    throw std::invalid_argument("--stop needs a tokenizer to decode the generated text");
  }
  if (rules.max_new_tokens < 1)
    throw std::invalid_argument("max_new_tokens is " + std::to_string(rules.max_new_tokens));
}

FinishReason CompletionTracker::push(int32_t token, std::string& printable) {
  if (finish_ != FinishReason::none)
    throw std::logic_error("CompletionTracker: token after the sequence finished");
  ++n_tokens_;
  std::string out;
  FinishReason reason = FinishReason::none;
  if (decoder_ && stop_.feed(decoder_->push(token), out)) reason = FinishReason::stop;
  if (reason == FinishReason::none && !rules_.ignore_eos &&
      std::find(rules_.eos_ids.begin(), rules_.eos_ids.end(), token) != rules_.eos_ids.end())
    reason = FinishReason::eos;
  if (reason == FinishReason::none && n_tokens_ >= rules_.max_new_tokens)
    reason = FinishReason::length;
  if (decoder_ && (reason == FinishReason::eos || reason == FinishReason::length)) {
    if (stop_.feed(decoder_->flush(), out))
      reason = FinishReason::stop;
    else
      stop_.finish(out);
  }
  text_ += out;
  printable += out;
  finish_ = reason;
  return reason;
}

}  // namespace llc
