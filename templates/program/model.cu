// model.cu - one model, compiled ahead of time by llc-llama.
//
// This is the skeleton of every generated program; it compiles on its own (its sections hold a
// tiny 2-layer model). `llc-llama compile` replaces the text between each `// LLC-BEGIN <name>`
// and `// LLC-END <name>` line pair with code generated from the optimised IR:
//   dtype      the compute dtype (floatX), before the kernels are included
//   constants  model constants, arena sizes, rope frequency tables
//   prefill    the prefill step: kernel launches in program order over the unpadded batch
//   decode     the decode step: the same graph for one token per sequence (captured in CUDA graphs)
//   spec       the weight table and the llc::ModelSpec the runtime sizes everything from
// Everything else (weights, KV pool, graphs, scheduling, sampling settings, CLI) is the runtime's:
// see runtime/program.h for the contract.

// LLC-BEGIN dtype
// bf16: floatX is __nv_bfloat16 (LLC_DTYPE_FP16 not defined)
// LLC-END dtype

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "runtime/gemm.h"
#include "runtime/program.h"

#include "templates/kernels/common.cuh"
#include "templates/kernels/add.cuh"
#include "templates/kernels/attention_decode.cuh"
#include "templates/kernels/attention_prefill.cuh"
#include "templates/kernels/attention_reference.cuh"
#include "templates/kernels/convert.cuh"
#include "templates/kernels/embedding.cuh"
#include "templates/kernels/gather_rows.cuh"
#include "templates/kernels/gemv.cuh"
#include "templates/kernels/gemv_prefill.cuh"
#include "templates/kernels/kv_store.cuh"
#include "templates/kernels/prefill_wgmma.cuh"
#include "templates/kernels/rmsnorm.cuh"
#include "templates/kernels/rope.cuh"
#include "templates/kernels/rope_kv_store.cuh"
#include "templates/kernels/sampling.cuh"
#include "templates/kernels/silu_mul.cuh"
#include "templates/kernels/slot_table.cuh"

