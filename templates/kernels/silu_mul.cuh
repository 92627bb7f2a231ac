/*
SwiGLU gate: out = silu(gate) * up, with Hugging Face's rounding (act_fn(gate_proj(x)) * up_proj(x)
on floatX tensors): out = floatX(float(floatX(silu(float(g)))) * float(u)).
*/
#pragma once

#include "templates/kernels/common.cuh"

// One element of the gate, with the rounding above; the decode SwiGLU GEMV (gemv_swiglu_forward)
// calls the same function in its epilogue, so the fused projection is bit-identical.
__device__ __forceinline__ floatX silu_mul_element(floatX g, floatX u) {
  const float gf = to_float(g);
  const float act = to_float(from_float<floatX>(gf / (1.0f + expf(-gf))));
  return from_float<floatX>(act * to_float(u));
}

/*
out[t, i] = floatX(float(floatX(g / (1 + exp(-g)))) * float(u)), g = gate[t, i], u = up[t, i].
out: (n_tokens, INTER) contiguous; gate, up: rows at strides ld_gate, ld_up (column ranges of a
merged gate/up projection). One thread per 16-byte chunk, grid-stride. Accurate expf (the silu of
large |g| saturates correctly: g -> -inf gives -0, g -> +inf gives g).
*/
template <int INTER>
__global__ void silu_mul_kernel(floatX* __restrict__ out, const floatX* __restrict__ gate, int ld_gate,
                                const floatX* __restrict__ up, int ld_up, int n_tokens) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int CHUNKS = INTER / 8;
  const size_t n_items = (size_t)n_tokens * CHUNKS;
  for (size_t item = (size_t)blockIdx.x * blockDim.x + threadIdx.x; item < n_items;
       item += (size_t)gridDim.x * blockDim.x) {
    const int t = (int)(item / CHUNKS), c = (int)(item % CHUNKS);
    const x128 g = load128(gate + (size_t)t * ld_gate + c * 8);
    const x128 u = load128(up + (size_t)t * ld_up + c * 8);
    x128 r;
#pragma unroll
    for (int e = 0; e < 8; ++e) r.v[e] = silu_mul_element(g.v[e], u.v[e]);
    store128(out + (size_t)t * INTER + c * 8, r);
  }
}

template <int INTER>
void silu_mul_forward(floatX* out /*[n_tokens, INTER]*/, const floatX* gate /*[n_tokens, ld_gate]*/,
                      int ld_gate, const floatX* up /*[n_tokens, ld_up]*/, int ld_up, int n_tokens,
                      cudaStream_t stream) {
  static_assert(INTER % 8 == 0, "silu_mul_forward: INTER must be a multiple of 8");
  if (n_tokens <= 0) return;
  launch_check(ld_gate >= INTER, "silu_mul_forward", "ld_gate must be >= INTER", ld_gate);
  launch_check(ld_up >= INTER, "silu_mul_forward", "ld_up must be >= INTER", ld_up);
  check_aligned16(out, INTER, "silu_mul_forward", "out");
  check_aligned16(gate, ld_gate, "silu_mul_forward", "gate");
  check_aligned16(up, ld_up, "silu_mul_forward", "up");
  const size_t n_items = (size_t)n_tokens * (INTER / 8);
  const int threads = 256;
  const int blocks = grid_stride_blocks((int64_t)n_items, threads);
  launch_pdl(silu_mul_kernel<INTER>, blocks, threads, 0, stream, out, gate, ld_gate, up, ld_up, n_tokens);
}
