// persistent_decode_proto.cu - measures the persistent decode design of docs/performance.md ("What
// would close the gap", (c)) before any of it goes into the compiler (log 35). The decode step's
// weight-carrying work, L layers of
//   x = rmsnorm(h) w_in;  qkv = x Wqkv^T;  h += qkv[:, :H] Wo^T;          (attention left out: o_proj
//   x = rmsnorm(h) w_post; act = silu(x Wg^T) * (x Wu^T);  h += act Wd^T   reads the q columns)
// runs two ways on the same weights, in the same process:
//   graph:      the shipped kernels (gemv.cuh, rmsnorm.cuh), 6 launches a layer with PDL, captured
//               in a CUDA graph (the generated program's decode step without attention);
//   persistent: one cooperative launch for all layers, a block per SM. Its producer warp streams
//               the block's weight tiles (16 rows x 512 k a stage) of every phase of every layer
//               through a ring of shared-memory stages with cp.async.bulk, never waiting for
//               activations; 8 consumer warps (two groups of 4 taking alternate stages) do the
//               mma.sync tiles with gemv.cuh's fragment mapping, the norms (each block from the
//               whole h, with the residual add deferred to that point) and the epilogues (the
//               last warp to deliver a tile's partial sums reduces them); a grid barrier
//               separates the phases. Tiles are dealt round-robin or taken from a counter.
// Printed, per shape and batch (1, 4): both times as fractions of copy bandwidth; the persistent
// kernel without its consumers' work (the ring's raw rate), without grid barriers, with the stage
// loop only; where thread 0's cycles go (clock64); and with 2 extra phases a layer that only wait
// 0, 2 or 4 us (attention's round trips, emulated), to see how much latency the ring hides.
// Checks printed with the times: the final h against the graph path (largest difference over
// rms(h): the norms' sums of squares are added in another order, and 16-32 random layers amplify
// it) and batch invariance (row 0 of a 4-row step bit-identical to a 1-row step).
// Build (cp.async.bulk needs sm_90): nvcc -arch=sm_90a -O3 -std=c++17 -I. bench/persistent_decode_proto.cu -o pdp
#include <vector>

#include "templates/kernels/convert.cuh"
#include "templates/kernels/gemv.cuh"
#include "templates/kernels/rmsnorm.cuh"
#include "test/gpu/test_common.h"

