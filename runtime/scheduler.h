// scheduler.h - continuous batching over the KV pool: which tokens each step runs.
//
// Pure host logic (no CUDA), driven by the engine and by a simulated run in the unit tests:
//   plan = next_step();  ...GPU runs it...;  commit(sampled, events);  finish(seq, reason)...
// Requests wait in FIFO order. A request is admitted when a slot-table row is free and the pool
// can reserve prompt + max_new_tokens slots; admitted prompts are prefilled together in one nopad
// step of at most max_prefill_tokens tokens (a longer prompt is prefilled in chunks over several
// steps). When no prefill work can run, one decode step runs every sequence whose prefill is done.
// Invariants kept (and checked, throwing std::logic_error, never corrupting state silently):
//  - a step allocates exactly one slot per new token, out of its sequence's reservation;
//  - a sequence never holds more slots than prompt + max_new_tokens (its reservation);
//  - finish() returns every slot, the row and the unused reservation to the pool;
//  - plans and commits alternate; a decode batch never exceeds the largest graph bucket.
// Teacher forcing: the last n_forced prompt ids are not prefilled but fed one per decode step;
// the token sampled while the next input is still forced is recorded as a "forced prediction".
// Planning ahead (the engine's overlapped decode): while a decode step runs, the next one can be
// planned and launched before the running step's tokens are known, when it is bound to decode the
// same sequences in the same order, each fed the token the running step samples for it:
//   plan N = next_step(); ...launch N...
//   if (can_plan_ahead()) { commit_ahead(); plan N+1 = next_step(); ...launch N+1, entry i's input
//                           token taken on the device from N's sampled row i... }
//   ...wait for N...; resolve_ahead(tokens) if N was committed ahead, else commit(tokens); finish()
// A sequence that a resolved token ends (EOS, a stop string) still has its entry in the step
// planned ahead: finish() is allowed then and returns that step's slot with the others, and that
// step's commit drops the entry. Scheduling is unchanged but for one thing: a request that such a
// finish would let in is admitted one step later.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/kv_pool.h"

namespace llc {

enum class FinishReason { none, eos, stop, length };
const char* finish_reason_name(FinishReason r);

struct SamplingParams {
  float temperature = 0.0f;  // <= 0: greedy
  int top_k = 0;             // <= 0: no top-k
  float top_p = 1.0f;        // >= 1: no top-p
  uint64_t seed = 0;
};

// What the scheduler needs of one request.
struct SequenceSpec {
  std::vector<int32_t> prompt;  // full prompt ids (including the teacher-forced tail)
  int n_forced = 0;             // last n_forced prompt ids are fed by decode steps
  int max_new_tokens = 1;
  SamplingParams sampling;
};

enum class SeqPhase { waiting, prefill, decode, finished };

struct Sequence {
  SeqPhase phase = SeqPhase::waiting;
  int row = -1;                     // slot-table row while admitted
  std::vector<int32_t> context;     // prompt ids, then generated ids
  int prompt_len = 0;
  int prefill_len = 0;              // prompt_len - n_forced: the tokens prefill steps run
  int max_new_tokens = 0;
  int n_cached = 0;                 // positions whose K/V is (being) written: slots.size()
  int n_generated = 0;
  std::vector<int32_t> slots;       // KV slot of each cached position
  int64_t reserved_left = 0;        // reserved slots not yet allocated
  std::vector<int32_t> forced_predictions;
  FinishReason finish = FinishReason::none;
  SamplingParams sampling;
};

enum class StepKind { prefill, decode };

// One sequence's part of a step: tokens [token_begin, token_begin + n_tokens) of the step's arrays.
struct StepEntry {
  int seq = 0;
  int row = 0;
  int token_begin = 0;
  int n_tokens = 0;
  int kv_len = 0;        // cached positions after the step
  bool samples = false;  // its last token's logits give the sequence its next token
};

struct StepPlan {
  StepKind kind = StepKind::decode;
  std::vector<StepEntry> entries;
  std::vector<int32_t> token_ids;  // [n_tokens]
  std::vector<int32_t> positions;  // [n_tokens]
  std::vector<int32_t> new_slots;  // [n_tokens]
  std::vector<int> admitted;       // sequences admitted by this step
  int bucket = 0;                  // decode: CUDA-graph batch bucket (>= entries.size()); prefill: 0
  int max_q_len = 0;
  int n_tokens() const { return static_cast<int>(token_ids.size()); }
  int n_seqs() const { return static_cast<int>(entries.size()); }
};

struct SchedulerLimits {
  int max_batch = 1;
  int max_prefill_tokens = 1;
  int max_context = 1;
  std::vector<int> graph_buckets;  // ascending, last == max_batch
};

// A token a step produced for a sequence.
struct TokenEvent {
  int seq;
  int32_t token;
  bool generated;  // false: a prediction made while the next input was still teacher-forced
};

// Smallest bucket >= n. Throws std::invalid_argument when n < 1 or n exceeds the last bucket.
int choose_bucket(const std::vector<int>& buckets, int n);

// Throws std::invalid_argument naming the problem when the buckets are not ascending positive
// values ending at max_batch.
void check_graph_buckets(const std::vector<int>& buckets, int max_batch);

class Scheduler {
 public:
  // Checks every request against the limits and the pool's capacity (std::invalid_argument naming
  // the request index); does not touch the pool until a request is admitted.
  Scheduler(KVPool& pool, SchedulerLimits limits, std::vector<SequenceSpec> specs);

