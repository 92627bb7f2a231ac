//===- ConfigReader.cpp - config.json -> ModelConfig ---------------------------===//
//
// Reads a Hugging Face config.json with llvm::json and checks it. Unknown keys are
// ignored; a key llc-llama needs that is missing, mistyped or out of range is an
// error naming the key and the value found. Settings llc-llama cannot honour
// (another architecture, activation or rope scaling; a sliding window inside the
// compiled context) are errors too: a compiled binary must never silently compute a
// different model.
//
//===--------------------------------------------------------------------------===//

#include "compiler/ConfigReader.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace llvm;

namespace llc {
namespace {

/// Accumulates the first error with the file name in front.
class Reader {
public:
  Reader(const json::Object &root, std::string path) : root(root), path(std::move(path)) {}

  Error error(const Twine &message) const {
    return createStringError(inconvertibleErrorCode(), path + ": " + message);
  }

  static std::string show(const json::Value &v) { return formatv("{0}", v).str(); }

  /// An integer key; `required` keys must be present, optional ones keep `fallback`.
  Expected<int64_t> integer(StringRef key, std::optional<int64_t> fallback,
                            bool mustBePositive = true) const {
    const json::Value *v = root.get(key);
    if (!v || v->kind() == json::Value::Null) {
      if (fallback)
        return *fallback;
      return error("missing required key '" + key + "'");
    }
    std::optional<int64_t> n = v->getAsInteger();
    if (!n)
      return error("key '" + key + "' must be an integer, found " + show(*v));
    if (mustBePositive && *n <= 0)
      return error("key '" + key + "' must be positive, found " + std::to_string(*n));
    return *n;
  }

  Expected<double> number(const json::Object &obj, StringRef key, StringRef where,
                          std::optional<double> fallback, bool mustBePositive = true) const {
    const json::Value *v = obj.get(key);
    if (!v || v->kind() == json::Value::Null) {
      if (fallback)
        return *fallback;
      return error("missing required key '" + where + key + "'");
    }
    std::optional<double> d = v->getAsNumber();
    if (!d || !std::isfinite(*d))
      return error("key '" + where + key + "' must be a number, found " + show(*v));
    if (mustBePositive && !(*d > 0.0))
      return error("key '" + where + key + "' must be positive, found " + show(*v));
    return *d;
  }

  Expected<bool> boolean(StringRef key, bool fallback) const {
    const json::Value *v = root.get(key);
    if (!v || v->kind() == json::Value::Null)
      return fallback;
    std::optional<bool> b = v->getAsBoolean();
    if (!b)
      return error("key '" + key + "' must be true or false, found " + show(*v));
    return *b;
  }

  Expected<std::optional<std::string>> string(StringRef key) const {
    const json::Value *v = root.get(key);
    if (!v || v->kind() == json::Value::Null)
      return std::optional<std::string>();
    std::optional<StringRef> s = v->getAsString();
    if (!s)
      return error("key '" + key + "' must be a string, found " + show(*v));
    return std::optional<std::string>(s->str());
  }

