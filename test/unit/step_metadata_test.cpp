// step_metadata_test.cpp - metadata block layout and packing (prefill, decode with pads).
#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/step_metadata.h"

namespace llc {
namespace {

struct Range {
  size_t begin, end;
};

TEST(MetadataLayout, ArraysAreAlignedDisjointAndInsideTheBlock) {
  for (int max_tokens : {1, 3, 64, 8192})
    for (int max_seqs : {1, 5, 64})
      for (int logit_rows : {1, max_seqs, max_tokens}) {
        const MetadataLayout l = make_metadata_layout(max_tokens, max_seqs, logit_rows);
        std::vector<Range> r = {
            {l.token_ids, l.token_ids + 4 * size_t(max_tokens)},
            {l.positions, l.positions + 4 * size_t(max_tokens)},
            {l.new_slots, l.new_slots + 4 * size_t(max_tokens)},
            {l.seq_starts, l.seq_starts + 4 * size_t(max_seqs + 1)},
            {l.seq_rows, l.seq_rows + 4 * size_t(max_seqs)},
            {l.kv_lens, l.kv_lens + 4 * size_t(max_seqs)},
            {l.logit_rows, l.logit_rows + 4 * size_t(logit_rows)},
            {l.sampling_rows, l.sampling_rows + sizeof(SamplingRow) * size_t(max_seqs)},
        };
        for (const Range& a : r) {
          EXPECT_EQ(a.begin % 16, 0u);
          EXPECT_LE(a.end, l.bytes);
        }
        std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
        for (size_t i = 1; i < r.size(); ++i) EXPECT_LE(r[i - 1].end, r[i].begin) << "arrays overlap";
      }
  EXPECT_THROW(make_metadata_layout(0, 1, 1), std::invalid_argument);
}

TEST(MetadataLayout, BindsPointersIntoTheBase) {
  const MetadataLayout l = make_metadata_layout(10, 4, 4);
  std::vector<char> block(l.bytes);
  int32_t table = 0;
  const StepMetadata m = bind_metadata(l, block.data(), &table);
  EXPECT_EQ(reinterpret_cast<char*>(m.positions), block.data() + l.positions);
  EXPECT_EQ(reinterpret_cast<char*>(m.logit_rows), block.data() + l.logit_rows);
  EXPECT_EQ(reinterpret_cast<char*>(bind_sampling_rows(l, block.data())), block.data() + l.sampling_rows);
  EXPECT_EQ(m.slot_table, &table);
}

SequenceSpec spec_of(int len, int max_new, float temperature = 0, uint64_t seed = 0) {
  SequenceSpec s;
  for (int i = 0; i < len; ++i) s.prompt.push_back(100 + i);
  s.max_new_tokens = max_new;
  s.sampling.temperature = temperature;
  s.sampling.seed = seed;
  return s;
}

SchedulerLimits lim(int b, int prefill, int ctx, std::vector<int> buckets) {
  SchedulerLimits l;
  l.max_batch = b;
  l.max_prefill_tokens = prefill;
  l.max_context = ctx;
  l.graph_buckets = std::move(buckets);
  return l;
}

TEST(PackPrefill, ConcatenatesSequencesWithoutPadding) {
  KVPool pool(64, 4);
  Scheduler s(pool, lim(4, 32, 32, {1, 4}), {spec_of(3, 2), spec_of(5, 2, 0.5f, 9)});
  const StepPlan& plan = s.next_step();
  const MetadataLayout l = make_metadata_layout(32, 4, 4);
  std::vector<uint64_t> buf(l.bytes / 8 + 1, ~0ull);
  const PackedStep p = pack_prefill_step(plan, s, false, l, buf.data());
  EXPECT_EQ(p.n_tokens, 8);
  EXPECT_EQ(p.n_seqs, 2);
  EXPECT_EQ(p.max_q_len, 5);
  EXPECT_EQ(p.n_logit_rows, 2);
  const StepMetadata m = bind_metadata(l, buf.data(), nullptr);
  EXPECT_EQ(std::vector<int32_t>(m.seq_starts, m.seq_starts + 3), (std::vector<int32_t>{0, 3, 8}));
  EXPECT_EQ(std::vector<int32_t>(m.logit_rows, m.logit_rows + 2), (std::vector<int32_t>{2, 7}));
  EXPECT_EQ(std::vector<int32_t>(m.kv_lens, m.kv_lens + 2), (std::vector<int32_t>{3, 5}));
  EXPECT_EQ(std::vector<int32_t>(m.token_ids, m.token_ids + 8),
            (std::vector<int32_t>{100, 101, 102, 100, 101, 102, 103, 104}));
  EXPECT_EQ(std::vector<int32_t>(m.positions, m.positions + 8), (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 3, 4}));
  EXPECT_EQ(m.seq_rows[0], plan.entries[0].row);
  EXPECT_EQ(m.new_slots[4], plan.new_slots[4]);
  const SamplingRow* rows = bind_sampling_rows(l, buf.data());
  EXPECT_EQ(rows[0].temperature, 0.0f);
  EXPECT_EQ(rows[1].temperature, 0.5f);
  EXPECT_EQ(rows[1].seed, 9u);
  EXPECT_EQ(rows[1].step, 5u);  // the draw predicts position 5

