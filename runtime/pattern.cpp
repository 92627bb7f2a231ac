// pattern.cpp - PCRE2 regexes with Oniguruma semantics, literal/regex patterns and the split
// behaviours of Hugging Face `tokenizers` (see pattern.h).
#include "runtime/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

// Oniguruma's Unicode \w: Alphabetic | Mark | Decimal_Number | Connector_Punctuation, and the
// Latin-1 digit-like No characters its Word class also holds (superscripts 1-3, vulgar fractions).
constexpr const char* kWordClass = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
// Oniguruma's \h is a hexadecimal digit (PCRE2's is horizontal space).
constexpr const char* kHexClass = "0-9a-fA-F";

// \b or \B over Oniguruma's word class, as lookarounds.
std::string word_boundary(bool at_boundary) {
  const std::string w = std::string("[") + kWordClass + "]";
  return at_boundary ? "(?:(?<!" + w + ")(?=" + w + ")|(?<=" + w + ")(?!" + w + "))"
                     : "(?:(?<!" + w + ")(?!" + w + ")|(?<=" + w + ")(?=" + w + "))";
}

pcre2_code* as_code(void* p) { return static_cast<pcre2_code*>(p); }

}  // namespace

std::string translate_oniguruma_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  size_t class_open = 0;  // index in `p` just after the class's `[` (and `^`)
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      const char* cls = e == 'w' || e == 'W' ? kWordClass : e == 'h' || e == 'H' ? kHexClass : nullptr;
      bool negated = e == 'W' || e == 'H';
      if (e == 's' || e == 'S') {
        out += e == 's' ? "\\p{White_Space}" : "\\P{White_Space}";  // also valid inside a class
      } else if ((e == 'b' || e == 'B') && !in_class) {
        out += word_boundary(e == 'b');
      } else if (cls != nullptr && !in_class) {
        out += negated ? "[^" : "[";
        out += cls;
        out += "]";
      } else if (cls != nullptr && !negated) {
        out += cls;
      } else {
        // Escapes that mean the same in both engines, and negated classes inside a class
        // (no inline form; PCRE2's UCP meaning is kept).
        out += c;
        out += e;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      class_open = i + 1;
      continue;
    }
    if (in_class && c == ']' && i != class_open) in_class = false;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, const std::string& where) {
  std::string translated = translate_oniguruma_pattern(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw TokenizerError(where + ": cannot compile regex \"" + std::string(pattern) + "\": " +
                         reinterpret_cast<const char*>(message) + " (at offset " +
                         std::to_string(offset) + " of the translated pattern)");
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(as_code(code_)); }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(as_code(code_), nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  size_t last_end = 0;
  bool have_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= n) {
    int rc = pcre2_match(as_code(code_), subject, n, last_end, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      pcre2_match_data_free(md);
      throw TokenizerError(std::string("regex match failed: ") + reinterpret_cast<const char*>(message));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t s = ov[0], e = ov[1];
    if (s == e && have_last_match && last_match_end == last_end) {
      // No empty match right after the previous one: step one character on.
      last_end += last_end < n ? utf8_char_len(static_cast<unsigned char>(text[last_end])) : 1;
      continue;
    }
    last_end = e;
    have_last_match = true;
    last_match_end = e;
    out.emplace_back(s, e);
  }
  pcre2_match_data_free(md);
}

Pattern::Pattern(std::string literal) : literal_(std::move(literal)) {}

Pattern Pattern::from_json(const nlohmann::json& j, const std::string& where) {
  if (j.is_object() && j.size() == 1 && j.contains("String") && j["String"].is_string())
    return Pattern(j["String"].get<std::string>());
  if (j.is_object() && j.size() == 1 && j.contains("Regex") && j["Regex"].is_string()) {
    Pattern p;
    p.regex_ = std::make_shared<Regex>(j["Regex"].get<std::string>(), where);
    return p;
  }
  throw TokenizerError(where + ": expected {\"String\": ...} or {\"Regex\": ...}, found " + j.dump());
}

std::vector<Span> Pattern::find_matches(std::string_view s, bool invert) const {
  std::vector<Span> spans;
  if (s.empty() || (regex_ == nullptr && literal_.empty())) {
    spans.push_back({0, s.size(), invert});
    return spans;
  }
  std::vector<std::pair<size_t, size_t>> matches;
  if (regex_ != nullptr) {
    regex_->find_all(s, matches);
  } else {
    for (size_t pos = s.find(literal_); pos != std::string_view::npos; pos = s.find(literal_, pos + literal_.size()))
      matches.emplace_back(pos, pos + literal_.size());
  }
  size_t prev = 0;
  for (auto [start, end] : matches) {
    if (prev != start) spans.push_back({prev, start, invert});
    spans.push_back({start, end, !invert});
    prev = end;
  }
  if (prev != s.size()) spans.push_back({prev, s.size(), invert});
  return spans;
}

SplitBehavior parse_split_behavior(const nlohmann::json& j, const std::string& where) {
  std::string b = j.is_string() ? j.get<std::string>() : std::string();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  throw TokenizerError(where + ": unsupported split behavior " + j.dump() +
                       " (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

std::vector<std::pair<size_t, size_t>> split_spans(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out.emplace_back(s.start, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Span& s : spans)
        if (!s.is_match) out.emplace_back(s.start, s.end);
      break;
    case SplitBehavior::kContiguous:
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.start, s.end);
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) out.back().second = s.end;
        else out.emplace_back(s.start, s.end);
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) out.back().first = it->start;
        else out.emplace_back(it->start, it->end);
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  std::vector<std::pair<size_t, size_t>> non_empty;
  non_empty.reserve(out.size());
  for (auto& piece : out)
    if (piece.second > piece.first) non_empty.push_back(piece);
  return non_empty;
}

}  // namespace llc::tok
