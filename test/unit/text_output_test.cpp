// text_output_test.cpp - stop strings, finish decisions and what a run prints (no GPU).
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/completion.h"
#include "runtime/output.h"
#include "runtime/stop_matcher.h"

namespace llc {
namespace {

// Feeds `pieces` and returns what was released, and whether it stopped.
std::pair<std::string, bool> feed_all(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::string out;
  bool stopped = false;
  for (const std::string& p : pieces) {
    stopped = m.feed(p, out);
    if (stopped) break;
  }
  if (!stopped) m.finish(out);
  return {out, stopped};
}

TEST(StopMatcher, CatchesAStopSplitAcrossPieces) {
  StopMatcher m({"STOP"});
  std::string out;
  EXPECT_FALSE(m.feed("hello ST", out));
  EXPECT_EQ(out, "hello ");  // "ST" could begin the stop string: held back
  EXPECT_FALSE(m.feed("O", out));
  EXPECT_EQ(out, "hello ");
  EXPECT_TRUE(m.feed("P and more", out));
  EXPECT_EQ(out, "hello ");
  EXPECT_EQ(m.matched(), "STOP");
}

TEST(StopMatcher, ReleasesHeldTextThatTurnsOutHarmless) {
  StopMatcher m({"STOP"});
  std::string out;
  EXPECT_FALSE(m.feed("ST", out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(m.feed("ART", out));
  EXPECT_EQ(out, "START");
  EXPECT_FALSE(m.feed("S", out));
  m.finish(out);
  EXPECT_EQ(out, "STARTS");
}

TEST(StopMatcher, EarliestOfSeveralStops) {
  StopMatcher m({"world", "o w"});
  EXPECT_EQ(feed_all(m, {"hell", "o world"}), (std::pair<std::string, bool>{"hell", true}));
  StopMatcher nl({"\n\n"});
  EXPECT_EQ(feed_all(nl, {"a\n", "\nb"}), (std::pair<std::string, bool>{"a", true}));
  StopMatcher none({});
  EXPECT_EQ(feed_all(none, {"x", "y"}), (std::pair<std::string, bool>{"xy", false}));
  EXPECT_THROW(StopMatcher({""}), std::invalid_argument);
}

TEST(StopMatcher, AgreesWithANaiveCheckAfterEveryPiece) {
  // The oracle: after each piece, search all text so far; the first time any stop string is
  // present, the output is the text before the earliest such occurrence. The matcher must give
  // the same result while releasing text incrementally (every release a prefix of the result).
  std::mt19937 rng(7);
  const std::string alphabet = "abc";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const int len = static_cast<int>(rng() % 30);
    for (int i = 0; i < len; ++i) text.push_back(alphabet[rng() % 3]);
    std::vector<std::string> stops;
    const int n_stops = 1 + static_cast<int>(rng() % 3);
    for (int s = 0; s < n_stops; ++s) {
      std::string st;
      const int sl = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < sl; ++i) st.push_back(alphabet[rng() % 3]);
      stops.push_back(st);
    }
    std::vector<std::string> pieces;
    for (size_t i = 0; i < text.size();) {
      const size_t n = std::min(text.size() - i, static_cast<size_t>(rng() % 4));
      pieces.push_back(text.substr(i, n));
      i += n;
    }
    std::string expected, so_far;
    bool expect_stop = false;
    for (const std::string& p : pieces) {
      so_far += p;
      size_t first = std::string::npos;
      for (const std::string& s : stops) first = std::min(first, so_far.find(s));
      if (first != std::string::npos) {
        expected = so_far.substr(0, first);
        expect_stop = true;
        break;
      }
    }
    if (!expect_stop) expected = text;

    StopMatcher m(stops);
    std::string out;
    bool stopped = false;
    for (const std::string& p : pieces) {
      stopped = m.feed(p, out);
      ASSERT_EQ(expected.compare(0, out.size(), out), 0) << "released text is not a prefix of the result";
      if (stopped) break;
    }
    if (!stopped) m.finish(out);
    ASSERT_EQ(out, expected) << "text '" << text << "'";
    ASSERT_EQ(stopped, expect_stop);
  }
}

// One byte per token (id = byte + 1); id 0 is a special token (EOS here) that decodes to "".
class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(c + 1);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::string s;
    for (int32_t id : ids) {
      if (id == 0) {
        if (!skip_special) s += "</s>";
      } else {
        s.push_back(static_cast<char>(id - 1));
      }
    }
    return s;
  }
  int32_t token_to_id(std::string_view) const override { return -1; }
  std::string id_to_token(int32_t) const override { return ""; }
  int64_t vocab_size() const override { return 257; }
  bool is_special(int32_t id) const override { return id == 0; }
};

