/*
Decode GEMV: the linear layers of a decode step, where the batch is a handful of rows and the
step's time is the time to stream the weights once from HBM.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= MAX_ROWS, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous; bias: (N) floatX or null;
out: (n_rows, ld_out) of OutT (floatX for activations, float for logits). fp32 accumulation.
SwiGLU (gemv_swiglu_forward, made by llc-fuse-silu-mul-linear): w is the merged gate/up weight
(2I, K), gate rows [0, I), up rows [I, 2I), and
  out[m, i] = silu_mul_element(floatX(gate[m, i]), floatX(up[m, i]))      (silu_mul.cuh), i < I
where gate / up are the GEMV sums above (with bias[i] / bias[I + i]): each block's 16 mma rows are
8 gate rows and the 8 matching up rows, so one thread holds both sums of a feature and applies the
gate in the epilogue. Bit-identical to gemv_forward (2I outputs) then silu_mul_forward, without the
silu_mul kernel or the (rows, 2I) activation's round trip.
Roped QKV (gemv_qkv_rope_forward, made by llc-fuse-rope-kv-store-linear): w is the merged QKV
weight; a block of the Q and K rows holds 8 rotation pairs of one head (rows d and d + D/2 as mma
rows g and g + 8, the SwiGLU pairing again), so one thread holds both sums of a pair, rounds them
as the plain GEMV's outputs and ropes them with rope.cuh's rope_rotate_pair into q or its pool
slot; the V blocks store their rows into the pool. Bit-identical to gemv_forward then
rope_kv_store_forward, without that kernel or the QKV activation's round trip.

Tensor cores, one mma.m16n8k16 per 16 weight rows x 16 k x 8 batch rows: the weights are the mma's
A (M = 16 output features), x its B (N = 8 batch rows, NT tiles of 8 for larger batches). A batch
of 1 wastes 7 of the 8 columns, which costs nothing: the tensor cores idle either way, and unlike a
CUDA-core dot product the instruction count does not grow with the batch (the previous GEMV did 4x
the FMAs and x conversions at batch 4 and fell to 0.58 of copy bandwidth).

Thread mapping: a block of WARPS warps owns R tiles of 16 weight rows (R = 1, or 2 for short
prefills of larger N: row_tiles()); its warps split K into units of 32 * J elements (J 16-byte
chunks per lane), warp w taking units w, w + WARPS, ... and each x chunk it loads feeds all R tiles.
WARPS is 8, or 4 or 16 for some one-tile launches by their shape (warps_for: the 8B's QKV, the
1B's down projection).
Lane (g = lane / 4, t = lane % 4) loads, per unit and j, the 16-byte chunk at k = u*32J + 32j + 8t
of weight rows n0+g and n0+g+8 (of each weight tile) and of x row g (of each batch tile): rows
are read in contiguous 64-byte pieces, 32J*2 contiguous bytes per row per unit, streamed past L1.
Fragments without shuffles: a sum over k may take the k's in any order as long as A and B agree.
mma's fragment layout gives lane (g, t) the logical k's {2t, 2t+1, 2t+8, 2t+9} of A row g / g+8 and
of B column g; we map them to the chunk's physical elements {0, 1, 2, 3} for the first mma and
{4, 5, 6, 7} for the second, for A and B alike, so each 32-bit register of a loaded chunk is
already the fragment register it has to be.
The WARPS partial 16 x 8 tiles are summed through shared memory in warp order, then bias, then one
rounding to OutT.

Batch invariance: out[m, n] is the same chain of mma instructions over the same A fragments with
row m's x in one B column, plus the same fixed-order sum over warps, whatever n_rows, NT or m's
position in the batch; an mma's output column depends only on its own B column. So a sequence
decodes to bit-identical logits alone or in a batch of any size (the runtime's batch = alone
guarantee rests on this; cuBLASLt picks different algorithms per batch size and breaks it).
Padding: weight rows past N re-read row N - 1, batch rows past n_rows re-read row n_rows - 1; both
are computed and never stored.

Latency: each warp keeps two units of weights in flight (it issues unit u + WARPS's loads before
unit u's mma): bench/gemv_variants.cu measured 0.93-0.96 of copy on the 8B gate/up and down
projections this way, against 0.61-0.80 with one unit in flight. With R = 2 each chunk's registers
are refilled with the next unit's chunk as soon as its mma are issued: as many bytes in flight
without a second set of registers.
PDL (common.cuh): each warp loads its first unit's weights (constant data) before pdl_wait(), so
the start of the weight stream overlaps the previous kernel's tail. Launches whose warps have
exactly two units a tile (WHOLE_TILE, K = 2048 at 8 warps: all of the 1B's but the down
projection) load both, so a block's whole first tile is in flight before the wait. A GEMV launched
during a latency-bound kernel then streams while the memory would idle: the o_proj during
attention, the gate/up (a quarter of its bytes) during the o_proj. 1B decode step at batch 1
0.744 -> 0.734 ms with the tile-loop launches alone, 0.742 -> 0.733 more with the plain ones (log
49, on two machines). With four units a warp, two loaded before the wait slowed the 8B's step by
5 %.
Tile loop (TILE_LOOP, decode batches): a launch of more 16-row tiles than fit the GPU at once
(the 1B's gate/up: 1024 tiles, 264 blocks of 8 warps fit an H200) runs as fewer blocks that each
take every gridDim.x-th tile, and a warp's double buffer runs on from one tile's last unit into
the next tile's first, so the weight stream does not stop while a block sums and stores a tile.
Otherwise blocks of one round trip each (K = 2048: two units a warp) come and go in waves, and a
new block's first loads go out only once an old block has left. gemv::launch_tiles chooses.
*/
#pragma once

#include <type_traits>

