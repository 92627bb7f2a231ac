// step_metadata.cpp - metadata block layout and step packing (see step_metadata.h).
#include "runtime/step_metadata.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace llc {

namespace {

constexpr size_t kAlign = 16;

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// Appends an array of `count` elements of `elem` bytes at the end of the block; returns its offset.
size_t place(size_t& end, size_t count, size_t elem) {
  size_t off = align_up(end);
  end = off + count * elem;
  return off;
}

template <class T>
T* at(void* base, size_t off) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + off);
}

void check_fits(const char* what, int need, int have) {
  if (need > have)
    throw std::invalid_argument(std::string("step metadata: ") + what + " " + std::to_string(need) +
                                " exceeds the block's capacity " + std::to_string(have));
}

// Entries [from, bucket) of a decode block become pads; seq_starts[bucket] closes the batch.
void write_decode_pads(StepMetadata& m, SamplingRow* rows, int from, int bucket, int pad_row) {
  for (int b = from; b < bucket; ++b) {
    m.token_ids[b] = 0;
    m.positions[b] = 0;
    m.new_slots[b] = 0;
    m.seq_starts[b] = b;
    m.seq_rows[b] = pad_row;
    m.kv_lens[b] = 1;
    m.logit_rows[b] = b;
    rows[b] = make_sampling_row(SamplingParams{}, 0);
  }
  m.seq_starts[bucket] = bucket;
}

PackedStep decode_packed(int bucket, int max_kv_len) {
  PackedStep p;
  p.n_tokens = bucket;
  p.n_seqs = bucket;
  p.max_q_len = 1;
  p.max_kv_len = max_kv_len;
  p.n_logit_rows = bucket;
  p.n_sample_rows = bucket;
  return p;
}

}  // namespace

MetadataLayout make_metadata_layout(int max_tokens, int max_seqs, int max_logit_rows) {
  if (max_tokens < 1 || max_seqs < 1 || max_logit_rows < 1)
    throw std::invalid_argument("metadata layout needs positive sizes (max_tokens " +
                                std::to_string(max_tokens) + ", max_seqs " + std::to_string(max_seqs) +
                                ", max_logit_rows " + std::to_string(max_logit_rows) + ")");
  MetadataLayout l;
  l.max_tokens = max_tokens;
  l.max_seqs = max_seqs;
  l.max_logit_rows = max_logit_rows;
  size_t end = 0;
  const size_t i32 = sizeof(int32_t);
  l.token_ids = place(end, max_tokens, i32);
  l.positions = place(end, max_tokens, i32);
  l.new_slots = place(end, max_tokens, i32);
  l.seq_starts = place(end, static_cast<size_t>(max_seqs) + 1, i32);
  l.seq_rows = place(end, max_seqs, i32);
  l.kv_lens = place(end, max_seqs, i32);
  l.logit_rows = place(end, max_logit_rows, i32);
  l.sampling_rows = place(end, max_seqs, sizeof(SamplingRow));
  l.bytes = align_up(end);
  return l;
}

StepMetadata bind_metadata(const MetadataLayout& l, void* base, int32_t* slot_table) {
  StepMetadata m;
  m.token_ids = at<int32_t>(base, l.token_ids);
  m.positions = at<int32_t>(base, l.positions);
  m.new_slots = at<int32_t>(base, l.new_slots);
  m.seq_starts = at<int32_t>(base, l.seq_starts);
  m.seq_rows = at<int32_t>(base, l.seq_rows);
  m.kv_lens = at<int32_t>(base, l.kv_lens);
  m.logit_rows = at<int32_t>(base, l.logit_rows);
  m.slot_table = slot_table;
  return m;
}

SamplingRow* bind_sampling_rows(const MetadataLayout& l, void* base) {
  return at<SamplingRow>(base, l.sampling_rows);
}

SamplingRow make_sampling_row(const SamplingParams& p, int64_t position) {
  SamplingRow r;
  r.temperature = p.temperature;
  r.top_k = p.top_k;
  r.top_p = p.top_p;
  r.pad = 0;
  r.seed = p.seed;
  r.step = static_cast<uint64_t>(position);
  return r;
}

