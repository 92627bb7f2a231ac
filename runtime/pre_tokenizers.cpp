// pre_tokenizers.cpp - tokenizer.json pre-tokenizers: Sequence, Split, ByteLevel, Metaspace,
// Digits and WhitespaceSplit, with Hugging Face `tokenizers` semantics.
//
// Llama 3 / Qwen2: Sequence[Split(<digit-grouping regex>, Isolated), ByteLevel(use_regex=false)]:
// the regex cuts the text into words, then ByteLevel rewrites each word's bytes in the
// byte-level alphabet. Every pre-tokenizer works piece by piece and never sees across an
// added token; empty pieces are dropped.
#include <nlohmann/json.hpp>

#include "runtime/byte_level.h"
#include "runtime/pattern.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"

namespace llc::tok {
namespace {

using nlohmann::json;

bool optional_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw TokenizerError(where + "." + key + ": expected true or false, found " + j[key].dump());
  return j[key].get<bool>();
}

// Replaces each piece by its parts under `pattern` and `behavior`.
void split_pieces(std::vector<Piece>& pieces, const Pattern& pattern, SplitBehavior behavior, bool invert) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  for (Piece& p : pieces) {
    for (auto [start, end] : split_spans(pattern.find_matches(p.text, invert), behavior))
      out.push_back(Piece{p.text.substr(start, end - start), p.at_start && start == 0});
  }
  pieces = std::move(out);
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override { split_pieces(pieces, pattern_, behavior_, invert_); }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = std::make_unique<Pattern>(Pattern::from_json(json{{"Regex", kByteLevelRegex}}, "ByteLevel"));
  }
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_)
      for (Piece& p : pieces)
        if (!p.text.empty() && p.text[0] != ' ') p.text.insert(0, 1, ' ');
    if (regex_) split_pieces(pieces, *regex_, SplitBehavior::kIsolated, false);
    std::string mapped;
    for (Piece& p : pieces) {
      mapped.clear();
      byte_level_encode(p.text, mapped);
      p.text.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Pattern> regex_;
};

enum class PrependScheme { kAlways, kNever, kFirst };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split), pattern_(replacement_) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (Piece& p : pieces) {
      std::string replaced;
      replaced.reserve(p.text.size() + replacement_.size());
      for (char c : p.text) {
        if (c == ' ') replaced += replacement_;
        else replaced += c;
      }
      bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      bool prepend = scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_start);
      if (prepend && !starts && !replaced.empty()) replaced.insert(0, replacement_);
      p.text = std::move(replaced);
    }
    if (split_) split_pieces(pieces, pattern_, SplitBehavior::kMergedWithNext, false);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
  Pattern pattern_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = stage_type(j, where);
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      throw TokenizerError(where + ": missing \"pretokenizers\" array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    const json& list = j["pretokenizers"];
    for (size_t i = 0; i < list.size(); ++i) {
      auto part = make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]");
      if (part) parts.push_back(std::move(part));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "Split") {
    if (!j.contains("pattern")) throw TokenizerError(where + ": missing \"pattern\"");
    if (!j.contains("behavior")) throw TokenizerError(where + ": missing \"behavior\"");
    return std::make_unique<SplitPreTokenizer>(Pattern::from_json(j["pattern"], where + ".pattern"),
                                               parse_split_behavior(j["behavior"], where + ".behavior"),
                                               optional_bool(j, "invert", false, where));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(optional_bool(j, "add_prefix_space", true, where),
                                                   optional_bool(j, "use_regex", true, where));
  if (type == "Metaspace") {
    std::string replacement = "\xE2\x96\x81";  // U+2581
    if (j.contains("replacement")) {
      if (!j["replacement"].is_string() || j["replacement"].get<std::string>().empty())
        throw TokenizerError(where + ".replacement: expected a one-character string, found " + j["replacement"].dump());
      replacement = j["replacement"].get<std::string>();
    }
    PrependScheme scheme = PrependScheme::kAlways;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      std::string s = j["prepend_scheme"].is_string() ? j["prepend_scheme"].get<std::string>() : "";
      if (s == "always") scheme = PrependScheme::kAlways;
      else if (s == "never") scheme = PrependScheme::kNever;
      else if (s == "first") scheme = PrependScheme::kFirst;
      else throw TokenizerError(where + ".prepend_scheme: expected \"always\", \"never\" or \"first\", found " +
                                j["prepend_scheme"].dump());
    } else if (!optional_bool(j, "add_prefix_space", true, where)) {
      scheme = PrependScheme::kNever;
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, optional_bool(j, "split", true, where));
  }
  if (type == "Digits") {
    // HF splits on char::is_numeric (\p{N}); one match per character.
    bool individual = optional_bool(j, "individual_digits", false, where);
    return std::make_unique<SplitPreTokenizer>(Pattern::from_json(json{{"Regex", "\\p{N}"}}, where),
                                               individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                                               false);
  }
  if (type == "WhitespaceSplit")
    return std::make_unique<SplitPreTokenizer>(Pattern::from_json(json{{"Regex", "\\s"}}, where),
                                               SplitBehavior::kRemoved, false);
  throw TokenizerError(where + ".type: unsupported pre_tokenizer \"" + type +
                       "\" (supported: Sequence, Split, ByteLevel, Metaspace, Digits, WhitespaceSplit)");
}

}  // namespace llc::tok
