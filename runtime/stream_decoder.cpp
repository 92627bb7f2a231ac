// stream_decoder.cpp - incremental decoding for streaming.
//
// For tokenizers built from tokenizer.json (tok::HfTokenizer) each id's token goes through the
// same streaming decoder pipeline decode() uses, so the concatenated output equals decode()
// exactly and holds text back only while a later id could still change it (see decoders.cpp).
// Any other Tokenizer implementation falls back to decoding all ids again on each push and
// returning the new suffix, holding back trailing U+FFFD (a possibly incomplete character).
#include "runtime/hf_tokenizer.h"
#include "runtime/tokenizer.h"

namespace llc {

struct StreamDecoder::State {
  // tokenizer.json path
  const tok::HfTokenizer* hf = nullptr;
  std::unique_ptr<tok::DecoderState> pipeline;
  // fallback path
  std::vector<int32_t> ids;
  std::string emitted;
};

namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

std::string join(const std::vector<tok::DecodedPiece>& pieces) {
  std::string text;
  for (const auto& p : pieces) text += p.text;
  return text;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens), state_(std::make_unique<State>()) {
  state_->hf = dynamic_cast<const tok::HfTokenizer*>(&tokenizer_);
  if (state_->hf) state_->pipeline = state_->hf->start_decoding();
}

StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;

std::string StreamDecoder::push(int32_t id) {
  State& s = *state_;
  if (s.hf) {
    const std::string* token = s.hf->decode_token(id, skip_special_tokens_);
    if (token == nullptr) return {};
    std::vector<tok::DecodedPiece> out;
    s.pipeline->push(tok::DecodedPiece{*token, false}, out);
    return join(out);
  }
  s.ids.push_back(id);
  std::string text = tokenizer_.decode(s.ids, skip_special_tokens_);
  if (text.size() <= s.emitted.size() || text.compare(0, s.emitted.size(), s.emitted) != 0) return {};
  size_t end = text.size();
  while (end >= s.emitted.size() + kReplacementChar.size() &&
         text.compare(end - kReplacementChar.size(), kReplacementChar.size(), kReplacementChar) == 0)
    end -= kReplacementChar.size();
  std::string fresh = text.substr(s.emitted.size(), end - s.emitted.size());
  s.emitted += fresh;
  return fresh;
}

std::string StreamDecoder::flush() {
  State& s = *state_;
  std::string rest;
  if (s.hf) {
    std::vector<tok::DecodedPiece> out;
    s.pipeline->flush(out);
    rest = join(out);
    s.pipeline = s.hf->start_decoding();
    return rest;
  }
  std::string text = tokenizer_.decode(s.ids, skip_special_tokens_);
  if (text.size() > s.emitted.size() && text.compare(0, s.emitted.size(), s.emitted) == 0)
    rest = text.substr(s.emitted.size());
  s.ids.clear();
  s.emitted.clear();
  return rest;
}

}  // namespace llc
