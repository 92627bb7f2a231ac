// tokenizer_model_test.cpp - the encoding side on small tokenizer.json files written here, so
// every expected id can be checked by hand: BPE merges by rank, byte fallback, unknown tokens,
// ignore_merges, subword prefixes, added tokens and their flags, normalizers (NFC included),
// pre-tokenizers, post-processors, and the errors for files that cannot be used.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer.h"
#include "runtime/unicode_normalize.h"
#include "test/unit/tokenizer_test_util.h"

namespace llc {
namespace {

using nlohmann::json;
using test::TempDir;
using test::tokenizer_from_json;
using Ids = std::vector<int32_t>;

// A tokenizer.json with a BPE model over `tokens` (id = position) and `merges`.
json tiny(const std::vector<std::string>& tokens, const std::vector<std::string>& merges, json model_extra = json::object()) {
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  json model = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                {"vocab", vocab}, {"merges", merges}};
  model.update(model_extra);
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", json::array()},
          {"normalizer", nullptr}, {"pre_tokenizer", nullptr}, {"post_processor", nullptr}, {"decoder", nullptr},
          {"model", model}};
}

json added(const std::string& content, int id, bool special, json flags = json::object()) {
  json t = {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
            {"normalized", !special}, {"special", special}};
  t.update(flags);
  return t;
}

