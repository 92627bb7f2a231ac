// tokenizer_text_test.cpp - the text side of the tokenizer with hand-checkable expectations:
// UTF-8 lossy decoding, the byte-level alphabet, regex patterns with Oniguruma semantics and
// split behaviours, the decoders, the stream decoder, and the model directory conventions
// (tokenizer_config.json / generation_config.json).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/byte_level.h"
#include "runtime/pattern.h"
#include "runtime/tokenizer.h"
#include "runtime/utf8.h"
#include "test/unit/tokenizer_test_util.h"

namespace llc {
namespace {

using nlohmann::json;
using test::TempDir;
using test::tokenizer_from_json;
using Ids = std::vector<int32_t>;

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(Utf8, LossyReplacesMaximalInvalidSubparts) {
  using tok::utf8_lossy;
  EXPECT_EQ(utf8_lossy("abc"), "abc");
  EXPECT_EQ(utf8_lossy("\xE4\xB8\xAD"), "\xE4\xB8\xAD");
  EXPECT_EQ(utf8_lossy("\xE4\xB8"), kFFFD);                       // truncated: one replacement
  EXPECT_EQ(utf8_lossy("\xE4\xB8" "a"), kFFFD + "a");
  EXPECT_EQ(utf8_lossy("\xFF"), kFFFD);
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), kFFFD + kFFFD);                // overlong: each byte
  EXPECT_EQ(utf8_lossy("\xE0\x80\x80"), kFFFD + kFFFD + kFFFD);    // E0 needs A0..BF next
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD);    // a surrogate
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);  // above U+10FFFF
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98" "\xF0\x9F\x98\x80"), kFFFD + "\xF0\x9F\x98\x80");

  // Any chunking gives the same text as one call.
  const std::string bytes = "a\xE4\xB8\xAD\xE4\xB8\xFF\xF0\x9F\x98\x80z\xC3";
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    tok::Utf8LossyDecoder d;
    std::string out;
    d.push(bytes.substr(0, cut), out);
    d.push(bytes.substr(cut), out);
    d.finish(out);
    EXPECT_EQ(out, utf8_lossy(bytes)) << "cut at " << cut;
  }
  EXPECT_EQ(tok::utf8_find_invalid("ok \xC3\xA9"), std::string::npos);
  EXPECT_EQ(tok::utf8_find_invalid("ok\xC3"), 2u);
}