namespace persist {
constexpr int CONSUMER_WARPS = 8;
constexpr int CONSUMERS = CONSUMER_WARPS * 32;
constexpr int THREADS = CONSUMERS + 32;  // + the producer warp
constexpr int SK = 512;                  // k per stage
constexpr int GROUP_WARPS = 4;           // consumer warps per stage: warps 0-3 take the even stages,
                                         // 4-7 the odd ones, each warp 128 k of its stage
constexpr int ROW_BYTES = SK * 2 + 64;   // a stage row, padded so that 8 lanes' 16-byte reads hit 32 banks
constexpr int STAGE_BYTES = 16 * ROW_BYTES;
constexpr int MAX_ROWS = 4;  // batch rows (x lives in shared memory)
constexpr int MAX_STAGES = 16;
enum Kind { QKV = 0, O_RESID = 1, GATE_UP = 2, DOWN_RESID = 3 };

struct LayerWeights {
  const floatX* wqkv;  // [NQKV][H]
  const floatX* wo;    // [H][H]
  const floatX* wgu;   // [2I][H]
  const floatX* wd;    // [H][I]
  const floatX* norm_in;
  const floatX* norm_post;
};

struct Params {
  const LayerWeights* layers;
  int n_layers, H, I, NQKV;
  int n_rows;
  floatX* hbuf[2];  // [n_rows][H] the residual stream: input in hbuf[0], output in hbuf[0] (2L adds)
  floatX* tmp;      // [n_rows][H] o_proj / down outputs, added to the stream by the next phase
  floatX* qkv;  // [n_rows][NQKV]
  floatX* act;  // [n_rows][I]
  float eps;
  unsigned* barrier;  // grid barrier counter, zeroed before the first launch
  unsigned epoch;     // launches before this one (the counter keeps counting)
  int attn_phases;    // extra phases between QKV and o_proj that only wait
  long long attn_ns;
  int stages;
  int x_ld;  // elements per x row in shared memory
  int x_rows;  // x rows shared memory holds (>= n_rows)
  int mode;    // 0: the step; 1: without grid barriers (wrong results: the stream alone);
               // 2: consumers only release the stages (the ring's raw rate);
               // 3: consumers run the stage loop only (no x loads, epilogues or barriers)
  int* tile_counters;  // [n_layers][4] zeroed before the launch: dynamic tile assignment
  int dynamic;         // 1: blocks take a phase's tiles from its counter; 0: round-robin
  long long* prof;  // null, or [gridDim.x][5] clock64 cycles of thread 0: x loads, data waits,
                    // epilogues, grid barriers, total
};

__device__ __forceinline__ void named_sync() { asm volatile("bar.sync 1, %0;" ::"n"(CONSUMERS) : "memory"); }

__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(bar)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(bar)) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n\t.reg .pred P1;\n\tWAIT_%=:\n\t"
      "mbarrier.try_wait.parity.shared::cta.b64 P1, [%0], %1;\n\t"
      "@!P1 bra WAIT_%=;\n\t}\n" ::"r"(smem_u32(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void bulk_load(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(smem_u32(dst)),
      "l"(src), "r"(bytes), "r"(smem_u32(bar))
      : "memory");
}

// Tiles of a phase: 16 weight rows each (GATE_UP: 8 gate rows and their 8 up rows).
__device__ __forceinline__ int phase_tiles(const Params& p, int kind) {
  return kind == QKV ? p.NQKV / 16 : kind == GATE_UP ? p.I / 8 : p.H / 16;
}
__device__ __forceinline__ int phase_k(const Params& p, int kind) { return kind == DOWN_RESID ? p.I : p.H; }
__device__ __forceinline__ const floatX* phase_w(const LayerWeights& lw, int kind) {
  return kind == QKV ? lw.wqkv : kind == O_RESID ? lw.wo : kind == GATE_UP ? lw.wgu : lw.wd;
}
// Tiles are dealt to blocks round-robin over the whole step (counter running across phases and
// layers), so every block streams the same number of bytes to within a tile.
__device__ __forceinline__ int first_tile(int counter_base) {
  const int G = gridDim.x;
  return ((int)blockIdx.x - counter_base % G + G) % G;
}

__device__ __forceinline__ void grid_sync(const Params& p, unsigned& count) {
  if (p.mode != 0) return;
  named_sync();
  ++count;
  if (threadIdx.x == 0) {
    __threadfence();
    unsigned* ctr = p.barrier;
    asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(ctr) : "memory");
    const unsigned target = count * gridDim.x;  // count includes the barriers of earlier launches
    unsigned v;
    do {
      asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(ctr) : "memory");
    } while ((int)(v - target) < 0);
  }
  named_sync();
}

// x rows into shared memory (a projection's input made by the phase before).
__device__ __forceinline__ void copy_x(floatX* xs, int x_ld, const floatX* src, int ld, int K, int n_rows) {
  const int chunks = K / 8;
  for (int i = threadIdx.x; i < n_rows * chunks; i += CONSUMERS) {
    const int m = i / chunks, c = i % chunks;
    cp_async16(xs + m * x_ld + c * 8, src + (size_t)m * ld + c * 8, true);
  }
  cp_async_commit();
  cp_async_wait<0>();
  named_sync();
}

// x = rmsnorm(s) * norm_w into shared memory, with rmsnorm.cuh's rounding, where s = floatX(h +
// add) when add is given (the residual add deferred from the projection that made `add`; the block
// then also writes its share of s, chunks i with i % gridDim.x == blockIdx.x, to s_out, the
// residual stream's other buffer), else s = h. h and add go to shared memory with cp.async (add
// next to h in the row, which has room for I >= 2H elements), all copies in flight at once; each
// thread then works on the chunks it copied itself. A thread's chunks of a row, hence each row's
// sum of squares, do not depend on the batch while H / 8 is a multiple of CONSUMERS (both shapes).
__device__ __forceinline__ void norm_x(floatX* xs, int x_ld, const floatX* h, int H, int n_rows,
                                       const floatX* norm_w, const floatX* add, floatX* s_out, float eps,
                                       float* scratch /*[8][MAX_ROWS]*/) {
  const int tid = threadIdx.x, chunks = H / 8, items = n_rows * chunks;
  for (int i = tid; i < items; i += CONSUMERS) {
    const int m = i / chunks, c = i % chunks;
    cp_async16(xs + m * x_ld + c * 8, h + (size_t)m * H + c * 8, true);
    if (add != nullptr) cp_async16(xs + m * x_ld + H + c * 8, add + (size_t)m * H + c * 8, true);
  }
  cp_async_commit();
  cp_async_wait<0>();
  float ss[MAX_ROWS] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = tid; i < items; i += CONSUMERS) {
    const int m = i / chunks, c = i % chunks;
    floatX* row = xs + m * x_ld;
    x128 v = load128(row + c * 8);
    if (add != nullptr) {
      const x128 a = load128(row + H + c * 8);
#pragma unroll
      for (int e = 0; e < 8; ++e) v.v[e] = from_float<floatX>(to_float(a.v[e]) + to_float(v.v[e]));
      store128(row + c * 8, v);
      if (i % gridDim.x == blockIdx.x) store128(s_out + (size_t)m * H + c * 8, v);
    }
    float part = 0.0f;
#pragma unroll
    for (int e = 0; e < 8; ++e) part += to_float(v.v[e]) * to_float(v.v[e]);
#pragma unroll
    for (int r = 0; r < MAX_ROWS; ++r)
      if (r == m) ss[r] += part;
  }
  const int lane = tid % 32, warp = tid / 32;