TEST(Bpe, MergesLowestRankFirst) {
  // a=0 b=1 c=2 ab=3 bc=4 abc=5
  std::vector<std::string> v = {"a", "b", "c", "ab", "bc", "abc"};
  EXPECT_EQ(tokenizer_from_json(tiny(v, {"a b", "ab c"}))->encode("abc", false), (Ids{5}));
  // "b c" outranks "a b"; "a bc" is no merge, so a + bc.
  EXPECT_EQ(tokenizer_from_json(tiny(v, {"b c", "a b", "ab c"}))->encode("abc", false), (Ids{0, 4}));
  EXPECT_EQ(tokenizer_from_json(tiny(v, {}))->encode("cab", false), (Ids{2, 0, 1}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  auto tok = tokenizer_from_json(tiny({"a", "aa"}, {"a a"}));
  EXPECT_EQ(tok->encode("aaa", false), (Ids{1, 0}));
  EXPECT_EQ(tok->encode("aaaa", false), (Ids{1, 1}));
  EXPECT_EQ(tok->encode("aaaaa", false), (Ids{1, 1, 0}));
}

TEST(Bpe, MergesAcceptThePairForm) {
  json file = tiny({"a", "b", "ab"}, {});
  file["model"]["merges"] = json::array({json::array({"a", "b"})});
  EXPECT_EQ(tokenizer_from_json(file)->encode("ab", false), (Ids{2}));
}

TEST(Bpe, LongWordMergesFully) {
  // 4096 x "a" with merges a a -> aa, aa aa -> aaaa: 1024 tokens of "aaaa" (and no quadratic blow-up).
  auto tok = tokenizer_from_json(tiny({"a", "aa", "aaaa"}, {"a a", "aa aa"}));
  EXPECT_EQ(tok->encode(std::string(4096, 'a'), false), Ids(1024, 2));
}

TEST(Bpe, ByteFallbackForCharactersOutsideTheVocabulary) {
  json file = tiny({"a", "<0xC3>", "<0xA9>", "<0xE2>", "<0x82>", "<0xAC>"}, {}, {{"byte_fallback", true}});
  file["decoder"] = {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("a\xC3\xA9", false), (Ids{0, 1, 2}));            // "aé"
  EXPECT_EQ(tok->encode("\xE2\x82\xAC" "a", false), (Ids{3, 4, 5, 0}));  // "€a"
  EXPECT_EQ(tok->decode({0, 1, 2}, false), "a\xC3\xA9");
  EXPECT_EQ(tok->decode({1, 0}, false), "\xEF\xBF\xBD" "a");  // a lone lead byte: U+FFFD per byte
  EXPECT_EQ(tok->decode({3, 4, 0}, false), "\xEF\xBF\xBD\xEF\xBF\xBD" "a");
}

TEST(Bpe, UnknownTokensFusedOrNot) {
  json file = tiny({"<unk>", "a"}, {}, {{"unk_token", "<unk>"}});
  EXPECT_EQ(tokenizer_from_json(file)->encode("axyza", false), (Ids{1, 0, 0, 0, 1}));
  file["model"]["fuse_unk"] = true;
  EXPECT_EQ(tokenizer_from_json(file)->encode("axyza", false), (Ids{1, 0, 1}));
  // Without an unknown token, characters outside the vocabulary are dropped (as HF does).
  EXPECT_EQ(tokenizer_from_json(tiny({"a"}, {}))->encode("axa", false), (Ids{0, 0}));
}

TEST(Bpe, IgnoreMergesEmitsWholeVocabularyWords) {
  std::vector<std::string> v = {"x", "y", "xy", "xyx"};
  json file = tiny(v, {"x y"});
  EXPECT_EQ(tokenizer_from_json(file)->encode("xyx", false), (Ids{2, 0}));
  file["model"]["ignore_merges"] = true;
  EXPECT_EQ(tokenizer_from_json(file)->encode("xyx", false), (Ids{3}));
  EXPECT_EQ(tokenizer_from_json(file)->encode("xyxy", false), (Ids{2, 2}));
}

TEST(Bpe, SubwordPrefixAndWordSuffix) {
  EXPECT_EQ(tokenizer_from_json(tiny({"a", "##b", "ab"}, {"a ##b"}, {{"continuing_subword_prefix", "##"}}))
                ->encode("ab", false),
            (Ids{2}));
  EXPECT_EQ(tokenizer_from_json(tiny({"a", "b</w>", "ab</w>"}, {"a b</w>"}, {{"end_of_word_suffix", "</w>"}}))
                ->encode("ab", false),
            (Ids{2}));
}

TEST(AddedTokens, SpecialTokensAreSplitOutBeforeTheModel) {
  json file = tiny({"x", "y", "<", "s", ">"}, {});
  file["added_tokens"] = {added("<s>", 5, true)};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("x<s>y", false), (Ids{0, 5, 1}));
  EXPECT_EQ(tok->encode("<s<s>>", false), (Ids{2, 3, 5, 4}));
  EXPECT_TRUE(tok->is_special(5));
  EXPECT_FALSE(tok->is_special(0));
  EXPECT_EQ(tok->decode({0, 5, 1}, true), "x y");  // no decoder: HF joins tokens with spaces
  EXPECT_EQ(tok->decode({0, 5, 1}, false), "x <s> y");
  EXPECT_EQ(tok->vocab_size(), 6);
}

TEST(AddedTokens, LongestMatchWins) {
  json file = tiny({"a"}, {});
  file["added_tokens"] = {added("<a>", 1, true), added("<a><a>", 2, true)};
  EXPECT_EQ(tokenizer_from_json(file)->encode("<a><a><a>", false), (Ids{2, 1}));
}

TEST(AddedTokens, StripFlagsTakeTheWhitespace) {
  std::vector<std::string> v = {"a", " ", "b"};
  auto with = [&](json flags) {
    json file = tiny(v, {});
    file["added_tokens"] = {added("[M]", 3, true, flags)};
    return tokenizer_from_json(file)->encode("a  [M]  b", false);
  };
  EXPECT_EQ(with(json::object()), (Ids{0, 1, 1, 3, 1, 1, 2}));
  EXPECT_EQ(with({{"lstrip", true}}), (Ids{0, 3, 1, 1, 2}));
  EXPECT_EQ(with({{"rstrip", true}}), (Ids{0, 1, 1, 3, 2}));
  EXPECT_EQ(with({{"lstrip", true}, {"rstrip", true}}), (Ids{0, 3, 2}));
}

TEST(AddedTokens, SingleWordOnlyMatchesWholeWords) {
  json file = tiny({"c", "a", "t", "o", "n", " "}, {});
  file["added_tokens"] = {added("cat", 6, false, {{"single_word", true}})};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("cat", false), (Ids{6}));
  EXPECT_EQ(tok->encode("a cat", false), (Ids{1, 5, 6}));
  EXPECT_EQ(tok->encode("concat", false), (Ids{0, 3, 4, 0, 1, 2}));
  EXPECT_EQ(tok->encode("cats", false).front(), 0);
}

TEST(AddedTokens, NormalizedTokensMatchNormalizedText) {
  json file = tiny({"a", "-", "_", "b"}, {});
  file["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", "-"}}}, {"content", "_"}};
  file["added_tokens"] = {added("a_b", 4, false, {{"normalized", true}})};
  EXPECT_EQ(tokenizer_from_json(file)->encode("xa-b", false), (Ids{4}));
  file["added_tokens"] = {added("a_b", 4, false, {{"normalized", false}})};
  EXPECT_EQ(tokenizer_from_json(file)->encode("a-b", false), (Ids{0, 2, 3}));
  EXPECT_EQ(tokenizer_from_json(file)->encode("a_b", false), (Ids{4}));
}

