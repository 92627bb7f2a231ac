// pattern.h - the patterns of tokenizer.json (`{"String": ...}` or `{"Regex": ...}`) and the
// split behaviours that use them, with the semantics of Hugging Face `tokenizers`.
//
// tokenizers compiles regexes with Oniguruma; we use PCRE2 (UTF + UCP, JIT) and rewrite the
// few escapes whose meaning differs so matches are identical: `\s`/`\S` become
// \p{White_Space} / \P{White_Space}, `\w`/`\W` Oniguruma's word class (alphabetic, marks, decimal digits,
// connector punctuation), `\b`/`\B` boundaries of that class, `\h`/`\H` hex digits.
// Matches are found leftmost-first and non-overlapping; an empty match right after the
// previous match is skipped, as the `onig` crate's find_iter does.
// Input text must be valid UTF-8 (checked once at the tokenizer's entry).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llc::tok {

// A compiled PCRE2 regex holding Oniguruma-compatible semantics (see above).
class Regex {
 public:
  // `where` names the pattern's place in the file for errors. Throws TokenizerError.
  Regex(std::string_view oniguruma_pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [start, end) byte offsets of every match to `out`.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

// Rewrites an Oniguruma pattern into the PCRE2 pattern Regex compiles (exposed for tests).
std::string translate_oniguruma_pattern(std::string_view pattern);

// One span of a string: [start, end) and whether a pattern matched it.
struct Span {
  size_t start;
  size_t end;
  bool is_match;
};

// `{"String": s}` (literal) or `{"Regex": r}`; `invert` flips which spans are matches.
class Pattern {
 public:
  static Pattern from_json(const nlohmann::json& j, const std::string& where);
  explicit Pattern(std::string literal);

  // Spans covering all of `s` in order (HF Pattern::find_matches): an empty `s` gives one
  // empty non-match span.
  std::vector<Span> find_matches(std::string_view s, bool invert = false) const;

  bool is_literal() const { return regex_ == nullptr; }
  const std::string& literal() const { return literal_; }

 private:
  Pattern() = default;
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

// HF SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

SplitBehavior parse_split_behavior(const nlohmann::json& j, const std::string& where);

// Splits `s` by the spans of a pattern with the given behaviour; returns the [start, end)
// pieces, dropping empty ones (as PreTokenizedString::split does).
std::vector<std::pair<size_t, size_t>> split_spans(const std::vector<Span>& spans,
                                                   SplitBehavior behavior);

}  // namespace llc::tok
