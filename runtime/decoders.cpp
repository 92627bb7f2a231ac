// decoders.cpp - tokenizer.json decoders as streaming stages: ByteLevel, Replace, ByteFallback,
// Fuse, Strip, Metaspace, Sequence, and HF's default join-with-spaces.
//
// Each stage has Hugging Face `tokenizers` decode_chain semantics over the whole token list,
// written so that it emits text as soon as no later token can change it:
//   ByteLevel     keeps an incomplete UTF-8 sequence until it completes (lossy otherwise);
//   ByteFallback  keeps a run of <0xNN> tokens until a non-byte token ends it (the whole run
//                 turns into U+FFFD per byte if it is not valid UTF-8);
//   Strip         keeps up to `stop` trailing content characters until the token goes on.
// So decode() ("push all, flush") and StreamDecoder share one code path and agree exactly.
#include <nlohmann/json.hpp>

#include "runtime/byte_level.h"
#include "runtime/pattern.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

using nlohmann::json;
using Out = std::vector<DecodedPiece>;

constexpr const char* kReplacementChar = "\xEF\xBF\xBD";

// A stage that works on whole tokens; when its input may be fragmented it first gathers the
// fragments of each token (a token ends when the next one starts, or at flush).
class TokenwiseState : public DecoderState {
 public:
  explicit TokenwiseState(bool input_fragmented) : fragmented_(input_fragmented) {}
  void push(DecodedPiece piece, Out& out) final {
    if (!fragmented_) {
      on_token(std::move(piece.text), out);
      return;
    }
    if (piece.continues && have_) {
      pending_ += piece.text;
      return;
    }
    if (have_) on_token(std::move(pending_), out);
    pending_ = std::move(piece.text);
    have_ = true;
  }
  void flush(Out& out) final {
    if (have_) on_token(std::move(pending_), out);
    have_ = false;
    pending_.clear();
    on_flush(out);
  }

 protected:
  virtual void on_token(std::string token, Out& out) = 0;
  virtual void on_flush(Out&) {}

 private:
  bool fragmented_;
  bool have_ = false;
  std::string pending_;
};

// ---- Replace: every match of the pattern in each token becomes `content`.
class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::unique_ptr<DecoderState> start(bool fragmented) const override { return std::make_unique<State>(*this, fragmented); }
  bool fragments_output(bool) const override { return false; }

 private:
  struct State : TokenwiseState {
    State(const ReplaceDecoder& owner, bool f) : TokenwiseState(f), d(owner) {}
    void on_token(std::string token, Out& out) override {
      std::string text;
      for (const Span& s : d.pattern_.find_matches(token)) {
        if (s.is_match) text += d.content_;
        else text.append(token, s.start, s.end - s.start);
      }
      out.push_back({std::move(text), false});
    }
    const ReplaceDecoder& d;
  };
  Pattern pattern_;
  std::string content_;
};

// ---- ByteFallback: runs of <0xNN> tokens become the text of their bytes.
class ByteFallbackDecoder : public Decoder {
 public:
  std::unique_ptr<DecoderState> start(bool fragmented) const override { return std::make_unique<State>(fragmented); }
  bool fragments_output(bool) const override { return false; }

  // The byte of a `<0xNN>` token as HF parses it (u8::from_str_radix, which takes a '+').
  static int parse_byte_token(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    if (t[3] == '+') return hex(t[4]);
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

 private:
  struct State : TokenwiseState {
    explicit State(bool f) : TokenwiseState(f) {}
    void on_token(std::string token, Out& out) override {
      int b = parse_byte_token(token);
      if (b >= 0) {
        bytes.push_back(static_cast<char>(b));
        return;
      }
      end_run(out);
      out.push_back({std::move(token), false});
    }
    void on_flush(Out& out) override { end_run(out); }
    void end_run(Out& out) {
      if (bytes.empty()) return;
      if (utf8_find_invalid(bytes) == std::string::npos) {
        out.push_back({bytes, false});
      } else {
        for (size_t i = 0; i < bytes.size(); ++i) out.push_back({kReplacementChar, false});
      }
      bytes.clear();
    }
    std::string bytes;
  };
};

// ---- Fuse: all tokens become one.
class FuseDecoder : public Decoder {
 public:
  std::unique_ptr<DecoderState> start(bool) const override { return std::make_unique<State>(); }
  bool fragments_output(bool) const override { return true; }

