// cli_test.cpp - command-line parsing and prompt checks of the generated binary (no GPU).
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cli.h"
#include "runtime/prompts.h"

namespace llc {
namespace {

CliResult parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"model_bin"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_cli(static_cast<int>(argv.size()), argv.data());
}

// The CliError message of parsing `args` ("" if it parses).
std::string error_of(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const CliError& e) {
    return e.what();
  }
  return "";
}

TEST(Cli, ParsesAGenerationRun) {
  const CliResult r = parse({"--weights", "/m", "--prompt", "hello world", "--prompt", "second",
                             "--prompt-ids", "1,2,3", "--max-new-tokens", "7", "--temperature", "0.8",
                             "--top-k", "40", "--top-p", "0.9", "--seed", "5", "--stop", "\n\n",
                             "--stop", "END", "--ignore-eos", "--no-cuda-graph", "--no-overlap", "--kv-tokens", "5000",
                             "--output-json", "o.json"});
  ASSERT_EQ(r.action, CliAction::run);
  const CliOptions& o = r.options;
  EXPECT_EQ(o.weights_dir, "/m");
  EXPECT_EQ(o.prompts, (std::vector<std::string>{"hello world", "second"}));
  EXPECT_EQ(o.prompt_ids, (std::vector<std::string>{"1,2,3"}));
  EXPECT_EQ(o.max_new_tokens, 7);
  EXPECT_FLOAT_EQ(o.temperature, 0.8f);
  EXPECT_EQ(o.top_k, 40);
  EXPECT_FLOAT_EQ(o.top_p, 0.9f);
  EXPECT_EQ(o.seed, 5u);
  EXPECT_EQ(o.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(o.ignore_eos);
  EXPECT_FALSE(o.cuda_graph);
  EXPECT_FALSE(o.overlap_steps);
  EXPECT_EQ(o.kv_tokens, 5000);
  EXPECT_EQ(o.output_json, "o.json");
  EXPECT_FALSE(o.bench);
}

TEST(Cli, Defaults) {
  const CliOptions o = parse({"--random-weights", "--prompt-ids", "5"}).options;
  EXPECT_EQ(o.max_new_tokens, 128);
  EXPECT_EQ(o.temperature, 0.0f);
  EXPECT_TRUE(o.cuda_graph);
  EXPECT_TRUE(o.overlap_steps);
  EXPECT_DOUBLE_EQ(o.kv_cache_fraction, 0.90);
  EXPECT_EQ(o.kv_tokens, 0);
  EXPECT_FALSE(o.ignore_eos);
}

TEST(Cli, HelpAndVersionNeedNothingElse) {
  const CliResult h = parse({"--help"});
  EXPECT_EQ(h.action, CliAction::help);
  for (const char* flag : {"--weights", "--prompt", "--prompts-file", "--prompt-ids", "--max-new-tokens",
                           "--temperature", "--top-k", "--top-p", "--seed", "--stop", "--ignore-eos",
                           "--no-cuda-graph", "--no-overlap", "--kv-cache-fraction", "--kv-tokens", "--random-weights",
                           "--tokenize", "--bench", "--batch-sizes", "--prompt-len", "--gen-len",
                           "--bench-runs", "--json", "--output-json", "--teacher-force", "--dump-logits",
                           "--all-logits", "--tokenizer", "--version"})
    EXPECT_NE(h.help.find(flag), std::string::npos) << flag << " is not explained by --help";
  EXPECT_NE(h.help.find("Prompts file"), std::string::npos);
  EXPECT_NE(h.help.find("Logits dump"), std::string::npos);
  EXPECT_EQ(parse({"--version"}).action, CliAction::version);
}

TEST(Cli, RejectsBadValuesNamingTheFlag) {
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--max-new-tokens", "0"}).find("--max-new-tokens"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--temperature", "-1"}).find("--temperature"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--temperature", "1", "--top-p", "1.5"})
                .find("--top-p"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--top-k", "5"}).find("--temperature"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--kv-cache-fraction", "1.5"})
                .find("--kv-cache-fraction"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--kv-cache-fraction", "0.5", "--kv-tokens", "9"})
                .find("alternatives"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--stop", ""}).find("--stop"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--no-such-flag"}).find("--no-such-flag"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--max-new-tokens", "many"}).find("many"),
            std::string::npos);
  // One value per occurrence: a stray word is an error, not a second prompt.
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1,2", "3"}).find("3"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--max-new-tokens", "3", "--max-new-tokens", "4"})
                .find("--max-new-tokens"),
            std::string::npos);
}

