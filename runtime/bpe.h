// bpe.h - the BPE model of tokenizer.json: vocabulary, merges applied by rank, byte fallback,
// unknown-token handling and a cache of tokenized words.
//
// Semantics follow Hugging Face `tokenizers` (models/bpe): a word starts as one symbol per
// character (with continuing_subword_prefix / end_of_word_suffix where configured); a
// character missing from the vocabulary becomes its `<0xNN>` byte tokens (byte_fallback) or
// the unknown token (fused with a neighbouring unknown when fuse_unk); then the adjacent pair
// of lowest merge rank (leftmost on ties) is merged until no pair has a merge. With
// ignore_merges, a word that is itself in the vocabulary is emitted whole.
// The merge loop is a heap over pair ranks: O(n log n) in the word's length.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llc::tok {

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object (type "BPE"); `where` names it for errors.
  // Throws TokenizerError for malformed or unsupported settings.
  BpeModel(const nlohmann::json& model, const std::string& where);

  // Appends the ids of `word` (one pre-token) to `out`.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  const std::string* id_to_token(int32_t id) const;   // nullptr when absent
  int64_t size() const { return static_cast<int64_t>(vocab_.size()); }  // HF get_vocab_size
  int32_t max_id() const { return static_cast<int32_t>(tokens_.size()) - 1; }

 private:
  struct MergeInfo {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void load_vocab(const nlohmann::json& vocab, const std::string& where);
  void load_merges(const nlohmann::json& merges, const std::string& where);
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;                        // id -> token ("" for unused ids)
  std::vector<bool> has_token_;                            // id is in the vocabulary
  std::unordered_map<std::string_view, int32_t> vocab_;    // views into tokens_
  std::unordered_map<uint64_t, MergeInfo> merges_;
  int32_t byte_fallback_ids_[256];                          // <0xNN> ids, -1 when absent
  std::string unk_token_;
  int32_t unk_id_ = -1;
  bool has_unk_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;

  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kCacheMaxWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace llc::tok