int32_t id_of(char c) { return static_cast<unsigned char>(c) + 1; }

FinishRules rules(int max_new, std::vector<std::string> stop = {}, bool ignore_eos = false) {
  FinishRules r;
  r.eos_ids = {0};
  r.ignore_eos = ignore_eos;
  r.stop = std::move(stop);
  r.max_new_tokens = max_new;
  return r;
}

TEST(CompletionTracker, EndsAtEosWithoutPrintingIt) {
  ByteTokenizer tok;
  CompletionTracker t(&tok, rules(10));
  std::string printed;
  EXPECT_EQ(t.push(id_of('h'), printed), FinishReason::none);
  EXPECT_EQ(t.push(id_of('i'), printed), FinishReason::none);
  EXPECT_EQ(t.push(0, printed), FinishReason::eos);
  EXPECT_EQ(printed, "hi");
  EXPECT_EQ(t.text(), "hi");
  EXPECT_EQ(t.n_tokens(), 3);
  EXPECT_THROW(t.push(id_of('x'), printed), std::logic_error);
}

TEST(CompletionTracker, IgnoreEosRunsToLength) {
  ByteTokenizer tok;
  CompletionTracker t(&tok, rules(3, {}, /*ignore_eos=*/true));
  std::string printed;
  EXPECT_EQ(t.push(0, printed), FinishReason::none);
  EXPECT_EQ(t.push(id_of('a'), printed), FinishReason::none);
  EXPECT_EQ(t.push(id_of('b'), printed), FinishReason::length);
  EXPECT_EQ(t.text(), "ab");
}

TEST(CompletionTracker, StopStringAcrossTokensIsNeverPrinted) {
  ByteTokenizer tok;
  CompletionTracker t(&tok, rules(20, {"##"}));
  std::string printed;
  for (char c : std::string("ok #x "))
    EXPECT_EQ(t.push(id_of(c), printed), FinishReason::none);
  EXPECT_EQ(t.push(id_of('#'), printed), FinishReason::none);
  EXPECT_EQ(printed, "ok #x ");
  EXPECT_EQ(t.push(id_of('#'), printed), FinishReason::stop);
  EXPECT_EQ(printed, "ok #x ");
  EXPECT_EQ(t.text(), "ok #x ");
}

TEST(CompletionTracker, LengthReleasesHeldText) {
  ByteTokenizer tok;
  CompletionTracker t(&tok, rules(2, {"ab"}));
  std::string printed;
  EXPECT_EQ(t.push(id_of('x'), printed), FinishReason::none);
  EXPECT_EQ(t.push(id_of('a'), printed), FinishReason::length);
  EXPECT_EQ(printed, "xa");  // "a" was held as a possible stop prefix, released at the end
}

TEST(CompletionTracker, WithoutTokenizer) {
  CompletionTracker t(nullptr, rules(2));
  std::string printed;
  EXPECT_FALSE(t.has_text());
  EXPECT_EQ(t.push(5, printed), FinishReason::none);
  EXPECT_EQ(t.push(0, printed), FinishReason::eos);
  EXPECT_EQ(printed, "");
  EXPECT_THROW(CompletionTracker(nullptr, rules(2, {"x"})), std::invalid_argument);
}

// --- printing ------------------------------------------------------------------------------