#include "templates/kernels/common.cuh"
#include "templates/kernels/kernel_limits.h"
#include "templates/kernels/mma.cuh"
#include "templates/kernels/rope.cuh"
#include "templates/kernels/silu_mul.cuh"

namespace gemv {
constexpr int WARPS = 8;     // warps per block, splitting K (warps_for: 4 or 16 for some shapes)
constexpr int SMALL_WARPS = 4;
constexpr int WIDE_WARPS = 16;
constexpr int TILE_N = 16;   // weight rows per block (the mma's M)
constexpr int TILE_M = 8;    // batch rows per B tile (the mma's N)

// 16-byte chunks per lane per K unit: 4 (units of 128 k) where K allows, else 2 or 1.
template <int K>
__host__ __device__ constexpr int chunks_per_lane() {
  return K % 128 == 0 ? 4 : K % 64 == 0 ? 2 : 1;
}
// 16-row weight tiles per block: 2 for short prefills (NT > 2) of weights with at least
// TWO_TILE_MIN_N rows, whose x loads (8 tiles of x per 16 weight rows) otherwise cost L2 several
// times the weight stream itself; 1 otherwise (decode batches; and N below that, where halving the
// blocks leaves SMs idle: the 1B o_proj and down at 52 rows ran at 0.18-0.26 of copy with 2 tiles,
// 0.25-0.32 with 1). Each output's sum is the same either way.
constexpr int TWO_TILE_MIN_N = 96 * 32;
inline int row_tiles(int nt, int N) { return nt > 2 && N >= TWO_TILE_MIN_N ? 2 : 1; }
// Calls launch(std::integral_constant<int, NT>) with the batch-tile count instantiated for nt
// tiles: the smallest NT >= nt among 1, 2, 4, ... MAX_NT, or (EXACT) among every count up to
// MAX_NT, so that a short prefill computes only its rows' tiles. No output's sum depends on NT.
// Measured at 52 rows (7 tiles): exact counts lift gemv_prefill_kernel (8B gate/up 0.56 -> 0.69
// of copy) but slow gemv_kernel's 7-tile code (8B down 0.47 -> 0.32), so only the former uses them.
template <int MAX_NT, bool EXACT, int NT = 1, typename Launch>
void with_batch_tiles(int nt, Launch&& launch) {
  if constexpr (NT >= MAX_NT)
    launch(std::integral_constant<int, MAX_NT>{});
  else if (nt <= NT)
    launch(std::integral_constant<int, NT>{});
  else
    with_batch_tiles<MAX_NT, EXACT, (EXACT ? NT + 1 : 2 * NT)>(nt, launch);
}

// The mma's A fragments of one 16-byte chunk of weight rows g (lo) and g + 8 (hi): physical
// elements 0..3 for the first mma, 4..7 for the second (see "Fragments without shuffles").
__device__ __forceinline__ void chunk_fragments(const x128& lo_chunk, const x128& hi_chunk, uint32_t (&first)[4],
                                                uint32_t (&second)[4]) {
  const uint32_t* lo = reinterpret_cast<const uint32_t*>(&lo_chunk);
  const uint32_t* hi = reinterpret_cast<const uint32_t*>(&hi_chunk);
  first[0] = lo[0], first[1] = hi[0], first[2] = lo[1], first[3] = hi[1];
  second[0] = lo[2], second[1] = hi[2], second[2] = lo[3], second[3] = hi[3];
}
// Where the mma's C layout keeps row i (< 16), column col (< 8) of a 16 x 8 tile.
__device__ __forceinline__ int c_lane(int i, int col) { return (i % 8) * 4 + col / 2; }
__device__ __forceinline__ int c_register(int i, int col) { return (i / 8) * 2 + col % 2; }

// The block's sum of one C element (batch tile nt, register c, lane) over the warps' partials, in
// warp order: the same sum whatever the batch.
template <int NT, int W>
__device__ __forceinline__ float warp_order_sum(const float (&partial)[W][NT][4][32], int nt, int c, int lane) {
  float total = 0.0f;
#pragma unroll
  for (int wp = 0; wp < W; ++wp) total += partial[wp][nt][c][lane];
  return total;
}

template <int J>
__device__ __forceinline__ void load_weights(x128 (&lo)[J], x128 (&hi)[J], const floatX* w_lo,
                                             const floatX* w_hi, int unit) {
#pragma unroll
  for (int j = 0; j < J; ++j) {
    lo[j] = load128cs(w_lo + (size_t)unit * 32 * J + j * 32);
    hi[j] = load128cs(w_hi + (size_t)unit * 32 * J + j * 32);
  }
}

}  // namespace gemv

template <typename T> __device__ __forceinline__ void store_out(T* p, float v) { *p = from_float<T>(v); }

// The QKV projection of a decode step with the rope and the KV store in its epilogue
// (gemv_qkv_rope_forward; HEAD_DIM 0: a plain GEMV).
template <int HEAD_DIM>
struct GemvRope {
  int q_features = 0;   // rows [0, q_features): Q heads, roped into out
  int qk_features = 0;  // rows [q_features, qk_features): K heads, roped into k_cache; the rest: V
  const int32_t* positions = nullptr;  // [n_rows]
  const int32_t* new_slots = nullptr;  // [n_rows]; a negative slot stores nothing
  floatX* k_cache = nullptr;           // [kv_slots][kv_row] of one layer
  floatX* v_cache = nullptr;
  int kv_row = 0;  // K / V elements of a pool row (KV heads x HEAD_DIM)
  RopeTable<HEAD_DIM> table;
};
template <>
struct GemvRope<0> {};

