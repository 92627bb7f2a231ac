// added_tokens.cpp - loading, id assignment and leftmost-longest matching of added tokens
// (see added_tokens.h).
#include "runtime/added_tokens.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/bpe.h"
#include "runtime/pattern.h"
#include "runtime/tokenizer.h"
#include "runtime/tokenizer_parts.h"
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

using nlohmann::json;

bool flag(const json& t, const char* key, bool fallback, const std::string& where) {
  if (!t.contains(key)) return fallback;
  if (!t[key].is_boolean()) throw TokenizerError(where + "." + key + ": expected true or false, found " + t[key].dump());
  return t[key].get<bool>();
}

// Rust regex's Unicode \w, which HF uses for single_word.
bool is_word_char_at(std::string_view s, size_t pos) {
  static const Regex word("[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]", "single_word");
  size_t end = pos;
  utf8_next(s, end);
  std::vector<std::pair<size_t, size_t>> m;
  word.find_all(s.substr(pos, end - pos), m);
  return !m.empty();
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return is_word_char_at(s, start);
}

bool starts_with_word(std::string_view s) { return !s.empty() && is_word_char_at(s, 0); }

// Start of the run of whitespace ending `s` (s.size() when none).
size_t space_leftmost_at_end(std::string_view s) {
  size_t start = s.size();
  while (start > 0) {
    size_t c = start - 1;
    while (c > 0 && (static_cast<unsigned char>(s[c]) & 0xC0) == 0x80) --c;
    size_t i = c;
    if (!is_unicode_whitespace(utf8_next(s, i))) break;
    start = c;
  }
  return start;
}

// Length of the run of whitespace starting `s`.
size_t space_rightmost_at_start(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t next = i;
    if (!is_unicode_whitespace(utf8_next(s, next))) break;
    i = next;
  }
  return i;
}

}  // namespace

void AddedVocabulary::Trie::insert(const std::string& pattern, int token) {
  int node = 0;
  for (unsigned char b : pattern) {
    auto& next = nodes[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, -1));
    if (it != next.end() && it->first == b) {
      node = it->second;
      continue;
    }
    int child = static_cast<int>(nodes.size());
    next.insert(it, {b, child});  // `next` may dangle after the push_back below: insert first
    nodes.push_back(Node{});
    node = child;
  }
  if (nodes[node].token < 0) nodes[node].token = token;
  if (!pattern.empty()) first_byte[static_cast<unsigned char>(pattern[0])] = true;
}

int AddedVocabulary::Trie::longest_at(std::string_view text, size_t pos, size_t& length) const {
  int node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto& next = nodes[node].next;
    unsigned char b = static_cast<unsigned char>(text[i]);
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, -1));
    if (it == next.end() || it->first != b) break;
    node = it->second;
    if (nodes[node].token >= 0) {
      best = nodes[node].token;
      length = i + 1 - pos;
    }
  }
  return best;
}

AddedVocabulary::AddedVocabulary(const json& list, const BpeModel& model, const Normalizer* normalizer,
                                 const std::string& where) {
  if (list.is_null()) return;
  if (!list.is_array()) throw TokenizerError(where + ": expected an array");
  std::vector<AddedToken> specials, plain;  // HF's special_tokens / added_tokens lists
  std::unordered_map<std::string, size_t> special_index, plain_index;  // content -> position
  for (size_t i = 0; i < list.size(); ++i) {
    const json& t = list[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!t.is_object()) throw TokenizerError(at + ": expected an object");
    if (!t.contains("content") || !t["content"].is_string()) throw TokenizerError(at + ": missing \"content\" string");
    if (!t.contains("id") || !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0 ||
        t["id"].get<int64_t>() > INT32_MAX)
      throw TokenizerError(at + ": missing or invalid \"id\"");
    AddedToken tok;
    tok.content = t["content"].get<std::string>();
    tok.id = t["id"].get<int32_t>();
    tok.special = flag(t, "special", false, at);
    tok.single_word = flag(t, "single_word", false, at);
    tok.lstrip = flag(t, "lstrip", false, at);
    tok.rstrip = flag(t, "rstrip", false, at);
    tok.normalized = flag(t, "normalized", true, at);  // serde default, as in HF
    if (utf8_find_invalid(tok.content) != std::string::npos) throw TokenizerError(at + ".content: not valid UTF-8");
    if (tok.content.empty()) continue;  // HF ignores empty tokens

    // HF AddedVocabulary::add_tokens: reuse an existing id, else take the next free one.
    if (tok.special) special_.insert(tok.content);
    int32_t assigned;
    auto known = content_to_id_.find(tok.content);
    if (known != content_to_id_.end()) assigned = known->second;
    else if (model.token_to_id(tok.content) >= 0) assigned = model.token_to_id(tok.content);
    else if (max_id_ < 0) assigned = static_cast<int32_t>(model.size());
    else assigned = max_id_ >= model.size() ? max_id_ + 1 : static_cast<int32_t>(model.size());
    if (assigned != tok.id)
      throw TokenizerError(at + ": added token \"" + tok.content + "\" has id " + std::to_string(tok.id) +
                           " in the file, but Hugging Face tokenizers would give it id " + std::to_string(assigned) +
                           " (ids must follow the model vocabulary in order); such files are not supported");
    content_to_id_[tok.content] = assigned;
    by_id_[assigned] = tok.content;
    max_id_ = std::max(max_id_, assigned);
    bool is_special = special_.count(tok.content) > 0;
    std::vector<AddedToken>& into = is_special ? specials : plain;
    auto [slot, inserted] = (is_special ? special_index : plain_index).emplace(tok.content, into.size());
    if (inserted) into.push_back(tok);
    else into[slot->second] = tok;
  }
  for (const AddedToken& t : specials) special_ids_.insert(t.id);
  tokens_ = specials;
  tokens_.insert(tokens_.end(), plain.begin(), plain.end());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!tokens_[i].normalized) {
      raw_.insert(tokens_[i].content, static_cast<int>(i));
    } else {
      std::string pattern = tokens_[i].content;
      if (normalizer != nullptr) normalizer->normalize(pattern);
      normalized_.insert(pattern, static_cast<int>(i));
    }
  }
}

std::vector<Segment> AddedVocabulary::split(std::string_view text, bool normalized_set) const {
  std::vector<Segment> out;
  if (text.empty()) {
    out.push_back({0, 0, -1});
    return out;
  }
  const Trie& trie = normalized_set ? normalized_ : raw_;
  size_t start_offset = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t len = 0;
    int index = trie.first_byte[static_cast<unsigned char>(text[pos])] ? trie.longest_at(text, pos, len) : -1;
    if (index < 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;
    const AddedToken& tok = tokens_[index];
    if (tok.single_word) {
      bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
      bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) start = std::max(space_leftmost_at_end(text.substr(0, start)), start_offset);
    if (tok.rstrip) stop += space_rightmost_at_start(text.substr(stop));
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, tok.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
  return out;
}

int32_t AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = content_to_id_.find(std::string(content));
  return it == content_to_id_.end() ? -1 : it->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

}  // namespace llc::tok
