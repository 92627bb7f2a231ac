/*
Short-prefill GEMM on Hopper warpgroup MMA (sm_90a): the linear layers of a prefill step of at most
128 tokens, where the step still costs about one read of the weights.
  out[m, n] = OutT(sum_k x[m, k] * w[n, k] (+ bias[n]))      for m < n_rows <= 128, n < N
x: (n_rows, ld_x) floatX; w: (N, K) floatX, row-major, contiguous, K % 64 == 0; bias: (N) floatX or
null; out: (n_rows, ld_out) of OutT. fp32 accumulation.

Why: with mma.sync (gemv.cuh, gemv_prefill.cuh) every weight fragment goes through registers and
is multiplied against up to 8 tiles of x fragments that each lane loads itself: at 52 rows the 8B
projections run at 0.32-0.69 of copy bandwidth (docs/performance.md). wgmma reads both operands
from shared memory, a whole warpgroup per instruction, asynchronously: the kernel only has to keep
the copies coming.

Roles: the weights are wgmma's A (M = 64 features per m64 slice, MT slices a block), x is B (N = NT
token rows: 16, 32, 64 or 128, rows past n_rows zero-filled), so D is out transposed. One warpgroup
(128 threads) a block. Each stage holds BK = 64 k of the block's BM = 64 * MT weight rows and of
the NT x rows, both 128-byte-swizzled (wgmma.cuh), filled by cp.async from all 128 threads; STAGES
stages, STAGES - 2 k tiles in flight ahead of the one being multiplied, one wgmma group in flight
while the next tile's copies are issued. The k range may be split over `splits` blocks (blockIdx.y)
so that a matrix with few 64-row tiles still fills the GPU: each split writes its fp32 partial tile
to a global workspace, and the last split of a tile to arrive (atomic counter) adds the partials in
split order, adds the bias, rounds once and stores.

Batch invariance: out[m, n] is the same chain of k16 wgmma steps over each split's k range, and the
splits are added in a fixed order, whatever n_rows, NT or m's position; `splits` depends only on
(N, K). So a prompt's prefill is bit-identical alone and in any batch of at most 128 tokens (tested
bitwise in kernel_tests). Decode steps run gemv.cuh and never compute a prefill token's sums.
PDL (common.cuh): each block issues its first weight tiles before pdl_wait().
*/
#pragma once

#include <type_traits>

#include "templates/kernels/common.cuh"
#include "templates/kernels/kernel_limits.h"
#include "templates/kernels/wgmma.cuh"

namespace prefill_wgmma {
constexpr int THREADS = 128;  // one warpgroup
constexpr int BK = kernel_limits::kWgmmaKMultiple;  // k per stage: one 128-byte swizzled row
constexpr int MAX_SPLITS = 8;
constexpr int MAX_NT = kernel_limits::kWgmmaMaxRows;  // x rows a block multiplies, at most
constexpr int SPLIT_MIN_TILES = 6;                     // k tiles a split gets, at least
constexpr size_t PARTIAL_FLOATS = size_t(64) * 32768;  // splits x tiles x NT rows x BM, at most
constexpr int MAX_COUNTERS = 2048;                     // 64-row tiles of one split matrix

template <int MT, int NT, int STAGES>
struct Smem {
  static constexpr int BM = 64 * MT;               // weight rows per block
  static constexpr int A_BYTES = BM * 128;         // per stage: BM rows x 64 k
  static constexpr int B_BYTES = NT * 128;         // per stage: NT rows x 64 k (NT % 8 == 0)
  static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
  static constexpr int OUT_LD = BM + 4;            // floats; conflict-free fragment stores
  static constexpr int OUT_BYTES = NT * OUT_LD * 4;
  static constexpr int BYTES =
      (STAGES * STAGE_BYTES > OUT_BYTES ? STAGES * STAGE_BYTES : OUT_BYTES) + 1024;  // + alignment
  static_assert(STAGE_BYTES % 1024 == 0, "stages must stay 1024-byte aligned");
};

// The k split of an (N, K) matrix: enough blocks for one wave, each split at least SPLIT_MIN_TILES
// k tiles. A function of (N, K) only, never of the step's rows: that keeps prefill batch-invariant.
inline int choose_splits(int N, int K, int block_rows, int target_blocks) {
  const int tiles = CEIL_DIV(N, block_rows), k_tiles = K / BK;
  int splits = 1;
  while (tiles * splits < target_blocks && splits < MAX_SPLITS && k_tiles / (splits + 1) >= SPLIT_MIN_TILES &&
         (size_t)(splits + 1) * tiles * MAX_NT * block_rows <= PARTIAL_FLOATS && tiles <= MAX_COUNTERS)
    ++splits;  // (the workspace bounds only matter for shapes far from a Llama's)
  return splits;
}
}  // namespace prefill_wgmma