// A decode projection's fused RMSNorm and residual add (llc-fold-norm-into-gemv):
//   NORM:      x is the residual stream s itself, w holds W[n, k] * norm_w[k] (folded at load), and
//              out[m, n] = OutT(inv_rms[m] * sum_k s[m, k] w[n, k] (+ bias[n])),
//              inv_rms[m] = rsqrt(sum_k s[m, k]^2 / K + eps), summed from the x chunks the block
//              loads anyway (each block covers all of K), so no norm kernel and no operand round
//              trip; the order is fixed (lane, its 4 lanes, warps), so batch-invariant.
//   residual:  when non-null, out[m, n] = floatX(residual[m, n] + floatX(sum)): the next residual
//              stream, as add_rmsnorm's sum.
struct GemvFusion {
  const floatX* residual = nullptr;  // [n_rows, ld_out]
  float eps = 0.0f;
};

// The roped QKV projection's epilogue (see GemvRope): from the warps' partial sums, each output
// rounded to floatX as the plain GEMV's, then a Q or K pair roped exactly as rope_kv_store_kernel
// (rope_rotate_pair) into out or its pool slot, or a V output copied into its pool slot.
template <int ROPE_D, int NT, int W, typename Scale>
__device__ __forceinline__ void gemv_rope_epilogue(const float (&partial)[W][NT][4][32], floatX* out,
                                                   int ld_out, const floatX* bias, int n_rows, int N, int n0,
                                                   bool rope_block, int pair0, const GemvRope<ROPE_D>& rope,
                                                   Scale&& row_scale) {
  using namespace gemv;
  const int outs = rope_block ? TILE_N / 2 : TILE_N;  // a rope block's 16 rows are 8 pairs
  for (int e = threadIdx.x; e < NT * outs * TILE_M; e += W * 32) {
    const int nt = e / (outs * TILE_M), i = e % outs, col = (e / outs) % TILE_M;
    const int m = nt * TILE_M + col;
    if (m >= n_rows) continue;
    const float scale = row_scale(m);
    auto sum_of = [&](int row_in_tile, int n) {  // fixed warp order, the norm's scale, then the bias
      // __fmul_rn: never contracted with the bias add, so every epilogue rounds the same way
      float total = __fmul_rn(warp_order_sum(partial, nt, c_register(row_in_tile, col), c_lane(row_in_tile, col)), scale);
      if (bias != nullptr) total += to_float(bias[n]);
      return from_float<floatX>(total);
    };
    const int slot = rope.new_slots[m];
    if (rope_block) {
      const int d = pair0 + i;  // x1 = row d, x2 = row d + ROPE_D / 2 of the same head
      floatX x1 = sum_of(i, d), x2 = sum_of(i + 8, d + ROPE_D / 2);
      rope_rotate_pair(x1, x2, (float)rope.positions[m], rope.table.inv_freq[d % ROPE_D]);
      floatX* dst;
      if (d < rope.q_features) {
        dst = out + (size_t)m * ld_out + d;
      } else {
        if (slot < 0) continue;
        dst = rope.k_cache + (size_t)slot * rope.kv_row + (d - rope.q_features);
      }
      dst[0] = x1;
      dst[ROPE_D / 2] = x2;
    } else {
      const int n = n0 + i;
      if (n >= N || slot < 0) continue;
      rope.v_cache[(size_t)slot * rope.kv_row + (n - rope.qk_features)] = sum_of(i, n);
    }
  }
}

// NT: batch tiles of 8 rows (n_rows <= 8 * NT). SWIGLU: N = I features from a (2I, K) weight.
// R: 16-row weight tiles per block (row_tiles()): each x chunk a warp loads feeds R tiles.
// NORM, fusion: see GemvFusion (NORM for decode batches, NT <= 2). W: warps per block (warps_for).
// TILE_LOOP (decode tiles, R = 1): block b computes the tiles b, b + gridDim.x, ... of the launch's
// CEIL_DIV(N, OUTS), for projections of more tiles than fit the GPU at once (gemv::tile_loop_blocks);
// each warp's double buffer runs on across the block's tiles, so the next tile's first units
// stream in while the block sums and stores the current one. Without it, one tile a block.
template <int K, int NT, int R, typename OutT, bool SWIGLU, int ROPE_D = 0, bool NORM = false,
          int W = gemv::WARPS, bool TILE_LOOP = false>
