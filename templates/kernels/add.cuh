/*
Elementwise residual add: out = floatX(float(a) + float(b)), one rounding, as a bf16/fp16 torch add.
*/
#pragma once

#include "templates/kernels/common.cuh"

/*
out[i] = floatX(float(a[i]) + float(b[i])) for i < n_rows * HIDDEN (rows contiguous).
out, a, b: (n_rows, HIDDEN) floatX. One thread per 16-byte chunk, grid-stride. out may alias a or b.
*/
template <int HIDDEN>
__global__ void add_kernel(floatX* out, const floatX* a, const floatX* b, size_t n_chunks) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  for (size_t c = (size_t)blockIdx.x * blockDim.x + threadIdx.x; c < n_chunks;
       c += (size_t)gridDim.x * blockDim.x) {
    const x128 va = load128(a + c * 8), vb = load128(b + c * 8);
    x128 r;
#pragma unroll
    for (int k = 0; k < 8; ++k) r.v[k] = from_float<floatX>(to_float(va.v[k]) + to_float(vb.v[k]));
    store128(out + c * 8, r);
  }
}

template <int HIDDEN>
void add_forward(floatX* out /*[n_rows, HIDDEN]*/, const floatX* a /*[n_rows, HIDDEN]*/,
                 const floatX* b /*[n_rows, HIDDEN]*/, int n_rows, cudaStream_t stream) {
  static_assert(HIDDEN % 8 == 0, "add_forward: HIDDEN must be a multiple of 8");
  if (n_rows <= 0) return;
  check_aligned16(out, HIDDEN, "add_forward", "out");
  check_aligned16(a, HIDDEN, "add_forward", "a");
  check_aligned16(b, HIDDEN, "add_forward", "b");
  const size_t n_chunks = (size_t)n_rows * (HIDDEN / 8);
  const int threads = 256;
  const int blocks = (int)(n_chunks < (size_t)132 * 64 * threads ? CEIL_DIV(n_chunks, (size_t)threads)
                                                                 : (size_t)132 * 64);
  launch_pdl(add_kernel<HIDDEN>, blocks, threads, 0, stream, out, a, b, n_chunks);
}
