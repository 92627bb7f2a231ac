//===- ModelConfig.h - a validated Hugging Face config and compile options ----===//
//
// `ModelConfig` holds what llc-llama reads from config.json, already checked:
// every size positive, heads divisible by KV heads, a supported architecture,
// activation and rope scaling. `CompileOptions` holds the choices made on the
// command line (dtype, maxima, graph buckets, target).
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_COMPILER_MODELCONFIG_H
#define LLC_COMPILER_MODELCONFIG_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llc {

struct RopeScaling {
  std::string type = "none"; ///< "none", "linear" or "llama3"
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
};

struct ModelConfig {
  std::string path;         ///< the config.json it came from
  std::string architecture; ///< LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM
  std::string modelType;    ///< llama, mistral, qwen2
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t vocabSize = 0;
  int64_t maxPositions = 2048;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  RopeScaling rope;
  bool tieWordEmbeddings = false;
  bool qkvBias = false;       ///< q/k/v projections carry a bias (Qwen2, attention_bias)
  bool outputBias = false;    ///< o_proj carries a bias (attention_bias)
  bool mlpBias = false;       ///< gate/up/down carry a bias (mlp_bias)
  std::string torchDtype;     ///< "bfloat16", "float16", "float32" or "" when absent
  std::optional<int64_t> bosTokenId;
  std::vector<int64_t> eosTokenIds;
  std::optional<int64_t> slidingWindow; ///< set only when the model actually uses one

  int64_t group() const { return numHeads / numKVHeads; }
};

/// Choices made when compiling, with the defaults of `llc-llama compile`.
struct CompileOptions {
  std::string dtype;            ///< "bf16" or "fp16"; "" = from torch_dtype
  int64_t maxBatch = 16;
  int64_t maxContext = 0;       ///< 0 = min(max_position_embeddings, 8192, sliding window)
  int64_t maxPrefillTokens = 8192;
  std::vector<int64_t> graphBuckets; ///< empty = 1, 2, 4, ... up to maxBatch
  std::string arch = "sm_90";
  int64_t smCount = 0;          ///< 0 = from the arch (132 for sm_90)
  bool wgmmaPrefill = true;     ///< on sm_90: short prefills on warpgroup MMA (built as sm_90a)
};

/// The compile options with every default resolved against the model; checks
/// them (maxima positive, buckets ascending and ending at max batch, context
/// within max_position_embeddings and the sliding window).
struct ResolvedOptions {
  std::string dtype;            ///< "bf16" or "fp16"
  int64_t maxBatch;
  int64_t maxContext;
  int64_t maxPrefillTokens;
  std::vector<int64_t> graphBuckets;
  std::string arch;
  int64_t smCount;
  bool wgmmaPrefill;            ///< asked for and the arch is sm_90 (Hopper)
  std::string nvccArch;         ///< what nvcc builds: sm_90a when wgmmaPrefill, else arch
};

} // namespace llc

#endif // LLC_COMPILER_MODELCONFIG_H
