/*
Decode attention (one new query token per sequence) by flash-decoding, with a one-block path for
short sequences. Per sequence, by its own kv_len alone (so a sequence gets the same arithmetic alone
or in any batch):
- short (kv_len <= SHORT_ROWS): one block of short_warps<HEAD_DIM>() warps per (sequence, KV head)
  walks all rows and writes the output (the short kernel): no partials, no merge;
- long: the KV range is cut into at most KV_SPLITS parts of at least MIN_SPLIT_ROWS rows (one KV
  tile per warp); the split kernel computes, per (sequence, KV head, split), fp32 partial outputs
  and log-sum-exps of all N_HEADS/N_KV_HEADS query heads of that KV head (each K/V row is read from
  memory once per group); the merge kernel merges the splits.
The grids are fixed at compile time so that one CUDA graph serves every context length (kv_len is
read from device memory inside the kernels; blocks with no rows of theirs exit at once). A step
whose longest kv_len (max_kv_len, known to the host) is at most SHORT_ROWS launches the short
kernel alone: the merge's launch boundary cost 4 us a layer (docs/performance.md, log 39); the
runtime keeps one decode graph per bucket for such steps and one for the others.
Workspace: a record of (HEAD_DIM + 4) floats per (sequence, head, split): the normalised partial
output o[0..HEAD_DIM) and at o[HEAD_DIM] its log2-sum-exp; only a long sequence's
used_splits(kv_len) records are written and read.
*/
#pragma once

#include <cmath>

#include "templates/kernels/common.cuh"
#include "templates/kernels/mma.cuh"

namespace flash_decoding {
constexpr int WARPS = 4;   // warps per split-kernel block; each runs its own pipeline over its own KV tiles
constexpr int KT = 16;     // KV rows per warp tile (one k-step of P V, two n-tiles of S)
constexpr int STAGES = 2;  // cp.async stages per warp
constexpr int MIN_SPLIT_ROWS = WARPS * KT;  // a split gives each warp at least one tile
constexpr int SHORT_ROWS = 512;  // short sequences: at most 4 tiles per warp of 8
// Warps per short-kernel block: 12 at head dim 64 (at most 3 tiles a warp; log 43 of
// docs/performance.md: the 1B's step -0.005 / -0.014 ms at batch 1 / 4 against 8), 8 at 128, where
// 12 warps cap the kernel at 168 registers and spill (the 8B's step +0.4 ms).
template <int HEAD_DIM>
constexpr int short_warps() {
  return HEAD_DIM <= 64 ? 12 : 8;
}

__host__ __device__ __forceinline__ bool short_sequence(int kv_len) { return kv_len <= SHORT_ROWS; }

// Rows per split of a kv_len-row sequence, and the splits that hold rows (the rest are not read).
// Depends only on the sequence's own length, so a sequence gets the same splits, hence the same
// rounding, alone or in any batch.
template <int KV_SPLITS>
__host__ __device__ __forceinline__ int split_rows(int kv_len) {
  const int even = CEIL_DIV(CEIL_DIV(kv_len, KV_SPLITS), KT) * KT;
  return even > MIN_SPLIT_ROWS ? even : MIN_SPLIT_ROWS;
}
template <int KV_SPLITS>
__host__ __device__ __forceinline__ int used_splits(int kv_len) {  // 0 for a short sequence
  return short_sequence(kv_len) ? 0 : CEIL_DIV(kv_len, split_rows<KV_SPLITS>(kv_len));
}
}  // namespace flash_decoding

template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int KV_SPLITS>
constexpr size_t flash_decoding_workspace_floats(int max_seqs) {
  return (size_t)max_seqs * N_HEADS * KV_SPLITS * (HEAD_DIM + 4);
}

template <int HEAD_DIM, int WARPS>
constexpr size_t flash_decoding_smem_bytes() {
  using namespace flash_decoding;
  return (size_t)16 * HEAD_DIM * sizeof(floatX)                         // Q (group rows, padded to 16)
         + (size_t)WARPS * STAGES * 2 * KT * HEAD_DIM * sizeof(floatX);  // per-warp K/V stages
}