  // With all logits every token is a logit row; the block must have room for them.
  const MetadataLayout all = make_metadata_layout(32, 4, 32);
  std::vector<uint64_t> buf_all(all.bytes / 8 + 1, ~0ull);
  const PackedStep pa = pack_prefill_step(plan, s, true, all, buf_all.data());
  EXPECT_EQ(pa.n_logit_rows, 8);
  const StepMetadata ma = bind_metadata(all, buf_all.data(), nullptr);
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ma.logit_rows[t], t);
  EXPECT_THROW(pack_prefill_step(plan, s, true, make_metadata_layout(32, 4, 4), buf.data()), std::invalid_argument);
  EXPECT_THROW(pack_prefill_step(plan, s, false, make_metadata_layout(4, 4, 4), buf.data()), std::invalid_argument);
}

TEST(PackDecode, PadsUpToTheBucket) {
  KVPool pool(64, 8);
  Scheduler s(pool, lim(8, 64, 32, {1, 2, 8}), {spec_of(2, 4), spec_of(3, 4), spec_of(1, 4)});
  std::vector<TokenEvent> ev;
  const int32_t sampled[3] = {7, 8, 9};
  s.next_step();
  s.commit(sampled, ev);
  const StepPlan& plan = s.next_step();
  ASSERT_EQ(plan.kind, StepKind::decode);
  ASSERT_EQ(plan.bucket, 8);
  const MetadataLayout l = make_metadata_layout(8, 8, 8);
  std::vector<uint64_t> buf(l.bytes / 8 + 1, ~0ull);  // poison: every entry must be written
  const PackedStep p = pack_decode_step(plan, s, /*pad_row=*/8, l, buf.data());
  EXPECT_EQ(p.n_tokens, 8);
  EXPECT_EQ(p.n_seqs, 8);
  EXPECT_EQ(p.max_q_len, 1);
  EXPECT_EQ(p.max_kv_len, 4);  // the longest kv_len (the graph kind depends on it)
  EXPECT_EQ(p.n_logit_rows, 8);
  const StepMetadata m = bind_metadata(l, buf.data(), nullptr);
  const SamplingRow* rows = bind_sampling_rows(l, buf.data());
  EXPECT_EQ(std::vector<int32_t>(m.token_ids, m.token_ids + 3), (std::vector<int32_t>{7, 8, 9}));
  EXPECT_EQ(std::vector<int32_t>(m.positions, m.positions + 3), (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(std::vector<int32_t>(m.kv_lens, m.kv_lens + 3), (std::vector<int32_t>{3, 4, 2}));
  for (int b = 0; b <= 8; ++b) EXPECT_EQ(m.seq_starts[b], b);
  for (int b = 0; b < 8; ++b) EXPECT_EQ(m.logit_rows[b], b);
  for (int b = 3; b < 8; ++b) {
    EXPECT_EQ(m.token_ids[b], 0);
    EXPECT_EQ(m.positions[b], 0);
    EXPECT_EQ(m.new_slots[b], 0);
    EXPECT_EQ(m.seq_rows[b], 8);
    EXPECT_EQ(m.kv_lens[b], 1);
    EXPECT_LE(rows[b].temperature, 0.0f);
  }
  for (int b = 0; b < 3; ++b) EXPECT_NE(m.new_slots[b], 0);
}

TEST(PackDecode, PadOnlyStepForGraphWarmUp) {
  const MetadataLayout l = make_metadata_layout(4, 4, 4);
  std::vector<uint64_t> buf(l.bytes / 8 + 1, ~0ull);
  const PackedStep p = pack_pad_decode_step(4, 4, l, buf.data());
  EXPECT_EQ(p.n_seqs, 4);
  EXPECT_EQ(p.max_kv_len, 1);
  const StepMetadata m = bind_metadata(l, buf.data(), nullptr);
  for (int b = 0; b < 4; ++b) {
    EXPECT_EQ(m.seq_rows[b], 4);
    EXPECT_EQ(m.new_slots[b], 0);
    EXPECT_EQ(m.kv_lens[b], 1);
  }
  EXPECT_EQ(m.seq_starts[4], 4);
  EXPECT_THROW(pack_pad_decode_step(5, 4, l, buf.data()), std::invalid_argument);
}

}  // namespace
}  // namespace llc
