// scheduler_test.cpp - the scheduler and step packing, driven without a GPU.
//
// Hand-made cases check the policy (one prefill step, chunking, FIFO admission under a small
// pool, teacher forcing, buckets); a randomised simulation then runs hundreds of request mixes
// through Scheduler + pack_*_step + SimDevice (engine_sim.h) and checks after every step that
// slots are never shared or double-allocated, each step allocates exactly its new tokens' slots,
// no sequence exceeds its reservation, decode buckets are the smallest that fit, the metadata is
// consistent, every generated token equals the toy model's reference, and everything is
// returned to the pool at the end.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "engine_sim.h"
#include "runtime/scheduler.h"
#include "runtime/step_metadata.h"

namespace llc {
namespace {

SchedulerLimits limits(int max_batch, int max_prefill, int max_context, std::vector<int> buckets) {
  SchedulerLimits l;
  l.max_batch = max_batch;
  l.max_prefill_tokens = max_prefill;
  l.max_context = max_context;
  l.graph_buckets = std::move(buckets);
  return l;
}

SequenceSpec seq(std::vector<int32_t> prompt, int max_new, int forced = 0) {
  SequenceSpec s;
  s.prompt = std::move(prompt);
  s.max_new_tokens = max_new;
  s.n_forced = forced;
  return s;
}

std::vector<int32_t> iota_ids(int n, int start = 1) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + i;
  return v;
}

TEST(ChooseBucket, SmallestThatFits) {
  const std::vector<int> b{1, 2, 4, 8};
  EXPECT_EQ(choose_bucket(b, 1), 1);
  EXPECT_EQ(choose_bucket(b, 2), 2);
  EXPECT_EQ(choose_bucket(b, 3), 4);
  EXPECT_EQ(choose_bucket(b, 5), 8);
  EXPECT_EQ(choose_bucket(b, 8), 8);
  EXPECT_THROW(choose_bucket(b, 9), std::invalid_argument);
  EXPECT_THROW(choose_bucket(b, 0), std::invalid_argument);
}

TEST(ChooseBucket, ChecksBuckets) {
  EXPECT_NO_THROW(check_graph_buckets({1, 4, 8}, 8));
  EXPECT_THROW(check_graph_buckets({}, 8), std::invalid_argument);
  EXPECT_THROW(check_graph_buckets({1, 4}, 8), std::invalid_argument);     // must end at max_batch
  EXPECT_THROW(check_graph_buckets({4, 1, 8}, 8), std::invalid_argument);  // ascending
  EXPECT_THROW(check_graph_buckets({0, 8}, 8), std::invalid_argument);
}

TEST(Scheduler, OnePrefillThenDecodeSteps) {
  KVPool pool(100, 4);
  Scheduler s(pool, limits(4, 64, 32, {1, 2, 4}), {seq(iota_ids(5), 3), seq(iota_ids(3, 10), 2)});
  const StepPlan& p = s.next_step();
  ASSERT_EQ(p.kind, StepKind::prefill);
  ASSERT_EQ(p.n_seqs(), 2);
  EXPECT_EQ(p.n_tokens(), 8);
  EXPECT_EQ(p.admitted, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.entries[0].token_begin, 0);
  EXPECT_EQ(p.entries[1].token_begin, 5);
  EXPECT_EQ(p.entries[1].kv_len, 3);
  EXPECT_TRUE(p.entries[0].samples && p.entries[1].samples);
  EXPECT_EQ(std::vector<int32_t>(p.positions.begin() + 5, p.positions.end()), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(p.max_q_len, 5);
  EXPECT_EQ(pool.free_slots(), 99 - 8 - 5);  // 8 allocated, 13 reserved in all
  std::vector<TokenEvent> ev;
  const int32_t sampled[2] = {7, 9};
  s.commit(sampled, ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].generated);
  EXPECT_EQ(ev[1].token, 9);

  const StepPlan& d = s.next_step();
  ASSERT_EQ(d.kind, StepKind::decode);
  EXPECT_EQ(d.n_seqs(), 2);
  EXPECT_EQ(d.bucket, 2);
  EXPECT_EQ(d.token_ids, (std::vector<int32_t>{7, 9}));
  EXPECT_EQ(d.positions, (std::vector<int32_t>{5, 3}));
  EXPECT_EQ(d.entries[0].kv_len, 6);
  s.commit(sampled, ev);
  s.finish(1, FinishReason::length);  // 2 tokens: done
  const StepPlan& d2 = s.next_step();
  EXPECT_EQ(d2.n_seqs(), 1);
  EXPECT_EQ(d2.bucket, 1);
  s.commit(sampled, ev);
  EXPECT_THROW(s.next_step(), std::logic_error);  // sequence 0 has its 3 tokens but is not finished
}

TEST(Scheduler, LongPromptIsPrefilledInChunks) {
  KVPool pool(100, 2);
  Scheduler s(pool, limits(2, 4, 64, {1, 2}), {seq(iota_ids(10), 2)});
  std::vector<int> chunk;
  std::vector<TokenEvent> ev;
  const int32_t tok[1] = {3};
  for (int i = 0; i < 3; ++i) {
    const StepPlan& p = s.next_step();
    ASSERT_EQ(p.kind, StepKind::prefill);
    chunk.push_back(p.n_tokens());
    EXPECT_EQ(p.positions.front(), 4 * i);
    EXPECT_EQ(p.entries[0].kv_len, std::min(10, 4 * (i + 1)));
    EXPECT_EQ(p.entries[0].samples, i == 2);
    s.commit(tok, ev);
    EXPECT_EQ(ev.size(), i == 2 ? 1u : 0u);
  }
  EXPECT_EQ(chunk, (std::vector<int>{4, 4, 2}));
  EXPECT_EQ(s.next_step().kind, StepKind::decode);
}

TEST(Scheduler, WaitsForPoolCapacityInOrder) {
  // Capacity 12: request 0 reserves 10, request 1 (needs 6) must wait; request 2 (needs 2) would
  // fit but is not allowed to overtake.
  KVPool pool(13, 4);
  Scheduler s(pool, limits(4, 64, 12, {4}), {seq(iota_ids(8), 2), seq(iota_ids(4), 2), seq(iota_ids(1), 1)});
  std::vector<TokenEvent> ev;
  const int32_t tok[4] = {1, 1, 1, 1};
  const StepPlan& p = s.next_step();
  EXPECT_EQ(p.admitted, (std::vector<int>{0}));
  s.commit(tok, ev);
  const StepPlan& d = s.next_step();
  EXPECT_EQ(d.kind, StepKind::decode);
  EXPECT_EQ(d.bucket, 4);
  s.commit(tok, ev);
  EXPECT_EQ(s.n_waiting(), 2);
  s.finish(0, FinishReason::eos);
  EXPECT_EQ(pool.free_slots(), 12);
  const StepPlan& p2 = s.next_step();
  EXPECT_EQ(p2.kind, StepKind::prefill);
  EXPECT_EQ(p2.admitted, (std::vector<int>{1, 2}));
}

TEST(Scheduler, TeacherForcingFeedsTheTailThroughDecode) {
  KVPool pool(50, 1);
  Scheduler s(pool, limits(1, 64, 20, {1}), {seq({5, 6, 7, 8, 9}, 2, /*forced=*/3)});
  std::vector<TokenEvent> ev;
  const StepPlan& p = s.next_step();
  EXPECT_EQ(p.token_ids, (std::vector<int32_t>{5, 6}));
  int32_t t[1] = {100};
  s.commit(t, ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].generated);
  std::vector<int32_t> fed;
  for (int i = 0; i < 3; ++i) {
    const StepPlan& d = s.next_step();
    ASSERT_EQ(d.kind, StepKind::decode);
    fed.push_back(d.token_ids[0]);
    t[0] = 101 + i;
    s.commit(t, ev);
    EXPECT_EQ(ev[0].generated, i == 2);
  }
  EXPECT_EQ(fed, (std::vector<int32_t>{7, 8, 9}));
  EXPECT_EQ(s.sequence(0).forced_predictions, (std::vector<int32_t>{100, 101, 102}));
  const StepPlan& d = s.next_step();
  EXPECT_EQ(d.token_ids[0], 103);  // the first generated token is fed back
  EXPECT_EQ(d.positions[0], 5);
}

