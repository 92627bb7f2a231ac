/*
Records where each new token's K/V went: slot_table[seq_rows[s]][positions[t]] = new_slots[t] for
every token t of every sequence s. Not shape-specialised. Must run before the step's attention.
*/
#pragma once

#include "templates/kernels/common.cuh"

/*
slot_table: (rows, max_context) int32; seq_starts: (n_seqs + 1); seq_rows: (n_seqs);
positions, new_slots: (n_tokens). One block per sequence, threads stride over its tokens.
A position outside [0, max_context) is skipped (guard; the runtime never sends one).
(A template only so that several translation units may include this header.)
*/
template <int THREADS>
__global__ void __launch_bounds__(THREADS)
slot_table_update_kernel(int32_t* __restrict__ slot_table, int max_context,
                         const int32_t* __restrict__ seq_starts, const int32_t* __restrict__ seq_rows,
                         const int32_t* __restrict__ positions, const int32_t* __restrict__ new_slots) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  const int s = blockIdx.x;
  const int begin = seq_starts[s], end = seq_starts[s + 1];
  int32_t* row = slot_table + (size_t)seq_rows[s] * max_context;
  for (int t = begin + threadIdx.x; t < end; t += THREADS) {
    const int p = positions[t];
    if (p >= 0 && p < max_context) row[p] = new_slots[t];
  }
}

inline void slot_table_update_forward(int32_t* slot_table /*[rows][max_context]*/, int max_context,
                                      const int32_t* seq_starts /*[n_seqs + 1]*/,
                                      const int32_t* seq_rows /*[n_seqs]*/,
                                      const int32_t* positions /*[n_tokens]*/,
                                      const int32_t* new_slots /*[n_tokens]*/, int n_seqs,
                                      cudaStream_t stream) {
  if (n_seqs <= 0) return;
  launch_pdl(slot_table_update_kernel<128>, n_seqs, 128, 0, stream, slot_table, max_context, seq_starts,
             seq_rows, positions, new_slots);
}