TEST(ByteLevel, AlphabetIsGpt2s) {
  std::vector<bool> seen(0x200, false);
  for (int b = 0; b < 256; ++b) {
    uint32_t cp = tok::byte_to_unicode(static_cast<uint8_t>(b));
    ASSERT_LT(cp, 0x144u);
    EXPECT_FALSE(seen[cp]) << "two bytes map to U+" << std::hex << cp;
    seen[cp] = true;
    EXPECT_EQ(tok::unicode_to_byte(cp), b);
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (printable) {
      EXPECT_EQ(cp, static_cast<uint32_t>(b));
    } else {
      EXPECT_GE(cp, 0x100u);
    }
  }
  EXPECT_EQ(tok::byte_to_unicode(' '), 0x120u);   // Ġ
  EXPECT_EQ(tok::byte_to_unicode('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(tok::byte_to_unicode(0x00), 0x100u);
  EXPECT_EQ(tok::byte_to_unicode(0x7F), 0x121u);
  EXPECT_EQ(tok::byte_to_unicode(0xAD), 0x143u);
  EXPECT_EQ(tok::unicode_to_byte(0x144), -1);

  std::string encoded;
  tok::byte_level_encode("a b\xE4", encoded);
  EXPECT_EQ(encoded, "a\xC4\xA0" "b\xC3\xA4");  // "aĠbä"
  std::string decoded;
  tok::byte_level_decode_token(encoded, decoded);
  EXPECT_EQ(decoded, "a b\xE4");
  decoded.clear();
  tok::byte_level_decode_token("<|eot id|>", decoded);  // a space is outside the alphabet: kept as is
  EXPECT_EQ(decoded, "<|eot id|>");
}

std::vector<std::string> matches(const std::string& pattern, const std::string& text) {
  tok::Regex re(pattern, "test");
  std::vector<std::pair<size_t, size_t>> spans;
  re.find_all(text, spans);
  std::vector<std::string> out;
  for (auto [s, e] : spans) out.push_back(text.substr(s, e - s));
  return out;
}

TEST(Pattern, WhitespaceIsUnicodeWhiteSpace) {
  EXPECT_EQ(matches("\\s+", "a\xC2\xA0\xC2\x85" "b"), (std::vector<std::string>{"\xC2\xA0\xC2\x85"}));  // NBSP, NEL
  EXPECT_EQ(matches("\\s", "\xE1\xA0\x8E"), (std::vector<std::string>{}));       // U+180E is not White_Space
  EXPECT_EQ(matches("\\s", "\xE2\x80\x8B"), (std::vector<std::string>{}));       // nor is ZWSP
  EXPECT_EQ(matches("\\s", "\xE3\x80\x80"), (std::vector<std::string>{"\xE3\x80\x80"}));
  EXPECT_EQ(matches("[^\\s\\p{L}]+", "ab 12\xC2\xA0!"), (std::vector<std::string>{"12", "!"}));
  EXPECT_EQ(matches("\\s+(?!\\S)", "a   b"), (std::vector<std::string>{"  "}));
  EXPECT_EQ(matches("(?i:'s|'t)", "'S 'T '\xC5\xBF"), (std::vector<std::string>{"'S", "'T", "'\xC5\xBF"}));
  EXPECT_EQ(matches("\\p{N}{1,3}", "1234567"), (std::vector<std::string>{"123", "456", "7"}));
  EXPECT_EQ(tok::translate_oniguruma_pattern("a\\d[\\s\\]]\\S\\h"), "a\\d[\\p{White_Space}\\]]\\P{White_Space}[0-9a-fA-F]");
  // Oniguruma's \w and \b: alphabetic, marks, decimal digits, connector punctuation.
  EXPECT_EQ(matches("\\w+", "a_b\xC2\xB2\xCC\x81 d-e"), (std::vector<std::string>{"a_b\xC2\xB2\xCC\x81", "d", "e"}));
  EXPECT_EQ(matches("\\bx", "x ax x"), (std::vector<std::string>{"x", "x"}));
}

TEST(Pattern, EmptyMatchesAdvance) {
  // As the onig crate's find_iter: no empty match right after the previous match.
  EXPECT_EQ(matches("x*", "axxb"), (std::vector<std::string>{"", "xx", ""}));
}

std::vector<std::string> split(const std::string& text, tok::SplitBehavior b, bool invert = false) {
  tok::Pattern p("-");
  std::vector<std::string> out;
  for (auto [s, e] : tok::split_spans(p.find_matches(text, invert), b)) out.push_back(text.substr(s, e - s));
  return out;
}

TEST(Pattern, SplitBehaviours) {
  using B = tok::SplitBehavior;
  using V = std::vector<std::string>;
  EXPECT_EQ(split("a-b--c", B::kIsolated), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split("a-b--c", B::kRemoved), (V{"a", "b", "c"}));
  EXPECT_EQ(split("a-b--c", B::kMergedWithPrevious), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split("a-b--c", B::kMergedWithNext), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split("a-b--c", B::kContiguous), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split("a-b--c", B::kRemoved, /*invert=*/true), (V{"-", "-", "-"}));
  EXPECT_EQ(split("", B::kIsolated), (V{}));
}

// A tokenizer over single-character tokens (id = position) with the given decoder.
std::unique_ptr<Tokenizer> with_decoder(const std::vector<std::string>& tokens, const json& decoder) {
  json vocab = json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  json file = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}}, {"decoder", decoder}};
  file["added_tokens"] = {{{"id", tokens.size()}, {"content", "<eos>"}, {"special", true}, {"normalized", false}}};
  return tokenizer_from_json(file);
}

