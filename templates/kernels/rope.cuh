/*
Rotary position embedding, rotate-half convention (Hugging Face Llama), applied to the heads of a
Q or K activation in place or out of place. The inverse frequencies (with any llama3/linear scaling
already folded in by the compiler) come by value as a kernel argument.
*/
#pragma once

#include "templates/kernels/common.cuh"

template <int HEAD_DIM>
struct RopeTable {
  float inv_freq[HEAD_DIM / 2];
};

// Rotates one pair (x1 = head[i], x2 = head[i + D/2], inv_freq = inv_freq[i]) as the formula below,
// in place. Every rope in templates/kernels goes through it, so all round alike.
__device__ __forceinline__ void rope_rotate_pair(floatX& x1, floatX& x2, float position, float inv_freq) {
  const float angle = __fmul_rn(position, inv_freq);
  float s, c;
  sincosf(angle, &s, &c);
  const float a = to_float(x1), b = to_float(x2);
  x1 = from_float<floatX>(a * c - b * s);
  x2 = from_float<floatX>(b * c + a * s);
}

// Rotates elements i0 .. i0+7 of one head: a holds x1 = head[i0 ..], b holds x2 = head[i0 + D/2 ..]
// (the formula below), in place. Shared by rope_kernel and rope_kv_store_kernel.
template <int HEAD_DIM>
__device__ __forceinline__ void rope_rotate_chunk(x128& a, x128& b, int32_t position,
                                                  const RopeTable<HEAD_DIM>& table, int i0) {
#pragma unroll
  for (int e = 0; e < 8; ++e) rope_rotate_pair(a.v[e], b.v[e], (float)position, table.inv_freq[i0 + e]);
}

/*
For token t, head h, i < D/2 (D = HEAD_DIM):
  x1 = in[t, h*D + i], x2 = in[t, h*D + i + D/2], a = float(positions[t]) * inv_freq[i]  (fp32 multiply)
  out[t, h*D + i]       = x1*cos(a) - x2*sin(a)
  out[t, h*D + i + D/2] = x2*cos(a) + x1*sin(a)
in, out: rows of n_heads*D floatX at row strides ld_in, ld_out (elements); positions: (n_tokens) int32.
Math in fp32 with accurate sincosf (angles reach thousands of radians, where __sincosf is wrong),
one rounding to floatX. Thread mapping: one thread per (t, h, group of 8 consecutive i): it loads
the x1 chunk and the x2 chunk (16 bytes each) and writes both, so out == in (same ld) is safe.
*/
template <int HEAD_DIM>
__global__ void rope_kernel(floatX* out, int ld_out, const floatX* in, int ld_in,
                            const int32_t* __restrict__ positions, RopeTable<HEAD_DIM> table,
                            int n_tokens, int n_heads) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int HALF = HEAD_DIM / 2;
  constexpr int GROUPS = HALF / 8;  // chunks of 8 per half head
  const size_t n_items = (size_t)n_tokens * n_heads * GROUPS;
  for (size_t item = (size_t)blockIdx.x * blockDim.x + threadIdx.x; item < n_items;
       item += (size_t)gridDim.x * blockDim.x) {
    const int g = (int)(item % GROUPS);
    const int h = (int)((item / GROUPS) % n_heads);
    const int t = (int)(item / ((size_t)GROUPS * n_heads));
    const int i0 = g * 8;
    const floatX* src = in + (size_t)t * ld_in + (size_t)h * HEAD_DIM + i0;
    floatX* dst = out + (size_t)t * ld_out + (size_t)h * HEAD_DIM + i0;
    x128 a = load128(src), b = load128(src + HALF);
    rope_rotate_chunk(a, b, positions[t], table, i0);
    store128(dst, a);
    store128(dst + HALF, b);
  }
}

template <int HEAD_DIM>
void rope_forward(floatX* out /*[n_tokens, ld_out] heads at columns [0, n_heads*HEAD_DIM)*/, int ld_out,
                  const floatX* in /*[n_tokens, ld_in]*/, int ld_in,
                  const int32_t* positions /*[n_tokens]*/, RopeTable<HEAD_DIM> table, int n_tokens,
                  int n_heads, cudaStream_t stream) {
  static_assert(HEAD_DIM % 16 == 0, "rope_forward: HEAD_DIM must be a multiple of 16");
  if (n_tokens <= 0 || n_heads <= 0) return;
  launch_check(ld_in >= n_heads * HEAD_DIM, "rope_forward", "ld_in must be >= n_heads*HEAD_DIM", ld_in);
  launch_check(ld_out >= n_heads * HEAD_DIM, "rope_forward", "ld_out must be >= n_heads*HEAD_DIM", ld_out);
  check_aligned16(out, ld_out, "rope_forward", "out");
  check_aligned16(in, ld_in, "rope_forward", "in");
  const size_t n_items = (size_t)n_tokens * n_heads * (HEAD_DIM / 16);
  const int threads = 256;
  const int blocks = grid_stride_blocks((int64_t)n_items, threads);
  launch_pdl(rope_kernel<HEAD_DIM>, blocks, threads, 0, stream, out, ld_out, in, ld_in, positions, table,
             n_tokens, n_heads);
}