TEST(Cli, RejectsInconsistentCombinations) {
  EXPECT_NE(error_of({"--prompt", "x"}).find("--weights"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights"}).find("no prompt"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt", "x", "--teacher-force", "2"}).find("--teacher-force"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--all-logits"}).find("--dump-logits"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--prompt-ids", "1", "--gen-len", "5"}).find("--bench"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--bench", "--max-new-tokens", "5"}).find("--gen-len"),
            std::string::npos);
  EXPECT_NE(error_of({"--tokenize", "--prompt", "x"}).find("tokenizer"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--bench", "--batch-sizes", "1,,4"}).find("empty"), std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--bench", "--batch-sizes", "0"}).find("--batch-sizes"),
            std::string::npos);
  EXPECT_NE(error_of({"--random-weights", "--bench", "--prompt-len", "8", "--prompt-ids", "1"}).find("synthetic"),
            std::string::npos);
}

TEST(Cli, Bench) {
  const CliOptions o = parse({"--random-weights", "--bench", "--batch-sizes", "1,4, 16", "--prompt-len", "64",
                              "--gen-len", "32", "--bench-runs", "5", "--json"})
                           .options;
  EXPECT_TRUE(o.bench);
  EXPECT_EQ(o.batch_sizes, (std::vector<int>{1, 4, 16}));
  EXPECT_EQ(o.prompt_len, 64);
  EXPECT_EQ(o.gen_len, 32);
  EXPECT_EQ(o.bench_runs, 5);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.ignore_eos);  // --gen-len implies it
}

TEST(Cli, TokenizeNeedsOnlyATokenizer) {
  const CliOptions o = parse({"--tokenize", "--tokenizer", "t.json", "--prompt", "hi"}).options;
  EXPECT_TRUE(o.tokenize_only);
  EXPECT_EQ(o.tokenizer_file, "t.json");
}

