// hf_tokenizer.cpp - encode and decode through the stages of a tokenizer.json, in the order of
// Hugging Face `tokenizers` (TokenizerImpl::encode_single_sequence and ::decode):
//   1. split the raw text on added tokens with normalized = false;
//   2. normalize each piece left between them, then split it on the normalized added tokens;
//   3. pre-tokenize each remaining piece and run the BPE model on every pre-token;
//   4. the post-processor adds special tokens when asked.
// Decoding maps ids to token strings (added vocabulary first), drops unknown ids and, when
// asked, special tokens, and streams the rest through the decoder.
#include "runtime/hf_tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/utf8.h"

namespace llc::tok {

using nlohmann::json;

HfTokenizer::HfTokenizer(const json& root, const std::string& path) {
  const json& model = root["model"];
  model_ = std::make_unique<BpeModel>(model, path + ": model");
  normalizer_ = make_normalizer(root.value("normalizer", json()), path + ": normalizer");
  pre_tokenizer_ = make_pre_tokenizer(root.value("pre_tokenizer", json()), path + ": pre_tokenizer");
  post_processor_ = make_post_processor(root.value("post_processor", json()), path + ": post_processor");
  decoder_ = make_decoder(root.value("decoder", json()), path + ": decoder");
  added_ = AddedVocabulary(root.value("added_tokens", json()), *model_, normalizer_.get(), path + ": added_tokens");
}

void HfTokenizer::encode_plain(std::string piece, bool at_start, std::vector<int32_t>& ids) const {
  if (normalizer_) normalizer_->normalize(piece);
  std::vector<Piece> pieces;
  for (const Segment& seg : added_.split(piece, /*normalized_set=*/true)) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    if (seg.end == seg.start) continue;
    pieces.clear();
    pieces.push_back(Piece{piece.substr(seg.start, seg.end - seg.start), at_start && seg.start == 0});
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
    for (const Piece& p : pieces) model_->tokenize(p.text, ids);
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  size_t bad = utf8_find_invalid(text);
  if (bad != std::string_view::npos)
    throw TokenizerError("cannot encode text: invalid UTF-8 at byte " + std::to_string(bad));
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const Segment& seg : added_.split(text, /*normalized_set=*/false)) {
    if (seg.id >= 0) ids.push_back(seg.id);
    else encode_plain(std::string(text.substr(seg.start, seg.end - seg.start)), seg.start == 0, ids);
  }
  post_processor_->process(ids, add_special_tokens);
  return ids;
}

const std::string* HfTokenizer::decode_token(int32_t id, bool skip_special_tokens) const {
  const std::string* token = added_.id_to_token(id);
  if (token == nullptr) token = model_->id_to_token(id);
  if (token == nullptr) return nullptr;
  if (skip_special_tokens && added_.is_special(id)) return nullptr;
  return token;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::unique_ptr<DecoderState> state = start_decoding();
  std::vector<DecodedPiece> out;
  std::string text;
  for (int32_t id : ids) {
    const std::string* token = decode_token(id, skip_special_tokens);
    if (token == nullptr) continue;
    out.clear();
    state->push(DecodedPiece{*token, false}, out);
    for (const DecodedPiece& p : out) text += p.text;
  }
  out.clear();
  state->flush(out);
  for (const DecodedPiece& p : out) text += p.text;
  return text;
}

int32_t HfTokenizer::token_to_id(std::string_view token) const {
  int32_t id = added_.token_to_id(token);
  return id >= 0 ? id : model_->token_to_id(token);
}

std::string HfTokenizer::id_to_token(int32_t id) const {
  const std::string* token = decode_token(id, false);
  return token ? *token : std::string();
}

int64_t HfTokenizer::vocab_size() const {
  return static_cast<int64_t>(std::max(model_->max_id(), added_.max_id())) + 1;
}

bool HfTokenizer::is_special(int32_t id) const { return added_.is_special(id); }

}  // namespace llc::tok
