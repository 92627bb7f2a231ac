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
#include <cstdio>
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

TEST(Scheduler, PlansAheadOnlyWhenTheNextStepIsBound) {
  KVPool pool(100, 1);
  // Sequence 0: 2 forced ids, 4 new tokens; sequence 1 waits for a row.
  Scheduler s(pool, limits(1, 8, 32, {1}), {seq({1, 2, 3, 4}, 4, 2), seq({5, 6}, 2)});
  std::vector<TokenEvent> ev;
  const int32_t t[1] = {9};
  s.next_step();  // prefill of 2 ids
  EXPECT_FALSE(s.can_plan_ahead()) << "a prefill step";
  EXPECT_THROW(s.commit_ahead(), std::logic_error);
  s.commit(t, ev);
  s.next_step();  // decode feeding forced id 3; its draw predicts position 3, still forced
  EXPECT_FALSE(s.can_plan_ahead()) << "the next input is a forced prompt id";
  s.commit(t, ev);
  s.next_step();  // feeds forced id 4; its draw is generated token 1 of 4
  EXPECT_TRUE(s.can_plan_ahead());
  s.commit_ahead();
  EXPECT_TRUE(s.has_unresolved());
  EXPECT_THROW(s.commit_ahead(), std::logic_error);
  const StepPlan& ahead = s.next_step();
  ASSERT_EQ(ahead.kind, StepKind::decode);
  EXPECT_EQ(ahead.token_ids[0], Scheduler::kPendingToken);
  EXPECT_EQ(ahead.positions[0], 4);
  EXPECT_FALSE(s.can_plan_ahead()) << "one step ahead at most";
  EXPECT_THROW(s.commit(t, ev), std::logic_error) << "the earlier step is unresolved";
  EXPECT_THROW(s.finish(0, FinishReason::eos), std::logic_error) << "its token is unresolved";
  const int32_t r[1] = {11};
  s.resolve_ahead(r, ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].token, 11);
  EXPECT_TRUE(ev[0].generated);
  EXPECT_EQ(s.sequence(0).context[4], 11);
  EXPECT_THROW(s.resolve_ahead(r, ev), std::logic_error);
  // Tokens 2 and 3 of 4 are drawn by steps planned ahead; token 4 is the last.
  for (int token = 2; token <= 3; ++token) {
    EXPECT_TRUE(s.can_plan_ahead()) << "while token " << token << " is drawn";
    s.commit_ahead();
    s.next_step();
    s.resolve_ahead(r, ev);
  }
  EXPECT_FALSE(s.can_plan_ahead()) << "the token being drawn is the sequence's last";
  // A resolved token ends sequence 0 while the step planned ahead still holds its slot.
  const int64_t free_before = pool.free_slots();
  s.finish(0, FinishReason::stop);
  EXPECT_EQ(pool.free_rows(), 1);
  EXPECT_GT(pool.free_slots(), free_before);
  s.commit(t, ev);
  EXPECT_TRUE(ev.empty()) << "the finished sequence's token is dropped";
  EXPECT_EQ(s.sequence(0).context.size(), 7u);
  // Sequence 1 is admitted now; a decode step with a request waiting for a row is not bound.
  EXPECT_EQ(s.next_step().kind, StepKind::prefill);
  s.commit(t, ev);
  s.next_step();
  EXPECT_FALSE(s.can_plan_ahead()) << "its only new token is its last";
  s.commit(t, ev);
  s.finish(1, FinishReason::length);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(pool.free_slots(), pool.capacity());
}

TEST(Scheduler, NoPlanningAheadWhileARequestCouldBeAdmitted) {
  KVPool pool(100, 2);
  Scheduler s(pool, limits(2, 8, 32, {1, 2}), {seq({1, 2}, 5)});
  std::vector<TokenEvent> ev;
  const int32_t t[1] = {9};
  s.next_step();
  s.commit(t, ev);
  s.next_step();
  EXPECT_TRUE(s.can_plan_ahead());
  s.commit(t, ev);
  // Finished between steps: nothing is live, so nothing is planned.
  s.finish(0, FinishReason::eos);
  EXPECT_FALSE(s.can_plan_ahead());
  EXPECT_TRUE(s.done());
}

// --- the randomised simulation ---------------------------------------------------------------

struct SimConfig {
  int max_batch, max_prefill, max_context, vocab;
  std::vector<int> buckets;
  int64_t n_slots;
  bool all_logits;
  int eos;  // -1: none
};

