// scheduler.cpp - continuous batching over the KV pool (see scheduler.h for the invariants).
//
// Policy, in order, each step:
//  1. prefill, if a sequence is part-way through a chunked prefill or the FIFO head can be
//     admitted: continue part-done prefills first, then admit waiting requests in order while the
//     step has token budget (max_prefill_tokens) left and a row and a reservation are available;
//  2. otherwise decode every sequence whose prefill is done, in admission order.
// The head of the queue is never skipped, so requests start in the order given.
#include "runtime/scheduler.h"

#include <algorithm>
#include <string>

namespace llc {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::none: return "none";
    case FinishReason::eos: return "eos";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
  }
  return "?";
}

int choose_bucket(const std::vector<int>& buckets, int n) {
  if (n < 1) throw std::invalid_argument("choose_bucket: batch of " + std::to_string(n));
  for (int b : buckets)
    if (b >= n) return b;
  throw std::invalid_argument("a decode batch of " + std::to_string(n) +
                              " exceeds the largest CUDA-graph bucket (" +
                              (buckets.empty() ? std::string("none") : std::to_string(buckets.back())) +
                              ")");
}

void check_graph_buckets(const std::vector<int>& buckets, int max_batch) {
  if (buckets.empty()) throw std::invalid_argument("the model has no decode graph buckets");
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] < 1)
      throw std::invalid_argument("graph bucket " + std::to_string(i) + " is " +
                                  std::to_string(buckets[i]) + " (must be >= 1)");
    if (i > 0 && buckets[i] <= buckets[i - 1])
      throw std::invalid_argument("graph buckets are not ascending: " +
                                  std::to_string(buckets[i - 1]) + " then " +
                                  std::to_string(buckets[i]));
  }
  if (buckets.back() != max_batch)
    throw std::invalid_argument("the last graph bucket is " + std::to_string(buckets.back()) +
                                " but max_batch is " + std::to_string(max_batch));
}

Scheduler::Scheduler(KVPool& pool, SchedulerLimits limits, std::vector<SequenceSpec> specs)
    : pool_(pool), limits_(std::move(limits)) {
  if (limits_.max_batch < 1 || limits_.max_prefill_tokens < 1 || limits_.max_context < 1)
    throw std::invalid_argument("scheduler limits must be >= 1 (max_batch " +
                                std::to_string(limits_.max_batch) + ", max_prefill_tokens " +
                                std::to_string(limits_.max_prefill_tokens) + ", max_context " +
                                std::to_string(limits_.max_context) + ")");
  check_graph_buckets(limits_.graph_buckets, limits_.max_batch);
  if (pool_.pad_row() != limits_.max_batch)
    throw std::invalid_argument("the KV pool has " + std::to_string(pool_.pad_row()) +
                                " slot-table rows but max_batch is " +
                                std::to_string(limits_.max_batch));
  seqs_.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    SequenceSpec& spec = specs[i];
    const std::string who = "request " + std::to_string(i);
    const int64_t len = static_cast<int64_t>(spec.prompt.size());
    if (len == 0) throw std::invalid_argument(who + ": the prompt is empty");
    if (spec.max_new_tokens < 1)
      throw std::invalid_argument(who + ": max_new_tokens is " + std::to_string(spec.max_new_tokens) +
                                  " (must be >= 1)");
    if (spec.n_forced < 0 || spec.n_forced >= len)
      throw std::invalid_argument(who + ": " + std::to_string(spec.n_forced) +
                                  " teacher-forced ids need a prompt longer than that (it has " +
                                  std::to_string(len) + ")");
    const int64_t total = len + spec.max_new_tokens;
    if (total > limits_.max_context)
      throw std::invalid_argument(who + ": prompt (" + std::to_string(len) + ") + max new tokens (" +
                                  std::to_string(spec.max_new_tokens) + ") = " +
                                  std::to_string(total) + " exceeds the compiled max_context " +
                                  std::to_string(limits_.max_context));
    if (total > pool_.capacity())
      throw std::invalid_argument(who + " needs " + std::to_string(total) +
                                  " KV slots but the pool holds only " +
                                  std::to_string(pool_.capacity()));
    Sequence& s = seqs_[i];
    s.prompt_len = static_cast<int>(len);
    s.prefill_len = static_cast<int>(len) - spec.n_forced;
    s.max_new_tokens = spec.max_new_tokens;
    s.sampling = spec.sampling;
    s.context = std::move(spec.prompt);
  }
  const size_t max_tokens =
      static_cast<size_t>(std::max(limits_.max_prefill_tokens, limits_.max_batch));
  plan_.entries.reserve(static_cast<size_t>(limits_.max_batch));
  plan_.token_ids.reserve(max_tokens);
  plan_.positions.reserve(max_tokens);
  plan_.new_slots.reserve(max_tokens);
  plan_.admitted.reserve(static_cast<size_t>(limits_.max_batch));
  live_.reserve(static_cast<size_t>(limits_.max_batch));
  ahead_.reserve(static_cast<size_t>(limits_.max_batch));
}

