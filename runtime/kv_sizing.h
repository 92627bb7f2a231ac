// kv_sizing.h - how many KV-cache slots the pool gets, and the buffer sizes of the engine.
//
// One slot holds one token's K and V for every layer:
//   bytes per slot = 2 (K and V) * n_layers * n_kv_heads * head_dim * dtype size.
// The pool gets --kv-tokens N usable slots, or --kv-cache-fraction F of the GPU memory still
// free after weights, arena and buffers, capped at max_batch * max_context (all a full batch of
// full-length sequences can use); either way one extra slot (slot 0) is the pad slot, and
// the pool must hold at least max_context usable slots (one longest sequence) or sizing fails
// with a message giving the numbers. Pure arithmetic: tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/program.h"

namespace llc {

size_t kv_bytes_per_slot(const ModelSpec& spec);

struct KvPlan {
  int64_t n_slots = 0;         // including the pad slot 0
  size_t bytes_per_slot = 0;   // K + V
  size_t cache_bytes = 0;      // each of k_cache and v_cache: n_slots * bytes_per_slot / 2
};

// kv_tokens > 0 overrides the fraction. Throws std::runtime_error naming the shortfall.
KvPlan plan_kv_cache(const ModelSpec& spec, size_t free_bytes, double fraction, int64_t kv_tokens);

// The rows of the shared logits buffer: a decode step needs max_batch, a prefill step one per
// sequence, or one per token with all_logits.
int64_t logits_rows(const ModelSpec& spec, bool all_logits);

// max(max_prefill_tokens, max_batch): the token capacity of the prefill metadata block.
int prefill_max_tokens(const ModelSpec& spec);

// Checks that the compiled ModelSpec is usable (positive sizes, heads divisible by KV heads,
// graph buckets ascending to max_batch, BOS/EOS ids inside the vocabulary); throws
// std::invalid_argument naming the field. A failure means a code-generator bug.
void check_model_spec(const ModelSpec& spec);

}  // namespace llc