  bool done() const { return n_finished_ == static_cast<int>(seqs_.size()); }

  // The next step to run. Requires the previous plan to be committed and every sequence that
  // reached max_new_tokens to be finished. Throws std::runtime_error if nothing can run.
  const StepPlan& next_step();

  // `sampled[i]` is the token drawn from entry i's logits (ignored for entries that do not
  // sample). Appends one TokenEvent per sampling entry, in entry order, to `events` (cleared).
  void commit(const int32_t* sampled, std::vector<TokenEvent>& events);

  // Ends a sequence (after its last committed token): returns its slots, row and reservation.
  // Between next_step() and commit() only when that step was planned ahead, and never for a
  // sequence whose token is still unresolved.
  void finish(int seq, FinishReason reason);

  // Planning ahead (see the top of this file). can_plan_ahead(): the step planned last is an
  // uncommitted decode step, no step is committed ahead, every entry's sequence is live, its next
  // input is the token this step samples (not teacher-forced) and that token leaves it short of
  // max_new_tokens, and no prefill would be chosen next.
  bool can_plan_ahead() const;
  // Commits the step planned last with its tokens unknown: each entry's sequence gets
  // kPendingToken as its next context id (which the next plan's token_ids carry), counted as
  // generated. Throws std::logic_error unless can_plan_ahead().
  void commit_ahead();
  // The tokens of the step committed ahead, in its entry order: they replace the pending ids, and
  // one TokenEvent per entry is appended to `events` (cleared). Throws std::logic_error if no step
  // is committed ahead.
  void resolve_ahead(const int32_t* sampled, std::vector<TokenEvent>& events);
  bool has_unresolved() const { return !ahead_.empty(); }
  static constexpr int32_t kPendingToken = -1;

  const Sequence& sequence(int i) const { return seqs_.at(i); }
  int n_sequences() const { return static_cast<int>(seqs_.size()); }
  int n_live() const { return static_cast<int>(live_.size()); }
  int n_waiting() const { return static_cast<int>(seqs_.size()) - next_waiting_; }
  const SchedulerLimits& limits() const { return limits_; }

 private:
  bool can_admit_head() const;
  bool has_unfinished_prefill() const;
  void plan_prefill();
  void plan_decode();
  void add_tokens(Sequence& s, int seq_index, int n, bool samples);
  void check_plan_follows_ahead() const;

  KVPool& pool_;
  SchedulerLimits limits_;
  std::vector<Sequence> seqs_;
  std::vector<int> live_;    // admitted, unfinished sequences in admission order
  int next_waiting_ = 0;     // FIFO head: sequences [next_waiting_, n) wait
  int n_finished_ = 0;
  bool awaiting_commit_ = false;
  bool plan_is_ahead_ = false;  // the step planned last was planned while a step was unresolved
  StepPlan plan_;
  struct PendingToken {
    int seq;
    size_t context_index;
  };
  std::vector<PendingToken> ahead_;  // the step committed ahead, in entry order (empty: none)
};

}  // namespace llc