__global__ void __launch_bounds__(W * 32)
    gemv_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N,
                GemvRope<ROPE_D> rope, GemvFusion fusion) {
  using namespace gemv;
  constexpr int WARPS = W;
  static_assert(!NORM || (NT <= 2 && R == 1), "gemv: the fused norm is a decode projection's");
  static_assert(!SWIGLU || std::is_same_v<OutT, floatX>, "gemv: the SwiGLU output is an activation");
  static_assert(ROPE_D == 0 || (R == 1 && !SWIGLU && std::is_same_v<OutT, floatX> && ROPE_D % TILE_N == 0),
                "gemv: the roped QKV projection is a decode projection, HEAD_DIM a multiple of 16");
  static_assert(!TILE_LOOP || (R == 1 && NT <= 2), "gemv: the tile loop is a decode projection's");
  constexpr int J = chunks_per_lane<K>();
  constexpr int UNITS = K / (32 * J);
  constexpr int OUTS = SWIGLU ? TILE_N / 2 : TILE_N;  // output features per weight tile
  // Decode batches (R = 1) double-buffer whole units; wide tiles (R > 1) would need twice the
  // registers for that, so they refill each chunk's registers with the next unit's chunk as soon
  // as its mma are issued: the same bytes in flight, one set of registers.
  constexpr bool REFILL = R > 1;
  // The tile loop alternates two buffers, so that a block's next tile need not wait at a barrier
  // until every thread has read the current tile's sums.
  constexpr int BUFFERS = TILE_LOOP ? 2 : 1;
  __shared__ float partial[BUFFERS][WARPS][NT][4][32];  // [buffer][warp][batch tile][c register][lane]
  __shared__ float sumsq[NORM ? WARPS : 1][NT][TILE_M];  // NORM: each warp's sum of x^2 per row
  float sq[NT];  // NORM: this lane's sum of x^2 (row g of each batch tile, its k's)
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) sq[nt] = 0.0f;

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const int n_tiles = CEIL_DIV(N, R * OUTS);
  int tile = blockIdx.x;
  int n0 = 0;
  // Weight rows of tile r's mma rows g and g + 8: 16 consecutive rows, or feature
  // n0 + r*OUTS + g's gate and up rows.
  // ROPE_D: a block of the Q and K rows holds 8 rotation pairs, rows d and d + ROPE_D / 2 of one
  // head (d = pair0 + g), as mma rows g and g + 8, so one thread holds both sums of a pair.
  bool rope_block = false;
  int pair0 = 0;  // the tile's first row d (head * ROPE_D + 8 * (tile's index in the head))
  const floatX* w_lo[R];
  const floatX* w_hi[R];
  // Tile tile_index's weights for this lane (its rows, at its k offset), and its rope pairing.
  auto tile_weights = [&](int tile_index, int r, const floatX*& lo, const floatX*& hi, bool& rope_pairs,
                          int& first_pair) {
    const int first_row = tile_index * R * OUTS;
    if constexpr (ROPE_D > 0) {
      rope_pairs = first_row < rope.qk_features;
      first_pair = (first_row / ROPE_D) * ROPE_D + (first_row % ROPE_D) / 2;
    }
    int row_lo = min(first_row + r * OUTS + g, N - 1);
    int row_hi = SWIGLU ? N + row_lo : min(first_row + r * OUTS + g + 8, N - 1);
    if (rope_pairs) row_lo = first_pair + g, row_hi = row_lo + ROPE_D / 2;
    lo = w + (size_t)row_lo * K + t * 8;
    hi = w + (size_t)row_hi * K + t * 8;
  };
  auto start_tile = [&](int tile_index) {
    n0 = tile_index * R * OUTS;
#pragma unroll
    for (int r = 0; r < R; ++r) tile_weights(tile_index, r, w_lo[r], w_hi[r], rope_block, pair0);
  };
  start_tile(tile);

  float acc[R][NT][4];
  auto clear_acc = [&] {
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][nt][c] = 0.0f;
  };
  clear_acc();

  x128 wl[R][J], wh[R][J];
  // WHOLE_TILE: launches whose warps have exactly two units a tile (K = 2048 at 8 warps) hold the
  // second in registers of its own, so a warp's whole share of a tile is loaded before the PDL wait.
  constexpr bool WHOLE_TILE = !REFILL && UNITS == 2 * WARPS;
  x128 second_lo[J], second_hi[J];
  if (warp < UNITS)
#pragma unroll
    for (int r = 0; r < R; ++r) load_weights<J>(wl[r], wh[r], w_lo[r], w_hi[r], warp);
  if constexpr (WHOLE_TILE) load_weights<J>(second_lo, second_hi, w_lo[0], w_hi[0], warp + WARPS);
  pdl_wait();  // x was written by the previous kernel; out may still be read by an earlier one
  pdl_launch_dependents();
  // The residual of the one output this thread will store (decode tiles: NT * OUTS * TILE_M <= the
  // block's threads), loaded now so that the epilogue does not wait a round trip for it.
  float residual_in = 0.0f;
  auto load_residual = [&] {
    if constexpr (std::is_same_v<OutT, floatX> && !SWIGLU && ROPE_D == 0 && R == 1 && NT <= 2) {
      const int e = threadIdx.x, i = e % OUTS, col = (e / OUTS) % TILE_M, m = (e / (OUTS * TILE_M)) * TILE_M + col;
      if (fusion.residual != nullptr && e < NT * OUTS * TILE_M && m < n_rows && n0 + i < N)
        residual_in = to_float(fusion.residual[(size_t)m * ld_out + n0 + i]);
    }
  };
  load_residual();

  const floatX* x_row[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) x_row[nt] = x + (size_t)min(nt * TILE_M + g, n_rows - 1) * ld_x + t * 8;

  // Row m's scale: inv_rms[m] (NORM, once a barrier has published sumsq), else 1.
  auto row_scale = [&](int m) {
    if constexpr (NORM) {
      float total = 0.0f;
#pragma unroll
      for (int wp = 0; wp < WARPS; ++wp) total += sumsq[wp][m / TILE_M][m % TILE_M];
      return rsqrtf(total / (float)K + fusion.eps);
    } else {
      return 1.0f;
    }
  };

  int buffer = 0;
  for (bool first_tile = true;; first_tile = false) {  // once, or (TILE_LOOP) per tile of the block
    // TILE_LOOP: past this tile's last unit, a warp's stream goes on with the next tile's first.
    const int next_tile = tile + gridDim.x;
    const bool next_tile_due = TILE_LOOP && next_tile < n_tiles;
    const floatX* next_lo = w_lo[0];
    const floatX* next_hi = w_hi[0];
    if constexpr (TILE_LOOP) {
      bool next_rope_pairs = false;
      int next_first_pair = 0;
      tile_weights(min(next_tile, n_tiles - 1), 0, next_lo, next_hi, next_rope_pairs, next_first_pair);
    }
    // WHOLE_TILE: one unit's x loads, mma and (NORM, first tile) squares from the registers lo, hi.
    // Its own code rather than the loop below made into a shared function: that version slowed the
    // 1B's decode step by 0.016 ms at batch 1 (log 49).
    auto whole_tile_unit = [&](int unit, x128 (&lo)[J], x128 (&hi)[J]) {
      const size_t k_unit = (size_t)unit * 32 * J;
      x128 xs[NT][J];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int j = 0; j < J; ++j) xs[nt][j] = load128(x_row[nt] + k_unit + j * 32);
#pragma unroll
      for (int j = 0; j < J; ++j) {
        uint32_t a_first[4], a_second[4];
        chunk_fragments(lo[j], hi[j], a_first, a_second);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const uint32_t* b = reinterpret_cast<const uint32_t*>(&xs[nt][j]);
          mma_16816(acc[0][nt], a_first, b[0], b[1]);
          mma_16816(acc[0][nt], a_second, b[2], b[3]);
        }
        if (NORM && first_tile) {
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 8; ++e) {
              const float f = to_float(xs[nt][j].v[e]);
              sq[nt] = fmaf(f, f, sq[nt]);
            }
        }
      }
    };
    // WHOLE_TILE: (TILE_LOOP) each unit's registers take the same unit of the block's next tile as
    // soon as its mma are issued, so both are in flight while the block sums and stores this tile.
    if constexpr (WHOLE_TILE) {
      whole_tile_unit(warp, wl[0], wh[0]);
      if (next_tile_due) load_weights<J>(wl[0], wh[0], next_lo, next_hi, warp);
      whole_tile_unit(warp + WARPS, second_lo, second_hi);
      if (next_tile_due) load_weights<J>(second_lo, second_hi, next_lo, next_hi, warp + WARPS);
    } else
