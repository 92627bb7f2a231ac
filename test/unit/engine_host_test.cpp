// engine_host_test.cpp - the engine's pure host arithmetic: .npy files, KV sizing, ModelSpec
// checks, metrics and the benchmark's traffic model (no GPU).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/bench_report.h"
#include "runtime/kv_sizing.h"
#include "runtime/metrics.h"
#include "runtime/npy.h"

namespace llc {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + name;
}

// --- npy -----------------------------------------------------------------------------------

TEST(Npy, FileFollowsTheFormat) {
  const std::string path = temp_path("a.npy");
  const std::vector<float> data{1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f};
  write_npy_f32(path, data.data(), 2, 3);
  const std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);  // version 1.0
  EXPECT_EQ(bytes[7], 0);
  const size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u) << "data must start 64-byte aligned";
  const std::string header = bytes.substr(10, hlen);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos);
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos);
  EXPECT_NE(header.find("'shape': (2, 3)"), std::string::npos);
  ASSERT_EQ(bytes.size(), 10 + hlen + data.size() * 4);
  std::vector<float> back(data.size());
  std::memcpy(back.data(), bytes.data() + 10 + hlen, data.size() * 4);
  EXPECT_EQ(back, data);
  std::remove(path.c_str());
}

TEST(Npy, WriterChecksTheRowCount) {
  const std::string path = temp_path("b.npy");
  const std::vector<float> row(4, 1.0f);
  {
    NpyWriter w(path, 2, 4);
    w.append_rows(row.data(), 1);
    EXPECT_THROW(w.append_rows(row.data(), 2), std::logic_error);
    EXPECT_THROW(w.close(), std::logic_error);  // one row missing
  }
  NpyWriter w(path, 2, 4);
  w.append_rows(row.data(), 1);
  w.append_rows(row.data(), 1);
  EXPECT_NO_THROW(w.close());
  EXPECT_EQ(read_file(path).size(), npy_header_f32(2, 4).size() + 2 * 4 * 4);
  std::remove(path.c_str());
  EXPECT_THROW(NpyWriter("/nonexistent-dir/x.npy", 1, 1), std::runtime_error);
  EXPECT_EQ(npy_header_f32(0, 128256).size() % 64, 0u);
}

// --- a small ModelSpec ---------------------------------------------------------------------

struct SpecFixture {
  std::vector<WeightSource> sources;
  std::vector<WeightSpec> weights;
  std::vector<int> buckets{1, 2, 4};
  std::vector<int> eos{2};
  ModelSpec spec{};

  // 2 layers, hidden 64, vocab 100, head_dim 16, 4 heads, 2 kv heads. `tied`: no lm_head.weight.
  explicit SpecFixture(bool tied) {
    sources = {{"model.embed_tokens.weight", 100},
               {"model.layers.0.self_attn.q_proj.weight", 64},
               {"model.layers.0.self_attn.k_proj.weight", 32},
               {"model.layers.0.self_attn.v_proj.weight", 32},
               {"model.norm.weight", 64},
               {"lm_head.weight", 100}};
    weights.push_back({2, 100, 64, 1, &sources[0]});  // embedding
    weights.push_back({2, 128, 64, 3, &sources[1]});  // merged q/k/v
    weights.push_back({1, 64, 1, 1, &sources[4]});    // norm
    if (tied)
      weights.push_back({2, 100, 64, 1, &sources[0]});  // lm_head = the embedding
    else
      weights.push_back({2, 100, 64, 1, &sources[5]});
    spec.architecture = "LlamaForCausalLM";
    spec.dtype = DType::bf16;
    spec.n_layers = 2;
    spec.hidden = 64;
    spec.n_heads = 4;
    spec.n_kv_heads = 2;
    spec.head_dim = 16;
    spec.intermediate = 128;
    spec.vocab = 100;
    spec.max_batch = 4;
    spec.max_context = 256;
    spec.max_prefill_tokens = 512;
    spec.bos_token_id = 1;
    spec.n_eos = 1;
    spec.eos_token_ids = eos.data();
    spec.n_graph_buckets = 3;
    spec.graph_buckets = buckets.data();
    spec.n_weights = static_cast<int>(weights.size());
    spec.weights = weights.data();
    spec.arena_bytes = 1 << 20;
  }
};

// --- KV sizing -----------------------------------------------------------------------------