// Split-k workspace, one per translation unit: kernels of one stream never overlap in it (the
// next kernel touches it only after its pdl_wait), and every counter is back at 0 after a kernel.
// Variable templates (one instance, <>), so that only a program that instantiates the kernel
// carries them: the 8 MB are absent from builds that never pick "wgmma" (sm_80, --no-wgmma-prefill).
template <typename = void>
static __device__ float prefill_wgmma_partials[prefill_wgmma::PARTIAL_FLOATS];
template <typename = void>
static __device__ unsigned int prefill_wgmma_counters[prefill_wgmma::MAX_COUNTERS];

template <int K, int MT, int NT, int STAGES, typename OutT>
__global__ void __launch_bounds__(prefill_wgmma::THREADS)
    prefill_wgmma_kernel(OutT* __restrict__ out, int ld_out, const floatX* __restrict__ x, int ld_x,
                         const floatX* __restrict__ w, const floatX* __restrict__ bias, int n_rows, int N,
                         int splits) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using namespace prefill_wgmma;
  using S = Smem<MT, NT, STAGES>;
  static_assert(K % BK == 0, "prefill_wgmma: K must be a multiple of 64");
  static_assert(NT == 16 || NT == 32 || NT == 64 || NT == 128, "prefill_wgmma: NT in {16, 32, 64, 128}");
  static_assert(STAGES >= 3, "prefill_wgmma: at least 3 stages");
  constexpr int AHEAD = STAGES - 2;  // k tiles in flight ahead of the one multiplied
  constexpr int K_TILES = K / BK;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  const int tid = threadIdx.x, n0 = blockIdx.x * S::BM, split = blockIdx.y;
  const int kt0 = split * K_TILES / splits, n_tiles = (split + 1) * K_TILES / splits - kt0;

  auto weights = [&](int slot) { return smem + slot * S::STAGE_BYTES; };
  auto xs = [&](int slot) { return smem + slot * S::STAGE_BYTES + S::A_BYTES; };
  // Tile i (local) of the weights / x into slot i % STAGES: 8 chunks of 16 bytes a row.
  auto load_weights = [&](int i) {
    const int k = (kt0 + i) * BK;
    unsigned char* dst = weights(i % STAGES);
#pragma unroll
    for (int r = 0; r < S::BM * 8 / THREADS; ++r) {
      const int row = r * (THREADS / 8) + tid / 8, chunk = tid % 8;
      const floatX* src = w + (size_t)min(n0 + row, N - 1) * K + k + chunk * 8;
      cp_async16(dst + sw128_offset(row, chunk), src, true);
    }
  };
  auto load_x = [&](int i) {
    const int k = (kt0 + i) * BK;
    unsigned char* dst = xs(i % STAGES);
#pragma unroll
    for (int r = 0; r < NT * 8 / THREADS; ++r) {
      const int row = r * (THREADS / 8) + tid / 8, chunk = tid % 8;
      const bool valid = row < n_rows;
      cp_async16(dst + sw128_offset(row, chunk), x + (size_t)(valid ? row : 0) * ld_x + k + chunk * 8, valid);
    }
  };

  for (int i = 0; i < AHEAD && i < n_tiles; ++i) load_weights(i);
  pdl_wait();  // x was written by the previous kernel; out and the workspace may still be in use
  pdl_launch_dependents();
  for (int i = 0; i < AHEAD; ++i) {
    if (i < n_tiles) load_x(i);
    cp_async_commit();  // group i: tile i's x (group 0 also every prologue weight tile)
  }

  float acc[MT][NT / 2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int r = 0; r < NT / 2; ++r) acc[mt][r] = 0.0f;

