/*
Token sampling from fp32 logits, blocks of 1024 threads, deterministic and graph-capturable (no
host sync, no allocation, no floating-point atomics).
  temperature <= 0 (or NaN): greedy argmax; ties go to the lowest index; NaN logits never win.
             The row is split over greedy_blocks<VOCAB>() blocks (up to 32, so that the scan of
             a 128K vocabulary is not one SM's latency-bound loop); each block's best (value,
             index) pair, packed into one order-preserving 64-bit key, goes to a workspace, and the
             last block to arrive (atomic counter) takes the maximum. A maximum is exact, so the
             token does not depend on the split or the arrival order.
  otherwise, with z_i = logit_i / temperature (NaN -> -inf, +inf -> FLT_MAX):
    weights  q_i = round(exp(z_i - max z) * 2^40) as 64-bit integers (a token 2^-41 times less
             likely than the best one has q = 0 and is never drawn), so every sum below is exact
             and independent of summation order;
    top-k    keep z_i >= the k-th largest z (ties at the threshold are all kept, as in HF);
    top-p    then keep the largest threshold tau whose kept mass sum(q_i : z_i >= tau) reaches
             ceil(top_p * kept mass) (always at least the best token);
    draw     u = floor(r * W / 2^128), r = Philox4x32-10(counter = step, key = seed) (128 bits),
             W = the kept mass; the token is where the running sum of kept q (in index order)
             passes u. Same (seed, step) => same token.
Thresholds are found by radix select on the order-preserving 32-bit key of z, 8 bits per pass
(4 passes each for top-k and top-p), with shared-memory histograms replicated 16 ways so that
lanes of a warp never contend for one counter.
*/
#pragma once

#include <cfloat>
#include <climits>
#include <cmath>

#include "runtime/program.h"
#include "templates/kernels/common.cuh"

namespace sampling {
constexpr int THREADS = 1024;
constexpr int BINS = 256;
constexpr int COPIES = 16;
constexpr double WEIGHT_SCALE = 1099511627776.0;  // 2^40
constexpr int MAX_GREEDY_BLOCKS = 32;
constexpr int MAX_SPLIT_ROWS = 1024;  // rows whose argmax is split; a larger batch: a block a row
}  // namespace sampling

// Blocks a greedy row is split over: about 4 logits a thread, at most MAX_GREEDY_BLOCKS.
template <int VOCAB>
constexpr int greedy_blocks() {
  constexpr int blocks = CEIL_DIV(VOCAB, sampling::THREADS * 4);
  return blocks < 1 ? 1 : blocks > sampling::MAX_GREEDY_BLOCKS ? sampling::MAX_GREEDY_BLOCKS : blocks;
}

// The split argmax's workspace (one per translation unit; kernels of one stream never overlap in
// it, and the last block of a row puts its counter back to 0). Variable templates, so that only a
// program that launches the sampler carries them.
template <typename = void>
static __device__ unsigned long long greedy_partials[sampling::MAX_SPLIT_ROWS * sampling::MAX_GREEDY_BLOCKS];
template <typename = void>
static __device__ unsigned int greedy_arrivals[sampling::MAX_SPLIT_ROWS];

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
__host__ __device__ inline void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// floor(r * W / 2^128) for the 128-bit r = (r_hi, r_lo): a uniform integer in [0, W).
__device__ __forceinline__ uint64_t scale_uniform128(uint64_t r_hi, uint64_t r_lo, uint64_t w) {
  const uint64_t a_hi = __umul64hi(r_hi, w), a_lo = r_hi * w;
  const uint64_t b_hi = __umul64hi(r_lo, w);
  const uint64_t mid = a_lo + b_hi;
  return a_hi + (mid < a_lo ? 1 : 0);
}