TEST(Scheduler, RejectsBadRequests) {
  KVPool pool(30, 2);
  const auto make = [&](SequenceSpec sp) { Scheduler s(pool, limits(2, 8, 16, {2}), {std::move(sp)}); };
  EXPECT_THROW(make(seq({}, 1)), std::invalid_argument);
  EXPECT_THROW(make(seq({1}, 0)), std::invalid_argument);
  EXPECT_THROW(make(seq(iota_ids(10), 7)), std::invalid_argument);   // 17 > max_context 16
  EXPECT_THROW(make(seq(iota_ids(3), 1, 3)), std::invalid_argument); // all forced
  KVPool small(10, 2);
  EXPECT_THROW(Scheduler(small, limits(2, 8, 16, {2}), {seq(iota_ids(8), 4)}), std::invalid_argument);
  KVPool rows3(30, 3);
  EXPECT_THROW(Scheduler(rows3, limits(2, 8, 16, {2}), {seq({1}, 1)}), std::invalid_argument);
}

TEST(Scheduler, RejectsMisuse) {
  KVPool pool(30, 2);
  Scheduler s(pool, limits(2, 8, 16, {1, 2}), {seq({1, 2}, 3)});
  std::vector<TokenEvent> ev;
  const int32_t t[1] = {4};
  EXPECT_THROW(s.commit(t, ev), std::logic_error);
  s.next_step();
  EXPECT_THROW(s.next_step(), std::logic_error);
  EXPECT_THROW(s.finish(0, FinishReason::eos), std::logic_error);  // between plan and commit
  s.commit(t, ev);
  EXPECT_THROW(s.finish(0, FinishReason::none), std::logic_error);
  EXPECT_THROW(s.finish(3, FinishReason::eos), std::logic_error);
  s.finish(0, FinishReason::eos);
  EXPECT_THROW(s.finish(0, FinishReason::eos), std::logic_error);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(pool.free_slots(), pool.capacity());
}

