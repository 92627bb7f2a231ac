// engine.cpp - the step loop: plan, pack, upload, run, fetch tokens, commit, finish.
//
// Per step (the hot loop; no allocation, one host wait):
//   pack the plan into a pinned staging copy -> one cudaMemcpyAsync of the metadata block (copy
//   stream) -> the compute stream waits for it -> event -> prefill + sample, or the decode graph
//   of the step's bucket, context class and metadata block (or the same calls launched directly
//   with --no-cuda-graph) -> event -> on the copy stream, after that event, one cudaMemcpyAsync of
//   the sampled tokens -> the host waits for that copy.
// Overlapped decode (RunOptions::overlap_steps): when the step just launched is a decode step
// that the scheduler can plan ahead of (Scheduler::can_plan_ahead: the next step decodes the same
// sequences, each fed the token it samples now), the next step is planned, packed and launched
// BEFORE the host waits for this one. Its token ids are not uploaded: this step's sampler writes
// them straight into the next block's token_ids (engine_impl.h), so the GPU goes from one decode
// graph to the next without waiting for the host. The host then waits for this step's tokens,
// resolves them (EOS, stop strings, max_new_tokens) while the next step runs, and a sequence that
// ends meanwhile is dropped from the next step's commit. Metadata blocks alternate, so a step's
// upload never touches the block the running step reads; a staging copy is rewritten only after
// the host waited for the step that used it two steps back.
// Timing: admission, first and last token on the host steady clock; step GPU time from events.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

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

void Engine::Impl::enqueue_decode(int bucket, bool short_kv, int block, cudaStream_t s) {
  const int max_kv_len = short_kv ? spec.decode_short_kv_len : spec.max_context;
  const ForwardArgs a = forward_args(decode_meta[block], bucket, bucket, 1, bucket, max_kv_len);
  program.decode(a, s);
  SampleArgs sa{};
  sa.logits = logits.as<float>();
  sa.rows = decode_rows[block];
  sa.out_tokens = decode_meta[1 - block].token_ids;  // the next step's input ids
  sa.n_rows = bucket;
  program.sample(sa, s);
}

void Engine::Impl::upload(const DeviceBuffer& block, const PinnedBuffer& staging, size_t from,
                          size_t bytes, cudaEvent_t uploaded) {
  LLC_CUDA(cudaMemcpyAsync(static_cast<char*>(block.get()) + from,
                           static_cast<const char*>(staging.get()) + from, bytes - from,
                           cudaMemcpyHostToDevice, copy_stream.s));
  LLC_CUDA(cudaEventRecord(uploaded, copy_stream.s));
  LLC_CUDA(cudaStreamWaitEvent(stream.s, uploaded, 0));
}

namespace {
void begin_launch(const StepPlan& plan, StepKind kind, int events, Engine::Impl::LaunchedStep& out) {
  out.kind = kind;
  out.entries.assign(plan.entries.begin(), plan.entries.end());
  out.events = events;
  out.rec = StepRecord{};
  out.rec.kind = kind;
  out.rec.n_seqs = plan.n_seqs();
  out.rec.n_tokens = plan.n_tokens();
  out.rec.bucket = plan.bucket;
  for (const StepEntry& e : plan.entries) out.rec.kv_tokens += e.kv_len;
}
}  // namespace

void Engine::Impl::launch_prefill(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                                  LaunchedStep& out) {
  begin_launch(plan, StepKind::prefill, 0, out);
  out.tokens = out_tokens.as<int32_t>();
  const PackedStep p = pack_prefill_step(plan, sched, o.all_logits, prefill_layout, prefill_staging.get());
  upload(prefill_block, prefill_staging, 0, prefill_layout.bytes, ev_uploaded[0].e);
  LLC_CUDA(cudaEventRecord(ev_start[0].e, stream.s));
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
  LLC_CUDA(cudaEventRecord(ev_end[0].e, stream.s));
}

void Engine::Impl::launch_decode(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                                 bool ids_on_device, LaunchedStep& out) {
  const int block = next_decode_block;
  next_decode_block = 1 - block;
  begin_launch(plan, StepKind::decode, block, out);
  out.tokens = decode_meta[1 - block].token_ids;
  const PackedStep p = pack_decode_step(plan, sched, spec.max_batch, decode_layout, decode_staging[block].get());
  // token_ids come first in the block: skipping them leaves what the previous step sampled there.
  upload(decode_block[block], decode_staging[block], ids_on_device ? decode_layout.positions : 0,
         decode_layout.bytes, ev_uploaded[block].e);
  const bool short_kv = p.max_kv_len <= spec.decode_short_kv_len;
  LLC_CUDA(cudaEventRecord(ev_start[block].e, stream.s));
  if (o.use_graphs)
    graphs.launch(p.n_seqs, short_kv, block, stream.s);
  else
    enqueue_decode(p.n_seqs, short_kv, block, stream.s);
  LLC_CUDA(cudaEventRecord(ev_end[block].e, stream.s));
}

