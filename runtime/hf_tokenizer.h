// hf_tokenizer.h - the Tokenizer built from a tokenizer.json: added vocabulary, normalizer,
// pre-tokenizer, BPE model, post-processor and decoder, run in Hugging Face's order.
//
// Immutable after construction except for the BPE word cache (mutex-guarded), so one
// instance may encode and decode from several threads at once.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/added_tokens.h"
#include "runtime/bpe.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"

namespace llc::tok {

class HfTokenizer final : public Tokenizer {
 public:
  // `root` is the parsed tokenizer.json; `path` names it in errors. Throws TokenizerError.
  HfTokenizer(const nlohmann::json& root, const std::string& path);

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;
  int32_t token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int64_t vocab_size() const override;
  bool is_special(int32_t id) const override;

  // For StreamDecoder: a fresh decoding stream, and the token string an id contributes to it
  // (nullptr when the id is unknown, or special and skipped: decode() drops those).
  std::unique_ptr<DecoderState> start_decoding() const { return decoder_->start(false); }
  const std::string* decode_token(int32_t id, bool skip_special_tokens) const;

 private:
  // Normalizes, pre-tokenizes and tokenizes one piece of text free of raw added tokens.
  void encode_plain(std::string piece, bool at_start, std::vector<int32_t>& ids) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  AddedVocabulary added_;
};

}  // namespace llc::tok