bool Scheduler::can_admit_head() const {
  if (next_waiting_ >= static_cast<int>(seqs_.size())) return false;
  if (static_cast<int>(live_.size()) >= limits_.max_batch || pool_.free_rows() <= 0) return false;
  const Sequence& s = seqs_[next_waiting_];
  return pool_.free_slots() >= static_cast<int64_t>(s.prompt_len) + s.max_new_tokens;
}

bool Scheduler::has_unfinished_prefill() const {
  for (int i : live_)
    if (seqs_[i].phase == SeqPhase::prefill) return true;
  return false;
}

const StepPlan& Scheduler::next_step() {
  if (awaiting_commit_) throw std::logic_error("scheduler: next_step() before commit() of the last step");
  if (done()) throw std::logic_error("scheduler: next_step() with every sequence finished");
  for (int i : live_) {
    const Sequence& s = seqs_[i];
    if (s.phase == SeqPhase::decode && s.n_generated >= s.max_new_tokens)
      throw std::logic_error("scheduler: sequence " + std::to_string(i) + " generated its " +
                             std::to_string(s.max_new_tokens) + " tokens but was not finished");
  }
  plan_.entries.clear();
  plan_.token_ids.clear();
  plan_.positions.clear();
  plan_.new_slots.clear();
  plan_.admitted.clear();
  plan_.bucket = 0;
  plan_.max_q_len = 0;
  plan_is_ahead_ = !ahead_.empty();
  if (has_unfinished_prefill() || can_admit_head()) {
    plan_prefill();
  } else if (!live_.empty()) {
    plan_decode();
  } else {
    const Sequence& head = seqs_[next_waiting_];
    throw std::runtime_error(
        "scheduler: nothing can run: " + std::to_string(n_waiting()) + " request(s) wait; request " +
        std::to_string(next_waiting_) + " needs " +
        std::to_string(static_cast<int64_t>(head.prompt_len) + head.max_new_tokens) +
        " KV slots, the pool has " + std::to_string(pool_.free_slots()) + " unreserved of " +
        std::to_string(pool_.capacity()) + " and " + std::to_string(pool_.free_rows()) +
        " free rows");
  }
  if (plan_is_ahead_) check_plan_follows_ahead();
  awaiting_commit_ = true;
  return plan_;
}

void Scheduler::check_plan_follows_ahead() const {
  // The device feeds entry i the token of the unresolved step's entry i: the sequences must match.
  bool same = plan_.kind == StepKind::decode && plan_.entries.size() == ahead_.size();
  for (size_t i = 0; same && i < ahead_.size(); ++i) same = plan_.entries[i].seq == ahead_[i].seq;
  if (!same)
    throw std::logic_error("scheduler: the step planned ahead does not decode the same sequences in "
                           "the same order as the unresolved step");
}

bool Scheduler::can_plan_ahead() const {
  if (!awaiting_commit_ || !ahead_.empty() || plan_.kind != StepKind::decode) return false;
  for (const StepEntry& e : plan_.entries) {
    const Sequence& s = seqs_[e.seq];
    if (s.phase != SeqPhase::decode || !e.samples) return false;
    if (s.n_cached < s.prompt_len) return false;  // the next input is a forced prompt id
    if (s.n_generated + 1 >= s.max_new_tokens) return false;  // this token is its last
  }
  return !has_unfinished_prefill() && !can_admit_head();
}

void Scheduler::commit_ahead() {
  if (!can_plan_ahead())
    throw std::logic_error("scheduler: commit_ahead() of a step that cannot be planned ahead of");
  for (const StepEntry& e : plan_.entries) {
    Sequence& s = seqs_[e.seq];
    ahead_.push_back({e.seq, s.context.size()});
    s.context.push_back(kPendingToken);
    ++s.n_generated;
  }
  awaiting_commit_ = false;
}

void Scheduler::resolve_ahead(const int32_t* sampled, std::vector<TokenEvent>& events) {
  if (ahead_.empty()) throw std::logic_error("scheduler: resolve_ahead() without a step committed ahead");
  events.clear();
  for (size_t i = 0; i < ahead_.size(); ++i) {
    Sequence& s = seqs_[ahead_[i].seq];
    s.context[ahead_[i].context_index] = sampled[i];
    events.push_back({ahead_[i].seq, sampled[i], true});
  }
  ahead_.clear();
}

void Scheduler::add_tokens(Sequence& s, int seq_index, int n, bool samples) {
  if (n < 1 || n > s.reserved_left)
    throw std::logic_error("scheduler: sequence " + std::to_string(seq_index) + " wants " +
                           std::to_string(n) + " slots with " + std::to_string(s.reserved_left) +
                           " left in its reservation");
  if (s.n_cached + n > static_cast<int>(s.context.size()))
    throw std::logic_error("scheduler: sequence " + std::to_string(seq_index) +
                           " has no input token for position " + std::to_string(s.n_cached + n - 1));
  StepEntry e;
  e.seq = seq_index;
  e.row = s.row;
  e.token_begin = plan_.n_tokens();
  e.n_tokens = n;
  e.kv_len = s.n_cached + n;
  e.samples = samples;
  const size_t before = s.slots.size();
  pool_.allocate_reserved(n, s.slots);
  if (s.slots.size() != before + static_cast<size_t>(n))
    throw std::logic_error("scheduler: the pool handed out " + std::to_string(s.slots.size() - before) +
                           " slots for " + std::to_string(n) + " requested");
  s.reserved_left -= n;
  for (int i = 0; i < n; ++i) {
    const int pos = s.n_cached + i;
    plan_.token_ids.push_back(s.context[pos]);
    plan_.positions.push_back(pos);
    plan_.new_slots.push_back(s.slots[pos]);
  }
  s.n_cached += n;
  plan_.max_q_len = std::max(plan_.max_q_len, n);
  plan_.entries.push_back(e);
}