#pragma unroll
  for (int m = 0; m < MAX_ROWS; ++m) {
    const float sum = warp_reduce_sum(ss[m]);
    if (lane == 0) scratch[warp * MAX_ROWS + m] = sum;
  }
  named_sync();
  float inv_rms[MAX_ROWS];
#pragma unroll
  for (int m = 0; m < MAX_ROWS; ++m) {
    float total = 0.0f;
#pragma unroll
    for (int wp = 0; wp < CONSUMER_WARPS; ++wp) total += scratch[wp * MAX_ROWS + m];
    inv_rms[m] = rsqrtf(total / (float)H + eps);
  }
  for (int i = tid; i < items; i += CONSUMERS) {
    const int m = i / chunks, c = i % chunks;
    float inv = inv_rms[0];
#pragma unroll
    for (int r = 1; r < MAX_ROWS; ++r)
      if (r == m) inv = inv_rms[r];
    const x128 v = load128(xs + m * x_ld + c * 8), wv = load128(norm_w + c * 8);
    x128 o;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float y = to_float(from_float<floatX>(to_float(v.v[e]) * inv));
      o.v[e] = from_float<floatX>(to_float(wv.v[e]) * y);
    }
    store128(xs + m * x_ld + c * 8, o);
  }
  named_sync();  // xs complete; scratch free again
}

// A tile's 8 partial sums go to one of RED_SLOTS slots; the last warp to deliver reduces them (in
// warp order) and stores the outputs while the others go on to the next tile. A warp waits for
// its slot's previous tile to have been reduced before it writes.
constexpr int RED_SLOTS = 4;

