// step_metadata.h - layout and packing of a step's metadata, so ONE copy uploads it.
//
// A metadata block is one allocation holding, back to back (each array 16-byte aligned):
//   token_ids[max_tokens] positions[max_tokens] new_slots[max_tokens] seq_starts[max_seqs+1]
//   seq_rows[max_seqs] kv_lens[max_seqs] logit_rows[max_logit_rows] SamplingRow[max_seqs]
// The same layout is used for the device block and for its pinned host staging copy: the host
// packs a step into the staging copy, then one cudaMemcpyAsync of `bytes` uploads all of it.
// The slot table is not part of a block (it is shared and updated on the device by the program).
// Packing is pure host code (tested without a GPU). Decode steps are padded up to their graph
// bucket: pad entry b has token 0, position 0, new slot 0 (the reserved pad slot), the pad row,
// kv_len 1, seq_starts[b] = b, logit row b and greedy sampling, so a padded entry reads and
// writes only the pad slot and the pad row.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/program.h"
#include "runtime/scheduler.h"

namespace llc {

struct MetadataLayout {
  int max_tokens = 0, max_seqs = 0, max_logit_rows = 0;
  size_t token_ids = 0, positions = 0, new_slots = 0, seq_starts = 0, seq_rows = 0, kv_lens = 0,
         logit_rows = 0, sampling_rows = 0;  // byte offsets from the block's base
  size_t bytes = 0;                          // whole block
};

// Throws std::invalid_argument for non-positive sizes.
MetadataLayout make_metadata_layout(int max_tokens, int max_seqs, int max_logit_rows);

// The block's arrays at `base` (device or host); slot_table is stored as given.
StepMetadata bind_metadata(const MetadataLayout& layout, void* base, int32_t* slot_table);
SamplingRow* bind_sampling_rows(const MetadataLayout& layout, void* base);

// What a packed step tells the forward call.
struct PackedStep {
  int n_tokens = 0;      // tokens the program runs (decode: the bucket, pads included)
  int n_seqs = 0;        // sequences the program runs (decode: the bucket)
  int max_q_len = 0;
  int max_kv_len = 0;    // decode: the longest kv_len after the step (pads: 1)
  int n_logit_rows = 0;
  int n_sample_rows = 0;  // sampling rows filled (prefill: one per entry; decode: the bucket)
};

// The sampling row of a sequence for the draw that predicts position `position`: the step
// counter is the predicted position, so a seed gives the same draws however steps are batched.
SamplingRow make_sampling_row(const SamplingParams& p, int64_t position);

// Prefill: one sequence per entry; logit rows are the last token of each entry, or every token
// when all_logits. Requires the layout to hold the step (std::invalid_argument otherwise).
PackedStep pack_prefill_step(const StepPlan& plan, const Scheduler& sched, bool all_logits,
                             const MetadataLayout& layout, void* host_base);

// Decode: entries 0..n-1 from the plan, n..bucket-1 pads using `pad_row`.
PackedStep pack_decode_step(const StepPlan& plan, const Scheduler& sched, int pad_row,
                            const MetadataLayout& layout, void* host_base);

// A decode step of `bucket` pads only (used to run each graph bucket once before capture).
PackedStep pack_pad_decode_step(int bucket, int pad_row, const MetadataLayout& layout,
                                void* host_base);

}  // namespace llc
