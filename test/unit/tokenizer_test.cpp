// tokenizer_test.cpp - the native tokenizer against Hugging Face `tokenizers` on the real Llama 3
// and Llama 2 files: every line of test/data/tokenizer/corpus.jsonl must give byte-for-byte the
// ids, decode and decode(skip_special_tokens) recorded in test/data/tokenizer/refs/<model>.jsonl
// (made by test/gpu/make_tokenizer_refs.py), plus reference-free checks on the same files.
// Missing tokenizer files or references are failures that say where they were looked for and
// how to get them.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"
#include "runtime/utf8.h"
#include "test/unit/tokenizer_test_util.h"

namespace llc {
namespace {

using nlohmann::json;
using test::corpus_path;
using test::load_model;
using test::model_dir;
using test::read_lines;

struct Reference {
  json meta;
  std::vector<json> lines;
};

// Loads refs/<model>.jsonl, or fails saying how to make it.
bool load_reference(const std::string& model, Reference& ref) {
  const std::string path = std::string(LLC_SOURCE_DIR) + "/test/data/tokenizer/refs/" + model + ".jsonl";
  std::vector<std::string> lines;
  if (!read_lines(path, lines)) {
    ADD_FAILURE() << "reference file missing: " << path
                  << "\nrun test/gpu/make_tokenizer_refs.py on a machine with HF tokenizers:\n"
                  << "  python3 test/gpu/make_tokenizer_refs.py --data <shared>/data/tokenizers "
                  << "--corpus test/data/tokenizer/corpus.jsonl --out OUTDIR\n"
                  << "and commit OUTDIR/" << model << ".jsonl as test/data/tokenizer/refs/" << model << ".jsonl";
    return false;
  }
  if (lines.empty() || !json::parse(lines[0]).contains("meta")) {
    ADD_FAILURE() << path << ": first line must be the {\"meta\": ...} header";
    return false;
  }
  ref.meta = json::parse(lines[0])["meta"];
  for (size_t i = 1; i < lines.size(); ++i) ref.lines.push_back(json::parse(lines[i]));
  return true;
}

class RealTokenizerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealTokenizerTest, MatchesHuggingFaceOnCorpus) {
  const std::string model = GetParam();
  const Tokenizer* tok = load_model(model);
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts = test::corpus_texts();
  ASSERT_GE(texts.size(), 2000u) << corpus_path();
  Reference ref;
  if (!load_reference(model, ref)) return;
  ASSERT_EQ(ref.meta.value("corpus_lines", -1), static_cast<int>(texts.size()))
      << "refs/" << model << ".jsonl was made from a different corpus: run test/gpu/make_tokenizer_refs.py again";
  ASSERT_EQ(ref.meta.value("corpus_fnv1a64", std::string()), test::corpus_fnv1a64())
      << "refs/" << model << ".jsonl was made from a different corpus.jsonl: run test/gpu/make_tokenizer_refs.py again";
  ASSERT_EQ(ref.lines.size(), texts.size());

  int id_failures = 0, decode_failures = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const json& want = ref.lines[i];
    std::vector<int32_t> ids = tok->encode(texts[i], true);
    std::vector<int32_t> want_ids = want["ids"].get<std::vector<int32_t>>();
    if (ids != want_ids && ++id_failures <= 20)
      ADD_FAILURE() << model << " line " << i + 1 << " " << json(texts[i]).dump() << "\n  ours: " << json(ids).dump()
                    << "\n  HF:   " << json(want_ids).dump();
    std::string decoded = tok->decode(want_ids, false);
    std::string decoded_skip = tok->decode(want_ids, true);
    if ((decoded != want["decoded"].get<std::string>() || decoded_skip != want["decoded_skip"].get<std::string>()) &&
        ++decode_failures <= 20)
      ADD_FAILURE() << model << " line " << i + 1 << " decode of " << json(want_ids).dump() << "\n  ours: "
                    << json(decoded).dump() << " / " << json(decoded_skip).dump() << "\n  HF:   " << want["decoded"].dump()
                    << " / " << want["decoded_skip"].dump();
  }
  EXPECT_EQ(id_failures, 0) << model << ": corpus lines whose ids differ from HF tokenizers";
  EXPECT_EQ(decode_failures, 0) << model << ": corpus lines whose decode differs from HF tokenizers";
}

TEST_P(RealTokenizerTest, RoundTripsWhereHuggingFaceDoes) {
  const std::string model = GetParam();
  const Tokenizer* tok = load_model(model);
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts = test::corpus_texts();
  Reference ref;
  if (!load_reference(model, ref)) return;
  ASSERT_EQ(ref.lines.size(), texts.size()) << "stale references: run test/gpu/make_tokenizer_refs.py again";
  size_t checked = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (ref.lines[i]["decoded_skip"].get<std::string>() != texts[i]) continue;
    ++checked;
    EXPECT_EQ(tok->decode(tok->encode(texts[i], true), true), texts[i]) << model << " line " << i + 1;
  }
  EXPECT_GT(checked, texts.size() / 2) << "HF round-trips most of the corpus; the references look wrong";
}