TEST(AddedTokens, AnIdHuggingFaceWouldNotGiveIsAnError) {
  json file = tiny({"a"}, {});
  file["added_tokens"] = {added("<x>", 7, true)};  // HF would give it id 1
  try {
    tokenizer_from_json(file);
    FAIL() << "expected TokenizerError";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("\"<x>\" has id 7"), std::string::npos) << e.what();
  }
}

TEST(Normalizers, SentencePieceStyleSpaces) {
  // Llama 2's normalizer: Prepend("▁") then Replace(" " -> "▁"); tokens are single characters here.
  json file = tiny({"\xE2\x96\x81", "a", "b"}, {});
  file["normalizer"] = {{"type", "Sequence"},
                        {"normalizers",
                         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}};
  file["added_tokens"] = {added("<s>", 3, true)};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("a b", false), (Ids{0, 1, 0, 2}));
  EXPECT_EQ(tok->encode(" a", false), (Ids{0, 0, 1}));
  EXPECT_EQ(tok->encode("", false), (Ids{}));
  // Each piece between added tokens is normalized on its own, so both get a "▁".
  EXPECT_EQ(tok->encode("a<s>b", false), (Ids{0, 1, 3, 0, 2}));
}

TEST(Normalizers, NfcComposesAndReorders) {
  using tok::NormalForm;
  using tok::unicode_normalize;
  EXPECT_EQ(unicode_normalize("e\xCC\x81", NormalForm::kNFC), "\xC3\xA9");                  // e + U+0301 -> é
  EXPECT_EQ(unicode_normalize("\xC3\xA9", NormalForm::kNFD), "e\xCC\x81");
  EXPECT_EQ(unicode_normalize("\xE2\x84\xAB", NormalForm::kNFC), "\xC3\x85");               // Ångström sign -> Å
  EXPECT_EQ(unicode_normalize("e\xCC\x82\xCC\xA3", NormalForm::kNFC), "\xE1\xBB\x87");      // e + ^ + dot below -> ệ
  EXPECT_EQ(unicode_normalize("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", NormalForm::kNFC), "\xEA\xB0\x81");  // 각
  EXPECT_EQ(unicode_normalize("\xEA\xB0\x81", NormalForm::kNFD), "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
  // U+0958 is excluded from composition: NFC keeps it decomposed.
  EXPECT_EQ(unicode_normalize("\xE0\xA5\x98", NormalForm::kNFC), "\xE0\xA4\x95\xE0\xA4\xBC");
  EXPECT_EQ(unicode_normalize("plain ascii", NormalForm::kNFC), "plain ascii");

  json file = tiny({"\xC3\xA9", "e", "\xCC\x81"}, {});
  file["normalizer"] = {{"type", "NFC"}};
  EXPECT_EQ(tokenizer_from_json(file)->encode("e\xCC\x81", false), (Ids{0}));
}

TEST(PreTokenizers, SplitAndByteLevel) {
  // Words from the regex never merge across pieces; ByteLevel writes a space as "Ġ" (U+0120).
  json file = tiny({"a", "b", "\xC4\xA0", "\xC4\xA0" "b", "ab"}, {"\xC4\xA0 b", "a b"});
  file["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", " ?\\p{L}"}}}, {"behavior", "Isolated"}, {"invert", false}},
                             {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("a b", false), (Ids{0, 3}));
  EXPECT_EQ(tok->encode("ab", false), (Ids{0, 1}));  // "a" and "b" are separate pieces: no "ab"

  json prefixed = tiny({"a", "\xC4\xA0", "\xC4\xA0" "a"}, {"\xC4\xA0 a"});
  prefixed["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(tokenizer_from_json(prefixed)->encode("a", false), (Ids{2}));
}

TEST(PreTokenizers, MetaspacePrependSchemes) {
  const std::string bar = "\xE2\x96\x81";  // ▁
  json file = tiny({bar, "a", bar + "a", "b", bar + "b"}, {bar + " a", bar + " b"});
  file["added_tokens"] = {added("<s>", 5, true)};
  auto with = [&](const std::string& scheme) {
    file["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", bar}, {"prepend_scheme", scheme}, {"split", true}};
    return tokenizer_from_json(file)->encode("a<s>b", false);
  };
  EXPECT_EQ(with("always"), (Ids{2, 5, 4}));
  EXPECT_EQ(with("first"), (Ids{2, 5, 3}));  // only the piece at the start of the text
  EXPECT_EQ(with("never"), (Ids{1, 5, 3}));
}