 private:
  struct State : DecoderState {
    void push(DecodedPiece piece, Out& out) override {
      out.push_back({std::move(piece.text), started});
      started = true;
    }
    void flush(Out&) override { started = false; }
    bool started = false;
  };
};

// ---- Strip: removes up to `start` leading and `stop` trailing `content` characters of each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  std::unique_ptr<DecoderState> start(bool) const override { return std::make_unique<State>(*this); }
  bool fragments_output(bool fragmented) const override { return fragmented; }

 private:
  struct State : DecoderState {
    explicit State(const StripDecoder& owner) : d(owner) {}
    void push(DecodedPiece piece, Out& out) override {
      if (!piece.continues || !in_token) {
        held = 0;  // the previous token's trailing content characters are stripped
        leading = 0;
        leading_done = d.start_ == 0;
        in_token = true;
        first_out = true;
      }
      std::string text;
      const std::string& t = piece.text;
      for (size_t i = 0; i < t.size();) {
        size_t len = utf8_char_len(static_cast<unsigned char>(t[i]));
        bool is_content = t.compare(i, len, d.content_) == 0 && len == d.content_.size();
        if (!leading_done) {
          if (is_content && leading < d.start_) {
            ++leading;
            if (leading == d.start_) leading_done = true;
            i += len;
            continue;
          }
          leading_done = true;
        }
        if (is_content && d.stop_ > 0) {
          if (held == d.stop_) text += d.content_;  // the oldest held one is not trailing after all
          else ++held;
        } else {
          for (; held > 0; --held) text += d.content_;
          text.append(t, i, len);
        }
        i += len;
      }
      if (!text.empty()) {
        out.push_back({std::move(text), !first_out});
        first_out = false;
      }
    }
    void flush(Out&) override { in_token = false; }
    const StripDecoder& d;
    bool in_token = false, leading_done = false, first_out = true;
    size_t leading = 0, held = 0;
  };
  std::string content_;
  size_t start_, stop_;
};

// ---- Metaspace: the replacement character becomes a space, except in the first token
// (where it marks the prepended space) unless prepend_scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool drop_first) : replacement_(std::move(replacement)), drop_first_(drop_first) {}
  std::unique_ptr<DecoderState> start(bool fragmented) const override { return std::make_unique<State>(*this, fragmented); }
  bool fragments_output(bool) const override { return false; }

 private:
  struct State : TokenwiseState {
    State(const MetaspaceDecoder& owner, bool f) : TokenwiseState(f), d(owner) {}
    void on_token(std::string token, Out& out) override {
      std::string text;
      bool drop = first && d.drop_first_;
      for (size_t i = 0; i < token.size();) {
        size_t len = utf8_char_len(static_cast<unsigned char>(token[i]));
        if (len == d.replacement_.size() && token.compare(i, len, d.replacement_) == 0) {
          if (!drop) text += ' ';
        } else {
          text.append(token, i, len);
        }
        i += len;
      }
      first = false;
      out.push_back({std::move(text), false});
    }
    void on_flush(Out&) override { first = true; }
    const MetaspaceDecoder& d;
    bool first = true;
  };
  std::string replacement_;
  bool drop_first_;
};

// ---- ByteLevel: tokens back to bytes, then bytes to text (lossy) as one token.
class ByteLevelDecoder : public Decoder {
 public:
  std::unique_ptr<DecoderState> start(bool fragmented) const override { return std::make_unique<State>(fragmented); }
  bool fragments_output(bool) const override { return true; }

 private:
  struct State : TokenwiseState {
    explicit State(bool f) : TokenwiseState(f) {}
    void on_token(std::string token, Out& out) override {
      bytes.clear();
      byte_level_decode_token(token, bytes);
      std::string text;
      utf8.push(bytes, text);
      emit(std::move(text), out);
    }
    void on_flush(Out& out) override {
      std::string text;
      utf8.finish(text);
      emit(std::move(text), out);
      started = false;
    }
    void emit(std::string text, Out& out) {
      if (text.empty()) return;
      out.push_back({std::move(text), started});
      started = true;
    }
    Utf8LossyDecoder utf8;
    std::string bytes;
    bool started = false;
  };
};