namespace {

// Weight i of the program's weight table (ModelSpec::weights), in the compiled dtype.
inline const floatX* weight_ptr(const llc::ForwardArgs& args, int i) {
  return static_cast<const floatX*>(args.weights[i]);
}

// LLC-BEGIN constants
constexpr llc::DType kDType = llc::DType::bf16;
constexpr int kVocab = 512;
constexpr int kMaxBatch = 4;
constexpr int kMaxContext = 1024;
constexpr int kMaxPrefillTokens = 256;
constexpr int kKVRowElements = 128;  // kv heads x head_dim
constexpr size_t kPrefillArenaBytes = 1048576;
constexpr size_t kDecodeWorkspaceOffset = 8192;
constexpr size_t kDecodeWorkspaceBytes = (std::max<size_t>(0, flash_decoding_workspace_floats<64, 4, 2, 4>(kMaxBatch)) * sizeof(float) + 255) / 256 * 256;
constexpr size_t kDecodeArenaBytes = kDecodeWorkspaceOffset + kDecodeWorkspaceBytes;
constexpr size_t kArenaBytes = std::max(kPrefillArenaBytes, kDecodeArenaBytes);
// theta 10000, scaling none, factor 1
static const RopeTable<64> kRope0 = {{0x1p+0f, 0x1.7ff222p-1f, 0x1.1feb34p-1f, 0x1.afd136p-2f, 0x1.43d136p-2f, 0x1.e5a846p-3f, 0x1.6c310ep-3f, 0x1.111aeep-3f, 0x1.99999ap-4f, 0x1.33281ap-4f, 0x1.ccab84p-5f, 0x1.59742ap-5f, 0x1.030dc6p-5f, 0x1.84869ep-6f, 0x1.235a72p-6f, 0x1.b4f7e4p-7f, 0x1.47ae14p-7f, 0x1.eb736p-8f, 0x1.708938p-8f, 0x1.145ceep-8f, 0x1.9e7c7p-9f, 0x1.36d21ap-9f, 0x1.d22a5p-10f, 0x1.5d931cp-10f, 0x1.0624dep-10f, 0x1.892918p-11f, 0x1.26d42cp-11f, 0x1.ba2e4ap-12f, 0x1.4b96cp-12f, 0x1.f1502ap-13f, 0x1.74eea6p-13f, 0x1.17a8e4p-13f}};
// LLC-END constants

// LLC-BEGIN prefill
static_assert(kKVRowElements == 128, "pool row shape");
// @prefill: 23 launches; its activations need 1048576 bytes of the arena.
static void model_prefill(const llc::ForwardArgs& args, cudaStream_t stream) {
  char* arena = static_cast<char*>(args.arena);
  const int n_tokens = args.n_tokens;
  floatX* k_cache = static_cast<floatX*>(args.k_cache);
  floatX* v_cache = static_cast<floatX*>(args.v_cache);
  const size_t kv_layer_stride = static_cast<size_t>(args.kv_slots) * kKVRowElements;
  slot_table_update_forward(args.meta.slot_table, kMaxContext, args.meta.seq_starts, args.meta.seq_rows, args.meta.positions, args.meta.new_slots, args.n_seqs, stream);
  const floatX* w0 = weight_ptr(args, 0);
  floatX* t0 = reinterpret_cast<floatX*>(arena + 0);
  embedding_forward<256>(t0, w0, args.meta.token_ids, n_tokens, 512, stream);  // model.embed_tokens
  floatX* t1 = reinterpret_cast<floatX*>(arena + 131072);
  rmsnorm_forward<256>(t1, t0, nullptr, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.layers.0.input_layernorm
  const floatX* w2 = weight_ptr(args, 2);
  floatX* t2 = reinterpret_cast<floatX*>(arena + 262144);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t2, 512, t1, 256, w2, nullptr, n_tokens, 512, stream); else args.gemm->linear(t2, 512, kDType, t1, 256, w2, nullptr, kDType, n_tokens, 512, 256, stream);  // model.layers.0.self_attn.{q_proj,k_proj,v_proj}
  floatX* t3 = reinterpret_cast<floatX*>(arena + 131072);
  rope_kv_store_forward<64, 2>(t3, 256, t2, 512, t2 + 384, 512, args.meta.positions, kRope0, k_cache + 0 * kv_layer_stride, v_cache + 0 * kv_layer_stride, args.meta.new_slots, n_tokens, 4, stream);  // model.layers.0.self_attn.{rope_q,rope_k,kv_store}
  floatX* t4 = reinterpret_cast<floatX*>(arena + 262144);
  flash_attention_prefill_forward<64, 4, 2, 64, 64>(t4, 256, t3, 256, k_cache + 0 * kv_layer_stride, v_cache + 0 * kv_layer_stride, args.meta.slot_table, kMaxContext, args.meta.seq_starts, args.meta.seq_rows, args.meta.kv_lens, args.n_seqs, args.max_q_len, 0x1p-3f /*0.125*/, stream);  // model.layers.0.self_attn.attention
  const floatX* w3 = weight_ptr(args, 3);
  floatX* t5 = reinterpret_cast<floatX*>(arena + 131072);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t5, 256, t4, 256, w3, nullptr, n_tokens, 256, stream); else args.gemm->linear(t5, 256, kDType, t4, 256, w3, nullptr, kDType, n_tokens, 256, 256, stream);  // model.layers.0.self_attn.o_proj
  floatX* t6 = reinterpret_cast<floatX*>(arena + 262144);
  floatX* t7 = reinterpret_cast<floatX*>(arena + 393216);
  add_rmsnorm_forward<256>(t6, t7, t0, t5, nullptr, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.layers.0.{attn_residual,post_attention_layernorm}
  const floatX* w5 = weight_ptr(args, 5);
  floatX* t8 = reinterpret_cast<floatX*>(arena + 524288);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t8, 1024, t7, 256, w5, nullptr, n_tokens, 1024, stream); else args.gemm->linear(t8, 1024, kDType, t7, 256, w5, nullptr, kDType, n_tokens, 1024, 256, stream);  // model.layers.0.mlp.{gate_proj,up_proj}
  floatX* t9 = reinterpret_cast<floatX*>(arena + 0);
  silu_mul_forward<512>(t9, t8, 1024, t8 + 512, 1024, n_tokens, stream);  // model.layers.0.mlp.act
  const floatX* w6 = weight_ptr(args, 6);
  floatX* t10 = reinterpret_cast<floatX*>(arena + 393216);
  if (n_tokens <= 128) prefill_wgmma_forward<512, 128, floatX>(t10, 256, t9, 512, w6, nullptr, n_tokens, 256, stream); else args.gemm->linear(t10, 256, kDType, t9, 512, w6, nullptr, kDType, n_tokens, 256, 512, stream);  // model.layers.0.mlp.down_proj
  floatX* t11 = reinterpret_cast<floatX*>(arena + 0);
  floatX* t12 = reinterpret_cast<floatX*>(arena + 131072);
  add_rmsnorm_forward<256>(t11, t12, t6, t10, nullptr, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.layers.{0.mlp_residual,1.input_layernorm}
  const floatX* w8 = weight_ptr(args, 8);
  floatX* t13 = reinterpret_cast<floatX*>(arena + 262144);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t13, 512, t12, 256, w8, nullptr, n_tokens, 512, stream); else args.gemm->linear(t13, 512, kDType, t12, 256, w8, nullptr, kDType, n_tokens, 512, 256, stream);  // model.layers.1.self_attn.{q_proj,k_proj,v_proj}
  floatX* t14 = reinterpret_cast<floatX*>(arena + 131072);
  rope_kv_store_forward<64, 2>(t14, 256, t13, 512, t13 + 384, 512, args.meta.positions, kRope0, k_cache + 1 * kv_layer_stride, v_cache + 1 * kv_layer_stride, args.meta.new_slots, n_tokens, 4, stream);  // model.layers.1.self_attn.{rope_q,rope_k,kv_store}
  floatX* t15 = reinterpret_cast<floatX*>(arena + 262144);
  flash_attention_prefill_forward<64, 4, 2, 64, 64>(t15, 256, t14, 256, k_cache + 1 * kv_layer_stride, v_cache + 1 * kv_layer_stride, args.meta.slot_table, kMaxContext, args.meta.seq_starts, args.meta.seq_rows, args.meta.kv_lens, args.n_seqs, args.max_q_len, 0x1p-3f /*0.125*/, stream);  // model.layers.1.self_attn.attention
  const floatX* w9 = weight_ptr(args, 9);
  floatX* t16 = reinterpret_cast<floatX*>(arena + 131072);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t16, 256, t15, 256, w9, nullptr, n_tokens, 256, stream); else args.gemm->linear(t16, 256, kDType, t15, 256, w9, nullptr, kDType, n_tokens, 256, 256, stream);  // model.layers.1.self_attn.o_proj
  floatX* t17 = reinterpret_cast<floatX*>(arena + 262144);
  floatX* t18 = reinterpret_cast<floatX*>(arena + 393216);
  add_rmsnorm_forward<256>(t17, t18, t11, t16, nullptr, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.layers.1.{attn_residual,post_attention_layernorm}
  const floatX* w11 = weight_ptr(args, 11);
  floatX* t19 = reinterpret_cast<floatX*>(arena + 524288);
  if (n_tokens <= 128) prefill_wgmma_forward<256, 128, floatX>(t19, 1024, t18, 256, w11, nullptr, n_tokens, 1024, stream); else args.gemm->linear(t19, 1024, kDType, t18, 256, w11, nullptr, kDType, n_tokens, 1024, 256, stream);  // model.layers.1.mlp.{gate_proj,up_proj}
  floatX* t20 = reinterpret_cast<floatX*>(arena + 0);
  silu_mul_forward<512>(t20, t19, 1024, t19 + 512, 1024, n_tokens, stream);  // model.layers.1.mlp.act
  const floatX* w12 = weight_ptr(args, 12);
  floatX* t21 = reinterpret_cast<floatX*>(arena + 393216);
  if (n_tokens <= 128) prefill_wgmma_forward<512, 128, floatX>(t21, 256, t20, 512, w12, nullptr, n_tokens, 256, stream); else args.gemm->linear(t21, 256, kDType, t20, 512, w12, nullptr, kDType, n_tokens, 256, 512, stream);  // model.layers.1.mlp.down_proj
  const floatX* w13 = weight_ptr(args, 13);
  floatX* t22 = reinterpret_cast<floatX*>(arena + 0);
  floatX* t23 = reinterpret_cast<floatX*>(arena + 131072);
  add_rmsnorm_forward<256>(t22, t23, t17, t21, w13, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.{layers.1.mlp_residual,norm}
  const floatX* w14 = weight_ptr(args, 14);
  floatX* lm_rows = reinterpret_cast<floatX*>(arena + 0);
  gather_rows_forward<256>(lm_rows, t23, args.meta.logit_rows, args.n_logit_rows, stream);  // lm_head
  if (args.n_logit_rows <= 4) gemv_forward<256, 4, float>(args.logits, 512, lm_rows, 256, w14, nullptr, args.n_logit_rows, 512, stream); else args.gemm->linear(args.logits, 512, llc::DType::fp32, lm_rows, 256, w14, nullptr, kDType, args.n_logit_rows, 512, 256, stream);  // lm_head
}
// LLC-END prefill

// LLC-BEGIN decode
static_assert(kKVRowElements == 128, "pool row shape");
// @decode: 14 launches; its activations need 8192 bytes of the arena.
static void model_decode(const llc::ForwardArgs& args, cudaStream_t stream) {
  char* arena = static_cast<char*>(args.arena);
  const int n_tokens = args.n_tokens;
  floatX* k_cache = static_cast<floatX*>(args.k_cache);
  floatX* v_cache = static_cast<floatX*>(args.v_cache);
  const size_t kv_layer_stride = static_cast<size_t>(args.kv_slots) * kKVRowElements;
  slot_table_update_forward(args.meta.slot_table, kMaxContext, args.meta.seq_starts, args.meta.seq_rows, args.meta.positions, args.meta.new_slots, args.n_seqs, stream);
  float* decode_workspace = reinterpret_cast<float*>(arena + kDecodeWorkspaceOffset);
  const floatX* w0 = weight_ptr(args, 0);
  floatX* t0 = reinterpret_cast<floatX*>(arena + 0);
  embedding_forward<256>(t0, w0, args.meta.token_ids, n_tokens, 512, stream);  // model.embed_tokens
  const floatX* w2 = weight_ptr(args, 2);
  floatX* t1 = reinterpret_cast<floatX*>(arena + 2048);
  gemv_qkv_rope_norm_forward<256, kMaxBatch, 64, 2>(t1, 256, t0, 256, w2, nullptr, n_tokens, 512, 4, args.meta.positions, kRope0, k_cache + 0 * kv_layer_stride, v_cache + 0 * kv_layer_stride, args.meta.new_slots, 0x1.4f8b58p-17f /*1e-05*/, stream);  // model.layers.0.{input_layernorm,self_attn.q_proj,self_attn.k_proj,self_attn.v_proj,self_attn.rope_q,self_attn.rope_k,self_attn.kv_store}
  floatX* t2 = reinterpret_cast<floatX*>(arena + 4096);
  flash_decoding_forward<64, 4, 2, 4>(t2, 256, t1, 256, k_cache + 0 * kv_layer_stride, v_cache + 0 * kv_layer_stride, args.meta.slot_table, kMaxContext, args.meta.seq_rows, args.meta.kv_lens, args.n_seqs, args.max_kv_len, 0x1p-3f /*0.125*/, decode_workspace, stream);  // model.layers.0.self_attn.attention
  const floatX* w3 = weight_ptr(args, 3);
  floatX* t3 = reinterpret_cast<floatX*>(arena + 2048);
  gemv_residual_forward<256, kMaxBatch>(t3, 256, t2, 256, w3, nullptr, n_tokens, 256, t0, stream);  // model.layers.0.{self_attn.o_proj,attn_residual}
  const floatX* w5 = weight_ptr(args, 5);
  floatX* t4 = reinterpret_cast<floatX*>(arena + 4096);
  gemv_swiglu_norm_forward<256, kMaxBatch>(t4, 512, t3, 256, w5, nullptr, n_tokens, 512, 0x1.4f8b58p-17f /*1e-05*/, stream);  // model.layers.0.{post_attention_layernorm,mlp.gate_proj,mlp.up_proj,mlp.act}
  const floatX* w6 = weight_ptr(args, 6);
  floatX* t5 = reinterpret_cast<floatX*>(arena + 0);
  gemv_residual_forward<512, kMaxBatch>(t5, 256, t4, 512, w6, nullptr, n_tokens, 256, t3, stream);  // model.layers.0.{mlp.down_proj,mlp_residual}
  const floatX* w8 = weight_ptr(args, 8);
  floatX* t6 = reinterpret_cast<floatX*>(arena + 2048);
  gemv_qkv_rope_norm_forward<256, kMaxBatch, 64, 2>(t6, 256, t5, 256, w8, nullptr, n_tokens, 512, 4, args.meta.positions, kRope0, k_cache + 1 * kv_layer_stride, v_cache + 1 * kv_layer_stride, args.meta.new_slots, 0x1.4f8b58p-17f /*1e-05*/, stream);  // model.layers.1.{input_layernorm,self_attn.q_proj,self_attn.k_proj,self_attn.v_proj,self_attn.rope_q,self_attn.rope_k,self_attn.kv_store}
  floatX* t7 = reinterpret_cast<floatX*>(arena + 4096);
  flash_decoding_forward<64, 4, 2, 4>(t7, 256, t6, 256, k_cache + 1 * kv_layer_stride, v_cache + 1 * kv_layer_stride, args.meta.slot_table, kMaxContext, args.meta.seq_rows, args.meta.kv_lens, args.n_seqs, args.max_kv_len, 0x1p-3f /*0.125*/, decode_workspace, stream);  // model.layers.1.self_attn.attention
  const floatX* w9 = weight_ptr(args, 9);
  floatX* t8 = reinterpret_cast<floatX*>(arena + 2048);
  gemv_residual_forward<256, kMaxBatch>(t8, 256, t7, 256, w9, nullptr, n_tokens, 256, t5, stream);  // model.layers.1.{self_attn.o_proj,attn_residual}
  const floatX* w11 = weight_ptr(args, 11);
  floatX* t9 = reinterpret_cast<floatX*>(arena + 4096);
  gemv_swiglu_norm_forward<256, kMaxBatch>(t9, 512, t8, 256, w11, nullptr, n_tokens, 512, 0x1.4f8b58p-17f /*1e-05*/, stream);  // model.layers.1.{post_attention_layernorm,mlp.gate_proj,mlp.up_proj,mlp.act}
  const floatX* w12 = weight_ptr(args, 12);
  floatX* t10 = reinterpret_cast<floatX*>(arena + 0);
  gemv_forward<512, kMaxBatch, floatX>(t10, 256, t9, 512, w12, nullptr, n_tokens, 256, stream);  // model.layers.1.mlp.down_proj
  const floatX* w13 = weight_ptr(args, 13);
  floatX* t11 = reinterpret_cast<floatX*>(arena + 4096);
  floatX* t12 = reinterpret_cast<floatX*>(arena + 6144);
  add_rmsnorm_forward<256>(t11, t12, t8, t10, w13, 0x1.4f8b58p-17f /*1e-05*/, n_tokens, stream);  // model.{layers.1.mlp_residual,norm}
  const floatX* w14 = weight_ptr(args, 14);
  gemv_forward<256, kMaxBatch, float>(args.logits, 512, t12, 256, w14, nullptr, n_tokens, 512, stream);  // lm_head
}
// LLC-END decode

// LLC-BEGIN spec
static const llc::WeightSource kSources0[] = {{"model.embed_tokens.weight", 512}};
static const llc::WeightSource kSources1[] = {{"model.layers.0.input_layernorm.weight", 256}};
static const llc::WeightSource kSources2[] = {{"model.layers.0.self_attn.q_proj.weight", 256}, {"model.layers.0.self_attn.k_proj.weight", 128}, {"model.layers.0.self_attn.v_proj.weight", 128}};
static const llc::WeightSource kSources3[] = {{"model.layers.0.self_attn.o_proj.weight", 256}};
static const llc::WeightSource kSources4[] = {{"model.layers.0.post_attention_layernorm.weight", 256}};
static const llc::WeightSource kSources5[] = {{"model.layers.0.mlp.gate_proj.weight", 512}, {"model.layers.0.mlp.up_proj.weight", 512}};
static const llc::WeightSource kSources6[] = {{"model.layers.0.mlp.down_proj.weight", 256}};
static const llc::WeightSource kSources7[] = {{"model.layers.1.input_layernorm.weight", 256}};
static const llc::WeightSource kSources8[] = {{"model.layers.1.self_attn.q_proj.weight", 256}, {"model.layers.1.self_attn.k_proj.weight", 128}, {"model.layers.1.self_attn.v_proj.weight", 128}};
static const llc::WeightSource kSources9[] = {{"model.layers.1.self_attn.o_proj.weight", 256}};
static const llc::WeightSource kSources10[] = {{"model.layers.1.post_attention_layernorm.weight", 256}};
static const llc::WeightSource kSources11[] = {{"model.layers.1.mlp.gate_proj.weight", 512}, {"model.layers.1.mlp.up_proj.weight", 512}};
static const llc::WeightSource kSources12[] = {{"model.layers.1.mlp.down_proj.weight", 256}};
static const llc::WeightSource kSources13[] = {{"model.norm.weight", 256}};
static const llc::WeightSource kSources14[] = {{"lm_head.weight", 512}};
static const llc::WeightSpec kWeights[] = {
    {2, 512, 256, 1, kSources0, -1},
    {1, 256, 1, 1, kSources1, -1},
    {2, 512, 256, 3, kSources2, 1},
    {2, 256, 256, 1, kSources3, -1},
    {1, 256, 1, 1, kSources4, -1},
    {2, 1024, 256, 2, kSources5, 4},
    {2, 256, 512, 1, kSources6, -1},
    {1, 256, 1, 1, kSources7, -1},
    {2, 512, 256, 3, kSources8, 7},
    {2, 256, 256, 1, kSources9, -1},
    {1, 256, 1, 1, kSources10, -1},
    {2, 1024, 256, 2, kSources11, 10},
    {2, 256, 512, 1, kSources12, -1},
    {1, 256, 1, 1, kSources13, -1},
    {2, 512, 256, 1, kSources14, -1},
};
static const int kEosTokenIds[] = {2};
static const int kGraphBuckets[] = {1, 2, 4};
static const llc::ModelSpec kSpec = {
    "LlamaForCausalLM", "test/codegen/Inputs/tiny-llama.json",
    llc::DType::bf16,
    /*n_layers=*/2, /*hidden=*/256, /*n_heads=*/4, /*n_kv_heads=*/2, /*head_dim=*/64, /*intermediate=*/512, /*vocab=*/512,
    kMaxBatch, kMaxContext, kMaxPrefillTokens,
    /*bos_token_id=*/1, /*n_eos=*/1, kEosTokenIds,
    /*n_graph_buckets=*/3, kGraphBuckets,
    /*n_weights=*/15, kWeights,
    kArenaBytes,
    "prefill=flash_attention_2(block_q=64,block_kv=64) decode=flash_decoding(kv_splits=4)",
    /*decode_short_kv_len=*/flash_decoding::SHORT_ROWS,
};
// LLC-END spec

void model_sample(const llc::SampleArgs& args, cudaStream_t stream) {
  sample_forward<kVocab>(args.out_tokens, args.logits, args.rows, args.n_rows, stream);
}

void model_convert(void* dst, const void* src, llc::DType src_type, int64_t n,
                   cudaStream_t stream) {
  convert_forward(static_cast<floatX*>(dst), src, src_type, n, stream);
}

void model_fill_random(void* dst, int64_t n, uint64_t seed, float offset, float scale,
                       cudaStream_t stream) {
  fill_random_forward(static_cast<floatX*>(dst), n, seed, offset, scale, stream);
}

void model_scale_columns(void* w, const void* scale, int64_t rows, int64_t cols,
                         cudaStream_t stream) {
  scale_columns_forward(static_cast<floatX*>(w), static_cast<const floatX*>(scale), rows, cols,
                        stream);
}

}  // namespace

int main(int argc, char** argv) {
  static const llc::ModelProgram program = {&kSpec,        model_prefill,   model_decode,
                                            model_sample,  model_convert,   model_fill_random,
                                            model_scale_columns};
  return llc::program_main(argc, argv, program);
}