// --- the randomised simulation ---------------------------------------------------------------

struct SimConfig {
  int max_batch, max_prefill, max_context, vocab;
  std::vector<int> buckets;
  int64_t n_slots;
  bool all_logits;
  int eos;  // -1: none
};

void simulate(const SimConfig& c, std::vector<SequenceSpec> specs, std::mt19937& rng) {
  SCOPED_TRACE("max_batch " + std::to_string(c.max_batch) + " max_prefill " + std::to_string(c.max_prefill) +
               " max_context " + std::to_string(c.max_context) + " slots " + std::to_string(c.n_slots) +
               " requests " + std::to_string(specs.size()) + (c.all_logits ? " all_logits" : ""));
  const std::vector<SequenceSpec> original = specs;
  KVPool pool(c.n_slots, c.max_batch);
  Scheduler sched(pool, limits(c.max_batch, c.max_prefill, c.max_context, c.buckets), std::move(specs));
  const int max_tokens = std::max(c.max_prefill, c.max_batch);
  const MetadataLayout pl = make_metadata_layout(max_tokens, c.max_batch, c.all_logits ? max_tokens : c.max_batch);
  const MetadataLayout dl = make_metadata_layout(c.max_batch, c.max_batch, c.max_batch);
  std::vector<uint64_t> pbuf(pl.bytes / 8 + 1), dbuf(dl.bytes / 8 + 1);
  test::SimDevice dev(c.max_batch + 1, c.max_context, c.n_slots, c.vocab);

  const int n = static_cast<int>(original.size());
  std::vector<std::vector<int32_t>> truth(static_cast<size_t>(n));  // true context per sequence
  for (int i = 0; i < n; ++i) truth[static_cast<size_t>(i)] = original[static_cast<size_t>(i)].prompt;
  std::vector<int> admitted_order;
  std::vector<TokenEvent> events;
  std::vector<int32_t> out, sampled;
  const auto slots_held = [&] {
    size_t total = 0;
    for (int i = 0; i < n; ++i) total += sched.sequence(i).slots.size();
    return total;
  };
  int steps = 0;
  while (!sched.done()) {
    ASSERT_LT(++steps, 100000) << "no progress";
    const size_t held_before = slots_held();
    const StepPlan& plan = sched.next_step();
    ASSERT_EQ(slots_held(), held_before + static_cast<size_t>(plan.n_tokens()))
        << "a step must allocate exactly one slot per new token";
    for (int a : plan.admitted) admitted_order.push_back(a);
    // Plan invariants.
    ASSERT_GE(plan.n_seqs(), 1);
    ASSERT_LE(plan.n_seqs(), c.max_batch);
    ASSERT_EQ(plan.positions.size(), plan.token_ids.size());
    ASSERT_EQ(plan.new_slots.size(), plan.token_ids.size());
    if (plan.kind == StepKind::prefill) {
      ASSERT_LE(plan.n_tokens(), c.max_prefill);
    } else {
      ASSERT_EQ(plan.n_tokens(), plan.n_seqs());
      ASSERT_EQ(plan.bucket, choose_bucket(c.buckets, plan.n_seqs()));
      for (int b : c.buckets)
        if (b >= plan.n_seqs()) {
          ASSERT_EQ(plan.bucket, b) << "not the smallest bucket";
          break;
        }
    }
    int offset = 0;
    std::set<int> seqs_in_step;
    for (const StepEntry& e : plan.entries) {
      ASSERT_TRUE(seqs_in_step.insert(e.seq).second) << "sequence twice in a step";
      ASSERT_EQ(e.token_begin, offset);
      offset += e.n_tokens;
      const Sequence& s = sched.sequence(e.seq);
      ASSERT_EQ(s.row, e.row);
      ASSERT_EQ(s.n_cached, e.kv_len);
      ASSERT_EQ(static_cast<int>(s.slots.size()), s.n_cached);
      ASSERT_LE(static_cast<int64_t>(s.slots.size()) + s.reserved_left,
                static_cast<int64_t>(s.prompt_len) + s.max_new_tokens);
      for (int k = 0; k < e.n_tokens; ++k) {
        const size_t t = static_cast<size_t>(e.token_begin + k);
        ASSERT_EQ(plan.positions[t], e.kv_len - e.n_tokens + k);
        ASSERT_EQ(plan.token_ids[t], truth[static_cast<size_t>(e.seq)][static_cast<size_t>(plan.positions[t])]);
        ASSERT_EQ(plan.new_slots[t], s.slots[static_cast<size_t>(plan.positions[t])]);
      }
    }
    ASSERT_EQ(offset, plan.n_tokens());
    // Slots: the step allocated exactly its tokens; no slot is 0 or held by two live sequences.
    std::set<int32_t> held;
    int64_t reserved = 0;
    for (int i = 0; i < n; ++i) {
      const Sequence& s = sched.sequence(i);
      if (s.phase == SeqPhase::prefill || s.phase == SeqPhase::decode) {
        reserved += s.reserved_left;
        for (int32_t slot : s.slots) {
          ASSERT_NE(slot, 0) << "the pad slot was handed out";
          ASSERT_TRUE(held.insert(slot).second) << "slot " << slot << " held twice";
        }
      }
    }
    ASSERT_EQ(static_cast<int64_t>(held.size()) + reserved + pool.free_slots(), pool.capacity());

    // Pack, run on the simulated device, read the sampled tokens back as the engine does.
    PackedStep p;
    const bool prefill = plan.kind == StepKind::prefill;
    void* base = prefill ? static_cast<void*>(pbuf.data()) : static_cast<void*>(dbuf.data());
    const MetadataLayout& layout = prefill ? pl : dl;
    p = prefill ? pack_prefill_step(plan, sched, c.all_logits, layout, base)
                : pack_decode_step(plan, sched, c.max_batch, layout, base);
    const StepMetadata m = bind_metadata(layout, base, nullptr);
    const std::string err = dev.run(m, bind_sampling_rows(layout, base), p, prefill && c.all_logits, out);
    ASSERT_EQ(err, "");
    sampled.assign(static_cast<size_t>(plan.n_seqs()), -1);
    for (int i = 0; i < plan.n_seqs(); ++i) {
      const StepEntry& e = plan.entries[static_cast<size_t>(i)];
      const int row = prefill && c.all_logits ? e.token_begin + e.n_tokens - 1 : i;
      sampled[static_cast<size_t>(i)] = out[static_cast<size_t>(row)];
    }
    if (!prefill) {
      for (int b = plan.n_seqs(); b < plan.bucket; ++b) ASSERT_EQ(m.seq_rows[b], c.max_batch) << "pad row";
    }

    sched.commit(sampled.data(), events);
    for (const TokenEvent& ev : events) {
      const Sequence& s = sched.sequence(ev.seq);
      std::vector<int32_t>& ctx = truth[static_cast<size_t>(ev.seq)];
      // The token predicts position s.n_cached; the reference sees the true context before it.
      const int pos = s.n_cached;
      const SamplingRow row = make_sampling_row(s.sampling, pos);
      ASSERT_EQ(ev.token, test::reference_next(ctx, pos, row, c.vocab)) << "sequence " << ev.seq;
      ASSERT_EQ(ev.generated, pos >= s.prompt_len);
      if (!ev.generated) continue;
      ctx.push_back(ev.token);
      FinishReason why = FinishReason::none;
      if (ev.token == c.eos) why = FinishReason::eos;
      else if (s.n_generated == s.max_new_tokens) why = FinishReason::length;
      else if (rng() % 50 == 0) why = FinishReason::stop;  // a stop string, as far as the scheduler knows
      if (why != FinishReason::none) sched.finish(ev.seq, why);
    }
  }
  // Everything returned; admission in request order; outputs match the truth.
  EXPECT_EQ(pool.free_slots(), pool.capacity());
  EXPECT_EQ(pool.free_rows(), c.max_batch);
  std::vector<int> in_order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) in_order[static_cast<size_t>(i)] = i;
  EXPECT_EQ(admitted_order, in_order);
  for (int i = 0; i < n; ++i) {
    const Sequence& s = sched.sequence(i);
    EXPECT_EQ(s.phase, SeqPhase::finished);
    EXPECT_EQ(s.context, truth[static_cast<size_t>(i)]);
    EXPECT_GE(s.n_generated, 1);
    EXPECT_LE(s.n_generated, s.max_new_tokens);
    EXPECT_EQ(static_cast<int>(s.forced_predictions.size()), s.prompt_len - s.prefill_len);
  }
}