// ---- No decoder: HF joins the tokens with single spaces.
class JoinDecoder : public Decoder {
 public:
  std::unique_ptr<DecoderState> start(bool fragmented) const override { return std::make_unique<State>(fragmented); }
  bool fragments_output(bool) const override { return true; }

 private:
  struct State : TokenwiseState {
    explicit State(bool f) : TokenwiseState(f) {}
    void on_token(std::string token, Out& out) override {
      if (started) token.insert(0, 1, ' ');
      out.push_back({std::move(token), started});
      started = true;
    }
    void on_flush(Out&) override { started = false; }
    bool started = false;
  };
};

// ---- Sequence: each stage's output feeds the next.
class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  std::unique_ptr<DecoderState> start(bool fragmented) const override {
    auto state = std::make_unique<State>();
    for (const auto& p : parts_) {
      state->stages.push_back(p->start(fragmented));
      fragmented = p->fragments_output(fragmented);
    }
    return state;
  }
  bool fragments_output(bool fragmented) const override {
    for (const auto& p : parts_) fragmented = p->fragments_output(fragmented);
    return fragmented;
  }

 private:
  struct State : DecoderState {
    void push(DecodedPiece piece, Out& out) override {
      Out current, next;
      current.push_back(std::move(piece));
      for (auto& stage : stages) {
        next.clear();
        for (auto& p : current) stage->push(std::move(p), next);
        current.swap(next);
      }
      for (auto& p : current) out.push_back(std::move(p));
    }
    void flush(Out& out) override {
      Out carried;  // output of the stages flushed so far, fed to the next stage
      for (auto& stage : stages) {
        Out next;
        for (auto& p : carried) stage->push(std::move(p), next);
        stage->flush(next);
        carried.swap(next);
      }
      for (auto& p : carried) out.push_back(std::move(p));
    }
    std::vector<std::unique_ptr<DecoderState>> stages;
  };
  std::vector<std::unique_ptr<Decoder>> parts_;
};

size_t require_count(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_unsigned())
    throw TokenizerError(where + "." + key + ": expected a non-negative integer");
  return j[key].get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& where) {
  if (j.is_null()) return std::make_unique<JoinDecoder>();
  const std::string type = stage_type(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    if (!j.contains("pattern")) throw TokenizerError(where + ": missing \"pattern\"");
    if (!j.contains("content") || !j["content"].is_string()) throw TokenizerError(where + ": missing \"content\" string");
    return std::make_unique<ReplaceDecoder>(Pattern::from_json(j["pattern"], where + ".pattern"),
                                            j["content"].get<std::string>());
  }
  if (type == "Strip") {
    if (!j.contains("content") || !j["content"].is_string() || j["content"].get<std::string>().empty())
      throw TokenizerError(where + ".content: expected a one-character string");
    return std::make_unique<StripDecoder>(j["content"].get<std::string>(), require_count(j, "start", where),
                                          require_count(j, "stop", where));
  }
  if (type == "Metaspace") {
    std::string replacement = j.contains("replacement") && j["replacement"].is_string()
                                  ? j["replacement"].get<std::string>()
                                  : std::string("\xE2\x96\x81");
    bool drop_first = true;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string())
      drop_first = j["prepend_scheme"].get<std::string>() != "never";
    else if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean())
      drop_first = j["add_prefix_space"].get<bool>();
    return std::make_unique<MetaspaceDecoder>(replacement, drop_first);
  }
  if (type == "Sequence") {
    if (!j.contains("decoders") || !j["decoders"].is_array()) throw TokenizerError(where + ": missing \"decoders\" array");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < j["decoders"].size(); ++i)
      parts.push_back(make_decoder(j["decoders"][i], where + ".decoders[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  throw TokenizerError(where + ".type: unsupported decoder \"" + type +
                       "\" (supported: ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace, Sequence)");
}

}  // namespace llc::tok
