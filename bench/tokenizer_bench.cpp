// tokenizer_bench.cpp - how long encoding a ~2,000-token prompt takes (a benchmark, not a test).
//
//   build/bin/tokenizer_bench ../shared/data/tokenizers/llama3/tokenizer.json test/data/tokenizer/corpus.jsonl
//
// Builds a prompt of about 9,000 characters from the corpus, then reports the first encode (empty
// word cache) and the median of 20 later ones, in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON CORPUS_JSONL\n", argv[0]);
    return 2;
  }
  std::ifstream corpus(argv[2]);
  if (!corpus) {
    std::fprintf(stderr, "error: cannot read %s\n", argv[2]);
    return 1;
  }
  std::string prompt, line;
  while (prompt.size() < 9000 && std::getline(corpus, line))
    prompt += nlohmann::json::parse(line).at("text").get<std::string>() + "\n";
  try {
    auto tokenizer = llc::Tokenizer::from_file(argv[1]);
    auto ms = [](auto t0) {
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    auto t0 = std::chrono::steady_clock::now();
    size_t n = tokenizer->encode(prompt, true).size();
    double cold = ms(t0);
    std::vector<double> warm;
    for (int i = 0; i < 20; ++i) {
      t0 = std::chrono::steady_clock::now();
      tokenizer->encode(prompt, true);
      warm.push_back(ms(t0));
    }
    std::sort(warm.begin(), warm.end());
    std::printf("%zu tokens from %zu bytes: first encode %.2f ms, median of 20 later %.2f ms\n", n,
                prompt.size(), cold, warm[warm.size() / 2]);
  } catch (const llc::TokenizerError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