TEST(SchedulerSimulation, RandomWorkloadsKeepEveryInvariant) {
  std::mt19937 rng(12345);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1)); };
  for (int trial = 0; trial < 300; ++trial) {
    SimConfig c;
    c.max_batch = pick(1, 9);
    c.buckets.clear();
    for (int b = 1; b < c.max_batch; ++b)
      if (rng() % 2) c.buckets.push_back(b);
    c.buckets.push_back(c.max_batch);
    c.max_prefill = std::vector<int>{1, 3, 7, 16, 64}[rng() % 5];
    c.max_context = pick(4, 120);
    c.vocab = pick(5, 300);
    c.all_logits = rng() % 4 == 0;
    c.eos = rng() % 3 == 0 ? -1 : pick(0, c.vocab - 1);
    // Pools from "one longest sequence" to roomy, so admission sometimes waits.
    c.n_slots = c.max_context + 1 + pick(0, 3 * c.max_context);
    const int n_req = pick(1, 30);
    std::vector<SequenceSpec> specs;
    for (int r = 0; r < n_req; ++r) {
      SequenceSpec s;
      const int len = pick(1, c.max_context - 1);
      s.max_new_tokens = pick(1, c.max_context - len);
      for (int k = 0; k < len; ++k) s.prompt.push_back(pick(0, c.vocab - 1));
      s.n_forced = rng() % 4 == 0 ? pick(0, len - 1) : 0;
      if (rng() % 3 == 0) {
        s.sampling.temperature = 0.7f;
        s.sampling.seed = rng();
      }
      specs.push_back(std::move(s));
    }
    simulate(c, std::move(specs), rng);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace llc
