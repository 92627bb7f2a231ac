// normalizers.cpp - tokenizer.json normalizers: Sequence, Prepend, Replace, Strip and the
// canonical Unicode normal forms (NFC, NFD), with Hugging Face `tokenizers` semantics.
//
// SentencePiece-style files (Llama 2, Mistral, TinyLlama) write their space handling here:
// Sequence[Prepend("▁"), Replace(" " -> "▁")]. Prepend adds nothing to an empty string.
#include <nlohmann/json.hpp>

#include "runtime/pattern.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"
#include "runtime/unicode_normalize.h"
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

using nlohmann::json;

const json& require(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw TokenizerError(where + ": missing \"" + key + "\"");
  return j[key];
}

std::string require_string(const json& j, const char* key, const std::string& where) {
  const json& v = require(j, key, where);
  if (!v.is_string()) throw TokenizerError(where + "." + key + ": expected a string, found " + v.dump());
  return v.get<std::string>();
}

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override {
    if (pattern_.is_literal() && text.find(pattern_.literal()) == std::string::npos) return;
    std::string out;
    out.reserve(text.size());
    for (const Span& s : pattern_.find_matches(text)) {
      if (s.is_match) out += content_;
      else out.append(text, s.start, s.end - s.start);
    }
    text = std::move(out);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Strips Unicode White_Space from the left and/or right.
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!is_unicode_whitespace(utf8_next(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!is_unicode_whitespace(utf8_next(text, i))) break;
        end = start;
      }
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class UnicodeFormNormalizer : public Normalizer {
 public:
  explicit UnicodeFormNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string& text) const override { text = unicode_normalize(text, form_); }

 private:
  NormalForm form_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = stage_type(j, where);
  if (type == "Sequence") {
    const json& list = require(j, "normalizers", where);
    if (!list.is_array()) throw TokenizerError(where + ".normalizers: expected an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i) {
      auto part = make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]");
      if (part) parts.push_back(std::move(part));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(require_string(j, "prepend", where));
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(Pattern::from_json(require(j, "pattern", where), where + ".pattern"),
                                               require_string(j, "content", where));
  if (type == "Strip") {
    auto flag = [&](const char* key) {
      if (!j.contains(key)) return true;  // HF's defaults strip both sides
      if (!j[key].is_boolean()) throw TokenizerError(where + "." + key + ": expected true or false");
      return j[key].get<bool>();
    };
    return std::make_unique<StripNormalizer>(flag("strip_left"), flag("strip_right"));
  }
  if (type == "NFC") return std::make_unique<UnicodeFormNormalizer>(NormalForm::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeFormNormalizer>(NormalForm::kNFD);
  throw TokenizerError(where + ".type: unsupported normalizer \"" + type +
                       "\" (supported: Sequence, Prepend, Replace, Strip, NFC, NFD)");
}

}  // namespace llc::tok