void Scheduler::plan_prefill() {
  plan_.kind = StepKind::prefill;
  int budget = limits_.max_prefill_tokens;
  // 1. Sequences part-way through a chunked prefill, oldest first.
  for (int i : live_) {
    if (budget == 0) break;
    Sequence& s = seqs_[i];
    if (s.phase != SeqPhase::prefill) continue;
    const int n = std::min(s.prefill_len - s.n_cached, budget);
    add_tokens(s, i, n, s.n_cached + n == s.prefill_len);
    budget -= n;
  }
  // 2. Admit waiting requests in order.
  while (budget > 0 && can_admit_head()) {
    const int i = next_waiting_;
    Sequence& s = seqs_[i];
    const int64_t total = static_cast<int64_t>(s.prompt_len) + s.max_new_tokens;
    const int row = pool_.acquire_row();
    if (row < 0) throw std::logic_error("scheduler: no free row although free_rows() > 0");
    if (!pool_.reserve(total)) {
      pool_.release_row(row);
      throw std::logic_error("scheduler: reserve(" + std::to_string(total) + ") failed with " +
                             std::to_string(pool_.free_slots()) + " unreserved slots");
    }
    ++next_waiting_;
    s.phase = SeqPhase::prefill;
    s.row = row;
    s.reserved_left = total;
    s.slots.reserve(static_cast<size_t>(total));
    s.context.reserve(static_cast<size_t>(total));
    s.forced_predictions.reserve(static_cast<size_t>(s.prompt_len - s.prefill_len));
    live_.push_back(i);
    plan_.admitted.push_back(i);
    const int n = std::min(s.prefill_len, budget);
    add_tokens(s, i, n, n == s.prefill_len);
    budget -= n;
  }
}

void Scheduler::plan_decode() {
  plan_.kind = StepKind::decode;
  for (int i : live_) {
    Sequence& s = seqs_[i];
    if (s.phase == SeqPhase::decode) add_tokens(s, i, 1, true);
  }
  if (plan_.entries.empty())
    throw std::logic_error("scheduler: live sequences but none ready to decode");
  plan_.bucket = choose_bucket(limits_.graph_buckets, plan_.n_seqs());
}

void Scheduler::commit(const int32_t* sampled, std::vector<TokenEvent>& events) {
  if (!awaiting_commit_) throw std::logic_error("scheduler: commit() without a planned step");
  if (!ahead_.empty())
    throw std::logic_error("scheduler: commit() before resolve_ahead() of the step committed ahead");
  events.clear();
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const StepEntry& e = plan_.entries[i];
    if (!e.samples) continue;
    Sequence& s = seqs_[e.seq];
    if (s.phase == SeqPhase::finished) continue;  // ended by a token resolved after this plan
    s.phase = SeqPhase::decode;
    const int32_t token = sampled[i];
    if (s.n_cached < s.prompt_len) {
      s.forced_predictions.push_back(token);
      events.push_back({e.seq, token, false});
    } else {
      s.context.push_back(token);
      ++s.n_generated;
      events.push_back({e.seq, token, true});
    }
  }
  awaiting_commit_ = false;
}

void Scheduler::finish(int seq, FinishReason reason) {
  if (awaiting_commit_ && !plan_is_ahead_)
    throw std::logic_error("scheduler: finish() between next_step() and commit()");
  if (seq < 0 || seq >= static_cast<int>(seqs_.size()))
    throw std::logic_error("scheduler: finish() of unknown sequence " + std::to_string(seq));
  for (const PendingToken& p : ahead_)
    if (p.seq == seq)
      throw std::logic_error("scheduler: finish() of sequence " + std::to_string(seq) +
                             " before its pending token is resolved");
  Sequence& s = seqs_[seq];
  if (s.phase != SeqPhase::decode)
    throw std::logic_error("scheduler: finish() of sequence " + std::to_string(seq) +
                           " which is not decoding");
  if (reason == FinishReason::none)
    throw std::logic_error("scheduler: finish() of sequence " + std::to_string(seq) + " without a reason");
  pool_.release(s.slots);
  s.slots.clear();
  pool_.release_row(s.row);
  pool_.unreserve(s.reserved_left);
  s.reserved_left = 0;
  s.row = -1;
  s.phase = SeqPhase::finished;
  s.finish = reason;
  live_.erase(std::find(live_.begin(), live_.end(), seq));
  ++n_finished_;
}

}  // namespace llc
