/*
Row gather: out[i, :] = in[rows[i], :] (e.g. the last token of each sequence before the LM head).
*/
#pragma once

#include "templates/kernels/common.cuh"

/*
out: (n_rows, HIDDEN) floatX; in: (?, HIDDEN) floatX; rows: (n_rows) int32. A negative row index
writes a zero row (guard). One thread per 16-byte chunk, grid-stride. Exact copy.
*/
template <int HIDDEN>
__global__ void gather_rows_kernel(floatX* __restrict__ out, const floatX* __restrict__ in,
                                   const int32_t* __restrict__ rows, int n_rows) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int CHUNKS = HIDDEN / 8;
  const size_t n_items = (size_t)n_rows * CHUNKS;
  for (size_t item = (size_t)blockIdx.x * blockDim.x + threadIdx.x; item < n_items;
       item += (size_t)gridDim.x * blockDim.x) {
    const int i = (int)(item / CHUNKS), c = (int)(item % CHUNKS);
    const int r = rows[i];
    store128(out + (size_t)i * HIDDEN + c * 8,
             r >= 0 ? load128(in + (size_t)r * HIDDEN + c * 8) : zero128());
  }
}

template <int HIDDEN>
void gather_rows_forward(floatX* out /*[n_rows, HIDDEN]*/, const floatX* in /*[?, HIDDEN]*/,
                         const int32_t* rows /*[n_rows]*/, int n_rows, cudaStream_t stream) {
  static_assert(HIDDEN % 8 == 0, "gather_rows_forward: HIDDEN must be a multiple of 8");
  if (n_rows <= 0) return;
  check_aligned16(out, HIDDEN, "gather_rows_forward", "out");
  check_aligned16(in, HIDDEN, "gather_rows_forward", "in");
  const size_t n_items = (size_t)n_rows * (HIDDEN / 8);
  const int threads = 256;
  const int blocks = grid_stride_blocks((int64_t)n_items, threads);
  launch_pdl(gather_rows_kernel<HIDDEN>, blocks, threads, 0, stream, out, in, rows, n_rows);
}