/*
Split kernel (SHORT = false, WARPS_ = WARPS) and short kernel (SHORT = true, WARPS_ = short_warps<D>()).
Block (split, kvh, b): GROUP = N_HEADS / N_KV_HEADS query heads h = kvh*GROUP + r.
  split kernel, long sequences: rows [begin, end) of sequence b, chunk = split_rows(kv_len),
    begin = split*chunk; writes the record (o_split, lse) of the split;
  short kernel (grid x = 1), short sequences, or every sequence when launched alone (all_rows: the
    host found them all short): rows [0, kv_len); writes out[b, h*D + d] = floatX(o_split[r][d]);
  S[r, j] = scale * q[b, h] . k_j,  o_split[r] = softmax_j(S[r, :]) V,  lse = log2 sum_j 2^(S*log2e)
q: rows at stride ld_q (token b = sequence b); k_cache, v_cache: [kv_slots][N_KV_HEADS][D];
row j of sequence b: slot_table[seq_rows[b] * max_context + j]. workspace: see above.
Thread mapping: the group's query vectors form the A operand of mma.m16n8k16 (rows >= GROUP are
zero); warp w takes KV tiles w, w+W, w+2W, ... (W = WARPS_) of KT rows with its own 2-stage cp.async
pipeline (16-byte copies, 16 lanes per 256-byte row) and its own online-softmax state; at the end
the W warps' states are merged through shared memory.
Precision: fp32 accumulation on tensor cores, base-2 online softmax in fp32, P rounded to floatX for
P V (as FlashAttention-2). Blocks past used_splits(kv_len) return without writing; masked scores never make NaN.
*/
template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int KV_SPLITS, int WARPS_, bool SHORT>
__global__ void __launch_bounds__(WARPS_ * 32)
flash_decoding_split_kernel(floatX* __restrict__ out, int ld_out, const floatX* __restrict__ q, int ld_q,
                            const floatX* __restrict__ k_cache, const floatX* __restrict__ v_cache,
                            const int32_t* __restrict__ slot_table, int max_context,
                            const int32_t* __restrict__ seq_rows, const int32_t* __restrict__ kv_lens,
                            float scale_log2, float* __restrict__ workspace, bool all_rows) {
  using namespace flash_decoding;
  constexpr int WARPS = WARPS_;
  constexpr int D = HEAD_DIM;
  constexpr int CHUNKS = D / 8;
  constexpr int D_TILES = D / 8;
  constexpr int D_STEPS = D / 16;
  constexpr int GROUP = N_HEADS / N_KV_HEADS;
  constexpr int REC = D + 4;
  constexpr int THREADS = WARPS * 32;
  constexpr int TILE_ITEMS = KT * CHUNKS / 32;  // 16-byte K (and V) copies per lane per tile

  extern __shared__ __align__(16) unsigned char smem_raw[];
  floatX* sQ = reinterpret_cast<floatX*>(smem_raw);
  floatX* sStage = sQ + 16 * D;

  const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int g = lane / 4, t4 = lane % 4;

  // Before the PDL wait, only the step's metadata (common.cuh: "early reads"): the lengths and
  // sequence rows, uploaded before the step's first kernel, and this warp's first tile's slot
  // indices, written by its slot_table_update (codegen checks that two launches precede this one).
  // Q and the newest K/V row come from the kernel just before: they are read after the wait.
  const int kv_len = max(kv_lens[b], 0);
  int begin = 0, end = 0;  // this block's rows; none when the other kernel has the sequence
  if (SHORT) {
    if (all_rows || short_sequence(kv_len)) end = kv_len;
  } else if (!short_sequence(kv_len)) {
    const int chunk = split_rows<KV_SPLITS>(kv_len);
    begin = split * chunk;
    end = min(kv_len, begin + chunk);
  }
  float* rec0 = workspace + (((size_t)b * N_HEADS + (size_t)kvh * GROUP) * KV_SPLITS + split) * REC;
  constexpr size_t HEAD_STRIDE = (size_t)KV_SPLITS * REC;  // between consecutive heads' records

  const int32_t* slots = slot_table + (size_t)seq_rows[b] * max_context;
  const int n_tiles = CEIL_DIV(end - begin, KT);
  const int n_mine = n_tiles > warp ? CEIL_DIV(n_tiles - warp, WARPS) : 0;
  int first_slots[TILE_ITEMS];  // slot of row j = first tile start + idx / CHUNKS, idx = lane + 32 k
#pragma unroll
  for (int k = 0; k < TILE_ITEMS; ++k) {
    const int j = begin + warp * KT + (lane + 32 * k) / CHUNKS;
    first_slots[k] = n_mine > 0 && j < end ? slots[j] : 0;
  }

  pdl_wait();  // Q and the newest K/V row come from the kernel before (common.cuh: PDL)
  pdl_launch_dependents();
  // Past used_splits(kv_len): the merge reads no record of it. Only after the wait: a grid whose
  // blocks all left before waiting would not imply its predecessor's completion (common.cuh).
  if (begin >= end) {
    if (SHORT && kv_len == 0)  // a guard: no rows, output 0
      for (int idx = tid; idx < GROUP * D; idx += THREADS)
        out[(size_t)b * ld_out + (size_t)kvh * GROUP * D + idx] = from_float<floatX>(0.0f);
    return;
  }

  // This warp's stage st: K tile [KT][D] then V tile [KT][D], both swizzled. slot_of(k, j): the
  // pool slot of row j, the lane's k-th copy of the tile.
  auto stage_k = [&](int st) { return sStage + (size_t)(warp * STAGES + st) * 2 * KT * D; };
  auto load_tile = [&](int st, int start, auto slot_of) {
    floatX* sK = stage_k(st);
    floatX* sV = sK + KT * D;
#pragma unroll
    for (int k = 0; k < TILE_ITEMS; ++k) {
      const int idx = lane + 32 * k;
      const int r = idx / CHUNKS, c = idx % CHUNKS, j = start + r;
      const bool valid = j < end;
      size_t off = 0;
      if (valid) off = ((size_t)slot_of(k, j) * N_KV_HEADS + kvh) * D + c * 8;
      cp_async16(sK + swizzle_offset<D>(r, c), k_cache + off, valid);
      cp_async16(sV + swizzle_offset<D>(r, c), v_cache + off, valid);
    }
  };

  // Q (the group's query heads, contiguous columns of token b's row) and the first K/V tile go
  // out together: one round trip after the wait instead of two.
  for (int idx = tid; idx < 16 * CHUNKS; idx += THREADS) {
    const int r = idx / CHUNKS, c = idx % CHUNKS;
    const bool valid = r < GROUP;
    const floatX* src = q;
    if (valid) src = q + (size_t)b * ld_q + (size_t)(kvh * GROUP + r) * D + c * 8;
    cp_async16(sQ + swizzle_offset<D>(r, c), src, valid);
  }
  cp_async_commit();
  if (n_mine > 0) load_tile(0, begin + warp * KT, [&](int k, int) { return first_slots[k]; });
  cp_async_commit();
  cp_async_wait<1>();  // the Q group (the first tile may still be in flight)
  __syncthreads();
  uint32_t qf[D_STEPS][4];
#pragma unroll
  for (int kk = 0; kk < D_STEPS; ++kk) ldmatrix_x4(qf[kk], sQ + swizzle_offset<D>(lane % 16, kk * 2 + lane / 16));

  float o[D_TILES][4];
#pragma unroll
  for (int nt = 0; nt < D_TILES; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};

  for (int it = 0; it < n_mine; ++it) {
    const int start = begin + (warp + it * WARPS) * KT;
    if (it + 1 < n_mine) load_tile((it + 1) % STAGES, start + WARPS * KT, [&](int, int j) { return slots[j]; });
    cp_async_commit();     // possibly empty: keeps the group count uniform
    cp_async_wait<1>();    // everything but the newest group: tile `it` has landed
    __syncwarp();
    const floatX* sK = stage_k(it % STAGES);
    const floatX* sV = sK + KT * D;

    float sc[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
#pragma unroll
    for (int kk = 0; kk < D_STEPS; ++kk) {
      uint32_t bk[4];
      ldmatrix_x4(bk, sK + swizzle_offset<D>((lane % 8) + (lane / 16) * 8, kk * 2 + (lane / 8) % 2));
      mma_16816(sc[0], qf[kk], bk[0], bk[1]);
      mma_16816(sc[1], qf[kk], bk[2], bk[3]);
    }
    const bool need_mask = start + KT > end;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float v = sc[nt][2 * r + e] * scale_log2;
          if (need_mask && start + nt * 8 + 2 * t4 + e >= end) v = -INFINITY;
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
      for (int nt = 0; nt < 2; ++nt) {
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
    uint32_t pa[4];
    pa[0] = pack_floatX2(sc[0][0], sc[0][1]);
    pa[1] = pack_floatX2(sc[0][2], sc[0][3]);
    pa[2] = pack_floatX2(sc[1][0], sc[1][1]);
    pa[3] = pack_floatX2(sc[1][2], sc[1][3]);
#pragma unroll
    for (int dp = 0; dp < D_TILES / 2; ++dp) {
      uint32_t bv[4];
      ldmatrix_x4_trans(bv, sV + swizzle_offset<D>((lane % 8) + ((lane / 8) % 2) * 8, dp * 2 + lane / 16));
      mma_16816(o[2 * dp], pa, bv[0], bv[1]);
      mma_16816(o[2 * dp + 1], pa, bv[2], bv[3]);
    }
    __syncwarp();  // every lane is done with this stage before it is refilled
  }
  cp_async_wait<0>();

  // Merge the warps' states through shared memory (reusing the stage buffers).
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
  }
  __syncthreads();  // all warps are done with the stage buffers
  float* cO = reinterpret_cast<float*>(sStage);  // [WARPS][16][D]
  float* cM = cO + WARPS * 16 * D;              // [WARPS][16]
  float* cL = cM + WARPS * 16;                  // [WARPS][16]
  static_assert((size_t)(WARPS * 16 * D + 2 * WARPS * 16) * sizeof(float) <=
                    (size_t)WARPS * STAGES * 2 * KT * D * sizeof(floatX),
                "flash decoding: merge scratch must fit in the stage buffers");
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = g + r * 8;
    if (t4 == 0) {
      cM[warp * 16 + row] = row_max[r];
      cL[warp * 16 + row] = row_sum[r];
    }
#pragma unroll
    for (int nt = 0; nt < D_TILES; ++nt) {
      cO[(warp * 16 + row) * D + nt * 8 + 2 * t4] = o[nt][2 * r];
      cO[(warp * 16 + row) * D + nt * 8 + 2 * t4 + 1] = o[nt][2 * r + 1];
    }
  }
  __syncthreads();
  for (int idx = tid; idx < GROUP * D; idx += THREADS) {
    const int r = idx / D, d = idx % D;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) m = fmaxf(m, cM[w * 16 + r]);
    float l = 0.0f, acc = 0.0f;
    if (m != -INFINITY) {
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        const float f = exp2f(cM[w * 16 + r] - m);  // 0 for a warp that saw no rows
        l += f * cL[w * 16 + r];
        acc += f * cO[(w * 16 + r) * D + d];
      }
    }
    const bool ok = l > 0.0f;
    if (SHORT) {
      out[(size_t)b * ld_out + (size_t)(kvh * GROUP + r) * D + d] = from_float<floatX>(ok ? acc / l : 0.0f);
      continue;
    }
    float* rec = rec0 + r * HEAD_STRIDE;
    rec[d] = ok ? acc / l : 0.0f;
    if (d == 0) rec[D] = ok ? m + log2f(l) : -INFINITY;
  }
}

