// engine_sim.h - a CPU stand-in for the GPU side of an engine step, for the scheduler tests.
//
// SimDevice executes a packed metadata block the way the generated program must: it writes each
// new token's slot into the slot table (row seq_rows[s], column positions[t]), stores the token
// and its position in the KV "cache" cell of that slot, and for every logit row computes the next
// token from the sequence's context READ BACK THROUGH THE SLOT TABLE (positions 0..p of the row).
// A wrong slot, a slot shared by two live sequences, a bad position, a stale slot-table entry or
// an inconsistent kv_len all change the result or trip a check, so comparing with
// reference_next() over the true context tests the scheduler + packing end to end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/program.h"
#include "runtime/step_metadata.h"

namespace llc::test {

// The toy model: the next token is a hash of the whole context, mod vocab. With temperature > 0
// the "draw" is shifted by the sampling row's seed and step, so those are tested too.
inline uint32_t context_hash(const int32_t* ids, int n) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < n; ++i) {
    h ^= static_cast<uint32_t>(ids[i]) + 0x9e3779b9u + static_cast<uint32_t>(i) * 31u;
    h *= 16777619u;
    h ^= h >> 13;
  }
  return h;
}

inline int32_t sample_toy(uint32_t h, const SamplingRow& row, int vocab) {
  uint32_t v = h;
  if (row.temperature > 0) v += static_cast<uint32_t>(row.seed * 7919u + row.step * 104729u);
  return static_cast<int32_t>(v % static_cast<uint32_t>(vocab));
}

// next token after context[0..n) when the draw predicts position n.
inline int32_t reference_next(const std::vector<int32_t>& context, int n, const SamplingRow& row, int vocab) {
  return sample_toy(context_hash(context.data(), n), row, vocab);
}

struct SimDevice {
  struct Cell {
    int32_t token = -1;
    int32_t pos = -1;
  };

  SimDevice(int table_rows, int max_context, int64_t n_slots, int vocab)
      : rows(table_rows), max_context(max_context), vocab(vocab),
        slot_table(static_cast<size_t>(table_rows) * max_context, 0), kv(static_cast<size_t>(n_slots)) {}

  // Runs one step; out[r] = the token drawn from logit row r (sampling row: `sample_row_of[r]`).
  // Returns "" or a description of the first inconsistency found.
  std::string run(const StepMetadata& m, const SamplingRow* sampling, const PackedStep& p,
                  bool all_logits, std::vector<int32_t>& out) {
    // 1. slot table update + 2. kv store
    for (int s = 0; s < p.n_seqs; ++s) {
      if (m.seq_starts[s] > m.seq_starts[s + 1]) return "seq_starts not ascending";
      if (m.seq_rows[s] < 0 || m.seq_rows[s] >= rows) return "seq_rows out of range";
      for (int t = m.seq_starts[s]; t < m.seq_starts[s + 1]; ++t) {
        const int32_t pos = m.positions[t];
        const int32_t slot = m.new_slots[t];
        if (pos < 0 || pos >= max_context) return "position out of range: " + std::to_string(pos);
        if (slot < 0 || slot >= static_cast<int64_t>(kv.size())) return "slot out of range";
        slot_table[static_cast<size_t>(m.seq_rows[s]) * max_context + pos] = slot;
        kv[static_cast<size_t>(slot)] = {m.token_ids[t], pos};
      }
      const int last = m.seq_starts[s + 1] - 1;
      if (last >= m.seq_starts[s] && m.kv_lens[s] != m.positions[last] + 1)
        return "kv_len " + std::to_string(m.kv_lens[s]) + " != last position + 1 for seq " + std::to_string(s);
    }
    if (m.seq_starts[0] != 0 || m.seq_starts[p.n_seqs] != p.n_tokens) return "seq_starts do not cover the tokens";
    // 3. logits -> tokens
    out.assign(static_cast<size_t>(p.n_logit_rows), -1);
    for (int r = 0; r < p.n_logit_rows; ++r) {
      const int t = m.logit_rows[r];
      int s = 0;
      while (s < p.n_seqs && m.seq_starts[s + 1] <= t) ++s;
      if (s == p.n_seqs) return "logit row outside every sequence";
      const int32_t pos = m.positions[t];
      std::vector<int32_t> ctx(static_cast<size_t>(pos) + 1);
      for (int j = 0; j <= pos; ++j) {
        const int32_t slot = slot_table[static_cast<size_t>(m.seq_rows[s]) * max_context + j];
        const Cell& c = kv[static_cast<size_t>(slot)];
        if (c.pos != j)
          return "row " + std::to_string(m.seq_rows[s]) + " position " + std::to_string(j) + " maps to slot " +
                 std::to_string(slot) + " holding position " + std::to_string(c.pos);
        ctx[static_cast<size_t>(j)] = c.token;
      }
      const int sample_index = all_logits ? s : r;
      out[static_cast<size_t>(r)] =
          sample_toy(context_hash(ctx.data(), pos + 1), sampling[sample_index], vocab);
    }
    return "";
  }

  int rows, max_context, vocab;
  std::vector<int32_t> slot_table;
  std::vector<Cell> kv;
};

}  // namespace llc::test
