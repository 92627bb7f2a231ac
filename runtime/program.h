// program.h - the contract between a generated model.cu and the runtime library.
//
// `llc-llama compile` emits model.cu from templates/program/model.cu: it defines one
// `llc::ModelProgram` (shapes, the weight table, the arena size, and the forward
// functions built from templates/kernels) and a main() that hands it to
// `llc::program_main`. Everything else (loading weights, the KV pool, CUDA graphs,
// scheduling, sampling settings, the CLI) is the runtime's and knows no model shapes.
//
// Invariants:
//  - All device pointers in StepMetadata are fixed for the program's life, so a decode
//    step captured in a CUDA graph replays correctly after new metadata is copied in.
//  - Slot 0 of the KV pool is reserved (the "pad slot"); row `max_batch` of the slot
//    table is the "pad row" whose entries all hold slot 0. Padded graph entries use them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace llc {

enum class DType : int { bf16 = 0, fp16 = 1, fp32 = 2 };

inline size_t dtype_size(DType t) { return t == DType::fp32 ? 4 : 2; }
inline const char* dtype_name(DType t) {
  return t == DType::bf16 ? "bf16" : t == DType::fp16 ? "fp16" : "fp32";
}

// One checkpoint tensor that (part of) a program weight is loaded from.
struct WeightSource {
  const char* name;  // e.g. "model.layers.0.self_attn.k_proj.weight"
  int64_t rows;      // its dim 0; all sources of a weight share the remaining dims
};

// One weight as the program uses it. A merged weight (n_sources > 1) is the
// concatenation of its sources along dim 0, built at load time. A weight with a column
// scale is replaced after loading by W'[r][c] = floatX(float(W[r][c]) * float(S[c])).
struct WeightSpec {
  int rank;          // 1 or 2
  int64_t rows;      // dim 0
  int64_t cols;      // dim 1 (1 when rank == 1)
  int n_sources;
  const WeightSource* sources;
  int column_scale = -1;  // index (into ModelSpec::weights) of a rank-1 weight whose values multiply each column of this one at load (a folded RMSNorm weight); -1: none
};

// Compile-time facts of the model and the compile options, for sizing and checks.
struct ModelSpec {
  const char* architecture;  // "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"
  const char* config_path;   // the config.json it was compiled from (for --version)
  DType dtype;               // activations, weights and KV cache
  int n_layers, hidden, n_heads, n_kv_heads, head_dim, intermediate, vocab;
  int max_batch;             // most sequences in one step
  int max_context;           // most tokens (prompt + generated) of one sequence
  int max_prefill_tokens;    // most new tokens in one prefill step
  int bos_token_id;          // -1 when the config names none
  int n_eos;
  const int* eos_token_ids;
  int n_graph_buckets;       // decode CUDA-graph batch sizes, ascending; the last is max_batch
  const int* graph_buckets;
  int n_weights;
  const WeightSpec* weights;
  size_t arena_bytes;        // activation arena (the larger of the prefill and decode plans)
  const char* attention_kernels;  // e.g. "prefill=flash_attention_2 decode=flash_decoding(kv_splits=16)"
  int decode_short_kv_len;   // decode steps whose longest kv_len is at most this replay graphs of
                             // their own (attention's one-block path); 0: one graph per bucket
};

// Per-step metadata in device memory, at fixed addresses. Sizes:
//   max_tokens = max(max_prefill_tokens, max_batch), table_rows = max_batch + 1.
struct StepMetadata {
  int32_t* token_ids;   // [max_tokens]   token id of each new token
  int32_t* positions;   // [max_tokens]   its position in its sequence
  int32_t* new_slots;   // [max_tokens]   the KV pool slot its K/V is written to
  int32_t* seq_starts;  // [max_batch+1]  sequence s owns tokens [seq_starts[s], seq_starts[s+1])
  int32_t* seq_rows;    // [max_batch]    the slot-table row of sequence s
  int32_t* kv_lens;     // [max_batch]    tokens cached for s after this step (prior + new)
  int32_t* logit_rows;  // [max_logit_rows] token indices whose logits are wanted
  int32_t* slot_table;  // [table_rows][max_context] slot of each position of each row
};

class GemmRunner;  // runtime/gemm.h: cuBLASLt, algorithms chosen once per shape

struct ForwardArgs {
  const void* const* weights;  // [n_weights] device pointers, in ModelSpec::weights order
  void* arena;                 // ModelSpec::arena_bytes, 256-byte aligned
  void* k_cache;               // [n_layers][kv_slots][n_kv_heads][head_dim]
  void* v_cache;               // same
  int64_t kv_slots;
  StepMetadata meta;
  float* logits;               // [n_logit_rows][vocab]
  int n_tokens;                // new tokens in the step (decode: == n_seqs)
  int n_seqs;
  int max_q_len;               // most new tokens of one sequence (1 in decode)
  int max_kv_len;              // decode: at least every sequence's kv_len after the step (a graph's
                               // bound; attention picks its kernels by it); prefill: unused
  int n_logit_rows;
  GemmRunner* gemm;
};

// Per-row sampling settings, in device memory. temperature <= 0 means greedy.
struct SamplingRow {
  float temperature;
  int top_k;          // <= 0: no top-k
  float top_p;        // >= 1: no top-p
  uint32_t pad;
  uint64_t seed;
  uint64_t step;      // advanced each step so one seed gives a stream of draws
};

struct SampleArgs {
  const float* logits;        // [n_rows][vocab]
  const SamplingRow* rows;    // [n_rows], device
  int32_t* out_tokens;        // [n_rows], device
  int n_rows;
};

struct ModelProgram {
  const ModelSpec* spec;
  void (*prefill)(const ForwardArgs& args, cudaStream_t stream);
  void (*decode)(const ForwardArgs& args, cudaStream_t stream);
  void (*sample)(const SampleArgs& args, cudaStream_t stream);
  // dst (compiled dtype) = convert(src); n elements.
  void (*convert)(void* dst, const void* src, DType src_type, int64_t n, cudaStream_t stream);
  // dst (compiled dtype) = offset + uniform(-scale, scale), a pure function of (seed, index).
  void (*fill_random)(void* dst, int64_t n, uint64_t seed, float offset, float scale,
                      cudaStream_t stream);
  // w[r][c] *= scale[c] for w [rows][cols] and scale [cols], both in the compiled dtype: the
  // product in fp32, rounded once. Applies WeightSpec::column_scale at load; may be null when no
  // weight of the program has a column scale.
  void (*scale_columns)(void* w, const void* scale, int64_t rows, int64_t cols, cudaStream_t stream);
};

// The generated binary's main(): parses the CLI, loads, runs, reports. Returns the exit code.
int program_main(int argc, char** argv, const ModelProgram& program);

}  // namespace llc