#pragma unroll 1
    for (int unit = warp; unit < UNITS; unit += WARPS) {
      const bool has_next = unit + WARPS < UNITS;
      // R = 1: the next unit's weights are in flight while this unit's mma run (register double
      // buffer). One load site whatever the source: loads on two branches would merge into register
      // copies that wait for the loads, leaving one unit in flight.
      x128 next_l[J], next_h[J];
      if constexpr (!REFILL) {
        if (has_next || next_tile_due)
          load_weights<J>(next_l, next_h, has_next ? w_lo[0] : next_lo, has_next ? w_hi[0] : next_hi,
                          has_next ? unit + WARPS : warp);
      }
      const size_t k_unit = (size_t)unit * 32 * J;
      // Decode batches (NT <= 2): all of the unit's x chunks are loaded before the first mma, so
      // their latencies overlap. Short prefills (NT up to 8) load x per (chunk, tile) next to its
      // mma, keeping one x chunk live per tile instead of J.
      constexpr bool X_AHEAD = NT <= 2;
      x128 x_ahead[X_AHEAD ? NT : 1][J];
      if constexpr (X_AHEAD) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int j = 0; j < J; ++j) x_ahead[nt][j] = load128(x_row[nt] + k_unit + j * 32);
      }
#pragma unroll
      for (int j = 0; j < J; ++j) {
        uint32_t a_first[R][4], a_second[R][4];
#pragma unroll
        for (int r = 0; r < R; ++r) chunk_fragments(wl[r][j], wh[r][j], a_first[r], a_second[r]);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const x128 xv = X_AHEAD ? x_ahead[X_AHEAD ? nt : 0][j] : load128(x_row[nt] + k_unit + j * 32);
          const uint32_t* b = reinterpret_cast<const uint32_t*>(&xv);
#pragma unroll
          for (int r = 0; r < R; ++r) {
            mma_16816(acc[r][nt], a_first[r], b[0], b[1]);
            mma_16816(acc[r][nt], a_second[r], b[2], b[3]);
          }
        }
        // NORM: after the chunk's mma are issued, off their critical path; a block's tiles share
        // x, so its first tile's squares serve them all.
        if (NORM && (!TILE_LOOP || first_tile)) {
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 8; ++e) {
              const float f = to_float(x_ahead[X_AHEAD ? nt : 0][j].v[e]);
              sq[nt] = fmaf(f, f, sq[nt]);
            }
        }
        if (REFILL && has_next)
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const size_t next = (size_t)(unit + WARPS) * 32 * J + j * 32;
            wl[r][j] = load128cs(w_lo[r] + next);
            wh[r][j] = load128cs(w_hi[r] + next);
          }
      }
      if constexpr (!REFILL) {
#pragma unroll
        for (int j = 0; j < J; ++j) {
          wl[0][j] = next_l[j];
          wh[0][j] = next_h[j];
        }
      }
    }

    if (NORM && (!TILE_LOOP || first_tile)) {  // the 4 lanes of a row, then (row_scale, in warp order) the warps
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        sq[nt] += __shfl_xor_sync(0xffffffffu, sq[nt], 1);
        sq[nt] += __shfl_xor_sync(0xffffffffu, sq[nt], 2);
        if (t == 0) sumsq[warp][nt][g] = sq[nt];
      }
    }

    // One weight tile at a time through shared memory (R > 1 reuses the buffer).
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r > 0) __syncthreads();  // tile r - 1's sums have been read
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int c = 0; c < 4; ++c) partial[buffer][warp][nt][c][lane] = acc[r][nt][c];
      __syncthreads();
      if constexpr (ROPE_D > 0) {
        gemv_rope_epilogue<ROPE_D, NT>(partial[buffer], out, ld_out, bias, n_rows, N, n0, rope_block, pair0, rope,
                                       row_scale);
      } else {
        // mma row i (< 16), batch row col of tile nt: c_lane / c_register. The feature index varies
        // fastest: coalesced stores.
        for (int e = threadIdx.x; e < NT * OUTS * TILE_M; e += WARPS * 32) {
          const int nt = e / (OUTS * TILE_M), i = e % OUTS, col = (e / OUTS) % TILE_M;
          const int m = nt * TILE_M + col, n = n0 + r * OUTS + i;
          if (m >= n_rows || n >= N) continue;
          const int src_lane = c_lane(i, col);
          auto warp_sum = [&](int c) { return warp_order_sum(partial[buffer], nt, c, src_lane); };
          const float scale = row_scale(m);
          if constexpr (SWIGLU) {  // i < 8: the gate sum in register col % 2, the up sum in 2 + col % 2
            float gate = __fmul_rn(warp_sum(c_register(i, col)), scale);
            float up = __fmul_rn(warp_sum(2 + c_register(i, col)), scale);
            if (bias != nullptr) {
              gate += to_float(bias[n]);
              up += to_float(bias[N + n]);
            }
            out[(size_t)m * ld_out + n] = silu_mul_element(from_float<floatX>(gate), from_float<floatX>(up));
          } else {
            float total = __fmul_rn(warp_sum(c_register(i, col)), scale);
            if (bias != nullptr) total += to_float(bias[n]);
            if constexpr (std::is_same_v<OutT, floatX>) {
              if (fusion.residual != nullptr) {
                const float res = R == 1 && NT <= 2 ? residual_in : to_float(fusion.residual[(size_t)m * ld_out + n]);
                total = res + to_float(from_float<floatX>(total));
              }
            }
            store_out(out + (size_t)m * ld_out + n, total);
          }
        }
      }
    }
    if constexpr (!TILE_LOOP) {
      break;
    } else {
      if (!next_tile_due) break;
      tile = next_tile;
      buffer ^= 1;
      start_tile(tile);
      clear_acc();
      load_residual();
    }
  }
}

