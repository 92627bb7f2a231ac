// engine_toy_program.cu - a toy ModelProgram that exercises the runtime's control plane on a GPU.
//
// It links llc_runtime exactly as a generated model.cu does and calls llc::program_main, but its
// "model" is a checkable function instead of a transformer: the next token after a context is
//   h = fold(mix, 2166136261, context)  (mix as in toy_mix below),  next = h % kVocab
// computed from the context READ BACK THROUGH THE SLOT TABLE AND THE KV CACHE: the forward
// stores each new token's id in the K cache and its position in the V cache at its new slot,
// writes the slot table, then for every logit row rebuilds the sequence's context position by
// position. So any error in the runtime's metadata (slots, positions, rows, seq_starts, kv_lens,
// logit rows, padding, graph replay with stale pointers, continuous batching, chunked prefill)
// changes the tokens or makes a check fail; test/gpu/engine_e2e_check.py computes the same
// function in Python and compares. A failed check writes an all-zero logits row, which the toy
// sampler turns into token -1, which the engine reports as an error.
// Sampling: greedy = argmax (the one-hot row's token); with temperature > 0 the draw is
//   (argmax + uint32(seed * 7919 + step * 104729)) % kVocab
// so the seed and step the runtime passes are checked too.
// Shapes: 1 layer, 1 KV head, head_dim 2, bf16 => one KV slot is 4 bytes per cache = one int32.
#include <cstdint>
#include <cstdio>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "runtime/program.h"

namespace {

constexpr int kVocab = 32000;
constexpr int kHidden = 8;
constexpr int kMaxBatch = 8;
constexpr int kMaxContext = 256;
constexpr int kMaxPrefill = 64;
constexpr int kThreads = 256;

#define TOY_CHECK(call)                                                                      \
  do {                                                                                       \
    cudaError_t e_ = (call);                                                                 \
    if (e_ != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "toy program: %s failed: %s (%s:%d)\n", #call, cudaGetErrorString(e_), \
                   __FILE__, __LINE__);                                                      \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)

__device__ __host__ inline uint32_t toy_mix(uint32_t h, int32_t id, int i) {
  h ^= static_cast<uint32_t>(id) + 0x9e3779b9u + static_cast<uint32_t>(i) * 31u;
  h *= 16777619u;
  h ^= h >> 13;
  return h;
}

// The sequence owning token t (seq_starts ascending), or -1.
__device__ inline int owner_of(const int32_t* seq_starts, int n_seqs, int t) {
  for (int s = 0; s < n_seqs; ++s)
    if (seq_starts[s] <= t && t < seq_starts[s + 1]) return s;
  return -1;
}

// One thread per new token: slot table and "KV" store (K = token id, V = position).
__global__ void toy_store_kernel(int32_t* k_cache, int32_t* v_cache, int64_t kv_slots, int32_t* slot_table,
                                 int max_context, llc::StepMetadata m, int n_seqs, int n_tokens) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= n_tokens) return;
  const int s = owner_of(m.seq_starts, n_seqs, t);
  const int32_t slot = m.new_slots[t];
  const int32_t pos = m.positions[t];
  if (s < 0 || slot < 0 || slot >= kv_slots || pos < 0 || pos >= max_context || m.seq_rows[s] < 0 ||
      m.seq_rows[s] > kMaxBatch)
    return;  // the logits kernel will not find this token and flags the row
  slot_table[static_cast<size_t>(m.seq_rows[s]) * max_context + pos] = slot;
  k_cache[slot] = m.token_ids[t];
  v_cache[slot] = pos;
}

// One block per logit row: rebuild the context through the slot table, hash it, write a one-hot
// row (all zeros if anything is inconsistent).
__global__ void toy_logits_kernel(float* logits, const int32_t* k_cache, const int32_t* v_cache, int64_t kv_slots,
                                  const int32_t* slot_table, int max_context, llc::StepMetadata m, int n_seqs) {
  __shared__ int next;
  const int r = blockIdx.x;
  if (threadIdx.x == 0) {
    next = -1;
    const int t = m.logit_rows[r];
    const int s = owner_of(m.seq_starts, n_seqs, t);
    if (s >= 0) {
      const int last = m.seq_starts[s + 1] - 1;
      const int32_t row = m.seq_rows[s];
      const int32_t pos = m.positions[t];
      bool ok = m.kv_lens[s] == m.positions[last] + 1 && pos >= 0 && pos < max_context && row >= 0 &&
                row <= kMaxBatch;
      uint32_t h = 2166136261u;
      for (int j = 0; ok && j <= pos; ++j) {
        const int32_t slot = slot_table[static_cast<size_t>(row) * max_context + j];
        if (slot < 0 || slot >= kv_slots || v_cache[slot] != j) {
          ok = false;
          break;
        }
        h = toy_mix(h, k_cache[slot], j);
      }
      if (ok) next = static_cast<int>(h % kVocab);
    }
  }
  __syncthreads();
  float* out = logits + static_cast<size_t>(r) * kVocab;
  for (int v = threadIdx.x; v < kVocab; v += blockDim.x) out[v] = v == next ? 1.0f : 0.0f;
}