// Runs `specs` to completion. overlap: plan ahead whenever the scheduler allows (as the engine
// does), feeding the step planned ahead its input ids from the running step's sampled rows, the
// way the device does; the tokens must be the same as without. Returns the steps planned ahead.
int simulate(const SimConfig& c, std::vector<SequenceSpec> specs, std::mt19937& rng, bool overlap) {
  SCOPED_TRACE("max_batch " + std::to_string(c.max_batch) + " max_prefill " + std::to_string(c.max_prefill) +
               " max_context " + std::to_string(c.max_context) + " slots " + std::to_string(c.n_slots) +
               " requests " + std::to_string(specs.size()) + (c.all_logits ? " all_logits" : "") +
               (overlap ? " overlap" : ""));
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
  std::vector<int32_t> out;
  const auto slots_held = [&] {
    size_t total = 0;
    for (int i = 0; i < n; ++i) total += sched.sequence(i).slots.size();
    return total;
  };
  // A step that ran on the simulated device and is not yet committed or resolved.
  struct Ran {
    std::vector<StepEntry> entries;
    std::vector<int32_t> sampled;  // entry i's token
  };
  // Plans the next step, checks it, runs it on the device. ahead: its input ids are the sampled
  // rows of `before` (the step still unresolved), not the plan's, which must be pending.
  const auto plan_and_run = [&](bool ahead, const Ran* before, Ran& ran) {
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
      ASSERT_FALSE(ahead) << "only decode steps are planned ahead";
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
    if (ahead) {
      ASSERT_EQ(plan.entries.size(), before->entries.size());
      for (size_t i = 0; i < plan.entries.size(); ++i)
        ASSERT_EQ(plan.entries[i].seq, before->entries[i].seq) << "entry i must follow entry i";
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
        if (ahead)
          ASSERT_EQ(plan.token_ids[t], Scheduler::kPendingToken);
        else
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
    if (ahead)
      for (int i = 0; i < plan.n_seqs(); ++i) m.token_ids[i] = before->sampled[static_cast<size_t>(i)];
    const std::string err = dev.run(m, bind_sampling_rows(layout, base), p, prefill && c.all_logits, out);
    ASSERT_EQ(err, "");
    ran.entries = plan.entries;
    ran.sampled.assign(static_cast<size_t>(plan.n_seqs()), -1);
    for (int i = 0; i < plan.n_seqs(); ++i) {
      const StepEntry& e = plan.entries[static_cast<size_t>(i)];
      const int row = prefill && c.all_logits ? e.token_begin + e.n_tokens - 1 : i;
      ran.sampled[static_cast<size_t>(i)] = out[static_cast<size_t>(row)];
    }
    if (!prefill) {
      for (int b = plan.n_seqs(); b < plan.bucket; ++b) ASSERT_EQ(m.seq_rows[b], c.max_batch) << "pad row";
    }
  };

  Ran running, next;
  bool have_running = false;
  int steps = 0, steps_ahead = 0;
  while (have_running || !sched.done()) {
    if (++steps > 100000) {
      ADD_FAILURE() << "no progress";
      return steps_ahead;
    }
    if (!have_running) {
      plan_and_run(false, nullptr, running);
      if (::testing::Test::HasFatalFailure()) return steps_ahead;
      have_running = true;
    }
    const bool ahead = overlap && sched.can_plan_ahead();
    if (ahead) {
      sched.commit_ahead();
      plan_and_run(true, &running, next);
      if (::testing::Test::HasFatalFailure()) return steps_ahead;
      ++steps_ahead;
    }
    if (sched.has_unresolved())
      sched.resolve_ahead(running.sampled.data(), events);
    else
      sched.commit(running.sampled.data(), events);
    for (const TokenEvent& ev : events) {
      const Sequence& s = sched.sequence(ev.seq);
      std::vector<int32_t>& ctx = truth[static_cast<size_t>(ev.seq)];
      // The token predicts position kv_len of its entry; the reference sees the true context before it.
      const auto e = std::find_if(running.entries.begin(), running.entries.end(),
                                  [&](const StepEntry& x) { return x.seq == ev.seq; });
      if (e == running.entries.end()) {
        ADD_FAILURE() << "an event for sequence " << ev.seq << ", which is not in the step";
        return steps_ahead;
      }
      const int pos = e->kv_len;
      const SamplingRow row = make_sampling_row(s.sampling, pos);
      if (ev.token != test::reference_next(ctx, pos, row, c.vocab) || ev.generated != (pos >= s.prompt_len)) {
        ADD_FAILURE() << "sequence " << ev.seq << ": token " << ev.token << " for position " << pos
                      << (ev.generated ? " (generated)" : " (forced)") << " differs from the reference";
        return steps_ahead;
      }
      if (!ev.generated) continue;
      ctx.push_back(ev.token);
      FinishReason why = FinishReason::none;
      if (ev.token == c.eos) why = FinishReason::eos;
      else if (s.n_generated == s.max_new_tokens) why = FinishReason::length;
      else if (rng() % 50 == 0) why = FinishReason::stop;  // a stop string, as far as the scheduler knows
      if (why != FinishReason::none) sched.finish(ev.seq, why);
    }
    if (ahead)
      std::swap(running, next);
    else
      have_running = false;
  }
  if (!overlap) EXPECT_EQ(steps_ahead, 0);
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
  return steps_ahead;
}

TEST(SchedulerSimulation, RandomWorkloadsKeepEveryInvariant) {
  std::mt19937 rng(12345);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1)); };
  int steps_ahead = 0, steps_ahead_without = 0;
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
    // The same workload with and without planning ahead (each run draws its own stop events).
    for (bool overlap : {false, true}) {
      const int ahead = simulate(c, specs, rng, overlap);
      (overlap ? steps_ahead : steps_ahead_without) += ahead;
      if (HasFatalFailure() || HasNonfatalFailure()) return;
    }
  }
  std::printf("steps planned ahead: %d\n", steps_ahead);
  EXPECT_EQ(steps_ahead_without, 0);
  EXPECT_GT(steps_ahead, 0);
}

}  // namespace
}  // namespace llc
