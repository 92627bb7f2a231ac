/*
Short-prefill GEMV: the linear layers of a prefill step of at most MAX_ROWS (<= 64) tokens, where the
step still costs about one read of the weights but x has up to 64 rows.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= MAX_ROWS, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous; bias: (N) floatX or null;
out: (n_rows, ld_out) of OutT (floatX for activations, float for logits). fp32 accumulation.

For weights with many rows (gate/up), chosen by llc-select-linear-kernel (short_kernel =
"gemv_prefill": at least wide-prefill-rows = 120 x 128 weight rows, in steps that may have more than
16 rows); the others' short steps run gemv.cuh. gemv.cuh's block owns 16 (or 32) weight rows and
reads all of x once per block: with 52 rows of x that is 2-3x the weight bytes again from L2 (the 8B
gate/up at 52 rows: 0.35-0.44 of copy bandwidth). Here a block owns 128 weight rows (8 warps x 16)
and stages each piece of x in shared memory once for all 8 warps, so x costs half the weight bytes
(0.69 of copy). With fewer rows, 128-row blocks leave SMs idle; splitting K over clusters of blocks
to fill them measured slower than gemv.cuh (8B o_proj 27.8 vs 20.3 us, down 73.6 vs 58.2 us at 52
rows).

Thread mapping: warp w owns weight rows n0 + 16w + {g, g+8} (lane g = lane / 4, t = lane % 4) and
computes mma.m16n8k16 tiles with the weights as A and x as B (NT tiles of 8 rows), using gemv.cuh's
chunk-is-fragment mapping: lane (g, t) loads the 16-byte chunks at k = u*32J + 32j + 8t of its two
weight rows (streamed into registers, the next unit's already in flight) and reads x row g's chunk
at the same k from a shared stage. Per unit of 32J k, all threads copy the x rows' slice into one of
2 stages (cp.async), rows padded so that lanes g and g + 1 of a quarter warp read different banks. x
rows past n_rows re-read row n_rows - 1 and weight rows past N re-read row N - 1 (computed, never
stored). Each warp's 16 x 8 tiles are its outputs (no sum across warps); they go out through shared
memory for coalesced stores: bias, then one rounding to OutT.

Batch invariance: out[m, n] is one warp's mma chain over all of K in order, whatever n_rows, NT
(one instantiation per tile count, so a step computes only its rows' tiles) or m's position: a
prompt's prefill is bit-identical alone and in any batch of at most MAX_ROWS tokens. The order is
not the decode GEMV's: decode steps and prefill steps never compute the same token's sums.
PDL (common.cuh): each warp loads its first weight unit before pdl_wait().
*/
#pragma once

#include "templates/kernels/common.cuh"
#include "templates/kernels/gemv.cuh"
#include "templates/kernels/mma.cuh"

namespace gemv_prefill {
constexpr int WARPS = 8;                  // warps per block, one 16-row weight tile each
constexpr int TILE_N = 16;                // weight rows per warp (the mma's M)
constexpr int TILE_M = 8;                 // x rows per B tile (the mma's N)
constexpr int BLOCK_N = WARPS * TILE_N;   // weight rows per block

// Shared memory: during the K loop 2 x stages of (NT * 8 rows) x UNIT elements, rows padded so
// that a row is 64 bytes past a multiple of 128 (rows g and g + 1 of a quarter warp's 16-byte
// reads fall in different banks); after it, the warps' 16 x 8 output tiles.
template <int K, int NT>
struct Smem {
  static constexpr int UNIT = 32 * gemv::chunks_per_lane<K>();  // k per unit
  static constexpr int LD = (2 * UNIT) % 128 == 64 ? UNIT : UNIT + 32;  // row stride, in elements
  static constexpr int ELEMS = NT * TILE_M * LD;                       // per stage
  static constexpr size_t STAGE_BYTES = 2 * ELEMS * sizeof(floatX);
  static constexpr size_t TILE_BYTES = (size_t)WARPS * NT * 4 * 32 * sizeof(float);
  static constexpr size_t BYTES = STAGE_BYTES > TILE_BYTES ? STAGE_BYTES : TILE_BYTES;
};
}  // namespace gemv_prefill