#pragma unroll 1
  for (int i = 0; i < n_tiles; ++i) {
    cp_async_wait<AHEAD - 1>();  // this thread's copies of tile i have landed
    fence_proxy_async();         // ... and are visible to wgmma's async proxy
    __syncthreads();             // every thread's copies; every wgmma of tile i - 2 is done
    if (i + AHEAD < n_tiles) {
      load_weights(i + AHEAD);   // into tile i - 2's slot
      load_x(i + AHEAD);
    }
    cp_async_commit();
    const uint32_t a = smem_u32(weights(i % STAGES)), b = smem_u32(xs(i % STAGES));
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk)
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        wgmma_m64k16<NT>(acc[mt], wgmma_desc_sw128(a + mt * 64 * 128 + kk * 32),
                         wgmma_desc_sw128(b + kk * 32), 1);
    wgmma_commit();
    wgmma_wait<1>();  // tile i - 1's wgmmas are done: its slot is refilled in iteration i + 1
  }
  wgmma_wait<0>();
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) wgmma_fence_registers(acc[mt]);
  cp_async_wait<0>();  // only empty groups remain
  __syncthreads();     // every warp is done with the stages: they become the output tile

  // Fragments -> tile[token][feature] (fp32), then coalesced along the features.
  float* tile = reinterpret_cast<float*>(smem);
  const int warp = tid / 32, g = (tid % 32) / 4, t = tid % 4;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int j = 0; j < NT / 8; ++j) {
      const int row = mt * 64 + warp * 16 + g, col = j * 8 + 2 * t;
      tile[col * S::OUT_LD + row] = acc[mt][4 * j];
      tile[(col + 1) * S::OUT_LD + row] = acc[mt][4 * j + 1];
      tile[col * S::OUT_LD + row + 8] = acc[mt][4 * j + 2];
      tile[(col + 1) * S::OUT_LD + row + 8] = acc[mt][4 * j + 3];
    }
  __syncthreads();
  const int rows = min(n_rows, NT), features = min(S::BM, N - n0);
  if (splits == 1) {
    for (int e = tid; e < rows * S::BM; e += THREADS) {
      const int m = e / S::BM, f = e % S::BM;
      if (f >= features) continue;
      float total = tile[m * S::OUT_LD + f];
      if (bias != nullptr) total += to_float(bias[n0 + f]);
      out[(size_t)m * ld_out + n0 + f] = from_float<OutT>(total);
    }
    return;
  }
  // Split k: publish this split's partial tile (contiguous per block: [split][tile][row][BM]); the
  // last split of the tile to arrive adds them up in split order, 16 bytes at a time, every
  // split's load of an element issued before the sums (a latency-bound tail otherwise).
  constexpr int VEC_ROW = S::BM / 4;  // float4 per row
  const size_t tile_floats = (size_t)NT * S::BM;
  auto partial_of = [&](int s) {
    return reinterpret_cast<float4*>(prefill_wgmma_partials<> + ((size_t)s * gridDim.x + blockIdx.x) * tile_floats);
  };
  float4* mine = partial_of(split);
  for (int v = tid; v < rows * VEC_ROW; v += THREADS)
    mine[v] = *reinterpret_cast<const float4*>(tile + (v / VEC_ROW) * S::OUT_LD + (v % VEC_ROW) * 4);
  __threadfence();
  __syncthreads();
  __shared__ bool last;
  if (tid == 0) last = atomicAdd(&prefill_wgmma_counters<>[blockIdx.x], 1u) == (unsigned)splits - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  for (int v = tid; v < rows * VEC_ROW; v += THREADS) {
    const int m = v / VEC_ROW, f = (v % VEC_ROW) * 4;
    float4 parts[MAX_SPLITS];
#pragma unroll
    for (int s = 0; s < MAX_SPLITS; ++s)
      if (s < splits)
        parts[s] = s == split ? *reinterpret_cast<const float4*>(tile + m * S::OUT_LD + f) : __ldcg(partial_of(s) + v);
    float total[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int s = 0; s < MAX_SPLITS; ++s)
      if (s < splits) {
        total[0] += parts[s].x;
        total[1] += parts[s].y;
        total[2] += parts[s].z;
        total[3] += parts[s].w;
      }
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      if (f + c >= features) continue;
      float value = total[c];
      if (bias != nullptr) value += to_float(bias[n0 + f + c]);
      out[(size_t)m * ld_out + n0 + f + c] = from_float<OutT>(value);
    }
  }
  if (tid == 0) prefill_wgmma_counters<>[blockIdx.x] = 0;
