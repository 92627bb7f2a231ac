/*
Causal self-attention for a prefill step: FlashAttention-2 style, nopad, on tensor cores
(mma.sync m16n8k16 + ldmatrix, see mma.cuh). The prompts of all sequences are concatenated; K/V
come from the token-granular pool through the slot table (the step's own K/V were stored first).
Defaults (what the compiler records): BLOCK_Q = BLOCK_KV = 64, i.e. 4 warps of 16 query rows,
48 KiB of shared memory at HEAD_DIM 128 (24 KiB at 64).
*/
#pragma once

#include <cmath>

#include "templates/kernels/common.cuh"
#include "templates/kernels/mma.cuh"

/*
Sequence s owns query tokens [seq_starts[s], seq_starts[s+1]) (q_len of them) and kv_len =
kv_lens[s] cached rows (kv_len >= q_len); its i-th query sits at position p_i = kv_len - q_len + i.
For query head h (columns [h*D, (h+1)*D) of q and out), KV head kvh = h / (N_HEADS / N_KV_HEADS):
  S[i, j] = scale * q_i . k_j  for j <= p_i,   k_j = k_cache[slot(j)][kvh][:],
  slot(j) = slot_table[seq_rows[s] * max_context + j]
  out[i]  = sum_j softmax_j(S[i, :]) v_j
q, out: rows at strides ld_q, ld_out, floatX; k_cache, v_cache: [kv_slots][N_KV_HEADS][D] floatX.
Grid: (query tile, head, sequence); query tiles run in reverse order so the longest (diagonal-heavy)
tiles start first; a tile past q_len exits at once. Block: BLOCK_Q/16 warps, warp w owns query rows
[16w, 16w+16) of the tile and all D output columns.
Loop over KV tiles of BLOCK_KV rows up to the tile's last query position (tiles wholly above the
causal diagonal are never visited): K and V are fetched with cp.async into swizzled shared memory
(the V fetch overlaps S = Q K^T, the next K fetch overlaps O += P V); rows j >= kv_len are
zero-filled and never looked up in the slot table.
Precision: S and O accumulate in fp32 on tensor cores; online softmax in fp32 with base-2
exponentials of log2(e)-prescaled scores; P is rounded to floatX for the P V product (as in
FlashAttention-2) while the row sum uses the fp32 P; one rounding of O / rowsum to floatX.
Masking: a masked score is -inf; a row whose running max is still -inf uses 0 as its reference so
exp2(-inf - ref) = 0 and no NaN appears (fully masked rows in a tile are normal at the diagonal).
Query rows past q_len are zero, compute harmless finite values and are not stored.
*/
template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int BLOCK_Q, int BLOCK_KV>
__global__ void __launch_bounds__(BLOCK_Q / 16 * 32)
flash_attention_prefill_kernel(floatX* __restrict__ out, int ld_out, const floatX* __restrict__ q, int ld_q,
                               const floatX* __restrict__ k_cache, const floatX* __restrict__ v_cache,
                               const int32_t* __restrict__ slot_table, int max_context,
                               const int32_t* __restrict__ seq_starts, const int32_t* __restrict__ seq_rows,
                               const int32_t* __restrict__ kv_lens, float scale_log2) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  constexpr int D = HEAD_DIM;
  constexpr int THREADS = BLOCK_Q / 16 * 32;
  constexpr int CHUNKS = D / 8;        // 16-byte chunks per row
  constexpr int D_TILES = D / 8;       // n-tiles of the output
  constexpr int D_STEPS = D / 16;      // k-steps of Q K^T
  constexpr int KV_TILES = BLOCK_KV / 8;   // n-tiles of S
  constexpr int KV_STEPS = BLOCK_KV / 16;  // k-steps of P V
  constexpr int GROUP = N_HEADS / N_KV_HEADS;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  floatX* sQ = reinterpret_cast<floatX*>(smem_raw);
  floatX* sK = sQ + BLOCK_Q * D;
  floatX* sV = sK + BLOCK_KV * D;

  const int s = blockIdx.z, h = blockIdx.y, kvh = h / GROUP;
  const int q_tile = gridDim.x - 1 - blockIdx.x;
  const int seq_start = seq_starts[s];
  const int q_len = seq_starts[s + 1] - seq_start;
  const int q0 = q_tile * BLOCK_Q;
  if (q0 >= q_len) return;
  const int kv_len = kv_lens[s];
  const int prefix = kv_len - q_len;  // positions of the cached prefix come first
  const int32_t* slots = slot_table + (size_t)seq_rows[s] * max_context;

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t4 = lane % 4;

  // The last key any query of this tile may see, hence the number of KV tiles to visit.
  const int q_last = min(q0 + BLOCK_Q, q_len) - 1;
  const int j_last = min(prefix + q_last, kv_len - 1);
  const int n_kv_tiles = j_last < 0 ? 0 : j_last / BLOCK_KV + 1;

  auto load_kv_tile = [&](floatX* dst, const floatX* cache, int j0) {
    for (int idx = tid; idx < BLOCK_KV * CHUNKS; idx += THREADS) {
      const int r = idx / CHUNKS, c = idx % CHUNKS, j = j0 + r;
      const bool valid = j < kv_len;
      const floatX* src = cache;
      if (valid) src = cache + ((size_t)slots[j] * N_KV_HEADS + kvh) * D + c * 8;
      cp_async16(dst + swizzle_offset<D>(r, c), src, valid);
    }
  };

  // Q tile (rows past q_len zero-filled) and the first K tile.
  for (int idx = tid; idx < BLOCK_Q * CHUNKS; idx += THREADS) {
    const int r = idx / CHUNKS, c = idx % CHUNKS;
    const bool valid = q0 + r < q_len;
    const floatX* src = q;
    if (valid) src = q + (size_t)(seq_start + q0 + r) * ld_q + (size_t)h * D + c * 8;
    cp_async16(sQ + swizzle_offset<D>(r, c), src, valid);
  }
  if (n_kv_tiles > 0) load_kv_tile(sK, k_cache, 0);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  // Q fragments stay in registers for the whole loop.
  uint32_t qf[D_STEPS][4];