std::string capture(const std::function<void(std::FILE*)>& body) {
  std::FILE* f = std::tmpfile();
  body(f);
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

Request text_request(const std::string& label, int max_new) {
  Request r;
  r.label = label;
  r.from_text = true;
  r.text = "prompt";
  r.prompt = {1, 2};
  r.max_new_tokens = max_new;
  return r;
}

TEST(GenerationPrinter, StreamsASingleTextPrompt) {
  ByteTokenizer tok;
  const std::vector<Request> reqs{text_request("--prompt 0", 5)};
  EXPECT_EQ(choose_print_mode(reqs, false), PrintMode::stream);
  EXPECT_EQ(choose_print_mode(reqs, true), PrintMode::quiet);
  const std::string out = capture([&](std::FILE* f) {
    GenerationPrinter p(reqs, &tok, rules(5), PrintMode::stream, f);
    for (char c : std::string("hey"))
      EXPECT_EQ(p.on_token(0, id_of(c)), FinishReason::none);
    EXPECT_EQ(p.on_token(0, 0), FinishReason::eos);
  });
  EXPECT_EQ(out, "hey\n");
}

TEST(GenerationPrinter, LabelsEachCompletionWhenItFinishes) {
  ByteTokenizer tok;
  Request ids;
  ids.label = "--prompt-ids 0";
  ids.prompt = {3};
  ids.max_new_tokens = 2;
  const std::vector<Request> reqs{text_request("--prompt 0", 3), ids};
  EXPECT_EQ(choose_print_mode(reqs, false), PrintMode::labelled);
  const std::string out = capture([&](std::FILE* f) {
    GenerationPrinter p(reqs, &tok, rules(3), PrintMode::labelled, f);
    p.on_token(1, id_of('a'));
    p.on_token(0, id_of('x'));
    p.on_token(1, id_of('b'));  // sequence 1 reaches its 2 tokens first
    p.on_token(0, 0);
  });
  EXPECT_EQ(out, "--- --prompt-ids 0 (length, 2 tokens) ---\nids: 98,99\ntext: ab\n"
                 "--- --prompt 0 (eos, 2 tokens) ---\nx\n");
}

TEST(OutputJson, ResultsHoldIdsReasonsTextAndMetrics) {
  ByteTokenizer tok;
  const std::vector<Request> reqs{text_request("--prompt 0", 3)};
  GenerationPrinter p(reqs, &tok, rules(3), PrintMode::quiet, stdout);
  p.on_token(0, id_of('o'));
  p.on_token(0, id_of('k'));
  p.on_token(0, 0);
  RunResult run;
  run.seqs.resize(1);
  run.seqs[0].generated = {id_of('o'), id_of('k'), 0};
  run.seqs[0].finish = FinishReason::eos;
  run.seqs[0].admit_s = 1.0;
  run.seqs[0].first_token_s = 1.5;
  run.seqs[0].last_token_s = 2.5;
  run.wall_s = 3;
  ModelSpec spec{};
  spec.architecture = "LlamaForCausalLM";
  const nlohmann::json j = results_json(spec, reqs, run, p, compute_metrics(run, {2}), nlohmann::json::object());
  const nlohmann::json& s = j["sequences"][0];
  EXPECT_EQ(s["prompt_ids"], nlohmann::json({1, 2}));
  EXPECT_EQ(s["generated_ids"], nlohmann::json({id_of('o'), id_of('k'), 0}));
  EXPECT_EQ(s["finish_reason"], "eos");
  EXPECT_EQ(s["text"], "ok");
  EXPECT_DOUBLE_EQ(s["ttft_ms"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(s["tpot_ms"].get<double>(), 500.0);
  EXPECT_EQ(j["metrics"]["generated_tokens"], 3);
  EXPECT_EQ(j["model"]["architecture"], "LlamaForCausalLM");
  // Invalid UTF-8 in decoded text must not make serialisation throw.
  nlohmann::json bad;
  bad["text"] = std::string("\xff\xfe");
  EXPECT_NO_THROW(dump_json(bad));
}

TEST(OutputJson, TokenizeListing) {
  Request r = text_request("--prompt 0", 1);
  const nlohmann::json j = tokenize_json({r});
  EXPECT_EQ(j[0]["ids"], nlohmann::json({1, 2}));
  EXPECT_EQ(j[0]["text"], "prompt");
  EXPECT_EQ(j[0]["label"], "--prompt 0");
}

}  // namespace
}  // namespace llc