PackedStep pack_prefill_step(const StepPlan& plan, const Scheduler& sched, bool all_logits,
                             const MetadataLayout& l, void* host_base) {
  if (plan.kind != StepKind::prefill) throw std::invalid_argument("pack_prefill_step: not a prefill plan");
  const int n_tokens = plan.n_tokens();
  const int n_seqs = plan.n_seqs();
  check_fits("prefill tokens", n_tokens, l.max_tokens);
  check_fits("prefill sequences", n_seqs, l.max_seqs);
  const int n_logit_rows = all_logits ? n_tokens : n_seqs;
  check_fits("prefill logit rows", n_logit_rows, l.max_logit_rows);

  StepMetadata m = bind_metadata(l, host_base, nullptr);
  SamplingRow* rows = bind_sampling_rows(l, host_base);
  for (int t = 0; t < n_tokens; ++t) {
    m.token_ids[t] = plan.token_ids[t];
    m.positions[t] = plan.positions[t];
    m.new_slots[t] = plan.new_slots[t];
  }
  for (int s = 0; s < n_seqs; ++s) {
    const StepEntry& e = plan.entries[s];
    m.seq_starts[s] = e.token_begin;
    m.seq_rows[s] = e.row;
    m.kv_lens[s] = e.kv_len;
    if (!all_logits) m.logit_rows[s] = e.token_begin + e.n_tokens - 1;
    rows[s] = make_sampling_row(sched.sequence(e.seq).sampling, e.kv_len);
  }
  m.seq_starts[n_seqs] = n_tokens;
  if (all_logits)
    for (int t = 0; t < n_tokens; ++t) m.logit_rows[t] = t;

  PackedStep p;
  p.n_tokens = n_tokens;
  p.n_seqs = n_seqs;
  p.max_q_len = plan.max_q_len;
  p.n_logit_rows = n_logit_rows;
  p.n_sample_rows = n_seqs;
  return p;
}

PackedStep pack_decode_step(const StepPlan& plan, const Scheduler& sched, int pad_row,
                            const MetadataLayout& l, void* host_base) {
  if (plan.kind != StepKind::decode) throw std::invalid_argument("pack_decode_step: not a decode plan");
  const int n = plan.n_seqs();
  const int bucket = plan.bucket;
  if (n < 1 || bucket < n)
    throw std::invalid_argument("pack_decode_step: " + std::to_string(n) + " sequences in bucket " +
                                std::to_string(bucket));
  if (plan.n_tokens() != n)
    throw std::invalid_argument("pack_decode_step: " + std::to_string(plan.n_tokens()) +
                                " tokens for " + std::to_string(n) + " sequences");
  check_fits("decode bucket", bucket, l.max_tokens);
  check_fits("decode bucket", bucket, l.max_seqs);
  check_fits("decode bucket", bucket, l.max_logit_rows);

  StepMetadata m = bind_metadata(l, host_base, nullptr);
  SamplingRow* rows = bind_sampling_rows(l, host_base);
  int max_kv_len = 1;  // the pads'
  for (int b = 0; b < n; ++b) {
    const StepEntry& e = plan.entries[b];
    max_kv_len = std::max(max_kv_len, e.kv_len);
    m.token_ids[b] = plan.token_ids[b];
    m.positions[b] = plan.positions[b];
    m.new_slots[b] = plan.new_slots[b];
    m.seq_starts[b] = b;
    m.seq_rows[b] = e.row;
    m.kv_lens[b] = e.kv_len;
    m.logit_rows[b] = b;
    rows[b] = make_sampling_row(sched.sequence(e.seq).sampling, e.kv_len);
  }
  write_decode_pads(m, rows, n, bucket, pad_row);
  return decode_packed(bucket, max_kv_len);
}

PackedStep pack_pad_decode_step(int bucket, int pad_row, const MetadataLayout& l, void* host_base) {
  if (bucket < 1) throw std::invalid_argument("pack_pad_decode_step: bucket " + std::to_string(bucket));
  check_fits("decode bucket", bucket, l.max_tokens);
  check_fits("decode bucket", bucket, l.max_seqs);
  check_fits("decode bucket", bucket, l.max_logit_rows);
  StepMetadata m = bind_metadata(l, host_base, nullptr);
  write_decode_pads(m, bind_sampling_rows(l, host_base), 0, bucket, pad_row);
  return decode_packed(bucket, 1);
}

}  // namespace llc