// z = logit / temperature, sanitised: NaN -> -inf, +inf -> FLT_MAX, -0 -> +0.
__device__ __forceinline__ float sample_z(float logit, float temperature) {
  float z = __fdiv_rn(logit, temperature);
  if (isnan(z)) z = -INFINITY;
  z = fminf(z, FLT_MAX);
  return z + 0.0f;
}
// Order-preserving map float -> uint32 (a < b  <=>  key(a) < key(b), for non-NaN a, b).
__device__ __forceinline__ uint32_t float_key(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
// (logit, index) as one 64-bit key whose maximum is the largest logit, the lowest index among
// equal ones: the order-preserving bits of the logit (-0 as +0, so that they tie) above the
// complement of the index. 0 is below every key: "no logit" (all NaN), which gives token 0.
__device__ __forceinline__ unsigned long long argmax_key(float v, int i) {
  return isnan(v) ? 0ull : ((unsigned long long)float_key(v + 0.0f) << 32) | (uint32_t)~(uint32_t)i;
}
__device__ __forceinline__ int argmax_index(unsigned long long key) { return key == 0 ? 0 : (int)~(uint32_t)key; }

// The greedy token of row `row` (see the top of the file): this block's share of the row, then,
// when the row is split, the last block's maximum over the blocks' keys.
template <int VOCAB>
__device__ void greedy_argmax(int32_t* __restrict__ out_tokens, const float* __restrict__ x, int row) {
  using namespace sampling;
  __shared__ unsigned long long s_key[THREADS / 32];
  __shared__ bool s_last;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, blocks = gridDim.x;
  const int slice = CEIL_DIV(VOCAB, blocks), begin = blockIdx.x * slice, end = min(VOCAB, begin + slice);
  unsigned long long best = 0;
#pragma unroll 4
  for (int i = begin + tid; i < end; i += THREADS) best = max(best, argmax_key(x[i], i));
  for (int off = 16; off > 0; off >>= 1) best = max(best, __shfl_xor_sync(0xffffffffu, best, off));
  if (lane == 0) s_key[warp] = best;
  __syncthreads();
  if (warp != 0) return;
  best = s_key[lane];
  for (int off = 16; off > 0; off >>= 1) best = max(best, __shfl_xor_sync(0xffffffffu, best, off));
  if (blocks == 1) {
    if (lane == 0) out_tokens[row] = argmax_index(best);
    return;
  }
  if (lane == 0) {
    greedy_partials<>[row * MAX_GREEDY_BLOCKS + blockIdx.x] = best;
    __threadfence();  // the key is visible before the arrival is counted
    s_last = atomicAdd(&greedy_arrivals<>[row], 1u) == (unsigned)blocks - 1;
  }
  __syncwarp();
  if (!s_last) return;
  __threadfence();  // every block's key, counted before this block's arrival, is visible
  const volatile unsigned long long* keys = greedy_partials<> + row * MAX_GREEDY_BLOCKS;
  unsigned long long all = lane < blocks ? keys[lane] : 0ull;
  for (int off = 16; off > 0; off >>= 1) all = max(all, __shfl_xor_sync(0xffffffffu, all, off));
  if (lane == 0) {
    out_tokens[row] = argmax_index(all);
    greedy_arrivals<>[row] = 0;  // ready for the next launch
  }
}
__device__ __forceinline__ uint64_t sample_weight(float z, float zmax) {
  const float w = expf(z - zmax);  // in [0, 1]; 0 for z = -inf
  return __double2ull_rn((double)w * sampling::WEIGHT_SCALE);
}

// Block-wide sum of a 64-bit integer; every thread gets it.
__device__ __forceinline__ uint64_t block_reduce_sum_u64(uint64_t v) {
  __shared__ uint64_t scratch[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < n_warps ? scratch[lane] : 0;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

/*
Radix select: the largest key tau with F(tau) = sum of w_i over {i : key_i >= tau, key_i >= floor_key}
reaching the target, where w_i = 1 (MASS = false; target = count) or q_i (MASS = true; target =
ceil(top_p * F(0)), clamped to [1, F(0)]). Four passes of 8 bits, most significant first.
Must be called by the whole block.
*/
template <int VOCAB, bool MASS>
__device__ uint32_t radix_select(const float* __restrict__ x, float temperature, float zmax, uint32_t floor_key,
                                 uint64_t count_target, float top_p, uint64_t* hist /*[BINS*COPIES]*/,
                                 uint64_t* tot /*[BINS]*/) {
  using namespace sampling;
  __shared__ int s_bin;
  __shared__ uint64_t s_need;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  uint32_t prefix = 0, mask = 0;
  uint64_t need = count_target;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = tid; i < BINS * COPIES; i += THREADS) hist[i] = 0;
    __syncthreads();
    const int copy = tid % COPIES;
    for (int i = tid; i < VOCAB; i += THREADS) {
      const float z = sample_z(x[i], temperature);
      const uint32_t key = float_key(z);
      if (key < floor_key || (key & mask) != prefix) continue;
      const uint64_t w = MASS ? sample_weight(z, zmax) : 1;
      if (w != 0) atomicAdd(reinterpret_cast<unsigned long long*>(&hist[((key >> shift) & 255u) * COPIES + copy]),
                            (unsigned long long)w);
    }
    __syncthreads();
    if (tid < BINS) {
      uint64_t t = 0;
      for (int c = 0; c < COPIES; ++c) t += hist[tid * COPIES + ((c + tid) % COPIES)];
      tot[tid] = t;
    }
    __syncthreads();
    if (warp == 0) {
      // lane l owns bins [8l, 8l + 8); S = sum of bins >= 8l (suffix sum over lanes)
      uint64_t own = 0;
      for (int b = 0; b < 8; ++b) own += tot[8 * lane + b];
      uint64_t suffix = own;
      for (int off = 1; off < 32; off <<= 1) {
        const uint64_t t = __shfl_down_sync(0xffffffffu, suffix, off);
        if (lane + off < 32) suffix += t;
      }
      if (MASS && shift == 24) {  // the first pass sees the whole kept mass F(0)
        const uint64_t total = __shfl_sync(0xffffffffu, suffix, 0);
        double want = ceil((double)top_p * (double)total);
        uint64_t t = want < 1.0 ? 1 : (uint64_t)want;
        need = t > total ? total : t;
      }
      const unsigned ballot = __ballot_sync(0xffffffffu, suffix >= need);
      const int owner = ballot ? 31 - __clz(ballot) : 0;  // suffix sums fall with the lane
      if (lane == owner) {
        uint64_t cum = suffix - own;  // mass in bins above this lane's
        int bin = 8 * lane;
        for (int b = 7; b >= 0; --b) {
          const uint64_t v = tot[8 * lane + b];
          if (cum + v >= need) { bin = 8 * lane + b; break; }
          cum += v;
        }
        s_bin = bin;
        s_need = need - cum;
      }
    }
    __syncthreads();
    prefix |= (uint32_t)s_bin << shift;
    mask |= 255u << shift;
    need = s_need;
    __syncthreads();  // s_bin / s_need are rewritten by the next pass
  }
  return prefix;
}

/*
Blocks (split, row): out_tokens[row] from logits[row, 0:VOCAB] (fp32) and rows[row] (see top of
file). Greedy rows: greedy_argmax over the row's gridDim.x blocks. Sampled rows: block 0 alone
(the others return); strided passes over the row (coalesced) for max and histograms; for the draw,
warp w owns the index range [w*SEG, (w+1)*SEG) so that warp totals, an exclusive scan over the 32
warps and one warp's re-scan in index order locate the token.
*/
template <int VOCAB>
__global__ void __launch_bounds__(sampling::THREADS)
sample_kernel(int32_t* __restrict__ out_tokens, const float* __restrict__ logits,
              const llc::SamplingRow* __restrict__ rows) {
  pdl_wait();  // inputs come from earlier kernels of the step (common.cuh: PDL)
  pdl_launch_dependents();
  using namespace sampling;
  __shared__ uint64_t hist[BINS * COPIES];
  __shared__ uint64_t tot[BINS];
  __shared__ uint64_t warp_mass[THREADS / 32];
  const int row = blockIdx.y, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const float* x = logits + (size_t)row * VOCAB;
  const llc::SamplingRow cfg = rows[row];

  if (!(cfg.temperature > 0.0f)) {
    greedy_argmax<VOCAB>(out_tokens, x, row);
    return;
  }
  if (blockIdx.x != 0) return;  // a sampled row is one block's

  const float temperature = cfg.temperature;
  float zmax = -INFINITY;
  for (int i = tid; i < VOCAB; i += THREADS) zmax = fmaxf(zmax, sample_z(x[i], temperature));
  zmax = block_reduce_max(zmax);
  if (zmax == -INFINITY) {  // no usable logit at all
    if (tid == 0) out_tokens[row] = 0;
    return;
  }

  uint32_t tau = 0;  // keep keys >= tau
  if (cfg.top_k > 0 && cfg.top_k < VOCAB)
    tau = radix_select<VOCAB, false>(x, temperature, zmax, 0, (uint64_t)cfg.top_k, 1.0f, hist, tot);
  if (cfg.top_p < 1.0f)
    tau = radix_select<VOCAB, true>(x, temperature, zmax, tau, 0, fmaxf(cfg.top_p, 0.0f), hist, tot);

  // Draw. Warp w owns [w*SEG, min((w+1)*SEG, VOCAB)).
  constexpr int SEG = CEIL_DIV(CEIL_DIV(VOCAB, THREADS / 32), 32) * 32;
  const int seg_begin = warp * SEG, seg_end = min(VOCAB, seg_begin + SEG);
  auto kept_weight = [&](int i) -> uint64_t {
    if (i >= seg_end) return 0;
    const float z = sample_z(x[i], temperature);
    return float_key(z) >= tau ? sample_weight(z, zmax) : 0;
  };
  uint64_t mine = 0;
  for (int i = seg_begin + lane; i < seg_end; i += 32) mine += kept_weight(i);
  for (int off = 16; off > 0; off >>= 1) mine += __shfl_xor_sync(0xffffffffu, mine, off);
  if (lane == 0) warp_mass[warp] = mine;
  __syncthreads();
  uint64_t before = 0, total = 0;
  for (int w = 0; w < THREADS / 32; ++w) {
    if (w < warp) before += warp_mass[w];
    total += warp_mass[w];
  }
  const uint32_t ctr[4] = {(uint32_t)cfg.step, (uint32_t)(cfg.step >> 32), 0u, 0u};
  const uint32_t key[2] = {(uint32_t)cfg.seed, (uint32_t)(cfg.seed >> 32)};
  uint32_t r[4];
  philox4x32_10(ctr, key, r);
  const uint64_t u = scale_uniform128(((uint64_t)r[0] << 32) | r[1], ((uint64_t)r[2] << 32) | r[3], total);
  const uint64_t my_mass = warp_mass[warp];
  if (my_mass == 0 || u < before || u >= before + my_mass) return;  // not the owner warp
  uint64_t running = before;
  for (int base = seg_begin; base < seg_end; base += 32) {
    const int i = base + lane;
    const uint64_t w = kept_weight(i);
    uint64_t incl = w;  // inclusive scan over the warp
    for (int off = 1; off < 32; off <<= 1) {
      const uint64_t t = __shfl_up_sync(0xffffffffu, incl, off);
      if (lane >= off) incl += t;
    }
    if (w != 0 && u >= running + incl - w && u < running + incl) out_tokens[row] = i;
    const uint64_t chunk_total = __shfl_sync(0xffffffffu, incl, 31);
    if (u < running + chunk_total) return;  // found (warp-uniform)
    running += chunk_total;
  }
}

template <int VOCAB>
void sample_forward(int32_t* out_tokens /*[n_rows]*/, const float* logits /*[n_rows][VOCAB]*/,
                    const llc::SamplingRow* rows /*[n_rows], device*/, int n_rows, cudaStream_t stream) {
  if (n_rows <= 0) return;
  launch_check(n_rows <= 65535, "sample_forward", "n_rows must be <= 65535", n_rows);
  const int split = n_rows <= sampling::MAX_SPLIT_ROWS ? greedy_blocks<VOCAB>() : 1;
  launch_pdl(sample_kernel<VOCAB>, dim3(split, n_rows), sampling::THREADS, 0, stream, out_tokens, logits, rows);
}