#else
  __trap();  // built without sm_90a: llc-select-linear-kernel picks wgmma only for sm_90a builds
#endif
}

template <int K, int MT, int NT, int STAGES, typename OutT>
void prefill_wgmma_launch(OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w, const floatX* bias,
                          int n_rows, int N, int splits, cudaStream_t stream) {
  using S = prefill_wgmma::Smem<MT, NT, STAGES>;
  auto kernel = prefill_wgmma_kernel<K, MT, NT, STAGES, OutT>;
  static bool configured = false;  // per instantiation; before the first launch (not a stream op)
  if (!configured) {
    cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::BYTES));
    configured = true;
  }
  launch_pdl(kernel, dim3(CEIL_DIV(N, S::BM), splits), prefill_wgmma::THREADS, S::BYTES, stream, out, ld_out,
             x, ld_x, w, bias, n_rows, N, splits);
}

// The tile shape of the generated programs: one m64 slice, 6 stages up to 64 rows (2 blocks an SM),
// 4 at 128 (x doubles a stage; still 2 blocks an SM), k split until the grid has a block per SM.
// bench/prefill_wgmma_variants.cu measured the others (docs/performance.md, log 31).
namespace prefill_wgmma {
constexpr int MT_DEFAULT = 1, TARGET_BLOCKS = 132;
constexpr int stages_for(int nt) { return nt <= 64 ? 6 : 4; }
}

template <int K, int MAX_ROWS, typename OutT>
void prefill_wgmma_forward(OutT* out /*[n_rows, ld_out]*/, int ld_out, const floatX* x /*[n_rows, ld_x]*/,
                           int ld_x, const floatX* w /*[N, K]*/, const floatX* bias /*[N] or null*/, int n_rows,
                           int N, cudaStream_t stream) {
  using namespace prefill_wgmma;
  static_assert(K % BK == 0, "prefill_wgmma_forward: K must be a multiple of 64");
  static_assert(MAX_ROWS >= 1 && MAX_ROWS <= MAX_NT, "prefill_wgmma_forward: MAX_ROWS in [1, 128]");
  if (!projection_arguments_ok("prefill_wgmma_forward", x, ld_x, w, K, ld_out, n_rows, MAX_ROWS, N)) return;
  const int splits = choose_splits(N, K, 64 * MT_DEFAULT, TARGET_BLOCKS);
  // The narrowest B that holds the rows (instantiated only up to MAX_ROWS).
  auto launch = [&](auto nt) {
    constexpr int NT = decltype(nt)::value;
    prefill_wgmma_launch<K, MT_DEFAULT, NT, stages_for(NT)>(out, ld_out, x, ld_x, w, bias, n_rows, N, splits,
                                                           stream);
  };
  using N16 = std::integral_constant<int, 16>;
  if (n_rows <= 16) launch(N16{});
  else if (n_rows <= 32) launch(std::integral_constant<int, (MAX_ROWS > 16 ? 32 : 16)>{});
  else if (n_rows <= 64) launch(std::integral_constant<int, (MAX_ROWS > 32 ? 64 : 16)>{});
  else launch(std::integral_constant<int, (MAX_ROWS > 64 ? 128 : 16)>{});
}
