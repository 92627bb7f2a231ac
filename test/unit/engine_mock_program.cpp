// engine_mock_program.cpp - the toy model of test/gpu/engine_toy_program.cu, on the CPU.
//
// The same ModelSpec and the same checkable "model" (next token = hash of the context read back
// through the slot table and the KV cache; see engine_toy_program.cu), with its kernels written
// as host loops and run through the CUDA mock (cuda_mock.h). Linked with llc_runtime and
// cuda_mock.cpp it is a complete model binary that runs without a GPU, so
// test/gpu/engine_e2e_check.py can check the runtime's control plane (CLI, engine loop, CUDA
// graph capture and replay, scheduler, metadata, outputs, bench) on this machine. It says
// nothing about real kernels or real CUDA behaviour: the GPU run of the same checker does.
#include <cstdint>
#include <cstring>

#include "cuda_mock.h"
#include "runtime/program.h"

namespace {

constexpr int kVocab = 32000;
constexpr int kHidden = 8;
constexpr int kMaxBatch = 8;
constexpr int kMaxContext = 256;
constexpr int kMaxPrefill = 64;

uint32_t toy_mix(uint32_t h, int32_t id, int i) {
  h ^= static_cast<uint32_t>(id) + 0x9e3779b9u + static_cast<uint32_t>(i) * 31u;
  h *= 16777619u;
  h ^= h >> 13;
  return h;
}

int owner_of(const int32_t* seq_starts, int n_seqs, int t) {
  for (int s = 0; s < n_seqs; ++s)
    if (seq_starts[s] <= t && t < seq_starts[s + 1]) return s;
  return -1;
}

void toy_forward(const llc::ForwardArgs& a, cudaStream_t) {
  int32_t* k = static_cast<int32_t*>(a.k_cache);
  int32_t* v = static_cast<int32_t*>(a.v_cache);
  const llc::StepMetadata m = a.meta;
  const int n_tokens = a.n_tokens, n_seqs = a.n_seqs, n_rows = a.n_logit_rows;
  const int64_t kv_slots = a.kv_slots;
  float* logits = a.logits;
  llc::mock::launch([=] {
    for (int t = 0; t < n_tokens; ++t) {
      const int s = owner_of(m.seq_starts, n_seqs, t);
      const int32_t slot = m.new_slots[t], pos = m.positions[t];
      if (s < 0 || slot < 0 || slot >= kv_slots || pos < 0 || pos >= kMaxContext || m.seq_rows[s] < 0 ||
          m.seq_rows[s] > kMaxBatch)
        continue;
      m.slot_table[static_cast<size_t>(m.seq_rows[s]) * kMaxContext + pos] = slot;
      k[slot] = m.token_ids[t];
      v[slot] = pos;
    }
  });
  llc::mock::launch([=] {
    for (int r = 0; r < n_rows; ++r) {
      int next = -1;
      const int t = m.logit_rows[r];
      const int s = owner_of(m.seq_starts, n_seqs, t);
      if (s >= 0) {
        const int last = m.seq_starts[s + 1] - 1;
        const int32_t row = m.seq_rows[s], pos = m.positions[t];
        bool ok = m.kv_lens[s] == m.positions[last] + 1 && pos >= 0 && pos < kMaxContext && row >= 0 &&
                  row <= kMaxBatch;
        uint32_t h = 2166136261u;
        for (int j = 0; ok && j <= pos; ++j) {
          const int32_t slot = m.slot_table[static_cast<size_t>(row) * kMaxContext + j];
          if (slot < 0 || slot >= kv_slots || v[slot] != j) {
            ok = false;
            break;
          }
          h = toy_mix(h, k[slot], j);
        }
        if (ok) next = static_cast<int>(h % kVocab);
      }
      float* out = logits + static_cast<size_t>(r) * kVocab;
      for (int x = 0; x < kVocab; ++x) out[x] = x == next ? 1.0f : 0.0f;
    }
  });
}

void toy_sample(const llc::SampleArgs& a, cudaStream_t) {
  const llc::SampleArgs args = a;
  llc::mock::launch([args] {
    for (int r = 0; r < args.n_rows; ++r) {
      const float* row = args.logits + static_cast<size_t>(r) * kVocab;
      int best = 0;
      for (int x = 1; x < kVocab; ++x)
        if (row[x] > row[best]) best = x;
      int token = row[best] > 0.0f ? best : -1;
      const llc::SamplingRow& sr = args.rows[r];
      if (token >= 0 && sr.temperature > 0.0f) {
        const uint32_t shift = static_cast<uint32_t>(sr.seed * 7919u + sr.step * 104729u);
        token = static_cast<int>((static_cast<uint32_t>(token) + shift) % kVocab);
      }
      args.out_tokens[r] = token;
    }
  });
}

// bf16 <-> f32 by bit patterns (round to nearest even), enough for loading the toy weight.
uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

void toy_convert(void* dst, const void* src, llc::DType src_type, int64_t n, cudaStream_t) {
  llc::mock::launch([=] {
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
      if (src_type == llc::DType::bf16) {
        d[i] = static_cast<const uint16_t*>(src)[i];
      } else if (src_type == llc::DType::fp32) {
        d[i] = to_bf16(static_cast<const float*>(src)[i]);
      } else {
        d[i] = 0;  // fp16 sources are not used by the toy checks
      }
    }
  });
}

void toy_fill_random(void* dst, int64_t n, uint64_t seed, float offset, float scale, cudaStream_t) {
  llc::mock::launch([=] {
    uint16_t* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
      uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(i);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      d[i] = to_bf16(offset + scale * (static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f));
    }
  });
}

const llc::WeightSource kEmbedSource[] = {{"model.embed_tokens.weight", kVocab}};
const llc::WeightSpec kWeights[] = {{2, kVocab, kHidden, 1, kEmbedSource}};
const int kEos[] = {2};
const int kBuckets[] = {1, 2, 4, 8};

const llc::ModelSpec kSpec = {
    "ToyForCausalLM", "(engine mock program)", llc::DType::bf16,
    /*n_layers=*/1, /*hidden=*/kHidden, /*n_heads=*/1, /*n_kv_heads=*/1, /*head_dim=*/2,
    /*intermediate=*/kHidden, /*vocab=*/kVocab, kMaxBatch, kMaxContext, kMaxPrefill,
    /*bos_token_id=*/1, /*n_eos=*/1, kEos, /*n_graph_buckets=*/4, kBuckets,
    /*n_weights=*/1, kWeights, /*arena_bytes=*/size_t(1) << 20, "toy (context hash, host mock)",
};

}  // namespace

int main(int argc, char** argv) {
  static const llc::ModelProgram program = {&kSpec, toy_forward, toy_forward, toy_sample, toy_convert,
                                            toy_fill_random};
  return llc::program_main(argc, argv, program);
}