TEST_P(RealTokenizerTest, BosAndEosFollowTransformers) {
  const std::string model = GetParam();
  const Tokenizer* tok = load_model(model);
  ASSERT_NE(tok, nullptr);
  Reference ref;
  if (!load_reference(model, ref)) return;
  const json& at = ref.meta["autotokenizer"];
  ASSERT_TRUE(at.is_object()) << "the references hold no AutoTokenizer results (see make_tokenizer_refs.py output)";
  GenerationDefaults d = read_generation_defaults(model_dir(model), tok, -1, {});
  if (at["bos_token_id"].is_number()) {
    EXPECT_EQ(d.bos_token_id, at["bos_token_id"].get<int32_t>());
  }
  if (at["eos_token_id"].is_number()) {
    ASSERT_FALSE(d.eos_token_ids.empty());
    EXPECT_EQ(d.eos_token_ids.front(), at["eos_token_id"].get<int32_t>());
  }
  for (const json& p : at["prompts"]) {
    const std::string text = p["text"].get<std::string>();
    std::vector<int32_t> want = p["ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> ours = encode_prompt(*tok, d, text);
    auto leading_bos = [&](const std::vector<int32_t>& ids) {
      size_t n = 0;
      while (n < ids.size() && ids[n] == d.bos_token_id) ++n;
      return n;
    };
    EXPECT_EQ(leading_bos(ours), leading_bos(want)) << model << " prompt " << json(text).dump() << ": transformers gives "
                                                    << json(want).dump() << ", encode_prompt " << json(ours).dump();
  }
}

TEST_P(RealTokenizerTest, DecodeStreamMatchesDecodeOnCorpus) {
  const std::string model = GetParam();
  const Tokenizer* tok = load_model(model);
  ASSERT_NE(tok, nullptr);
  for (const std::string& text : test::corpus_texts()) {
    std::vector<int32_t> ids = tok->encode(text, true);
    for (bool skip : {false, true}) {
      StreamDecoder stream(*tok, skip);
      std::string joined;
      for (int32_t id : ids) {
        std::string piece = stream.push(id);
        ASSERT_EQ(tok::utf8_find_invalid(piece), std::string::npos) << "half a character streamed for " << json(text).dump();
        joined += piece;
      }
      joined += stream.flush();
      ASSERT_EQ(joined, tok->decode(ids, skip)) << model << " " << json(text).dump();
    }
  }
}

TEST(RealTokenizer, Llama3RoundTripsEveryLine) {
  // Byte-level BPE loses nothing and its decoder adds nothing: no reference needed.
  const Tokenizer* tok = load_model("llama3");
  ASSERT_NE(tok, nullptr);
  for (const std::string& text : test::corpus_texts())
    EXPECT_EQ(tok->decode(tok->encode(text, true), false), text) << json(text).dump();
}

TEST(RealTokenizer, Llama3GroupsDigitsByThree) {
  const Tokenizer* tok = load_model("llama3");
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> pieces;
  for (int32_t id : tok->encode("1234567", false)) pieces.push_back(tok->id_to_token(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"123", "456", "7"}));
  pieces.clear();
  for (int32_t id : tok->encode(" 12", false)) pieces.push_back(tok->id_to_token(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"\xC4\xA0", "12"}));  // "Ġ" then "12": digits never take the space
}

TEST(RealTokenizer, Llama3SpecialTokensAreSplitOut) {
  const Tokenizer* tok = load_model("llama3");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->token_to_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(tok->token_to_id("<|eot_id|>"), 128009);
  EXPECT_TRUE(tok->is_special(128009));
  EXPECT_FALSE(tok->is_special(791));
  EXPECT_EQ(tok->vocab_size(), 128256);
  std::vector<int32_t> ids = tok->encode("Hi<|eot_id|>there", true);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], 128009);
  EXPECT_EQ(tok->decode(ids, true), "Hithere");
  EXPECT_EQ(tok->decode(ids, false), "Hi<|eot_id|>there");
}

TEST(RealTokenizer, Llama2AddsBosAndUsesByteFallback) {
  const Tokenizer* tok = load_model("llama2");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 32000);
  std::vector<int32_t> ids = tok->encode("Hello", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok->encode("Hello", false), std::vector<int32_t>(ids.begin() + 1, ids.end()));
  // A character outside the vocabulary becomes its UTF-8 bytes as <0xNN> tokens.
  const std::string rare = "\xF0\x9F\xA6\x80";  // U+1F980
  ASSERT_LT(tok->token_to_id(rare), 0);
  std::vector<std::string> pieces;
  for (int32_t id : tok->encode(rare, false)) pieces.push_back(tok->id_to_token(id));
  ASSERT_GE(pieces.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(pieces.end() - 4, pieces.end()),
            (std::vector<std::string>{"<0xF0>", "<0x9F>", "<0xA6>", "<0x80>"}));
  EXPECT_EQ(tok->decode(tok->encode(rare, true), true), rare);
}

TEST(RealTokenizer, Llama2GenerationDefaults) {
  const Tokenizer* tok = load_model("llama2");
  ASSERT_NE(tok, nullptr);
  GenerationDefaults d = read_generation_defaults(model_dir("llama2"), tok, -1, {});
  EXPECT_EQ(d.bos_token_id, 1);
  EXPECT_FALSE(d.add_bos);  // the TemplateProcessing post-processor already adds <s>
  EXPECT_EQ(d.eos_token_ids, std::vector<int32_t>{2});
  std::vector<int32_t> prompt = encode_prompt(*tok, d, "Hello");
  ASSERT_GE(prompt.size(), 2u);
  EXPECT_EQ(prompt[0], 1);
  EXPECT_NE(prompt[1], 1);
}

INSTANTIATE_TEST_SUITE_P(Models, RealTokenizerTest, ::testing::Values("llama3", "llama2"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace llc