TEST(KvSizing, BytesPerSlotAndFraction) {
  SpecFixture f(false);
  EXPECT_EQ(kv_bytes_per_slot(f.spec), 2u * 2 * 2 * 16 * 2);  // K+V, layers, kv heads, head_dim, bf16
  const size_t per_slot = kv_bytes_per_slot(f.spec);
  const KvPlan p = plan_kv_cache(f.spec, 1000 * per_slot, 0.5, 0);
  EXPECT_EQ(p.n_slots, 500);  // 500 slots fit in half; one of them is the pad slot
  EXPECT_EQ(p.cache_bytes, 500 * per_slot / 2);
  const KvPlan exact = plan_kv_cache(f.spec, 1000 * per_slot, 0.9, 300);
  EXPECT_EQ(exact.n_slots, 301);  // --kv-tokens counts usable slots
  // Never more than max_batch (4) * max_context (256) usable slots from the fraction.
  EXPECT_EQ(plan_kv_cache(f.spec, 100000 * per_slot, 0.9, 0).n_slots, 4 * 256 + 1);
  EXPECT_EQ(plan_kv_cache(f.spec, 100000 * per_slot, 0.9, 5000).n_slots, 5001);
}

TEST(KvSizing, RefusesAPoolSmallerThanOneMaxContextSequence) {
  SpecFixture f(false);
  const size_t per_slot = kv_bytes_per_slot(f.spec);
  EXPECT_NO_THROW(plan_kv_cache(f.spec, 257 * per_slot, 1.0, 0));  // 256 usable + pad
  try {
    plan_kv_cache(f.spec, 256 * per_slot, 1.0, 0);
    FAIL() << "255 usable slots < max_context 256";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("max_context needs 256"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan_kv_cache(f.spec, 1 << 30, 0.9, 255), std::runtime_error);
  try {
    plan_kv_cache(f.spec, 100 * per_slot, 0.9, 1000);
    FAIL() << "--kv-tokens larger than free memory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-tokens 1000"), std::string::npos) << e.what();
  }
}

TEST(KvSizing, LogitsRowsAndPrefillTokens) {
  SpecFixture f(false);
  EXPECT_EQ(prefill_max_tokens(f.spec), 512);
  EXPECT_EQ(logits_rows(f.spec, false), 4);
  EXPECT_EQ(logits_rows(f.spec, true), 512);
  f.spec.max_prefill_tokens = 2;
  EXPECT_EQ(prefill_max_tokens(f.spec), 4);
}

TEST(ModelSpecCheck, AcceptsAGoodSpecAndNamesBadFields) {
  SpecFixture f(false);
  EXPECT_NO_THROW(check_model_spec(f.spec));
  auto message = [](const ModelSpec& s) -> std::string {
    try {
      check_model_spec(s);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  ModelSpec s = f.spec;
  s.n_kv_heads = 3;
  EXPECT_NE(message(s).find("n_heads"), std::string::npos);
  s = f.spec;
  s.vocab = 0;
  EXPECT_NE(message(s).find("vocab"), std::string::npos);
  s = f.spec;
  s.n_graph_buckets = 2;  // last bucket 2 != max_batch 4
  EXPECT_NE(message(s).find("max_batch"), std::string::npos);
  s = f.spec;
  int bad_eos = 100;
  s.eos_token_ids = &bad_eos;
  EXPECT_NE(message(s).find("eos_token_ids[0]"), std::string::npos);
}

// --- metrics -------------------------------------------------------------------------------

TEST(Metrics, Definitions) {
  RunResult run;
  run.wall_s = 2.0;
  run.seqs.resize(3);
  run.seqs[0].generated = {1, 2, 3, 4, 5};  // admitted 0, tokens at 0.1 .. 0.5
  run.seqs[0].admit_s = 0.0;
  run.seqs[0].first_token_s = 0.1;
  run.seqs[0].last_token_s = 0.5;
  run.seqs[1].generated = {9};  // one token: TTFT but no TPOT
  run.seqs[1].admit_s = 0.5;
  run.seqs[1].first_token_s = 0.8;
  run.seqs[1].last_token_s = 0.8;
  // seqs[2] generated nothing (not possible in a real run, but must not poison the means)
  StepRecord p{StepKind::prefill, 2, 10, 0, 4.0f, 5.0, 10};
  StepRecord d1{StepKind::decode, 2, 2, 2, 1.0f, 2.0, 30};
  StepRecord d2{StepKind::decode, 1, 1, 1, 3.0f, 3.0, 11};
  StepRecord d3{StepKind::decode, 1, 1, 1, 2.0f, 1.0, 12};
  run.steps = {p, d1, d2, d3};
  const Metrics m = compute_metrics(run, {7, 3, 4});
  EXPECT_EQ(m.prompt_tokens, 14);
  EXPECT_EQ(m.generated_tokens, 6);
  EXPECT_NEAR(m.ttft_ms_mean, (100.0 + 300.0) / 2, 1e-9);
  EXPECT_NEAR(m.ttft_ms_max, 300.0, 1e-9);
  EXPECT_NEAR(m.tpot_ms_mean, 100.0, 1e-9);  // (0.5 - 0.1) / 4
  EXPECT_NEAR(m.tokens_per_s, 3.0, 1e-12);
  EXPECT_EQ(m.prefill_steps, 1);
  EXPECT_EQ(m.decode_steps, 3);
  EXPECT_NEAR(m.decode_step_ms_median, 2.0, 1e-9);
  EXPECT_NEAR(m.decode_tokens_per_s, 4 / 6e-3, 1e-6);  // 4 tokens in 6 ms of decode steps
  EXPECT_NEAR(m.mean_decode_context, 53.0 / 4, 1e-12);
  const std::string line = format_metrics_line(m);
  EXPECT_NE(line.find("prompt tokens 14"), std::string::npos) << line;
  EXPECT_NE(line.find("generated 6"), std::string::npos) << line;
  EXPECT_NE(line.find("TTFT 200.00 ms"), std::string::npos) << line;
  EXPECT_NE(line.find("TPOT 100.000 ms"), std::string::npos) << line;
  EXPECT_NE(line.find("3.0 tokens/s"), std::string::npos) << line;
}

TEST(Metrics, NoTokensGivesNotAvailable) {
  RunResult run;
  run.seqs.resize(1);
  const Metrics m = compute_metrics(run, {3});
  EXPECT_TRUE(std::isnan(m.ttft_ms_mean));
  EXPECT_NE(format_metrics_line(m).find("TTFT n/a"), std::string::npos);
  EXPECT_TRUE(metrics_json(m)["ttft_ms_mean"].is_null());
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 2, 3}), 2.5);
}