/*
Merge kernel. Block (h, b), one thread per output column d, over the splits s < used_splits(kv_len):
  M = max_s lse_s, w_s = 2^(lse_s - M), out[b, h*D + d] = floatX(sum_s w_s o_s[d] / sum_s w_s).
Splits whose rows were all masked (lse = -inf) weigh 0. A short sequence (the short kernel's) is
left alone.
*/
template <int HEAD_DIM, int N_HEADS, int KV_SPLITS>
__global__ void __launch_bounds__(HEAD_DIM)
flash_decoding_merge_kernel(floatX* __restrict__ out, int ld_out, const float* __restrict__ workspace,
                            const int32_t* __restrict__ kv_lens) {
  constexpr int D = HEAD_DIM;
  constexpr int REC = D + 4;
  __shared__ float s_w[KV_SPLITS];
  __shared__ float s_inv;
  const int h = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
  const float* recs = workspace + ((size_t)b * N_HEADS + h) * KV_SPLITS * REC;
  // kv_lens is step metadata, uploaded before the step's first kernel: read before the wait
  // (common.cuh: "early reads"); the records come from the split kernel just before.
  const int splits = flash_decoding::used_splits<KV_SPLITS>(max(kv_lens[b], 0));
  pdl_wait();
  pdl_launch_dependents();
  if (splits == 0) return;  // a short sequence
  for (int sp = d; sp < splits; sp += D) s_w[sp] = recs[(size_t)sp * REC + D];
  __syncthreads();
  if (d == 0) {
    float m = -INFINITY;
    for (int sp = 0; sp < splits; ++sp) m = fmaxf(m, s_w[sp]);
    float l = 0.0f;
    for (int sp = 0; sp < splits; ++sp) {
      const float w = m == -INFINITY ? 0.0f : exp2f(s_w[sp] - m);
      s_w[sp] = w;
      l += w;
    }
    s_inv = l > 0.0f ? 1.0f / l : 0.0f;
  }
  __syncthreads();
  float acc = 0.0f;
  for (int sp = 0; sp < splits; ++sp) {
    const float w = s_w[sp];
    if (w != 0.0f) acc += w * recs[(size_t)sp * REC + d];
  }
  out[(size_t)b * ld_out + (size_t)h * D + d] = from_float<floatX>(acc * s_inv);
}