__global__ void __launch_bounds__(THREADS, 1) persistent_kernel(Params p) {
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char* ring = smem;
  floatX* xs = reinterpret_cast<floatX*>(smem + (size_t)p.stages * STAGE_BYTES);
  float* red = reinterpret_cast<float*>(xs + p.x_rows * p.x_ld);  // [RED_SLOTS][WARPS][4][32]
  float* scratch = red + RED_SLOTS * CONSUMER_WARPS * 4 * 32;      // [WARPS][MAX_ROWS]
  uint64_t* full = reinterpret_cast<uint64_t*>(scratch + CONSUMER_WARPS * MAX_ROWS);
  uint64_t* empty = full + MAX_STAGES;
  int* arrivals = reinterpret_cast<int*>(empty + MAX_STAGES);
  int* next_tile = arrivals + RED_SLOTS;
  volatile int* stage_tile = next_tile + RED_SLOTS;  // [MAX_STAGES]: the tile a stage holds, -1: phase end

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, G = gridDim.x;
  if (threadIdx.x == 0) {
    for (int s = 0; s < p.stages; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], GROUP_WARPS);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    for (int r = 0; r < RED_SLOTS; ++r) arrivals[r] = 0, next_tile[r] = r;
  }
  __syncthreads();
  const int tiles_per_layer = phase_tiles(p, QKV) + phase_tiles(p, O_RESID) + phase_tiles(p, GATE_UP) +
                              phase_tiles(p, DOWN_RESID);

  if (warp == CONSUMER_WARPS) {
    // Producer: walk the block's tiles of every phase of every layer; only a full ring stops it.
    // Lane 0 waits for a free stage and arms its barrier; lanes 0-15 then issue one row's copy each
    // (measured the same as lane 0 issuing all 16).
    int s = 0;
    uint32_t phase = 0;
    for (int l = 0; l < p.n_layers; ++l) {
      const LayerWeights lw = p.layers[l];
      int base = l * tiles_per_layer;
      for (int kind = 0; kind < 4; ++kind) {
        const int tiles = phase_tiles(p, kind), K = phase_k(p, kind);
        const floatX* w = phase_w(lw, kind);
        // Tiles in turn: from the phase's counter (dynamic: a block whose stream runs slow takes
        // fewer), or round-robin. Then two slots without data mark the phase's end, one for each
        // warp group. The next tile's number is asked for before this tile's copies go out, so the
        // atomic's round trip overlaps them.
        int* counter = p.tile_counters + l * 4 + kind;
        const int n_ks = K / SK;
        int tt = 0;
        if (lane == 0) tt = p.dynamic ? atomicAdd(counter, 1) : first_tile(base);
        tt = __shfl_sync(0xffffffffu, tt, 0);
        while (tt < tiles) {
          int next = 0;  // lane 0's atomic is read after this tile's copies are out
          if (lane == 0) next = p.dynamic ? atomicAdd(counter, 1) : tt + G;
          const int row = lane < 16 ? (kind == GATE_UP ? (lane < 8 ? tt * 8 + lane : p.I + tt * 8 + lane - 8)
                                                       : tt * 16 + lane)
                                    : 0;
          const floatX* src = w + (size_t)row * K;
          for (int ks = 0; ks < n_ks; ++ks) {
            if (lane == 0) {
              mbar_wait(&empty[s], phase ^ 1);
              stage_tile[s] = tt;
              mbar_expect_tx(&full[s], 16 * SK * 2);
            }
            __syncwarp();
            if (lane < 16)
              bulk_load(ring + (size_t)s * STAGE_BYTES + lane * ROW_BYTES, src + (size_t)ks * SK, SK * 2, &full[s]);
            if (++s == p.stages) s = 0, phase ^= 1;
          }
          tt = __shfl_sync(0xffffffffu, next, 0);
        }
        for (int e = 0; e < 2; ++e) {
          if (lane == 0) {
            mbar_wait(&empty[s], phase ^ 1);
            stage_tile[s] = -1;
            mbar_arrive(&full[s]);
          }
          if (++s == p.stages) s = 0, phase ^= 1;
        }
        base += tiles;
      }
    }
    return;
  }

  // Consumers.
  const int g = lane / 4, t = lane % 4;
  const int x_row = min(g, p.n_rows - 1);
  uint32_t tile_count = 0;
  const int group = warp / GROUP_WARPS;  // takes the stages of this parity (every tile has an even count)
  int rs = group;                        // the ring stage this warp reads next, and its phase parity
  uint32_t rphase = 0;
  int cur = 0;  // hbuf[cur] is the residual stream
  const bool prof = p.prof != nullptr && threadIdx.x == 0;
  long long prof_acc[4] = {0, 0, 0, 0};
  const long long t_start = clock64();
  unsigned barriers = p.epoch;  // grid_sync counts on from here (barriers of earlier launches)
  for (int l = 0; l < p.n_layers; ++l) {
    const LayerWeights lw = p.layers[l];
    int base = l * tiles_per_layer;
    for (int kind = 0; kind < 4; ++kind) {
      const int tiles = phase_tiles(p, kind), K = phase_k(p, kind);
      if (p.mode == 2) {  // the raw ring: release every stage as it lands, up to the phase's end mark
        for (;;) {
          mbar_wait(&full[rs], rphase);
          const int tt = stage_tile[rs];
          __syncwarp();
          if (lane == 0) mbar_arrive(&empty[rs]);
          if ((rs += 2) >= p.stages) rs -= p.stages, rphase ^= 1;
          if (tt < 0) break;
        }
        continue;
      }
      // The residual stream: h[0] holds the input; each deferred residual add reads h[cur] and
      // tmp (the last o_proj / down output) and writes h[cur ^ 1].
      long long t_begin = clock64();
      if (p.mode != 3 && (kind == QKV || kind == GATE_UP)) {
        const bool add = l > 0 || kind == GATE_UP;
        norm_x(xs, p.x_ld, cur ? p.hbuf[1] : p.hbuf[0], p.H, p.n_rows, kind == QKV ? lw.norm_in : lw.norm_post,
               add ? p.tmp : nullptr, cur ? p.hbuf[0] : p.hbuf[1], p.eps, scratch);
        if (add) cur ^= 1;
      }
      if (p.mode != 3 && kind == O_RESID) copy_x(xs, p.x_ld, p.qkv, p.NQKV, p.H, p.n_rows);
      if (p.mode != 3 && kind == DOWN_RESID) copy_x(xs, p.x_ld, p.act, p.I, p.I, p.n_rows);
      if (prof) prof_acc[0] += clock64() - t_begin;
      const floatX* xrow = xs + x_row * p.x_ld + (warp % GROUP_WARPS) * 128 + t * 8;
      const int a_off = ((warp % GROUP_WARPS) * 128 + t * 8) * 2;
      for (;; ++tile_count) {
        const long long t_wait0 = prof ? clock64() : 0;
        mbar_wait(&full[rs], rphase);  // the tile's first stage for this group
        if (prof) prof_acc[1] += clock64() - t_wait0;
        const int tt = stage_tile[rs];
        if (tt < 0) {  // the phase's end mark
          __syncwarp();
          if (lane == 0) mbar_arrive(&empty[rs]);
          if ((rs += 2) >= p.stages) rs -= p.stages, rphase ^= 1;
          break;
        }
        float acc0[4] = {0.0f, 0.0f, 0.0f, 0.0f}, acc1[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int ks = group;;) {
          const floatX* xk = xrow + ks * SK;
          x128 b[4];
#pragma unroll
          for (int j = 0; j < 4; ++j) b[j] = load128(xk + 32 * j);
          const unsigned char* st = ring + (size_t)rs * STAGE_BYTES + a_off;
          x128 lo[4], hi[4];
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            lo[j] = *reinterpret_cast<const x128*>(st + g * ROW_BYTES + 64 * j);
            hi[j] = *reinterpret_cast<const x128*>(st + (g + 8) * ROW_BYTES + 64 * j);
          }
          __syncwarp();
          if (lane == 0) mbar_arrive(&empty[rs]);
          if ((rs += 2) >= p.stages) rs -= p.stages, rphase ^= 1;
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            uint32_t f[4], sc[4];
            gemv::chunk_fragments(lo[j], hi[j], f, sc);
            const uint32_t* bb = reinterpret_cast<const uint32_t*>(&b[j]);
            mma_16816(j % 2 ? acc1 : acc0, f, bb[0], bb[1]);
            mma_16816(j % 2 ? acc1 : acc0, sc, bb[2], bb[3]);
          }
          if ((ks += 2) >= K / SK) break;
          const long long t_wait = prof ? clock64() : 0;
          mbar_wait(&full[rs], rphase);
          if (prof) prof_acc[1] += clock64() - t_wait;
        }
        if (p.mode == 3) continue;
        const long long t_epi = prof ? clock64() : 0;
        const int slot = tile_count % RED_SLOTS;
        volatile int* next = next_tile + slot;
        while (*next != (int)tile_count) {
        }
        float* part = red + slot * CONSUMER_WARPS * 4 * 32;
#pragma unroll
        for (int c = 0; c < 4; ++c) part[(warp * 4 + c) * 32 + lane] = acc0[c] + acc1[c];
        __syncwarp();
        int arrived = 0;
        if (lane == 0) {
          __threadfence_block();
          arrived = atomicAdd(arrivals + slot, 1);
        }
        arrived = __shfl_sync(0xffffffffu, arrived, 0);
        if (arrived != CONSUMER_WARPS - 1) {
          if (prof) prof_acc[2] += clock64() - t_epi;
          continue;
        }
        __threadfence_block();
        const int outs = kind == GATE_UP ? 8 : 16;
        for (int e = lane; e < outs * gemv::TILE_M; e += 32) {
          const int i = e % outs, col = e / outs;
          if (col >= p.n_rows) continue;
          auto warp_sum = [&](int c) {
            float total = 0.0f;
#pragma unroll
            for (int wp = 0; wp < CONSUMER_WARPS; ++wp) total += part[(wp * 4 + c) * 32 + gemv::c_lane(i, col)];
            return total;
          };
          const int reg = gemv::c_register(i, col);
          if (kind == GATE_UP)
            p.act[(size_t)col * p.I + tt * 8 + i] =
                silu_mul_element(from_float<floatX>(warp_sum(reg)), from_float<floatX>(warp_sum(2 + reg)));
          else if (kind == QKV)
            p.qkv[(size_t)col * p.NQKV + tt * 16 + i] = from_float<floatX>(warp_sum(reg));
          else
            p.tmp[(size_t)col * p.H + tt * 16 + i] = from_float<floatX>(warp_sum(reg));
        }
        __syncwarp();
        if (lane == 0) {
          arrivals[slot] = 0;
          __threadfence_block();
          *next = tile_count + RED_SLOTS;
        }
        if (prof) prof_acc[2] += clock64() - t_epi;
      }
      base += tiles;
      const long long t_sync = prof ? clock64() : 0;
      grid_sync(p, barriers);
      if (prof) prof_acc[3] += clock64() - t_sync;
      if (kind == QKV)
        for (int a = 0; a < p.attn_phases; ++a) {  // attention's round trips, emulated
          if (threadIdx.x == 0 && p.attn_ns > 0) {
            long long t0, t1;
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
            do asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t1));
            while (t1 - t0 < p.attn_ns);
          }
          grid_sync(p, barriers);
        }
    }
  }
  if (prof) {
    for (int i = 0; i < 4; ++i) p.prof[blockIdx.x * 5 + i] = prof_acc[i];
    p.prof[blockIdx.x * 5 + 4] = clock64() - t_start;
  }
  // The last deferred residual add: each block writes its share of h[cur] + tmp into h[cur ^ 1].
  if (p.mode < 2) {
    const int chunks = p.H / 8;
    for (int i = threadIdx.x; i < p.n_rows * chunks; i += CONSUMERS) {
      if (i % G != (int)blockIdx.x) continue;
      const size_t off = (size_t)(i / chunks) * p.H + (i % chunks) * 8;
      x128 v = load128((cur ? p.hbuf[1] : p.hbuf[0]) + off);
      const x128 a = load128(p.tmp + off);
#pragma unroll
      for (int e = 0; e < 8; ++e) v.v[e] = from_float<floatX>(to_float(a.v[e]) + to_float(v.v[e]));
      store128((cur ? p.hbuf[0] : p.hbuf[1]) + off, v);
    }
  }
}