const int32_t* Engine::Impl::wait_for(LaunchedStep& step) {
  const size_t n = step.entries.size();
  LLC_CUDA(cudaStreamWaitEvent(copy_stream.s, ev_end[step.events].e, 0));
  LLC_CUDA(cudaMemcpyAsync(host_tokens.get(), step.tokens, n * sizeof(int32_t), cudaMemcpyDeviceToHost,
                           copy_stream.s));
  LLC_CUDA(cudaEventRecord(ev_fetched.e, copy_stream.s));
  LLC_CUDA(cudaEventSynchronize(ev_fetched.e));
  LLC_CUDA(cudaEventElapsedTime(&step.rec.gpu_ms, ev_start[step.events].e, ev_end[step.events].e));
  return host_tokens.as<int32_t>();
}

void Engine::Impl::keep_logits(const LaunchedStep& step, const RunOptions& o, RunResult& result) {
  const size_t vocab = static_cast<size_t>(spec.vocab);
  for (size_t i = 0; i < step.entries.size(); ++i) {
    const StepEntry& e = step.entries[i];
    int64_t first = static_cast<int64_t>(i), n = 1;  // logit row i: entry i's last token
    if (step.kind == StepKind::prefill) {
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
  // A run that threw may have left a step in flight; none may touch the buffers this one fills.
  LLC_CUDA(cudaStreamSynchronize(m.stream.s));
  LLC_CUDA(cudaStreamSynchronize(m.copy_stream.s));

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
  // No overlap when every step's logits are copied out: the next step would overwrite them.
  const bool overlap = o.overlap_steps && !o.keep_logits;
  Impl::LaunchedStep running, ahead;  // the step waited for next; the one planned ahead of it
  running.entries.reserve(static_cast<size_t>(m.spec.max_batch));
  ahead.entries.reserve(static_cast<size_t>(m.spec.max_batch));
  bool have_running = false;

  const Clock::time_point t0 = Clock::now();
  while (have_running || !sched.done()) {
    if (!have_running) {
      const Clock::time_point planned = Clock::now();
      const StepPlan& plan = sched.next_step();
      for (int s : plan.admitted) result.seqs[s].admit_s = seconds_between(t0, planned);
      if (plan.kind == StepKind::prefill)
        m.launch_prefill(plan, sched, o, running);
      else
        m.launch_decode(plan, sched, o, /*ids_on_device=*/false, running);
      running.planned = planned;
      have_running = true;
    }
    // Launch the next decode step before waiting for this one, when its inputs do not depend on
    // what the host has yet to see.
    const bool planned_ahead = overlap && running.kind == StepKind::decode && sched.can_plan_ahead();
    if (planned_ahead) {
      sched.commit_ahead();
      const Clock::time_point planned = Clock::now();
      m.launch_decode(sched.next_step(), sched, o, /*ids_on_device=*/true, ahead);
      ahead.planned = planned;
    }

    const int32_t* sampled = m.wait_for(running);
    for (size_t i = 0; i < running.entries.size(); ++i) {
      const StepEntry& e = running.entries[i];
      if (e.samples && (sampled[i] < 0 || sampled[i] >= m.spec.vocab))
        throw std::runtime_error("the sampler returned token " + std::to_string(sampled[i]) +
                                 " for sequence " + std::to_string(e.seq) +
                                 ", outside the vocabulary [0, " + std::to_string(m.spec.vocab) + ")");
    }
    if (o.keep_logits) m.keep_logits(running, o, result);
    if (sched.has_unresolved())
      sched.resolve_ahead(sampled, events);
    else
      sched.commit(sampled, events);

    const Clock::time_point step_t1 = Clock::now();
    const double now_s = seconds_between(t0, step_t1);
    running.rec.host_ms = 1e3 * seconds_between(running.planned, step_t1);
    result.steps.push_back(running.rec);
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
    if (planned_ahead)
      std::swap(running, ahead);
    else
      have_running = false;
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