void toy_forward(const llc::ForwardArgs& a, cudaStream_t stream) {
  int32_t* k = static_cast<int32_t*>(a.k_cache);
  int32_t* v = static_cast<int32_t*>(a.v_cache);
  toy_store_kernel<<<(a.n_tokens + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
      k, v, a.kv_slots, a.meta.slot_table, kMaxContext, a.meta, a.n_seqs, a.n_tokens);
  TOY_CHECK(cudaGetLastError());
  toy_logits_kernel<<<a.n_logit_rows, kThreads, 0, stream>>>(a.logits, k, v, a.kv_slots, a.meta.slot_table,
                                                             kMaxContext, a.meta, a.n_seqs);
  TOY_CHECK(cudaGetLastError());
}

// One block per row: argmax (lowest index on ties); -1 if the row's maximum is not positive.
__global__ void toy_sample_kernel(int32_t* out, const float* logits, const llc::SamplingRow* rows) {
  __shared__ float best_v[kThreads];
  __shared__ int best_i[kThreads];
  const float* row = logits + static_cast<size_t>(blockIdx.x) * kVocab;
  float bv = -1.0f;
  int bi = kVocab;
  for (int v = threadIdx.x; v < kVocab; v += blockDim.x)
    if (row[v] > bv) {
      bv = row[v];
      bi = v;
    }
  best_v[threadIdx.x] = bv;
  best_i[threadIdx.x] = bi;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      const float ov = best_v[threadIdx.x + stride];
      const int oi = best_i[threadIdx.x + stride];
      if (ov > best_v[threadIdx.x] || (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])) {
        best_v[threadIdx.x] = ov;
        best_i[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    int token = best_v[0] > 0.0f ? best_i[0] : -1;
    const llc::SamplingRow& sr = rows[blockIdx.x];
    if (token >= 0 && sr.temperature > 0.0f) {
      const uint32_t shift = static_cast<uint32_t>(sr.seed * 7919u + sr.step * 104729u);
      token = static_cast<int>((static_cast<uint32_t>(token) + shift) % kVocab);
    }
    out[blockIdx.x] = token;
  }
}

void toy_sample(const llc::SampleArgs& a, cudaStream_t stream) {
  toy_sample_kernel<<<a.n_rows, kThreads, 0, stream>>>(a.out_tokens, a.logits, a.rows);
  TOY_CHECK(cudaGetLastError());
}

__global__ void toy_convert_kernel(__nv_bfloat16* dst, const void* src, int src_type, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float x = src_type == 0   ? __bfloat162float(static_cast<const __nv_bfloat16*>(src)[i])
              : src_type == 1 ? __half2float(static_cast<const __half*>(src)[i])
                              : static_cast<const float*>(src)[i];
    dst[i] = __float2bfloat16(x);
  }
}

void toy_convert(void* dst, const void* src, llc::DType src_type, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  toy_convert_kernel<<<1024, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(dst), src, static_cast<int>(src_type), n);
  TOY_CHECK(cudaGetLastError());
}

__global__ void toy_fill_kernel(__nv_bfloat16* dst, int64_t n, uint64_t seed, float offset, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(i);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
    dst[i] = __float2bfloat16(offset + scale * u);
  }
}

void toy_fill_random(void* dst, int64_t n, uint64_t seed, float offset, float scale, cudaStream_t stream) {
  if (n <= 0) return;
  toy_fill_kernel<<<1024, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(dst), n, seed, offset, scale);
  TOY_CHECK(cudaGetLastError());
}

const llc::WeightSource kEmbedSource[] = {{"model.embed_tokens.weight", kVocab}};
const llc::WeightSpec kWeights[] = {{2, kVocab, kHidden, 1, kEmbedSource}};
const int kEos[] = {2};
const int kBuckets[] = {1, 2, 4, 8};

const llc::ModelSpec kSpec = {
    "ToyForCausalLM",       // architecture
    "(engine toy program)", // config_path
    llc::DType::bf16,
    /*n_layers=*/1, /*hidden=*/kHidden, /*n_heads=*/1, /*n_kv_heads=*/1, /*head_dim=*/2,
    /*intermediate=*/kHidden, /*vocab=*/kVocab,
    kMaxBatch, kMaxContext, kMaxPrefill,
    /*bos_token_id=*/1, /*n_eos=*/1, kEos,
    /*n_graph_buckets=*/4, kBuckets,
    /*n_weights=*/1, kWeights,
    /*arena_bytes=*/size_t(1) << 20,
    "toy (context hash)",
};

}  // namespace

int main(int argc, char** argv) {
  static const llc::ModelProgram program = {&kSpec, toy_forward, toy_forward, toy_sample, toy_convert,
                                            toy_fill_random};
  return llc::program_main(argc, argv, program);
}
