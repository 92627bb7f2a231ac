// engine.cpp - the step loop: plan, pack, upload, run, fetch tokens, commit, finish.
//
// Per step (the hot loop; no allocation, one host synchronisation):
//   pack the plan into the pinned staging copy -> one cudaMemcpyAsync of the metadata block ->
//   event -> prefill + sample, or the decode graph of the step's bucket (or the same calls
//   launched directly with --no-cuda-graph) -> event -> one cudaMemcpyAsync of the sampled
//   tokens -> cudaStreamSynchronize. The staging copy is rewritten only after that sync, so a
//   copy in flight never sees the next step's metadata.
// Timing: admission, first and last token on the host steady clock; step GPU time from events.
#include <algorithm>
#include <chrono>
#include <string>

#include "runtime/cuda_check.h"
#include "runtime/engine_impl.h"
#include "runtime/kv_pool.h"

namespace llc {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

ForwardArgs Engine::Impl::forward_args(const StepMetadata& meta, int n_tokens, int n_seqs,
                                       int max_q_len, int n_logit_rows, int max_kv_len) const {
  ForwardArgs a{};
  a.weights = weights.pointers.data();
  a.arena = arena.get();
  a.k_cache = k_cache.get();
  a.v_cache = v_cache.get();
  a.kv_slots = n_slots;
  a.meta = meta;
  a.logits = logits.as<float>();
  a.n_tokens = n_tokens;
  a.n_seqs = n_seqs;
  a.max_q_len = max_q_len;
  a.max_kv_len = max_kv_len;
  a.n_logit_rows = n_logit_rows;
  a.gemm = gemm.get();
  return a;
}

void Engine::Impl::enqueue_decode(int bucket, bool short_kv, cudaStream_t s) {
  const int max_kv_len = short_kv ? spec.decode_short_kv_len : spec.max_context;
  const ForwardArgs a = forward_args(decode_meta, bucket, bucket, 1, bucket, max_kv_len);
  program.decode(a, s);
  SampleArgs sa{};
  sa.logits = logits.as<float>();
  sa.rows = decode_rows;
  sa.out_tokens = out_tokens.as<int32_t>();
  sa.n_rows = bucket;
  program.sample(sa, s);
}

void Engine::Impl::upload(const DeviceBuffer& block, const PinnedBuffer& staging, size_t bytes) {
  LLC_CUDA(cudaMemcpyAsync(block.get(), staging.get(), bytes, cudaMemcpyHostToDevice, stream.s));
}

void Engine::Impl::fetch_tokens(int n, StepRecord& rec) {
  LLC_CUDA(cudaMemcpyAsync(host_tokens.get(), out_tokens.get(), static_cast<size_t>(n) * sizeof(int32_t),
                           cudaMemcpyDeviceToHost, stream.s));
  LLC_CUDA(cudaStreamSynchronize(stream.s));
  LLC_CUDA(cudaEventElapsedTime(&rec.gpu_ms, ev_start.e, ev_end.e));
}

const int32_t* Engine::Impl::run_prefill(const StepPlan& plan, const Scheduler& sched,
                                         const RunOptions& o, StepRecord& rec) {
  const PackedStep p = pack_prefill_step(plan, sched, o.all_logits, prefill_layout, prefill_staging.get());
  upload(prefill_block, prefill_staging, prefill_layout.bytes);
  LLC_CUDA(cudaEventRecord(ev_start.e, stream.s));
  program.prefill(forward_args(prefill_meta, p.n_tokens, p.n_seqs, p.max_q_len, p.n_logit_rows), stream.s);
  SampleArgs sa{};
  sa.rows = prefill_rows;
  sa.out_tokens = out_tokens.as<int32_t>();
  if (!o.all_logits) {
    // Logit row i is entry i's last token.
    sa.logits = logits.as<float>();
    sa.n_rows = p.n_seqs;
    program.sample(sa, stream.s);
  } else {
    // Every token has a logit row; draw from each sampling entry's last one.
    for (int i = 0; i < p.n_seqs; ++i) {
      const StepEntry& e = plan.entries[i];
      if (!e.samples) continue;
      const size_t row = static_cast<size_t>(e.token_begin + e.n_tokens - 1);
      sa.logits = logits.as<float>() + row * static_cast<size_t>(spec.vocab);
      sa.rows = prefill_rows + i;
      sa.out_tokens = out_tokens.as<int32_t>() + i;
      sa.n_rows = 1;
      program.sample(sa, stream.s);
    }
  }
  LLC_CUDA(cudaEventRecord(ev_end.e, stream.s));
  fetch_tokens(p.n_seqs, rec);
  return host_tokens.as<int32_t>();
}

const int32_t* Engine::Impl::run_decode(const StepPlan& plan, const Scheduler& sched,
                                        const RunOptions& o, StepRecord& rec) {
  const PackedStep p = pack_decode_step(plan, sched, spec.max_batch, decode_layout, decode_staging.get());
  upload(decode_block, decode_staging, decode_layout.bytes);
  const bool short_kv = p.max_kv_len <= spec.decode_short_kv_len;
  LLC_CUDA(cudaEventRecord(ev_start.e, stream.s));
  if (o.use_graphs)
    graphs.launch(p.n_seqs, short_kv, stream.s);
  else
    enqueue_decode(p.n_seqs, short_kv, stream.s);
  LLC_CUDA(cudaEventRecord(ev_end.e, stream.s));
  fetch_tokens(plan.n_seqs(), rec);
  return host_tokens.as<int32_t>();
}

void Engine::Impl::keep_logits(const StepPlan& plan, const RunOptions& o, RunResult& result) {
  const size_t vocab = static_cast<size_t>(spec.vocab);
  for (int i = 0; i < plan.n_seqs(); ++i) {
    const StepEntry& e = plan.entries[i];
    int64_t first = i, n = 1;  // logit row i: entry i's last token (decode, or prefill default)
    if (plan.kind == StepKind::prefill) {
      if (o.all_logits) {
        first = e.token_begin;
        n = e.n_tokens;
      } else if (!e.samples) {
        continue;  // a non-final chunk: its last token is not the prompt's last position
      }
    }
    SequenceRun& r = result.seqs[e.seq];
    const size_t old = r.logits.size();
    r.logits.resize(old + static_cast<size_t>(n) * vocab);
    LLC_CUDA(cudaMemcpyAsync(r.logits.data() + old, logits.as<float>() + static_cast<size_t>(first) * vocab,
                             static_cast<size_t>(n) * vocab * sizeof(float), cudaMemcpyDeviceToHost,
                             stream.s));
    r.logit_rows += n;
  }
  LLC_CUDA(cudaStreamSynchronize(stream.s));
}

RunResult Engine::run(const std::vector<SequenceSpec>& specs, TokenObserver& observer,
                      const RunOptions& o) {
  Impl& m = *impl_;
  if (o.all_logits && !m.config.all_logits)
    throw std::logic_error("engine: all-logits run on an engine set up without all_logits");
  if (o.use_graphs && !m.config.capture_graphs)
    throw std::logic_error("engine: graph run on an engine set up without graphs");
  KVPool pool(m.n_slots, m.spec.max_batch);
  Scheduler sched(pool, m.limits, specs);  // checks every request before any GPU work

  RunResult result;
  result.seqs.resize(specs.size());
  size_t step_bound = 0;  // an upper bound on the step count, so the loop never reallocates
  for (const SequenceSpec& s : specs) {
    const size_t prefill = s.prompt.size() - static_cast<size_t>(s.n_forced);
    step_bound += prefill / static_cast<size_t>(m.spec.max_prefill_tokens) + 2 +
                  static_cast<size_t>(s.n_forced) + static_cast<size_t>(s.max_new_tokens);
  }
  result.steps.reserve(step_bound);
  std::vector<TokenEvent> events;
  events.reserve(static_cast<size_t>(m.spec.max_batch));
  std::vector<int> n_generated(specs.size(), 0);

  const Clock::time_point t0 = Clock::now();
  while (!sched.done()) {
    const Clock::time_point step_t0 = Clock::now();
    const StepPlan& plan = sched.next_step();
    for (int s : plan.admitted) result.seqs[s].admit_s = seconds_between(t0, step_t0);

    StepRecord rec;
    rec.kind = plan.kind;
    rec.n_seqs = plan.n_seqs();
    rec.n_tokens = plan.n_tokens();
    rec.bucket = plan.bucket;
    for (const StepEntry& e : plan.entries) rec.kv_tokens += e.kv_len;
    const int32_t* sampled = plan.kind == StepKind::prefill ? m.run_prefill(plan, sched, o, rec)
                                                            : m.run_decode(plan, sched, o, rec);
    for (int i = 0; i < plan.n_seqs(); ++i)
      if (plan.entries[i].samples && (sampled[i] < 0 || sampled[i] >= m.spec.vocab))
        throw std::runtime_error("the sampler returned token " + std::to_string(sampled[i]) +
                                 " for sequence " + std::to_string(plan.entries[i].seq) +
                                 ", outside the vocabulary [0, " + std::to_string(m.spec.vocab) + ")");
    if (o.keep_logits) m.keep_logits(plan, o, result);
    sched.commit(sampled, events);

    const Clock::time_point step_t1 = Clock::now();
    const double now_s = seconds_between(t0, step_t1);
    rec.host_ms = 1e3 * seconds_between(step_t0, step_t1);
    result.steps.push_back(rec);
    for (const TokenEvent& ev : events) {
      if (!ev.generated) continue;
      SequenceRun& r = result.seqs[ev.seq];
      if (n_generated[ev.seq]++ == 0) r.first_token_s = now_s;
      r.last_token_s = now_s;
      FinishReason why = observer.on_token(ev.seq, ev.token);
      if (why == FinishReason::none && n_generated[ev.seq] >= specs[ev.seq].max_new_tokens)
        why = FinishReason::length;  // the observer must not let a sequence outgrow its budget
      if (why != FinishReason::none) sched.finish(ev.seq, why);
    }
  }
  result.wall_s = seconds_between(t0, Clock::now());

  for (int i = 0; i < sched.n_sequences(); ++i) {
    const Sequence& s = sched.sequence(i);
    SequenceRun& r = result.seqs[i];
    r.generated.assign(s.context.begin() + s.prompt_len, s.context.end());
    r.forced_predictions = s.forced_predictions;
    r.finish = s.finish;
  }
  if (pool.free_slots() != pool.capacity() || pool.free_rows() != m.spec.max_batch)
    throw std::logic_error("engine: the KV pool was not fully returned at the end of the run (" +
                           std::to_string(pool.free_slots()) + " of " + std::to_string(pool.capacity()) +
                           " slots, " + std::to_string(pool.free_rows()) + " of " +
                           std::to_string(m.spec.max_batch) + " rows)");
  return result;
}

}  // namespace llc