namespace gemv {
// How many blocks of KERNEL (launched with THREADS threads) fit the device at once, every SM
// full; 0 if the device cannot be asked. Asked once per kernel.
template <auto KERNEL, int THREADS>
int resident_blocks_of() {
  static const int blocks = [] {
    int device = 0, sms = 0, per_sm = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, KERNEL, THREADS, 0) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return sms * per_sm;
  }();
  return blocks;
}
// How many blocks of W warps fit the device at once, for K: measured on the plain one-tile
// kernel, so that every variant of a projection (fused or not) makes the same choice of W.
template <int K, int W>
int resident_blocks() {
  return resident_blocks_of<gemv_kernel<K, 1, 1, floatX, false, 0, false, W>, W * 32>();
}
// K units of the one-tile kernel (see "Thread mapping").
template <int K>
constexpr int units() {
  return K / (32 * chunks_per_lane<K>());
}
// Whether a decode launch of W-warp blocks loops over tiles (TILE_LOOP) once it has more tiles
// than fit the GPU at once: where a warp's share of a tile is at most two units, all in flight
// from its start, so that a block streams one round trip and leaves and the next block's loads go
// out only after it (the 1B's gate/up, K = 2048: decode step -0.026 ms). With more units a warp
// (K = 4096: four) each block already streams through its double buffer, and the 8B's decode step
// lost 0.05 / 0.14 ms (batch 1 / 4) with its gate/up looped.
template <int K, int W>
constexpr bool loops_over_tiles() {
  return W == WARPS && units<K>() <= 2 * W;
}
// The grid of a tile-loop launch of n_tiles tiles whose kernel fits `resident` blocks at once:
// n_tiles (one tile a block, the plain kernel) while they all fit; past that the fewest blocks
// that all fit at once and share the tiles evenly (within one): the 1B's gate/up, 1024 tiles of
// which 264 blocks fit, runs as 256 blocks of 4 tiles instead of four waves. No sum depends on the
// block that computes it.
inline int tile_loop_blocks(int n_tiles, int resident) {
  if (resident <= 0 || n_tiles <= resident) return n_tiles;
  return CEIL_DIV(n_tiles, CEIL_DIV(n_tiles, resident));
}
// Launches gemv_kernel<K, NT, 1, OutT, SWIGLU, ROPE_D, NORM, W> over `tiles` tiles: one block a
// tile while they all fit the GPU at once, else (where loops_over_tiles) the tile-loop
// instantiation over tile_loop_blocks' grid, from the looped kernel's own occupancy.
template <int K, int NT, typename OutT, bool SWIGLU, int ROPE_D, bool NORM, int W, typename... Args>
void launch_tiles(int tiles, cudaStream_t stream, Args... args) {
  constexpr auto plain = gemv_kernel<K, NT, 1, OutT, SWIGLU, ROPE_D, NORM, W, false>;
  if constexpr (NT <= 2 && loops_over_tiles<K, W>()) {
    constexpr auto looped = gemv_kernel<K, NT, 1, OutT, SWIGLU, ROPE_D, NORM, W, true>;
    if (tiles > resident_blocks_of<plain, W * 32>()) {
      const int blocks = tile_loop_blocks(tiles, resident_blocks_of<looped, W * 32>());
      if (blocks < tiles) return launch_pdl(looped, blocks, W * 32, 0, stream, args...);
    }
  }
  launch_pdl(plain, tiles, W * 32, 0, stream, args...);
}
// Warps per block of a one-tile launch of n_blocks blocks, by the shape and the device alone -
// never the batch, so a row's sum is the same chain of instructions at every batch size, and the
// fused and plain kernels of one projection choose alike:
// - WIDE_WARPS where every block fits the GPU at once at that width (one block an SM at K = 8192)
//   and K gives each warp at least two units: an SM then keeps twice the weight bytes in flight
//   (each warp has two units in flight). The 1B's down projection (2048 x 8192, 128 blocks):
//   decode step 0.810 -> 0.775 ms.
// - SMALL_WARPS where only that puts every block on the GPU at once: a projection too small to
//   stream at full rate through a tail wave. The 8B's QKV (6144 rows, 384 blocks; 264 fit an H200
//   at 8 warps, 660 at 4): decode step 4.000 -> 3.944 ms.
// - WARPS otherwise (4 warps on every projection lost 0.16 ms on the 8B: docs/performance.md,
//   log 38).
template <int K>
int warps_for(int n_blocks) {
  if constexpr (units<K>() >= 2 * WIDE_WARPS) {
    if (n_blocks <= resident_blocks<K, WIDE_WARPS>()) return WIDE_WARPS;
  }
  const bool small = n_blocks > resident_blocks<K, WARPS>() && n_blocks <= resident_blocks<K, SMALL_WARPS>();
  return small ? SMALL_WARPS : WARPS;
}
// Calls launch(std::integral_constant<int, W>) with W = warps_for<K>(n_blocks), instantiating
// WIDE_WARPS only for the K that can use it.
template <int K, typename Launch>
void with_warps(int n_blocks, Launch&& launch) {
  const int warps = warps_for<K>(n_blocks);
  if constexpr (units<K>() >= 2 * WIDE_WARPS) {
    if (warps == WIDE_WARPS) return launch(std::integral_constant<int, WIDE_WARPS>{});
  }
  if (warps == SMALL_WARPS) return launch(std::integral_constant<int, SMALL_WARPS>{});
  launch(std::integral_constant<int, WARPS>{});
}
}  // namespace gemv