size_t smem_bytes(int stages, int x_ld, int x_rows) {
  return (size_t)stages * STAGE_BYTES + (size_t)x_rows * x_ld * 2 + RED_SLOTS * CONSUMER_WARPS * 4 * 32 * 4 +
         CONSUMER_WARPS * MAX_ROWS * 4 + 2 * MAX_STAGES * 8 + 2 * RED_SLOTS * 4 + MAX_STAGES * 4;
}
}  // namespace persist

namespace {

struct Shape {  // H and I are run_shape's template parameters
  const char* name;
  int NQKV, layers;
};

template <int H, int I>
void run_shape(const Shape& sh, double copy_gbps, long long attn_ns_list[], int n_attn) {
  using namespace persist;
  const int NQKV = sh.NQKV, L = sh.layers;
  std::vector<XBuf> wqkv, wo, wgu, wd, nin, npost;
  for (int l = 0; l < L; ++l) {
    wqkv.emplace_back((size_t)NQKV * H), wo.emplace_back((size_t)H * H), wgu.emplace_back((size_t)2 * I * H),
        wd.emplace_back((size_t)H * I), nin.emplace_back(H), npost.emplace_back(H);
    const float s_in = 1.0f / std::sqrt((float)H), s_i = 1.0f / std::sqrt((float)I);
    fill_random_forward(wqkv[l].ptr, wqkv[l].n, 100 + 6 * l, 0.0f, s_in, 0);
    fill_random_forward(wo[l].ptr, wo[l].n, 101 + 6 * l, 0.0f, s_in, 0);
    fill_random_forward(wgu[l].ptr, wgu[l].n, 102 + 6 * l, 0.0f, 2 * s_in, 0);
    fill_random_forward(wd[l].ptr, wd[l].n, 103 + 6 * l, 0.0f, s_i, 0);
    fill_random_forward(nin[l].ptr, H, 104 + 6 * l, 1.0f, 0.1f, 0);
    fill_random_forward(npost[l].ptr, H, 105 + 6 * l, 1.0f, 0.1f, 0);
  }
  const double bytes = (double)L * ((double)NQKV * H + (double)H * H + 2.0 * I * H + (double)H * I) * 2;
  std::vector<LayerWeights> host_layers;
  for (int l = 0; l < L; ++l)
    host_layers.push_back({wqkv[l].ptr, wo[l].ptr, wgu[l].ptr, wd[l].ptr, nin[l].ptr, npost[l].ptr});
  DevBuf<LayerWeights> layers(L);
  cudaCheck(cudaMemcpy(layers.ptr, host_layers.data(), L * sizeof(LayerWeights), cudaMemcpyHostToDevice));

  XBuf h0((size_t)MAX_ROWS * H), h(h0.n), h2(h0.n), xn(h0.n), tmp(h0.n), qkv((size_t)MAX_ROWS * NQKV), act((size_t)MAX_ROWS * I);
  fill_random_forward(h0.ptr, h0.n, 7, 0.0f, 1.0f, 0);
  DevBuf<unsigned> barrier(1);
  cudaCheck(cudaMemset(barrier.ptr, 0, 4));
  unsigned epoch = 0;

  int sms = 0;
  cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  int max_smem = 0;
  cudaCheck(cudaDeviceGetAttribute(&max_smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  const int x_ld = std::max(H, I) + 32;
  cudaCheck(cudaFuncSetAttribute(persistent_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_smem));
  auto max_stages = [&](int x_rows) {
    int stages = MAX_STAGES;
    while (smem_bytes(stages, x_ld, x_rows) > (size_t)max_smem) --stages;
    return stages & ~1;  // even: a stage always belongs to the same warp group (else a group a whole
                         // ring ahead would wait on a parity its barrier completed a phase ago)
  };
  info(fmt_str("%s: %d layers, %.2f GB of weights; persistent: %d blocks, stages of %d B: %d (1 x row), %d (4)",
               sh.name, L, bytes / 1e9, sms, STAGE_BYTES, max_stages(1), max_stages(4)));

  const float eps = 1e-5f;
  auto graph_step = [&](int n, cudaStream_t s) {
    rmsnorm_forward<H>(xn.ptr, h.ptr, nin[0].ptr, eps, n, s);
    for (int l = 0; l < L; ++l) {
      gemv_forward<H, 4, floatX>(qkv.ptr, NQKV, xn.ptr, H, wqkv[l].ptr, nullptr, n, NQKV, s);
      gemv_forward<H, 4, floatX>(tmp.ptr, H, qkv.ptr, NQKV, wo[l].ptr, nullptr, n, H, s);
      add_rmsnorm_forward<H>(h.ptr, xn.ptr, tmp.ptr, h.ptr, npost[l].ptr, eps, n, s);
      gemv_swiglu_forward<H, 4>(act.ptr, I, xn.ptr, H, wgu[l].ptr, nullptr, n, I, s);
      gemv_forward<I, 4, floatX>(tmp.ptr, H, act.ptr, I, wd[l].ptr, nullptr, n, H, s);
      add_rmsnorm_forward<H>(h.ptr, xn.ptr, tmp.ptr, h.ptr, nin[(l + 1) % L].ptr, eps, n, s);
    }
  };
  DevBuf<long long> prof_buf((size_t)5 * 1024);
  DevBuf<int> counters((size_t)L * 4);
  int dynamic = 1;
  auto persistent_step = [&](int n, int attn_phases, long long attn_ns, int mode = 0, int stages = 0,
                             bool profile = false) {
    if (stages == 0) stages = max_stages(n);
    Params p{layers.ptr, L, H, I, NQKV, n, {h.ptr, h2.ptr}, tmp.ptr, qkv.ptr, act.ptr, eps, barrier.ptr, 0, attn_phases, attn_ns,
             stages, x_ld, n, mode, counters.ptr, dynamic, profile ? prof_buf.ptr : nullptr};
    if (dynamic) cudaCheck(cudaMemsetAsync(counters.ptr, 0, counters.n * sizeof(int), 0));
    p.epoch = epoch;
    if (mode == 0) epoch += L * (4 + attn_phases);
    void* args[] = {&p};
    cudaCheck(cudaLaunchCooperativeKernel((void*)persistent_kernel, sms, THREADS, args,
                                          smem_bytes(stages, x_ld, n), 0));
  };
  auto reset_h = [&] { cudaCheck(cudaMemcpy(h.ptr, h0.ptr, h0.n * 2, cudaMemcpyDeviceToDevice)); };

  for (int n : {1, 4}) {
    // Correctness: one step each way from the same h.
    reset_h();
    graph_step(n, 0);
    cudaCheck(cudaDeviceSynchronize());
    const std::vector<uint16_t> ref = h.download<uint16_t>();
    reset_h();
    persistent_step(n, 0, 0);
    cudaCheck(cudaDeviceSynchronize());
    const std::vector<uint16_t> got = h.download<uint16_t>();
    double max_rel = 0.0, ref_rms = 0.0;
    for (int i = 0; i < n * H; ++i) ref_rms += (double)x_to_f32(ref[i]) * x_to_f32(ref[i]);
    ref_rms = std::sqrt(ref_rms / (n * H));
    for (int i = 0; i < n * H; ++i)
      max_rel = std::max(max_rel, (double)std::fabs(x_to_f32(got[i]) - x_to_f32(ref[i])) / ref_rms);
    static std::vector<uint16_t> row0;
    if (n == 1) row0.assign(got.begin(), got.begin() + H);
    const bool invariant = n == 1 || memcmp(row0.data(), got.data(), H * 2) == 0;

    cudaStream_t stream;
    cudaCheck(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaCheck(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
    graph_step(n, stream);
    cudaCheck(cudaStreamEndCapture(stream, &graph));
    cudaCheck(cudaGraphInstantiate(&exec, graph, 0));
    const float graph_ms = median_ms([&] {
      cudaCheck(cudaGraphLaunch(exec, 0));
    });
    info(fmt_str("%s batch %d: graph (6 kernels a layer) %.4f ms = %.3f of copy", sh.name, n, graph_ms,
                 bytes / (graph_ms * 1e-3) / 1e9 / copy_gbps));
    info(fmt_str("%s batch %d: persistent vs graph: max |diff| / rms(h) = %.3g; row 0 bit-identical to batch 1: %s",
                 sh.name, n, max_rel, invariant ? "yes" : "NO"));
    auto report = [&](const char* what, float ms) {
      info(fmt_str("%s batch %d: persistent, %-40s %.4f ms = %.3f of copy", sh.name, n, what, ms,
                   bytes / (ms * 1e-3) / 1e9 / copy_gbps));
    };
    report("raw ring (consumers only release):", median_ms([&] { persistent_step(n, 0, 0, 2); }));
        report("no grid barriers (wrong results):", median_ms([&] { persistent_step(n, 0, 0, 1); }));
    report("stage loop only (wrong results):", median_ms([&] { persistent_step(n, 0, 0, 3); }));
    for (int mode : {0, 1}) {
      persistent_step(n, 0, 0, mode, 0, true);
      cudaCheck(cudaDeviceSynchronize());
      const std::vector<long long> pr = prof_buf.download<long long>();
      double sum[5] = {0, 0, 0, 0, 0};
      for (int b = 0; b < sms; ++b)
        for (int i = 0; i < 5; ++i) sum[i] += (double)pr[b * 5 + i];
      info(fmt_str("%s batch %d: %s, thread 0's cycles: x loads %.3f, data waits %.3f, epilogues %.3f, grid "
                   "barriers %.3f of %.3g a block",
                   sh.name, n, mode == 0 ? "the step" : "no barriers", sum[0] / sum[4], sum[1] / sum[4],
                   sum[2] / sum[4], sum[3] / sum[4], sum[4] / sms));
    }
    dynamic = 0;
    report("raw ring, round-robin tiles:", median_ms([&] { persistent_step(n, 0, 0, 2); }));
    report("the step, round-robin tiles:", median_ms([&] { persistent_step(n, 0, 0); }));
    dynamic = 1;
    report("the step:", median_ms([&] { persistent_step(n, 0, 0); }));
    for (int a = 0; a < n_attn; ++a)
      report(fmt_str("+ 2 phases waiting %lld ns:", attn_ns_list[a]).c_str(),
             median_ms([&] { persistent_step(n, 2, attn_ns_list[a]); }));
    cudaCheck(cudaGraphExecDestroy(exec));
    cudaCheck(cudaGraphDestroy(graph));
    cudaCheck(cudaStreamDestroy(stream));
  }
}

}  // namespace

int main() {
  const double copy = measure_copy_gbps();
  info(fmt_str("copy bandwidth (read + write): %.0f GB/s", copy));
  long long attn_ns[] = {0, 2000, 4000};
  run_shape<2048, 8192>({"1b", 3072, 16}, copy, attn_ns, 3);
  run_shape<4096, 14336>({"8b", 6144, 32}, copy, attn_ns, 3);
  return 0;
}