TEST(Decoders, ByteLevelIsLossyUtf8OverAllTokens) {
  // "ä" (U+00E4) stands for byte 0xE4, "¸" for 0xB8, "Ń" (U+0143) for 0xAD: together "中".
  auto tok = with_decoder({"\xC3\xA4", "\xC2\xB8", "\xC5\x83", "a", "\xC4\xA0"}, {{"type", "ByteLevel"}});
  EXPECT_EQ(tok->decode({0, 1, 2}, false), "\xE4\xB8\xAD");
  EXPECT_EQ(tok->decode({0, 1, 3}, false), kFFFD + "a");
  EXPECT_EQ(tok->decode({4, 3, 5}, false), " a<eos>");
  EXPECT_EQ(tok->decode({4, 3, 5}, true), " a");
  EXPECT_EQ(tok->decode({3, 999, 3}, false), "aa");  // unknown ids are dropped, as in HF
}

TEST(Decoders, SentencePieceChain) {
  const std::string bar = "\xE2\x96\x81";
  json chain = {{"type", "Sequence"},
                {"decoders",
                 {{{"type", "Replace"}, {"pattern", {{"String", bar}}}, {"content", " "}},
                  {{"type", "ByteFallback"}},
                  {{"type", "Fuse"}},
                  {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  auto tok = with_decoder({bar + "Hi", bar + "there", "<0xE4>", "<0xB8>", "<0xAD>", bar}, chain);
  EXPECT_EQ(tok->decode({0, 1}, false), "Hi there");
  EXPECT_EQ(tok->decode({5, 0}, false), " Hi");  // only one leading space is stripped
  EXPECT_EQ(tok->decode({0, 2, 3, 4}, false), "Hi\xE4\xB8\xAD");
  EXPECT_EQ(tok->decode({0, 2, 3, 1}, false), "Hi" + kFFFD + kFFFD + " there");
  EXPECT_EQ(tok->decode({6, 0}, false), "<eos> Hi");  // the special token is the first token: nothing stripped
  EXPECT_EQ(tok->decode({6, 0}, true), "Hi");
}

TEST(Decoders, StripStopMetaspaceAndDefaultJoin) {
  auto strip = with_decoder({"x", "y", " "}, {{"type", "Sequence"},
                                              {"decoders", {{{"type", "Fuse"}},
                                                            {{"type", "Strip"}, {"content", " "}, {"start", 2}, {"stop", 2}}}}});
  EXPECT_EQ(strip->decode({2, 2, 2, 0, 2, 1, 2, 2, 2}, false), " x y ");
  const std::string bar = "\xE2\x96\x81";
  auto meta = with_decoder({bar + "Hey", bar + "friend"}, {{"type", "Metaspace"}, {"replacement", bar}, {"prepend_scheme", "always"}});
  EXPECT_EQ(meta->decode({0, 1}, false), "Hey friend");
  auto never = with_decoder({bar + "Hey", bar + "friend"}, {{"type", "Metaspace"}, {"replacement", bar}, {"prepend_scheme", "never"}});
  EXPECT_EQ(never->decode({0, 1}, false), " Hey friend");
  auto join = with_decoder({"a", "b"}, nullptr);
  EXPECT_EQ(join->decode({0, 1, 0}, false), "a b a");
}

// Pushes `ids` one by one; checks every piece is whole UTF-8 and the total is decode(ids).
std::vector<std::string> stream_all(const Tokenizer& tok, const Ids& ids, bool skip) {
  StreamDecoder stream(tok, skip);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(stream.push(id));
  pieces.push_back(stream.flush());
  std::string joined;
  for (const std::string& p : pieces) {
    EXPECT_EQ(tok::utf8_find_invalid(p), std::string::npos) << "streamed half a character";
    joined += p;
  }
  EXPECT_EQ(joined, tok.decode(ids, skip));
  return pieces;
}

TEST(StreamDecoder, HoldsIncompleteCharactersBack) {
  auto tok = with_decoder({"\xC3\xA4", "\xC2\xB8", "\xC5\x83", "a"}, {{"type", "ByteLevel"}});
  EXPECT_EQ(stream_all(*tok, {3, 0, 1, 2, 3}, false), (std::vector<std::string>{"a", "", "", "\xE4\xB8\xAD", "a", ""}));
  EXPECT_EQ(stream_all(*tok, {0, 1}, false), (std::vector<std::string>{"", "", kFFFD}));  // flush ends the stream
}

TEST(StreamDecoder, HoldsByteFallbackRunsUntilTheyEnd) {
  const std::string bar = "\xE2\x96\x81";
  json chain = {{"type", "Sequence"},
                {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", bar}}}, {"content", " "}},
                              {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  auto tok = with_decoder({bar + "Hi", "<0xE4>", "<0xB8>", "<0xAD>", "<0x41>", "<0xFF>"}, chain);
  EXPECT_EQ(stream_all(*tok, {0, 1, 2, 3, 0}, false), (std::vector<std::string>{"Hi", "", "", "", "\xE4\xB8\xAD Hi", ""}));
  // A later invalid byte turns the whole run into U+FFFD, so "A" must not be streamed early.
  EXPECT_EQ(stream_all(*tok, {4, 5}, false), (std::vector<std::string>{"", "", kFFFD + kFFFD}));
}

TEST(StreamDecoder, RandomIdsOnRealTokenizers) {
  std::mt19937 rng(1234);
  for (const char* model : {"llama3", "llama2"}) {
    const Tokenizer* tok = test::load_model(model);
    ASSERT_NE(tok, nullptr);
    std::uniform_int_distribution<int32_t> any(0, static_cast<int32_t>(tok->vocab_size()) + 10);
    std::uniform_int_distribution<int32_t> low(0, 300);  // byte tokens and special tokens live here in llama2
    for (int trial = 0; trial < 300; ++trial) {
      Ids ids(1 + rng() % 40);
      for (int32_t& id : ids) id = rng() % 2 ? any(rng) : low(rng);
      stream_all(*tok, ids, trial % 2 == 0);
    }
  }
}

// A Tokenizer that is not built from tokenizer.json: the stream decoder's fallback path.
class LetterTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view, bool) const override { return {}; }
  std::string decode(const std::vector<int32_t>& ids, bool) const override {
    std::string bytes;
    for (int32_t id : ids) bytes.push_back(static_cast<char>(id));
    return tok::utf8_lossy(bytes);
  }
  int32_t token_to_id(std::string_view) const override { return -1; }
  std::string id_to_token(int32_t) const override { return {}; }
  int64_t vocab_size() const override { return 256; }
  bool is_special(int32_t) const override { return false; }
};

TEST(StreamDecoder, FallbackForOtherTokenizers) {
  LetterTokenizer tok;
  EXPECT_EQ(stream_all(tok, {'a', 0xE4, 0xB8, 0xAD, 'b'}, false),
            (std::vector<std::string>{"a", "", "", "\xE4\xB8\xAD", "b", ""}));
}

// ---- model directory conventions ---------------------------------------------------------

std::unique_ptr<Tokenizer> bos_tokenizer(bool post_processor_adds_bos) {
  json vocab = {{"<s>", 0}, {"</s>", 1}, {"a", 2}, {"<eot>", 3}};
  json file = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}}};
  file["added_tokens"] = {{{"id", 0}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                          {{"id", 1}, {"content", "</s>"}, {"special", true}, {"normalized", false}},
                          {{"id", 3}, {"content", "<eot>"}, {"special", true}, {"normalized", false}}};
  if (post_processor_adds_bos)
    file["post_processor"] = {{"type", "TemplateProcessing"},
                              {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                              {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}}}}};
  return tokenizer_from_json(file);
}

TEST(GenerationDefaults, MissingFilesFallBackToTheCompiledConfig) {
  TempDir dir;
  GenerationDefaults d = read_generation_defaults(dir.path(), nullptr, 7, {8, 9});
  EXPECT_EQ(d.bos_token_id, 7);
  EXPECT_EQ(d.eos_token_ids, (Ids{8, 9}));
  EXPECT_TRUE(d.add_bos);
}

TEST(GenerationDefaults, EosFromGenerationConfigIntOrList) {
  TempDir dir;
  dir.write("generation_config.json", R"({"bos_token_id": 5, "eos_token_id": [1, 3]})");
  GenerationDefaults d = read_generation_defaults(dir.path(), nullptr, -1, {9});
  EXPECT_EQ(d.bos_token_id, 5);
  EXPECT_EQ(d.eos_token_ids, (Ids{1, 3}));
  dir.write("generation_config.json", R"({"eos_token_id": 3})");
  EXPECT_EQ(read_generation_defaults(dir.path(), nullptr, -1, {9}).eos_token_ids, (Ids{3}));
  dir.write("generation_config.json", R"({"eos_token_id": null})");
  EXPECT_EQ(read_generation_defaults(dir.path(), nullptr, -1, {9}).eos_token_ids, (Ids{9}));
}

TEST(GenerationDefaults, BosRuleFollowsTokenizerConfigAndPostProcessor) {
  TempDir dir;
  auto plain = bos_tokenizer(false);
  auto templated = bos_tokenizer(true);

  dir.write("tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})");
  GenerationDefaults d = read_generation_defaults(dir.path(), plain.get(), -1, {});
  EXPECT_EQ(d.bos_token_id, 0);
  EXPECT_EQ(d.eos_token_ids, (Ids{1}));  // no generation_config.json, no compiled EOS: the tokenizer's
  EXPECT_TRUE(d.add_bos);
  EXPECT_EQ(encode_prompt(*plain, d, "a"), (Ids{0, 2}));
  d = read_generation_defaults(dir.path(), templated.get(), -1, {});
  EXPECT_FALSE(d.add_bos);  // the post-processor adds it already
  EXPECT_EQ(encode_prompt(*templated, d, "a"), (Ids{0, 2}));

  dir.write("tokenizer_config.json", R"({"bos_token": {"content": "<s>", "__type": "AddedToken"}, "add_bos_token": false})");
  d = read_generation_defaults(dir.path(), plain.get(), -1, {});
  EXPECT_FALSE(d.add_bos);
  EXPECT_EQ(encode_prompt(*plain, d, "a"), (Ids{2}));

  // No add_bos_token: the Llama classes add BOS (transformers' default), others do what the file does.
  dir.write("tokenizer_config.json", R"({"bos_token": "<s>", "tokenizer_class": "LlamaTokenizer"})");
  EXPECT_TRUE(read_generation_defaults(dir.path(), plain.get(), -1, {}).add_bos);
  dir.write("tokenizer_config.json", R"({"bos_token": "<s>", "tokenizer_class": "PreTrainedTokenizerFast"})");
  EXPECT_FALSE(read_generation_defaults(dir.path(), plain.get(), -1, {}).add_bos);
  EXPECT_EQ(encode_prompt(*templated, read_generation_defaults(dir.path(), templated.get(), -1, {}), "a"), (Ids{0, 2}));

  // generation_config.json decides EOS over the tokenizer's.
  dir.write("generation_config.json", R"({"eos_token_id": [1, 3]})");
  EXPECT_EQ(read_generation_defaults(dir.path(), plain.get(), -1, {}).eos_token_ids, (Ids{1, 3}));
}

TEST(GenerationDefaults, MalformedFilesAreErrors) {
  TempDir dir;
  auto tok = bos_tokenizer(false);
  auto expect_error = [&](const std::string& needle) {
    try {
      read_generation_defaults(dir.path(), tok.get(), -1, {});
      ADD_FAILURE() << "expected a TokenizerError mentioning " << needle;
    } catch (const TokenizerError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  dir.write("generation_config.json", "{not json");
  expect_error("generation_config.json: not valid JSON");
  dir.write("generation_config.json", R"({"eos_token_id": "two"})");
  expect_error("\"eos_token_id\" must hold non-negative integer ids");
  dir.write("generation_config.json", R"({"eos_token_id": [2, -1]})");
  expect_error("eos_token_id");
  dir.write("generation_config.json", "{}");
  dir.write("tokenizer_config.json", R"({"bos_token": "<nope>"})");
  expect_error("\"bos_token\" is \"<nope>\", which the tokenizer does not know");
  dir.write("tokenizer_config.json", R"({"add_bos_token": "yes"})");
  expect_error("\"add_bos_token\" must be true or false");
}

}  // namespace
}  // namespace llc