TEST(IntList, ParsesCommasAndSpaces) {
  EXPECT_EQ(parse_int_list("1,2,3", "x"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(parse_int_list(" 1, 2  3 ", "x"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(parse_int_list("-4", "x"), (std::vector<int64_t>{-4}));
  EXPECT_TRUE(parse_int_list("", "x").empty());
  EXPECT_THROW(parse_int_list("1,a", "x"), CliError);
  EXPECT_THROW(parse_int_list("1,,2", "x"), CliError);
  EXPECT_THROW(parse_int_list("1.5", "x"), CliError);
  EXPECT_THROW(parse_int_list("99999999999999999999", "x"), CliError);
}

// --- prompts -----------------------------------------------------------------------------

TEST(Prompts, FileEscapesAndBlankLines) {
  EXPECT_EQ(unescape_prompt_line(R"(a\nb\tc\\n\x)"), "a\nb\tc\\n\\x");
  EXPECT_EQ(unescape_prompt_line(R"(end\)"), "end\\");
  const std::string path = ::testing::TempDir() + "/prompts_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << "first\r\n\nsecond\\nline\n\n  \nlast";
  }
  const auto lines = read_prompts_file(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], (std::pair<int, std::string>{1, "first"}));
  EXPECT_EQ(lines[1], (std::pair<int, std::string>{3, "second\nline"}));
  EXPECT_EQ(lines[2], (std::pair<int, std::string>{5, "  "}));
  EXPECT_EQ(lines[3], (std::pair<int, std::string>{6, "last"}));
  std::remove(path.c_str());
  try {
    read_prompts_file(path);
    FAIL() << "a missing file must throw";
  } catch (const PromptError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

// A whitespace tokenizer: each byte is a token (id = byte + 1); BOS is id 0.
class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(c + 1);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool) const override {
    std::string s;
    for (int32_t id : ids)
      if (id > 0) s.push_back(static_cast<char>(id - 1));
    return s;
  }
  int32_t token_to_id(std::string_view) const override { return -1; }
  std::string id_to_token(int32_t) const override { return ""; }
  int64_t vocab_size() const override { return 257; }
  bool is_special(int32_t id) const override { return id == 0; }
};

CliOptions ids_options(std::vector<std::string> ids, int max_new = 4) {
  CliOptions o;
  o.random_weights = true;
  o.prompt_ids = std::move(ids);
  o.max_new_tokens = max_new;
  return o;
}

std::string build_error(const CliOptions& o, const Tokenizer* tok, int vocab, int max_context) {
  try {
    build_requests(collect_prompts(o), o, tok, GenerationDefaults{}, vocab, max_context);
  } catch (const PromptError& e) {
    return e.what();
  }
  return "";
}

TEST(Prompts, BuildsRequestsInOrderWithSettings) {
  CliOptions o = ids_options({"4,5", "6"}, 3);
  o.prompts = {"ab"};
  o.temperature = 0.5f;
  o.seed = 11;
  ByteTokenizer tok;
  GenerationDefaults d;
  d.add_bos = true;
  d.bos_token_id = 0;
  const auto reqs = build_requests(collect_prompts(o), o, &tok, d, 300, 64);
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].label, "--prompt 0");
  EXPECT_TRUE(reqs[0].from_text);
  EXPECT_EQ(reqs[0].prompt, (std::vector<int32_t>{0, 'a' + 1, 'b' + 1}));  // BOS added
  EXPECT_EQ(reqs[1].label, "--prompt-ids 0");
  EXPECT_EQ(reqs[1].prompt, (std::vector<int32_t>{4, 5}));  // ids are taken as given
  EXPECT_EQ(reqs[2].prompt, (std::vector<int32_t>{6}));
  EXPECT_EQ(reqs[2].max_new_tokens, 3);
  EXPECT_FLOAT_EQ(reqs[2].sampling.temperature, 0.5f);
  EXPECT_EQ(reqs[2].sampling.seed, 11u);
}

TEST(Prompts, RefusesWhatTheModelCannotRun) {
  EXPECT_NE(build_error(ids_options({"1,2,40"}), nullptr, 40, 64).find("token id 40 (index 2) is outside the vocabulary [0, 40)"),
            std::string::npos);
  EXPECT_NE(build_error(ids_options({"-1"}), nullptr, 40, 64).find("-1"), std::string::npos);
  EXPECT_NE(build_error(ids_options({""}), nullptr, 40, 64).find("empty"), std::string::npos);
  EXPECT_NE(build_error(ids_options({"1,2,3"}, 62), nullptr, 40, 64).find("65 exceeds the compiled max_context 64"),
            std::string::npos);
  EXPECT_EQ(build_error(ids_options({"1,2,3"}, 61), nullptr, 40, 64), "");  // exactly fits
  CliOptions forced = ids_options({"1,2,3"});
  forced.teacher_force = 3;
  EXPECT_NE(build_error(forced, nullptr, 40, 64).find("--teacher-force 3"), std::string::npos);
  CliOptions text;
  text.prompts = {""};
  ByteTokenizer tok;
  EXPECT_NE(build_error(text, &tok, 300, 64).find("--prompt 0: the prompt is empty"), std::string::npos);
  text.prompts = {"x"};
  EXPECT_NE(build_error(text, nullptr, 300, 64).find("needs a tokenizer"), std::string::npos);
  EXPECT_NE(build_error(text, &tok, 50, 64).find("outside the model's vocabulary"), std::string::npos);
}

TEST(Prompts, TeacherForcingIsKept) {
  CliOptions o = ids_options({"1,2,3,4"});
  o.teacher_force = 2;
  const auto reqs = build_requests(collect_prompts(o), o, nullptr, GenerationDefaults{}, 10, 64);
  EXPECT_EQ(reqs[0].n_forced, 2);
}

}  // namespace
}  // namespace llc
