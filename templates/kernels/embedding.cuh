/*
Token embedding lookup: out[t, :] = table[token_ids[t], :].
An id outside [0, vocab) writes a zero row (the runtime validates ids before launching; this is a
guard so a bad id can never read outside the table).
*/
#pragma once

#include "templates/kernels/common.cuh"

/*
out[t, :] = table[id, :] if 0 <= id < vocab else 0, id = token_ids[t].
out: (n_tokens, HIDDEN) floatX; table: (vocab, HIDDEN) floatX; token_ids: (n_tokens) int32.
One block per token; each thread copies 16-byte chunks (HIDDEN/8 of them per row). Exact copy.
*/
template <int HIDDEN, int THREADS>
__global__ void __launch_bounds__(THREADS)
embedding_kernel(floatX* __restrict__ out, const floatX* __restrict__ table,
                 const int32_t* __restrict__ token_ids, int vocab) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int CHUNKS = HIDDEN / 8;
  const int t = blockIdx.x;
  const int id = token_ids[t];
  const bool valid = id >= 0 && id < vocab;
  floatX* dst = out + (size_t)t * HIDDEN;
  const floatX* src = table + (size_t)(valid ? id : 0) * HIDDEN;
  for (int c = threadIdx.x; c < CHUNKS; c += THREADS) {
    store128(dst + c * 8, valid ? load128(src + c * 8) : zero128());
  }
}

template <int HIDDEN>
void embedding_forward(floatX* out /*[n_tokens, HIDDEN]*/, const floatX* table /*[vocab, HIDDEN]*/,
                       const int32_t* token_ids /*[n_tokens]*/, int n_tokens, int vocab,
                       cudaStream_t stream) {
  static_assert(HIDDEN % 8 == 0, "embedding_forward: HIDDEN must be a multiple of 8");
  constexpr int CHUNKS = HIDDEN / 8;
  constexpr int THREADS = CHUNKS >= 256 ? 256 : (CHUNKS + 31) / 32 * 32;
  if (n_tokens <= 0) return;
  check_aligned16(out, HIDDEN, "embedding_forward", "out");
  check_aligned16(table, HIDDEN, "embedding_forward", "table");
  launch_pdl(embedding_kernel<HIDDEN, THREADS>, n_tokens, THREADS, 0, stream, out, table, token_ids, vocab);
}