#pragma unroll
  for (int kk = 0; kk < D_STEPS; ++kk)
    ldmatrix_x4(qf[kk], sQ + swizzle_offset<D>(warp * 16 + lane % 16, kk * 2 + lane / 16));

  float o[D_TILES][4];
#pragma unroll
  for (int nt = 0; nt < D_TILES; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};  // this thread's partial sums; reduced over the quad at the end
  // Last key index each of this thread's two rows (g, g+8) may see.
  int row_limit[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) row_limit[r] = min(prefix + q0 + warp * 16 + g + r * 8, kv_len - 1);
  const int tile_first_pos = prefix + q0;  // smallest position in the tile

  for (int tile = 0; tile < n_kv_tiles; ++tile) {
    const int j0 = tile * BLOCK_KV;
    if (tile > 0) {  // K[tile] has landed; every warp is done with V[tile-1]
      cp_async_wait<0>();
      __syncthreads();
    }
    load_kv_tile(sV, v_cache, j0);
    cp_async_commit();

    // S = Q K^T (16 x BLOCK_KV per warp)
    float sc[KV_TILES][4];
#pragma unroll
    for (int nt = 0; nt < KV_TILES; ++nt) sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D_STEPS; ++kk) {
#pragma unroll
      for (int np = 0; np < KV_TILES / 2; ++np) {
        uint32_t b[4];
        ldmatrix_x4(b, sK + swizzle_offset<D>(np * 16 + (lane % 8) + (lane / 16) * 8, kk * 2 + (lane / 8) % 2));
        mma_16816(sc[2 * np], qf[kk], b[0], b[1]);
        mma_16816(sc[2 * np + 1], qf[kk], b[2], b[3]);
      }
    }

    // scale, mask, online softmax (rows g and g+8 of the warp's 16)
    const bool need_mask = j0 + BLOCK_KV - 1 > tile_first_pos || j0 + BLOCK_KV > kv_len;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < KV_TILES; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float v = sc[nt][2 * r + e] * scale_log2;
          if (need_mask && j0 + nt * 8 + 2 * t4 + e > row_limit[r]) v = -INFINITY;
          sc[nt][2 * r + e] = v;
          mx = fmaxf(mx, v);
        }
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(row_max[r], mx);
      const float m_ref = m_new == -INFINITY ? 0.0f : m_new;
      const float alpha = exp2f(row_max[r] - m_ref);
      row_max[r] = m_new;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < KV_TILES; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float p = exp2f(sc[nt][2 * r + e] - m_ref);
          sc[nt][2 * r + e] = p;
          sum += p;
        }
      }
      row_sum[r] = row_sum[r] * alpha + sum;
#pragma unroll
      for (int nt = 0; nt < D_TILES; ++nt) {
        o[nt][2 * r] *= alpha;
        o[nt][2 * r + 1] *= alpha;
      }
    }

    cp_async_wait<0>();  // V[tile] has landed; every warp is done with K[tile]
    __syncthreads();
    if (tile + 1 < n_kv_tiles) {
      load_kv_tile(sK, k_cache, j0 + BLOCK_KV);
      cp_async_commit();
    }

    // O += P V; the S accumulator layout is exactly the A-fragment layout of P.
