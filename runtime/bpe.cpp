// bpe.cpp - the BPE model: vocabulary and merges from tokenizer.json, merges by rank with a
// heap, byte fallback, unknown tokens and the word cache (see bpe.h).
#include "runtime/bpe.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <queue>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"
#include "runtime/utf8.h"

namespace llc::tok {
namespace {

std::string optional_string(const nlohmann::json& model, const char* key, const std::string& where) {
  if (!model.contains(key) || model[key].is_null()) return {};
  if (!model[key].is_string())
    throw TokenizerError(where + "." + key + ": expected a string or null, found " + model[key].dump());
  return model[key].get<std::string>();
}

bool optional_bool(const nlohmann::json& model, const char* key, const std::string& where) {
  if (!model.contains(key) || model[key].is_null()) return false;
  if (!model[key].is_boolean())
    throw TokenizerError(where + "." + key + ": expected true or false, found " + model[key].dump());
  return model[key].get<bool>();
}

// A symbol of a word being merged: a token id over `len` bytes, in a doubly linked list.
struct Symbol {
  int32_t id;
  int prev;
  int next;
  size_t len;  // 0 once merged into its left neighbour
};

// A candidate merge; the heap pops the lowest rank, then the leftmost position.
struct Candidate {
  int32_t rank;
  int pos;
  int32_t new_id;
};
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& where) {
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    if (!model["dropout"].is_number())
      throw TokenizerError(where + ".dropout: expected a number or null, found " + model["dropout"].dump());
    if (model["dropout"].get<double>() != 0.0)
      throw TokenizerError(where + ".dropout: BPE dropout " + model["dropout"].dump() +
                           " is unsupported (it makes encoding random); only null or 0 are accepted");
  }
  unk_token_ = optional_string(model, "unk_token", where);
  has_unk_ = model.contains("unk_token") && model["unk_token"].is_string();
  continuing_subword_prefix_ = optional_string(model, "continuing_subword_prefix", where);
  end_of_word_suffix_ = optional_string(model, "end_of_word_suffix", where);
  fuse_unk_ = optional_bool(model, "fuse_unk", where);
  byte_fallback_ = optional_bool(model, "byte_fallback", where);
  ignore_merges_ = optional_bool(model, "ignore_merges", where);

  if (!model.contains("vocab")) throw TokenizerError(where + ": missing \"vocab\"");
  load_vocab(model["vocab"], where + ".vocab");
  if (!model.contains("merges")) throw TokenizerError(where + ": missing \"merges\"");
  load_merges(model["merges"], where + ".merges");

  if (has_unk_) unk_id_ = token_to_id(unk_token_);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_fallback_ids_[b] = token_to_id(name);
  }
}

void BpeModel::load_vocab(const nlohmann::json& vocab, const std::string& where) {
  if (!vocab.is_object()) throw TokenizerError(where + ": expected an object of token -> id");
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX)
      throw TokenizerError(where + ": token \"" + it.key() + "\" has id " + it.value().dump() +
                           ", expected a non-negative integer");
    max_id = std::max<int64_t>(max_id, it.value().get<int64_t>());
  }
  if (max_id >= static_cast<int64_t>(vocab.size()) * 16 + 1024)
    throw TokenizerError(where + ": ids are too sparse (largest id " + std::to_string(max_id) + " for " +
                         std::to_string(vocab.size()) + " tokens)");
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  has_token_.assign(static_cast<size_t>(max_id + 1), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = it.value().get<int32_t>();
    if (has_token_[id])
      throw TokenizerError(where + ": id " + std::to_string(id) + " is given to both \"" + tokens_[id] +
                           "\" and \"" + it.key() + "\"");
    tokens_[id] = it.key();
    has_token_[id] = true;
  }
  // tokens_ is complete: views into it stay valid from here on.
  vocab_.reserve(vocab.size());
  for (size_t id = 0; id < tokens_.size(); ++id)
    if (has_token_[id]) vocab_.emplace(std::string_view(tokens_[id]), static_cast<int32_t>(id));
}

