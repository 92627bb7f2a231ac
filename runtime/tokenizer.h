// tokenizer.h - a native reader of Hugging Face `tokenizer.json` files.
//
// Supports the two families Llama-style models ship: byte-level BPE (Llama 3, Qwen2) and
// SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama). The bar is
// byte-for-byte agreement with the Hugging Face `tokenizers` library:
// `Tokenizer::encode(text, true)` equals `tokenizers.Tokenizer.from_file(f).encode(text).ids`.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llc {

// A tokenizer file that cannot be used: unreadable, not JSON, or of an unsupported kind.
// what() names the file and the unsupported or malformed part.
class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Reads `tokenizer.json`. Throws TokenizerError.
  static std::unique_ptr<Tokenizer> from_file(const std::string& path);

  // As HF `encode(text, add_special_tokens=...)`: added/special tokens matched first,
  // normaliser, pre-tokeniser, BPE, then the post-processor when add_special_tokens.
  // Throws TokenizerError when `text` is not valid UTF-8.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const = 0;

  // As HF `decode(ids, skip_special_tokens=...)`.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const = 0;

  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  virtual std::string id_to_token(int32_t id) const = 0;          // "" when out of range
  virtual int64_t vocab_size() const = 0;                         // largest id + 1
  virtual bool is_special(int32_t id) const = 0;
};

// Incremental decoding for streaming: push ids one at a time, get back only text that is
// complete (never half a UTF-8 character); the concatenation of every push() and flush()
// equals decode(all ids). flush() ends the stream: a push() after it starts a new one.
// Text is held back only while a later id could still change it (an incomplete UTF-8
// sequence, a run of <0xNN> byte tokens, a trailing character a Strip decoder may remove).
class StreamDecoder {
 public:
  StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);
  ~StreamDecoder();
  StreamDecoder(StreamDecoder&&) noexcept;
  std::string push(int32_t id);
  std::string flush();

 private:
  struct State;  // the decoder pipeline's streaming state (stream_decoder.cpp)
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::unique_ptr<State> state_;
};

// What a model directory's tokenizer_config.json and generation_config.json say about
// special tokens (missing files or keys fall back to the compiled config's values).
struct GenerationDefaults {
  bool add_bos = true;              // prepend BOS to prompts (when the post-processor does not)
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;
};

// `compiled_bos` / `compiled_eos` come from the model's config.json (ModelSpec).
//   bos_token_id:  tokenizer_config.json "bos_token" (via the tokenizer), else
//                  generation_config.json "bos_token_id", else compiled_bos.
//   eos_token_ids: generation_config.json "eos_token_id" (int or list), else compiled_eos,
//                  else tokenizer_config.json "eos_token".
//   add_bos:       a prompt should start with BOS and the post-processor does not add it.
//                  "Should" is tokenizer_config.json "add_bos_token"; when absent, true for
//                  the Llama tokenizer classes (transformers' LlamaTokenizer adds it by
//                  default), else what the post-processor does (true without a tokenizer).
// Throws TokenizerError naming the file and key when a file is malformed.
GenerationDefaults read_generation_defaults(const std::string& model_dir, const Tokenizer* tokenizer,
                                            int32_t compiled_bos,
                                            const std::vector<int32_t>& compiled_eos);

// The ids of a prompt as a model expects them: encode(text, true), with BOS prepended when
// `defaults.add_bos` says so.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const GenerationDefaults& defaults,
                                   std::string_view text);

}  // namespace llc