#pragma unroll
    for (int kk = 0; kk < KV_STEPS; ++kk) {
      uint32_t pa[4];
      pa[0] = pack_floatX2(sc[2 * kk][0], sc[2 * kk][1]);
      pa[1] = pack_floatX2(sc[2 * kk][2], sc[2 * kk][3]);
      pa[2] = pack_floatX2(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
      pa[3] = pack_floatX2(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
      for (int dp = 0; dp < D_TILES / 2; ++dp) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, sV + swizzle_offset<D>(kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8, dp * 2 + lane / 16));
        mma_16816(o[2 * dp], pa, b[0], b[1]);
        mma_16816(o[2 * dp + 1], pa, b[2], b[3]);
      }
    }
  }

  // normalise and store (paired 4-byte stores)
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = row_sum[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const int i = q0 + warp * 16 + g + r * 8;
    if (i < q_len) {
      floatX* dst = out + (size_t)(seq_start + i) * ld_out + (size_t)h * D + 2 * t4;
#pragma unroll
      for (int nt = 0; nt < D_TILES; ++nt)
        *reinterpret_cast<uint32_t*>(dst + nt * 8) = pack_floatX2(o[nt][2 * r] * inv, o[nt][2 * r + 1] * inv);
    }
  }
}

template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int BLOCK_Q, int BLOCK_KV>
void flash_attention_prefill_forward(floatX* out /*[n_tokens, ld_out] head h at columns h*HEAD_DIM*/, int ld_out,
                                     const floatX* q /*[n_tokens, ld_q]*/, int ld_q,
                                     const floatX* k_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                                     const floatX* v_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                                     const int32_t* slot_table /*[rows][max_context]*/, int max_context,
                                     const int32_t* seq_starts /*[n_seqs + 1]*/,
                                     const int32_t* seq_rows /*[n_seqs]*/, const int32_t* kv_lens /*[n_seqs]*/,
                                     int n_seqs, int max_q_len, float scale, cudaStream_t stream) {
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128, "flash attention prefill: HEAD_DIM must be 64 or 128");
  static_assert(N_HEADS % N_KV_HEADS == 0, "flash attention prefill: N_HEADS % N_KV_HEADS != 0");
  static_assert(BLOCK_Q % 16 == 0 && BLOCK_Q >= 16 && BLOCK_Q <= 128, "BLOCK_Q: a multiple of 16 in [16, 128]");
  static_assert(BLOCK_KV % 16 == 0 && BLOCK_KV >= 16 && BLOCK_KV <= 128, "BLOCK_KV: a multiple of 16 in [16, 128]");
  if (n_seqs <= 0 || max_q_len <= 0) return;
  launch_check(n_seqs <= 65535, "flash_attention_prefill_forward", "n_seqs must be <= 65535", n_seqs);
  launch_check(ld_q >= N_HEADS * HEAD_DIM, "flash_attention_prefill_forward", "ld_q must be >= N_HEADS*HEAD_DIM", ld_q);
  launch_check(ld_out >= N_HEADS * HEAD_DIM, "flash_attention_prefill_forward", "ld_out must be >= N_HEADS*HEAD_DIM", ld_out);
  check_aligned16(q, ld_q, "flash_attention_prefill_forward", "q");
  // out is written with 4-byte stores of two floatX
  launch_check((reinterpret_cast<uintptr_t>(out) & 3) == 0, "flash_attention_prefill_forward",
               "out must be 4-byte aligned", (long long)(reinterpret_cast<uintptr_t>(out) & 15));
  launch_check(ld_out % 2 == 0, "flash_attention_prefill_forward", "ld_out must be even", ld_out);
  check_aligned16(k_cache, N_KV_HEADS * HEAD_DIM, "flash_attention_prefill_forward", "k_cache");
  check_aligned16(v_cache, N_KV_HEADS * HEAD_DIM, "flash_attention_prefill_forward", "v_cache");

  auto kernel = flash_attention_prefill_kernel<HEAD_DIM, N_HEADS, N_KV_HEADS, BLOCK_Q, BLOCK_KV>;
  constexpr size_t smem = (size_t)(BLOCK_Q + 2 * BLOCK_KV) * HEAD_DIM * sizeof(floatX);
  allow_dynamic_smem(kernel, smem);
  const float scale_log2 = scale * 1.4426950408889634f;  // scores in log2 units: exp(x) = exp2(x*log2e)
  dim3 grid(CEIL_DIV(max_q_len, BLOCK_Q), N_HEADS, n_seqs);
  launch_pdl(kernel, grid, BLOCK_Q / 16 * 32, smem, stream, out, ld_out, q, ld_q, k_cache, v_cache, slot_table,
             max_context, seq_starts, seq_rows, kv_lens, scale_log2);
}