  const json::Object &root;
  std::string path;
};

constexpr StringLiteral kArchitectures[] = {"LlamaForCausalLM", "MistralForCausalLM",
                                            "Qwen2ForCausalLM"};
constexpr StringLiteral kModelTypes[] = {"llama", "mistral", "qwen2"};

Error readArchitecture(const Reader &r, ModelConfig &config) {
  auto modelType = r.string("model_type");
  if (!modelType)
    return modelType.takeError();
  const json::Value *archs = r.root.get("architectures");
  std::string supported = join(ArrayRef<StringLiteral>(kArchitectures), ", ");
  if (archs && archs->kind() != json::Value::Null) {
    const json::Array *list = archs->getAsArray();
    if (!list || list->empty())
      return r.error("key 'architectures' must be a non-empty list of names, found " +
                     Reader::show(*archs));
    std::optional<StringRef> first = (*list)[0].getAsString();
    if (!first)
      return r.error("key 'architectures' must list names, found " + Reader::show(*archs));
    if (!is_contained(kArchitectures, *first))
      return r.error("unsupported architecture '" + *first + "' (key architectures); supported: " +
                     supported);
    config.architecture = first->str();
  } else if (*modelType) {
    auto *it = find(kModelTypes, **modelType);
    if (it == std::end(kModelTypes))
      return r.error("unsupported model_type '" + **modelType + "' and no architectures key; "
                     "supported: llama, mistral, qwen2");
    config.architecture = kArchitectures[it - std::begin(kModelTypes)].str();
  } else {
    return r.error("missing required key 'architectures' (or 'model_type')");
  }
  config.modelType = config.architecture == "LlamaForCausalLM"     ? "llama"
                     : config.architecture == "MistralForCausalLM" ? "mistral"
                                                                   : "qwen2";
  if (*modelType && **modelType != config.modelType)
    return r.error("model_type '" + **modelType + "' does not match architecture '" +
                   config.architecture + "' (expected model_type '" + config.modelType + "')");
  return Error::success();
}

/// rope_scaling (transformers 4) or rope_parameters (transformers 5).
Error readRope(const Reader &r, ModelConfig &config) {
  const json::Object *params = nullptr;
  StringRef key;
  for (StringRef candidate : {"rope_scaling", "rope_parameters"}) {
    const json::Value *v = r.root.get(candidate);
    if (!v || v->kind() == json::Value::Null)
      continue;
    params = v->getAsObject();
    key = candidate;
    if (!params)
      return r.error("key '" + candidate + "' must be an object or null, found " +
                     Reader::show(*v));
    break;
  }
  auto theta = r.number(r.root, "rope_theta", "", 10000.0);
  if (!theta)
    return theta.takeError();
  config.ropeTheta = *theta;
  if (!params)
    return Error::success();

  std::string where = (key + ".").str();
  if (params->get("rope_theta")) {
    auto nested = r.number(*params, "rope_theta", where, std::nullopt);
    if (!nested)
      return nested.takeError();
    config.ropeTheta = *nested;
  }
  const json::Value *typeValue = params->get("rope_type");
  if (!typeValue)
    typeValue = params->get("type");
  std::optional<StringRef> type = typeValue ? typeValue->getAsString() : std::nullopt;
  if (!type)
    return r.error("key '" + where + "rope_type' must name the scaling type, found " +
                   (typeValue ? Reader::show(*typeValue) : std::string("nothing")));
  if (*type == "default")
    return Error::success();
  if (*type != "linear" && *type != "llama3")
    return r.error("unsupported rope_scaling type '" + *type + "' (key " + where +
                   "rope_type); supported: default, linear, llama3");
  config.rope.type = type->str();
  auto factor = r.number(*params, "factor", where, std::nullopt);
  if (!factor)
    return factor.takeError();
  config.rope.factor = *factor;
  if (*type == "llama3") {
    auto low = r.number(*params, "low_freq_factor", where, std::nullopt);
    auto high = r.number(*params, "high_freq_factor", where, std::nullopt);
    auto original = r.number(*params, "original_max_position_embeddings", where, std::nullopt);
    if (!low)
      return low.takeError();
    if (!high)
      return high.takeError();
    if (!original)
      return original.takeError();
    if (!(*high > *low))
      return r.error(formatv("llama3 rope scaling needs low_freq_factor < high_freq_factor, "
                             "found {0} and {1} (key {2})", *low, *high, key));
    config.rope.lowFreqFactor = *low;
    config.rope.highFreqFactor = *high;
    config.rope.originalMaxPositions = static_cast<int64_t>(*original);
  }
  return Error::success();
}

/// eos_token_id: an int or a list of ints; bos_token_id: an int or null.
Error readSpecialTokens(const Reader &r, ModelConfig &config) {
  if (const json::Value *bos = r.root.get("bos_token_id"); bos && bos->kind() != json::Value::Null) {
    std::optional<int64_t> id = bos->getAsInteger();
    if (!id || *id < 0 || *id >= config.vocabSize)
      return r.error("key 'bos_token_id' must be a token id below vocab_size " +
                     std::to_string(config.vocabSize) + ", found " + Reader::show(*bos));
    config.bosTokenId = *id;
  }
  const json::Value *eos = r.root.get("eos_token_id");
  if (!eos || eos->kind() == json::Value::Null)
    return Error::success();
  auto addEos = [&](const json::Value &v) -> Error {
    std::optional<int64_t> id = v.getAsInteger();
    if (!id || *id < 0 || *id >= config.vocabSize)
      return r.error("key 'eos_token_id' must hold token ids below vocab_size " +
                     std::to_string(config.vocabSize) + ", found " + Reader::show(*eos));
    config.eosTokenIds.push_back(*id);
    return Error::success();
  };
  if (const json::Array *list = eos->getAsArray()) {
    for (const json::Value &v : *list)
      if (Error e = addEos(v))
        return e;
    return Error::success();
  }
  return addEos(*eos);
}

/// Mistral uses its sliding_window whenever it is set; Qwen2 only with use_sliding_window;
/// Llama ignores the key (as transformers does).
Error readSlidingWindow(const Reader &r, ModelConfig &config) {
  const json::Value *window = r.root.get("sliding_window");
  if (!window || window->kind() == json::Value::Null)
    return Error::success();
  std::optional<int64_t> size = window->getAsInteger();
  if (!size || *size <= 0)
    return r.error("key 'sliding_window' must be a positive integer or null, found " +
                   Reader::show(*window));
  bool used = config.modelType == "mistral";
  if (config.modelType == "qwen2") {
    auto flag = r.boolean("use_sliding_window", false);
    if (!flag)
      return flag.takeError();
    used = *flag;
  }
  if (used)
    config.slidingWindow = *size;
  return Error::success();
}

} // namespace

Expected<ModelConfig> parseModelConfig(StringRef text, const std::string &path) {
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return createStringError(inconvertibleErrorCode(),
                             path + ": invalid JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return createStringError(inconvertibleErrorCode(),
                             path + ": the top level must be a JSON object");
  Reader r(*root, path);
  ModelConfig config;
  config.path = path;
  if (Error e = readArchitecture(r, config))
    return std::move(e);

  auto take = [](Expected<int64_t> v, int64_t &out) -> Error {
    if (!v)
      return v.takeError();
    out = *v;
    return Error::success();
  };
  if (Error e = take(r.integer("hidden_size", std::nullopt), config.hiddenSize))
    return std::move(e);
  if (Error e = take(r.integer("intermediate_size", std::nullopt), config.intermediateSize))
    return std::move(e);
  if (Error e = take(r.integer("num_hidden_layers", std::nullopt), config.numLayers))
    return std::move(e);
  if (Error e = take(r.integer("num_attention_heads", std::nullopt), config.numHeads))
    return std::move(e);
  if (Error e = take(r.integer("num_key_value_heads", config.numHeads), config.numKVHeads))
    return std::move(e);
  if (Error e = take(r.integer("vocab_size", std::nullopt), config.vocabSize))
    return std::move(e);
  if (Error e = take(r.integer("max_position_embeddings", 2048), config.maxPositions))
    return std::move(e);

  if (config.numHeads % config.numKVHeads != 0)
    return r.error(formatv("num_attention_heads ({0}) is not divisible by "
                           "num_key_value_heads ({1})",
                           config.numHeads, config.numKVHeads));
  const json::Value *headDim = root->get("head_dim");
  if (headDim && headDim->kind() != json::Value::Null) {
    if (Error e = take(r.integer("head_dim", std::nullopt), config.headDim))
      return std::move(e);
  } else {
    if (config.hiddenSize % config.numHeads != 0)
      return r.error(formatv("hidden_size ({0}) is not divisible by num_attention_heads ({1}), "
                             "and head_dim is absent",
                             config.hiddenSize, config.numHeads));
    config.headDim = config.hiddenSize / config.numHeads;
  }
  if (config.headDim % 2 != 0)
    return r.error(formatv("head_dim {0} is odd: rotary embeddings rotate pairs of features",
                           config.headDim));

  auto eps = r.number(*root, "rms_norm_eps", "", 1e-6);
  if (!eps)
    return eps.takeError();
  config.rmsNormEps = *eps;

  auto act = r.string("hidden_act");
  if (!act)
    return act.takeError();
  if (*act && **act != "silu")
    return r.error("unsupported activation '" + **act + "' (key hidden_act); only 'silu' "
                   "(SwiGLU) is supported");

  if (Error e = readRope(r, config))
    return std::move(e);

  auto tie = r.boolean("tie_word_embeddings", false);
  auto attentionBias = r.boolean("attention_bias", false);
  auto mlpBias = r.boolean("mlp_bias", false);
  if (!tie)
    return tie.takeError();
  if (!attentionBias)
    return attentionBias.takeError();
  if (!mlpBias)
    return mlpBias.takeError();
  config.tieWordEmbeddings = *tie;
  config.qkvBias = *attentionBias || config.modelType == "qwen2";
  config.outputBias = *attentionBias;
  config.mlpBias = *mlpBias;

  for (StringRef key : {"torch_dtype", "dtype"}) {
    auto dtype = r.string(key);
    if (!dtype)
      return dtype.takeError();
    if (!*dtype)
      continue;
    if (**dtype != "bfloat16" && **dtype != "float16" && **dtype != "float32")
      return r.error("unsupported " + key + " '" + **dtype +
                     "'; expected bfloat16, float16 or float32");
    config.torchDtype = **dtype;
    break;
  }

  if (Error e = readSpecialTokens(r, config))
    return std::move(e);
  if (Error e = readSlidingWindow(r, config))
    return std::move(e);
  return config;
}

Expected<ModelConfig> readModelConfig(const std::string &path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return createStringError(buffer.getError(),
                             path + ": cannot read: " + buffer.getError().message());
  return parseModelConfig((*buffer)->getBuffer(), path);
}

Expected<ResolvedOptions> resolveOptions(const ModelConfig &config, const CompileOptions &options) {
  auto fail = [](const Twine &message) {
    return createStringError(inconvertibleErrorCode(), message);
  };
  ResolvedOptions resolved;
  resolved.dtype = options.dtype;
  if (resolved.dtype.empty())
    resolved.dtype = config.torchDtype == "float16" ? "fp16" : "bf16";
  if (resolved.dtype != "bf16" && resolved.dtype != "fp16")
    return fail("--dtype must be bf16 or fp16, found '" + resolved.dtype + "'");

  if (options.maxBatch < 1 || options.maxBatch > 1024)
    return fail(formatv("--max-batch must be in [1, 1024], found {0}", options.maxBatch));
  resolved.maxBatch = options.maxBatch;
  if (options.maxPrefillTokens < 1)
    return fail(formatv("--max-prefill-tokens must be positive, found {0}",
                        options.maxPrefillTokens));
  resolved.maxPrefillTokens = options.maxPrefillTokens;

  if (options.maxContext < 0)
    return fail(formatv("--max-context must be positive, found {0}", options.maxContext));
  if (options.maxContext == 0) {
    resolved.maxContext = std::min<int64_t>(config.maxPositions, 8192);
    if (config.slidingWindow)
      resolved.maxContext = std::min(resolved.maxContext, *config.slidingWindow);
  } else {
    resolved.maxContext = options.maxContext;
  }
  if (resolved.maxContext > config.maxPositions)
    return fail(formatv("--max-context {0} exceeds the model's max_position_embeddings {1} "
                        "({2})",
                        resolved.maxContext, config.maxPositions, config.path));
  if (config.slidingWindow && resolved.maxContext > *config.slidingWindow)
    return fail(formatv("{0}: sliding_window {1} is smaller than the compiled max context {2}: "
                        "the model would use sliding-window attention, which llc-llama does not "
                        "implement; compile with --max-context {1} or less",
                        config.path, *config.slidingWindow, resolved.maxContext));

  resolved.graphBuckets = options.graphBuckets;
  if (resolved.graphBuckets.empty()) {
    for (int64_t b = 1; b < resolved.maxBatch; b *= 2)
      resolved.graphBuckets.push_back(b);
    resolved.graphBuckets.push_back(resolved.maxBatch);
  }
  for (size_t i = 0; i < resolved.graphBuckets.size(); ++i) {
    int64_t b = resolved.graphBuckets[i];
    if (b < 1 || (i > 0 && b <= resolved.graphBuckets[i - 1]))
      return fail("--graph-buckets must be positive and strictly ascending");
  }
  if (resolved.graphBuckets.back() != resolved.maxBatch)
    return fail(formatv("--graph-buckets must end at --max-batch ({0}), found {1}",
                        resolved.maxBatch, resolved.graphBuckets.back()));

  resolved.arch = options.arch;
  if (!StringRef(resolved.arch).starts_with("sm_"))
    return fail("--arch must name a CUDA architecture such as sm_90, found '" + resolved.arch + "'");
  unsigned archNumber = 0;
  if (StringRef(resolved.arch).drop_front(3).take_while(isDigit).getAsInteger(10, archNumber) ||
      archNumber < 80)
    return fail("--arch " + resolved.arch + " is not supported: the kernels need sm_80 or newer "
                "(bf16 tensor cores)");
  // wgmma is an sm_90a feature: a Hopper build that uses it is built for sm_90a exactly.
  resolved.wgmmaPrefill = options.wgmmaPrefill && archNumber == 90;
  resolved.nvccArch = resolved.wgmmaPrefill ? "sm_90a" : resolved.arch;
  resolved.smCount = options.smCount;
  if (resolved.smCount == 0)
    resolved.smCount = archNumber >= 90 ? 132 : archNumber == 80 ? 108 : 84;
  if (resolved.smCount < 1)
    return fail(formatv("--sm-count must be positive, found {0}", resolved.smCount));
  return resolved;
}

} // namespace llc