template <int K, int NT, typename OutT>
__global__ void __launch_bounds__(gemv_prefill::WARPS * 32, 2)
    gemv_prefill_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                        const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N) {
  using namespace gemv_prefill;
  using S = Smem<K, NT>;
  constexpr int J = gemv::chunks_per_lane<K>();
  constexpr int UNITS = K / S::UNIT;
  constexpr int ROWS = NT * TILE_M;
  constexpr int THREADS = WARPS * 32;
  __shared__ __align__(16) unsigned char smem_raw[S::BYTES];
  floatX* stage = reinterpret_cast<floatX*>(smem_raw);  // [2][ROWS][LD]
  float* tiles = reinterpret_cast<float*>(smem_raw);    // [WARPS][NT][4][32], after the loop
  const int n0 = blockIdx.x * BLOCK_N;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const floatX* w_lo = w + (size_t)min(n0 + warp * TILE_N + g, N - 1) * K + t * 8;
  const floatX* w_hi = w + (size_t)min(n0 + warp * TILE_N + g + 8, N - 1) * K + t * 8;

  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) acc[nt][c] = 0.0f;

  x128 wl[J], wh[J];
  gemv::load_weights<J>(wl, wh, w_lo, w_hi, 0);
  pdl_wait();  // x was written by the previous kernel; out may still be read by an earlier one
  pdl_launch_dependents();

  // Unit u's x slice, rows [0, ROWS) x k [u*UNIT, (u+1)*UNIT), into stage buffer buf.
  auto stage_x = [&](int buf, int unit) {
    constexpr int CHUNKS = S::UNIT / 8;
    for (int idx = threadIdx.x; idx < ROWS * CHUNKS; idx += THREADS) {
      const int r = idx / CHUNKS, c = idx % CHUNKS;
      const floatX* src = x + (size_t)min(r, n_rows - 1) * ld_x + (size_t)unit * S::UNIT + c * 8;
      cp_async16(stage + buf * S::ELEMS + r * S::LD + c * 8, src, true);
    }
  };
  stage_x(0, 0);
  cp_async_commit();
#pragma unroll 1
  for (int unit = 0; unit < UNITS; ++unit) {
    const bool has_next = unit + 1 < UNITS;
    if (has_next) stage_x((unit + 1) % 2, unit + 1);
    cp_async_commit();  // possibly empty: keeps the group count uniform
    x128 next_l[J], next_h[J];
    if (has_next) gemv::load_weights<J>(next_l, next_h, w_lo, w_hi, unit + 1);
    cp_async_wait<1>();  // everything but the newest group: this unit's stage has landed
    __syncthreads();     // ... for every thread's copies
    const floatX* xs = stage + (unit % 2) * S::ELEMS + g * S::LD + t * 8;
#pragma unroll
    for (int j = 0; j < J; ++j) {
      uint32_t a_first[4], a_second[4];
      gemv::chunk_fragments(wl[j], wh[j], a_first, a_second);
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const x128 xv = *reinterpret_cast<const x128*>(xs + nt * TILE_M * S::LD + j * 32);
        const uint32_t* b = reinterpret_cast<const uint32_t*>(&xv);
        mma_16816(acc[nt], a_first, b[0], b[1]);
        mma_16816(acc[nt], a_second, b[2], b[3]);
      }
    }
#pragma unroll
    for (int j = 0; j < J; ++j) {
      wl[j] = next_l[j];
      wh[j] = next_h[j];
    }
    __syncthreads();  // every warp is done with this stage before the next iteration refills it
  }
  cp_async_wait<0>();  // (only empty groups remain; the loop's last barrier freed the stages)

#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) tiles[((warp * NT + nt) * 4 + c) * 32 + lane] = acc[nt][c];
  __syncthreads();
  // mma row i of warp wp, batch row col of tile nt: gemv::c_lane / c_register. The feature index
  // varies fastest: coalesced stores.
  for (int e = threadIdx.x; e < NT * TILE_M * BLOCK_N; e += THREADS) {
    const int nt = e / (TILE_M * BLOCK_N), col = (e / BLOCK_N) % TILE_M, feature = e % BLOCK_N;
    const int m = nt * TILE_M + col, n = n0 + feature;
    if (m >= n_rows || n >= N) continue;
    const int wp = feature / TILE_N, i = feature % TILE_N;
    float total = tiles[((wp * NT + nt) * 4 + gemv::c_register(i, col)) * 32 + gemv::c_lane(i, col)];
    if (bias != nullptr) total += to_float(bias[n]);
    store_out(out + (size_t)m * ld_out + n, total);
  }
}

template <int K, int NT, typename OutT>
void gemv_prefill_launch(OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w, const floatX* bias,
                         int n_rows, int N, cudaStream_t stream) {
  launch_pdl(gemv_prefill_kernel<K, NT, OutT>, CEIL_DIV(N, gemv_prefill::BLOCK_N), gemv_prefill::WARPS * 32, 0,
             stream, out, ld_out, x, ld_x, w, bias, n_rows, N);
}

template <int K, int MAX_ROWS, typename OutT>
void gemv_prefill_forward(OutT* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                          int ld_x, const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/,
                          int n_rows, int N, cudaStream_t stream) {
  if (!gemv_arguments_ok<K, MAX_ROWS>("gemv_prefill_forward", x, ld_x, w, ld_out, n_rows, N)) return;
  constexpr int MAX_NT = CEIL_DIV(MAX_ROWS, gemv_prefill::TILE_M);
  gemv::with_batch_tiles<MAX_NT, true>(CEIL_DIV(n_rows, gemv_prefill::TILE_M), [&](auto tiles) {
    gemv_prefill_launch<K, decltype(tiles)::value, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, stream);
  });
}