template <int K, int NT, typename OutT, bool SWIGLU, bool NORM = false>
void gemv_launch(OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w, const floatX* bias,
                 int n_rows, int N, cudaStream_t stream, GemvFusion fusion = {}) {
  constexpr int OUTS = SWIGLU ? gemv::TILE_N / 2 : gemv::TILE_N;
  if constexpr (!NORM && NT > 2) {  // (a fused norm is a decode projection's: NT <= 2)
    if (gemv::row_tiles(NT, N) == 2) {
      launch_pdl(gemv_kernel<K, NT, 2, OutT, SWIGLU>, CEIL_DIV(N, 2 * OUTS), gemv::WARPS * 32, 0, stream, out, ld_out,
                 x, ld_x, w, bias, n_rows, N, GemvRope<0>{}, fusion);
      return;
    }
  }
  const int tiles = CEIL_DIV(N, OUTS);
  gemv::with_warps<K>(tiles, [&](auto warps) {
    gemv::launch_tiles<K, NT, OutT, SWIGLU, 0, NORM, decltype(warps)::value>(tiles, stream, out, ld_out, x, ld_x, w,
                                                                             bias, n_rows, N, GemvRope<0>{}, fusion);
  });
}

// A GEMV launcher's preconditions (this header's and gemv_prefill.cuh's): false when there is
// nothing to compute, a launch error naming `launcher` when the caller got an argument wrong.
template <int K, int MAX_ROWS>
bool gemv_arguments_ok(const char* launcher, const floatX* x, int ld_x, const floatX* w, int ld_out, int n_rows,
                       int N) {
  static_assert(K % kernel_limits::kGemvKMultiple == 0, "GEMV: K must be a multiple of 32 (4 lanes x 8 elements)");
  static_assert(MAX_ROWS >= 1 && MAX_ROWS <= kernel_limits::kGemvMaxRows, "GEMV: MAX_ROWS in [1, 64]");
  return projection_arguments_ok(launcher, x, ld_x, w, K, ld_out, n_rows, MAX_ROWS, N);
}

// The checks (errors name `launcher`) and the choice of batch-tile count shared by the entry points.
template <int K, int MAX_ROWS, typename OutT, bool SWIGLU, bool NORM = false>
void gemv_dispatch(const char* launcher, OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w,
                   const floatX* bias, int n_rows, int N, cudaStream_t stream, GemvFusion fusion = {}) {
  if (!gemv_arguments_ok<K, MAX_ROWS>(launcher, x, ld_x, w, ld_out, n_rows, N)) return;
  constexpr int MAX_NT = CEIL_DIV(MAX_ROWS, gemv::TILE_M);
  static_assert(!NORM || MAX_NT <= 2, "gemv: the fused norm is a decode projection's (at most 16 rows)");
  gemv::with_batch_tiles<MAX_NT, false>(CEIL_DIV(n_rows, gemv::TILE_M), [&](auto tiles) {
    gemv_launch<K, decltype(tiles)::value, OutT, SWIGLU, NORM>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream,
                                                               fusion);
  });
}