void BpeModel::load_merges(const nlohmann::json& merges, const std::string& where) {
  if (!merges.is_array()) throw TokenizerError(where + ": expected an array");
  merges_.reserve(merges.size());
  const size_t prefix_len = continuing_subword_prefix_.size();
  std::string merged;
  for (size_t i = 0; i < merges.size(); ++i) {
    const nlohmann::json& m = merges[i];
    std::string_view a, b;
    if (m.is_string()) {
      std::string_view line = m.get_ref<const std::string&>();
      size_t space = line.find(' ');
      if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
        throw TokenizerError(where + "[" + std::to_string(i) + "]: expected \"left right\", found \"" +
                             std::string(line) + "\"");
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get_ref<const std::string&>();
      b = m[1].get_ref<const std::string&>();
    } else {
      throw TokenizerError(where + "[" + std::to_string(i) + "]: expected \"left right\" or [left, right], found " +
                           m.dump());
    }
    int32_t a_id = token_to_id(a), b_id = token_to_id(b);
    if (a_id < 0 || b_id < 0)
      throw TokenizerError(where + "[" + std::to_string(i) + "]: merge token \"" + std::string(a_id < 0 ? a : b) +
                           "\" is not in the vocabulary");
    if (b.size() < prefix_len)
      throw TokenizerError(where + "[" + std::to_string(i) + "]: \"" + std::string(b) +
                           "\" is shorter than the subword prefix");
    merged.assign(a);
    merged.append(b.substr(prefix_len));
    int32_t new_id = token_to_id(merged);
    if (new_id < 0)
      throw TokenizerError(where + "[" + std::to_string(i) + "]: merged token \"" + merged +
                           "\" is not in the vocabulary");
    merges_[pair_key(a_id, b_id)] = MergeInfo{static_cast<int32_t>(i), new_id};  // a later duplicate wins, as in HF
  }
}

int32_t BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_token_[id]) return nullptr;
  return &tokens_[id];
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    int32_t id = token_to_id(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(word));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  merge_word(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  // 1. One symbol per character (HF BPE::merge_word).
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](int32_t id, size_t len) {
    int idx = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{id, idx - 1, -1, len});
    if (idx > 0) symbols[idx - 1].next = idx;
  };
  bool have_unk = false;
  size_t unk_len = 0;
  std::string piece;
  for (size_t i = 0; i < word.size();) {
    size_t len = utf8_char_len(static_cast<unsigned char>(word[i]));
    std::string_view ch = word.substr(i, len);
    bool first = i == 0;
    i += len;
    bool last = i >= word.size();
    piece.clear();
    if (!first) piece += continuing_subword_prefix_;
    piece += ch;
    if (last) piece += end_of_word_suffix_;

    int32_t id = token_to_id(piece);
    if (id >= 0) {
      if (have_unk) {
        add(unk_id_, unk_len);
        have_unk = false;
      }
      add(id, ch.size());
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : piece) all = all && byte_fallback_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        // As in HF, a pending unknown is not flushed before the byte tokens.
        for (char c : piece) add(byte_fallback_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (has_unk_) {
      if (unk_id_ < 0)
        throw TokenizerError("tokenizer.json: unk_token \"" + unk_token_ + "\" is not in the vocabulary");
      if (have_unk && fuse_unk_) {
        unk_len += ch.size();
      } else {
        if (have_unk) add(unk_id_, unk_len);
        have_unk = true;
        unk_len = ch.size();
      }
    }
    // Without an unknown token the character is dropped, as in HF.
  }
  if (have_unk) add(unk_id_, unk_len);

  // 2. Merge the lowest-ranked adjacent pair until none is left (HF Word::merge_all).
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateAfter> queue;
  for (size_t p = 0; p + 1 < symbols.size(); ++p) {
    auto it = merges_.find(pair_key(symbols[p].id, symbols[p + 1].id));
    if (it != merges_.end()) queue.push(Candidate{it->second.rank, static_cast<int>(p), it->second.new_id});
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    int right_pos = left.next;
    Symbol right = symbols[right_pos];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry

    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    symbols[right_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;

    if (left.prev >= 0) {
      auto pm = merges_.find(pair_key(symbols[left.prev].id, left.id));
      if (pm != merges_.end()) queue.push(Candidate{pm->second.rank, left.prev, pm->second.new_id});
    }
    if (left.next >= 0) {
      auto nm = merges_.find(pair_key(left.id, symbols[left.next].id));
      if (nm != merges_.end()) queue.push(Candidate{nm->second.rank, top.pos, nm->second.new_id});
    }
  }
  for (const Symbol& s : symbols)
    if (s.len > 0) out.push_back(s.id);
}

}  // namespace llc::tok