// max_kv_len: at least every kv_len of the step (the host's bound). At most SHORT_ROWS: the short
// kernel alone; else the short kernel (its sequences), the split kernel and the merge kernel.
template <int HEAD_DIM, int N_HEADS, int N_KV_HEADS, int KV_SPLITS>
void flash_decoding_forward(floatX* out /*[n_seqs, ld_out] head h at columns h*HEAD_DIM*/, int ld_out,
                            const floatX* q /*[n_seqs, ld_q]*/, int ld_q,
                            const floatX* k_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                            const floatX* v_cache /*[kv_slots][N_KV_HEADS][HEAD_DIM]*/,
                            const int32_t* slot_table /*[rows][max_context]*/, int max_context,
                            const int32_t* seq_rows /*[n_seqs]*/, const int32_t* kv_lens /*[n_seqs]*/,
                            int n_seqs, int max_kv_len, float scale,
                            float* workspace /*[flash_decoding_workspace_floats(>= n_seqs)]*/,
                            cudaStream_t stream) {
  using flash_decoding::WARPS;
  constexpr int SHORT_WARPS = flash_decoding::short_warps<HEAD_DIM>();
  static_assert(HEAD_DIM == 64 || HEAD_DIM == 128, "flash decoding: HEAD_DIM must be 64 or 128");
  static_assert(N_HEADS % N_KV_HEADS == 0, "flash decoding: N_HEADS % N_KV_HEADS != 0");
  static_assert(N_HEADS / N_KV_HEADS <= 16, "flash decoding: at most 16 query heads per KV head");
  static_assert(KV_SPLITS >= 1 && KV_SPLITS <= 1024, "flash decoding: KV_SPLITS in [1, 1024]");
  if (n_seqs <= 0) return;
  launch_check(n_seqs <= 65535, "flash_decoding_forward", "n_seqs must be <= 65535", n_seqs);
  launch_check(ld_q >= N_HEADS * HEAD_DIM, "flash_decoding_forward", "ld_q must be >= N_HEADS*HEAD_DIM", ld_q);
  launch_check(ld_out >= N_HEADS * HEAD_DIM, "flash_decoding_forward", "ld_out must be >= N_HEADS*HEAD_DIM", ld_out);
  check_aligned16(q, ld_q, "flash_decoding_forward", "q");
  check_aligned16(k_cache, N_KV_HEADS * HEAD_DIM, "flash_decoding_forward", "k_cache");
  check_aligned16(v_cache, N_KV_HEADS * HEAD_DIM, "flash_decoding_forward", "v_cache");
  launch_check(workspace != nullptr, "flash_decoding_forward", "workspace must not be null", 0);

  const float scale_log2 = scale * 1.4426950408889634f;
  const bool all_short = flash_decoding::short_sequence(max_kv_len);
  auto short_kernel = flash_decoding_split_kernel<HEAD_DIM, N_HEADS, N_KV_HEADS, KV_SPLITS, SHORT_WARPS, true>;
  constexpr size_t short_smem = flash_decoding_smem_bytes<HEAD_DIM, SHORT_WARPS>();
  allow_dynamic_smem(short_kernel, short_smem);
  launch_pdl(short_kernel, dim3(1, N_KV_HEADS, n_seqs), SHORT_WARPS * 32, short_smem, stream, out, ld_out, q, ld_q,
             k_cache, v_cache, slot_table, max_context, seq_rows, kv_lens, scale_log2, workspace, all_short);
  if (all_short) return;
  auto split_kernel = flash_decoding_split_kernel<HEAD_DIM, N_HEADS, N_KV_HEADS, KV_SPLITS, WARPS, false>;
  constexpr size_t smem = flash_decoding_smem_bytes<HEAD_DIM, WARPS>();
  allow_dynamic_smem(split_kernel, smem);
  launch_pdl(split_kernel, dim3(KV_SPLITS, N_KV_HEADS, n_seqs), WARPS * 32, smem, stream, out, ld_out, q, ld_q,
             k_cache, v_cache, slot_table, max_context, seq_rows, kv_lens, scale_log2, workspace, false);
  launch_pdl(flash_decoding_merge_kernel<HEAD_DIM, N_HEADS, KV_SPLITS>, dim3(N_HEADS, n_seqs), HEAD_DIM, 0, stream,
             out, ld_out, workspace, kv_lens);
}
