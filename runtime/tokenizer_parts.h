// tokenizer_parts.h - the stages of a Hugging Face tokenizer pipeline as small interfaces, and
// the factories that build each from its tokenizer.json object.
//
//   text -> added tokens split out -> Normalizer -> PreTokenizer -> BPE -> PostProcessor -> ids
//   ids -> tokens -> Decoder -> text
//
// Only ids matter here, so the stages work on plain strings and skip HF's offset tracking;
// the one place offsets change behaviour (Metaspace's prepend_scheme "first") is carried as
// Piece::at_start. Factories throw TokenizerError naming the JSON path of anything malformed
// or unsupported ("tokenizer.json: pre_tokenizer.pretokenizers[1].type: ...").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llc::tok {

// A piece of input text on its way to the model.
struct Piece {
  std::string text;
  bool at_start;  // begins at byte 0 of the original input (HF: offsets_original().0 == 0)
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Rewrites and splits every piece; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // As HF PostProcessor::process for a single sequence.
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
};

// Decoding is written as a stream so that StreamDecoder and decode() share one code path:
// decode(ids) is "push every token, flush, concatenate". A stage receives token strings
// and emits pieces of text; `continues` marks a piece that extends the previous token rather
// than starting a new one (after Fuse or ByteLevel the whole output is one token).
struct DecodedPiece {
  std::string text;
  bool continues;
};

class DecoderState {
 public:
  virtual ~DecoderState() = default;
  virtual void push(DecodedPiece piece, std::vector<DecodedPiece>& out) = 0;
  // Ends the input: emits everything held back.
  virtual void flush(std::vector<DecodedPiece>& out) = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // `input_fragmented`: earlier stages may send pieces with continues = true.
  virtual std::unique_ptr<DecoderState> start(bool input_fragmented) const = 0;
  // Whether this stage's output may contain continuation pieces.
  virtual bool fragments_output(bool input_fragmented) const = 0;
};

// Factories: `j` is the stage's JSON object (or null), `where` its path for errors.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& j, const std::string& where);
// A null decoder joins tokens with " ", as HF does without one.
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

// The "type" string of a stage object, or a TokenizerError naming `where`.
std::string stage_type(const nlohmann::json& j, const std::string& where);

}  // namespace llc::tok