template <int K, int MAX_ROWS, typename OutT>
void gemv_forward(OutT* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                  int ld_x, const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/,
                  int n_rows, int N, cudaStream_t stream) {
  gemv_dispatch<K, MAX_ROWS, OutT, false>("gemv_forward", out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
}

// out = silu(x Wg^T) * (x Wu^T) with W = [Wg; Wu] (the merged gate/up projection), gated in the
// GEMV's epilogue.
template <int K, int MAX_ROWS>
void gemv_swiglu_forward(floatX* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                         int ld_x, const floatX* w /*[2 * I, K]*/, const floatX* bias /*[2 * I] or null*/,
                         int n_rows, int I, cudaStream_t stream) {
  gemv_dispatch<K, MAX_ROWS, floatX, true>("gemv_swiglu_forward", out, ld_out, x, ld_x, w, bias, n_rows, I, stream);
}

// The QKV projection of a decode step with llama.rope_kv_store in its epilogue (made by
// llc-fuse-rope-kv-store-linear): w holds q_heads then KV_HEADS heads of Q and K rows, then the
// V rows (N = (q_heads + 2 KV_HEADS) HEAD_DIM). For token m (slot = new_slots[m]):
//   q[m, :]            = rope(x W_q^T (+ b_q))        (q: rows at stride ld_q)
//   k_cache[slot, :]   = rope(x W_k^T (+ b_k)),   v_cache[slot, :] = x W_v^T (+ b_v)
// bit-identical to gemv_forward then rope_kv_store_forward (every output rounded to floatX before
// its rope, and the same rope_rotate_pair); a negative slot stores no K / V.
// gemv_qkv_rope_norm_forward: the same with the RMSNorm folded in (x is the residual stream and w
// carries the norm's weight, as gemv_norm_forward), bit-identical to gemv_norm_forward then
// rope_kv_store_forward.
template <int K, int MAX_ROWS, int HEAD_DIM, int KV_HEADS, bool NORM>
void gemv_qkv_rope_launch(const char* launcher, floatX* q, int ld_q, const floatX* x, int ld_x, const floatX* w,
                          const floatX* bias, int n_rows, int N, int q_heads, const int32_t* positions,
                          const RopeTable<HEAD_DIM>& table, floatX* k_cache, floatX* v_cache,
                          const int32_t* new_slots, float eps, cudaStream_t stream) {
  static_assert(HEAD_DIM % gemv::TILE_N == 0, "gemv_qkv_rope_forward: HEAD_DIM must be a multiple of 16");
  constexpr int MAX_NT = CEIL_DIV(MAX_ROWS, gemv::TILE_M);
  static_assert(MAX_NT <= 2, "gemv_qkv_rope_forward: a decode projection (at most 16 rows)");
  if (!gemv_arguments_ok<K, MAX_ROWS>(launcher, x, ld_x, w, ld_q, n_rows, q_heads * HEAD_DIM)) return;
  launch_check(N == (q_heads + 2 * KV_HEADS) * HEAD_DIM, launcher, "N must be (q_heads + 2 KV_HEADS) * HEAD_DIM", N);
  GemvRope<HEAD_DIM> rope;
  rope.q_features = q_heads * HEAD_DIM;
  rope.qk_features = (q_heads + KV_HEADS) * HEAD_DIM;
  rope.positions = positions, rope.new_slots = new_slots;
  rope.k_cache = k_cache, rope.v_cache = v_cache, rope.kv_row = KV_HEADS * HEAD_DIM;
  rope.table = table;
  const int tiles = CEIL_DIV(N, gemv::TILE_N);
  gemv::with_batch_tiles<MAX_NT, false>(CEIL_DIV(n_rows, gemv::TILE_M), [&](auto batch_tiles) {
    gemv::with_warps<K>(tiles, [&](auto warps) {
      constexpr int NT = decltype(batch_tiles)::value, W = decltype(warps)::value;
      gemv::launch_tiles<K, NT, floatX, false, HEAD_DIM, NORM, W>(tiles, stream, q, ld_q, x, ld_x, w, bias, n_rows, N,
                                                                  rope, GemvFusion{nullptr, eps});
    });
  });
}
template <int K, int MAX_ROWS, int HEAD_DIM, int KV_HEADS>
void gemv_qkv_rope_forward(floatX* q /*[n_rows, ld_q]*/, int ld_q, const floatX* x /*[n_rows, ld_x]*/, int ld_x,
                           const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/, int n_rows, int N,
                           int q_heads, const int32_t* positions /*[n_rows]*/, const RopeTable<HEAD_DIM>& table,
                           floatX* k_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                           floatX* v_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/, const int32_t* new_slots /*[n_rows]*/,
                           cudaStream_t stream) {
  gemv_qkv_rope_launch<K, MAX_ROWS, HEAD_DIM, KV_HEADS, false>("gemv_qkv_rope_forward", q, ld_q, x, ld_x, w, bias,
                                                               n_rows, N, q_heads, positions, table, k_cache, v_cache,
                                                               new_slots, 0.0f, stream);
}
template <int K, int MAX_ROWS, int HEAD_DIM, int KV_HEADS>
void gemv_qkv_rope_norm_forward(floatX* q /*[n_rows, ld_q]*/, int ld_q, const floatX* s /*[n_rows, ld_s]*/, int ld_s,
                                const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/, int n_rows, int N,
                                int q_heads, const int32_t* positions /*[n_rows]*/, const RopeTable<HEAD_DIM>& table,
                                floatX* k_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                                floatX* v_cache /*[kv_slots][KV_HEADS][HEAD_DIM]*/,
                                const int32_t* new_slots /*[n_rows]*/, float eps, cudaStream_t stream) {
  gemv_qkv_rope_launch<K, MAX_ROWS, HEAD_DIM, KV_HEADS, true>("gemv_qkv_rope_norm_forward", q, ld_q, s, ld_s, w, bias,
                                                              n_rows, N, q_heads, positions, table, k_cache, v_cache,
                                                              new_slots, eps, stream);
}

// The fused-norm decode projections (GemvFusion): s is the residual stream, w the projection's
// weight with the norm's weight folded in (W[n, k] * norm_w[k]); out = inv_rms * (s w^T) (+ bias).
template <int K, int MAX_ROWS>
void gemv_norm_forward(floatX* out /*[n_rows, ld_out]*/, int ld_out, const floatX* s /*[n_rows, ld_s]*/, int ld_s,
                       const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/, int n_rows, int N, float eps,
                       cudaStream_t stream) {
  gemv_dispatch<K, MAX_ROWS, floatX, false, true>("gemv_norm_forward", out, ld_out, s, ld_s, w, bias, n_rows, N, stream,
                                                  GemvFusion{nullptr, eps});
}
template <int K, int MAX_ROWS>
void gemv_swiglu_norm_forward(floatX* out /*[n_rows, ld_out]*/, int ld_out, const floatX* s /*[n_rows, ld_s]*/,
                              int ld_s, const floatX* w /*[2 * I, K]*/, const floatX* bias /*[2 * I] or null*/,
                              int n_rows, int I, float eps, cudaStream_t stream) {
  gemv_dispatch<K, MAX_ROWS, floatX, true, true>("gemv_swiglu_norm_forward", out, ld_out, s, ld_s, w, bias, n_rows, I,
                                                 stream, GemvFusion{nullptr, eps});
}
// out = floatX(residual + floatX(x w^T (+ bias))): a projection that ends a residual block.
template <int K, int MAX_ROWS>
void gemv_residual_forward(floatX* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                           int ld_x, const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/, int n_rows,
                           int N, const floatX* residual /*[n_rows, ld_out]*/, cudaStream_t stream) {
  gemv_dispatch<K, MAX_ROWS, floatX, false>("gemv_residual_forward", out, ld_out, x, ld_x, w, bias, n_rows, N, stream,
                                            GemvFusion{residual, 0.0f});
}