TEST(PreTokenizers, DigitsIndividually) {
  json file = tiny({"1", "2", "12"}, {"1 2"});
  file["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  EXPECT_EQ(tokenizer_from_json(file)->encode("12", false), (Ids{0, 1}));
  file["pre_tokenizer"]["individual_digits"] = false;
  EXPECT_EQ(tokenizer_from_json(file)->encode("12", false), (Ids{2}));
}

TEST(PostProcessors, TemplateAddsSpecialTokensOnlyWhenAsked) {
  json file = tiny({"<s>", "</s>", "a"}, {});
  file["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
      {"pair", json::array()},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}},
                          {"</s>", {{"id", "</s>"}, {"ids", {1}}, {"tokens", {"</s>"}}}}}}};
  auto tok = tokenizer_from_json(file);
  EXPECT_EQ(tok->encode("aa", true), (Ids{0, 2, 2, 1}));
  EXPECT_EQ(tok->encode("aa", false), (Ids{2, 2}));
  EXPECT_EQ(tok->encode("", true), (Ids{0, 1}));
}

// ---- files that cannot be used -------------------------------------------------------------

// The TokenizerError from loading `content`; fails the test when it loads.
std::string load_error(const std::string& content) {
  TempDir dir;
  std::string path = dir.write("tokenizer.json", content);
  try {
    Tokenizer::from_file(path);
  } catch (const TokenizerError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << "error should name the file: " << what;
    return what;
  }
  ADD_FAILURE() << "expected a TokenizerError for " << content.substr(0, 200);
  return {};
}

TEST(BadFiles, AreRejectedWithAClearError) {
  json good = tiny({"a", "b", "ab"}, {"a b"});
  EXPECT_NE(load_error("this is not JSON").find("not valid JSON"), std::string::npos);
  std::string text = good.dump();
  EXPECT_NE(load_error(text.substr(0, text.size() / 2)).find("not valid JSON"), std::string::npos);  // truncated
  EXPECT_NE(load_error("[1, 2, 3]").find("JSON object"), std::string::npos);

  json no_model = good;
  no_model.erase("model");
  EXPECT_NE(load_error(no_model.dump()).find("missing \"model\""), std::string::npos);

  for (const char* type : {"Unigram", "WordPiece", "WordLevel"}) {
    json other = good;
    other["model"]["type"] = type;
    std::string what = load_error(other.dump());
    EXPECT_NE(what.find(std::string("\"") + type + "\" is unsupported"), std::string::npos) << what;
  }

  json pre = good;
  pre["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "BertPreTokenizer"}}}}};
  std::string what = load_error(pre.dump());
  EXPECT_NE(what.find("pre_tokenizer.pretokenizers[0].type: unsupported pre_tokenizer \"BertPreTokenizer\""),
            std::string::npos) << what;

  json norm = good;
  norm["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(load_error(norm.dump()).find("unsupported normalizer \"Lowercase\""), std::string::npos);
  json nfkc = good;
  nfkc["normalizer"] = {{"type", "NFKC"}};
  EXPECT_NE(load_error(nfkc.dump()).find("unsupported normalizer \"NFKC\""), std::string::npos);

  json dec = good;
  dec["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
  EXPECT_NE(load_error(dec.dump()).find("unsupported decoder \"WordPiece\""), std::string::npos);

  json post = good;
  post["post_processor"] = {{"type", "Mystery"}};
  EXPECT_NE(load_error(post.dump()).find("unsupported post_processor \"Mystery\""), std::string::npos);

  json merge = good;
  merge["model"]["merges"] = {"a c"};
  EXPECT_NE(load_error(merge.dump()).find("merge token \"c\" is not in the vocabulary"), std::string::npos);

  json regex = good;
  regex["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(load_error(regex.dump()).find("cannot compile regex"), std::string::npos);

  json behavior = good;
  behavior["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
  EXPECT_NE(load_error(behavior.dump()).find("unsupported split behavior"), std::string::npos);

  json dropout = good;
  dropout["model"]["dropout"] = 0.1;
  EXPECT_NE(load_error(dropout.dump()).find("dropout"), std::string::npos);

  json truncation = good;
  truncation["truncation"] = {{"max_length", 8}};
  EXPECT_NE(load_error(truncation.dump()).find("truncation"), std::string::npos);

  json version = good;
  version["version"] = "2.0";
  EXPECT_NE(load_error(version.dump()).find("version"), std::string::npos);
}

TEST(BadFiles, MissingFileAndBadInputText) {
  try {
    Tokenizer::from_file("/nonexistent/dir/tokenizer.json");
    FAIL() << "expected TokenizerError";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/tokenizer.json"), std::string::npos);
  }
  auto tok = tokenizer_from_json(tiny({"a"}, {}));
  EXPECT_THROW(tok->encode("a\xFF" "a", false), TokenizerError);
}

}  // namespace
}  // namespace llc