// --- benchmark arithmetic ------------------------------------------------------------------

TEST(BenchReport, DecodeTrafficCountsEachTensorOnceAndSkipsAnUntiedEmbedding) {
  SpecFixture untied(false);
  const size_t emb = 100 * 64 * 2, qkv = 128 * 64 * 2, norm = 64 * 2, head = 100 * 64 * 2;
  EXPECT_EQ(unique_weight_bytes(untied.spec), emb + qkv + norm + head);
  EXPECT_EQ(decode_weight_bytes(untied.spec), qkv + norm + head);
  SpecFixture tied(true);
  EXPECT_EQ(unique_weight_bytes(tied.spec), emb + qkv + norm);  // lm_head is the embedding
  EXPECT_EQ(decode_weight_bytes(tied.spec), emb + qkv + norm);  // read in full by lm_head
  const double kv = static_cast<double>(kv_bytes_per_slot(tied.spec));
  EXPECT_DOUBLE_EQ(decode_step_bytes(tied.spec, 4, 100.5), static_cast<double>(emb + qkv + norm) + 4 * 100.5 * kv);
}

TEST(BenchReport, RowBandwidth) {
  SpecFixture f(true);
  BenchRow r;
  r.batch = 2;
  r.mean_context = 10;
  r.step_ms_graph = 0.5;
  finish_bench_row(f.spec, 4000, r);
  EXPECT_DOUBLE_EQ(r.step_bytes, decode_step_bytes(f.spec, 2, 10));
  EXPECT_NEAR(r.bandwidth_gbps, r.step_bytes / 0.5e-3 / 1e9, 1e-9);
  EXPECT_NEAR(r.copy_ratio, r.bandwidth_gbps / 4000, 1e-12);
  EXPECT_NE(bench_table_row(r).find("ms"), std::string::npos);
  EXPECT_EQ(bench_row_json(r)["batch"], 2);
}

TEST(BenchReport, SyntheticPromptsAreDeterministicAndInRange) {
  const auto a = synthetic_prompt(3, 0, 500, 1000);
  EXPECT_EQ(a, synthetic_prompt(3, 0, 500, 1000));
  EXPECT_NE(a, synthetic_prompt(3, 1, 500, 1000));
  EXPECT_NE(a, synthetic_prompt(4, 0, 500, 1000));
  std::vector<int> seen(1000, 0);
  for (int32_t id : a) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 1000);
    seen[static_cast<size_t>(id)] = 1;
  }
  int distinct = 0;
  for (int s : seen) distinct += s;
  EXPECT_GT(distinct, 300);  // 500 draws from 1000: ~393 distinct expected, never a constant
}

}  // namespace
}  // namespace llc
