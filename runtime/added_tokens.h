// added_tokens.h - tokenizer.json's "added_tokens": special and added tokens matched in the
// text before the model sees it, with the flags Hugging Face `tokenizers` honours.
//
// Tokens with normalized = false are matched in the raw text; those with normalized = true
// are matched, in their normalized form, in the normalized text of the pieces left between.
// Matching is leftmost-longest and non-overlapping (HF uses Aho-Corasick LeftmostLongest);
// single_word discards a match touching a word character, lstrip / rstrip pull the whitespace
// on that side into the token. Ids are assigned as HF assigns them when loading the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llc::tok {

class BpeModel;
class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A part of a string: either an added token (id >= 0) or plain text [start, end).
struct Segment {
  size_t start;
  size_t end;
  int32_t id;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `tokens` is the "added_tokens" array. Throws TokenizerError when malformed or when an id
  // in the file is not the one HF would assign.
  AddedVocabulary(const nlohmann::json& tokens, const BpeModel& model, const Normalizer* normalizer,
                  const std::string& where);

  // Splits `text` on the tokens matched raw (normalized == false) or, with `normalized_set`,
  // on the normalized ones.
  std::vector<Segment> split(std::string_view text, bool normalized_set) const;

  int32_t token_to_id(std::string_view content) const;  // -1 when not an added token
  const std::string* id_to_token(int32_t id) const;     // nullptr when not an added token
  // Whether `id` is a special token. HF asks by content, which is the same: a special token's
  // content has exactly one id (the model's own when the model has it too).
  bool is_special(int32_t id) const { return special_ids_.count(id) > 0; }
  int32_t max_id() const { return max_id_; }
  bool empty() const { return by_id_.empty(); }

 private:
  // A byte trie over the patterns of one set; node 0 is the root.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int>> next;  // sorted by byte
      int token = -1;                                    // index into tokens_ ending here
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void insert(const std::string& pattern, int token);
    // Longest pattern starting at `pos`: its token index and length, or -1.
    int longest_at(std::string_view text, size_t pos, size_t& length) const;
  };

  std::vector<AddedToken> tokens_;                         // in the order HF matches them
  std::unordered_map<std::string, int32_t> content_to_id_;
  std::unordered_map<int32_t, std::string> by_id_;
  std::unordered_set<std::string> special_;   // contents of special tokens
  std::unordered_set<int32_t> special_ids_;
  Trie raw_;
  Trie normalized_;
  int32_t max_id_ = -1;
};

}  // namespace llc::tok
