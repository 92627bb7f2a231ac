//===- GraphBuilder.cpp - ModelConfig -> the reference `llama` graph ----------===//
//
// One function per step kind; both hold the whole model (the token dimension is
// dynamic, so the same graph serves a prefill of thousands of tokens and a decode step
// of one token per sequence). Per layer, as transformers' LlamaDecoderLayer writes it:
//
//   h = rmsnorm(x, input_layernorm)
//   q, k, v = linear(h, Wq), linear(h, Wk), linear(h, Wv)      (+ bias for Qwen2)
//   q, k = rope(q, positions), rope(k, positions)
//   K, V = kv_store(k, v, new_slots)           the pool views of this layer
//   o = attention(q, repeat_kv(K), repeat_kv(V), ...)          (repeat_kv only for GQA)
//   x = add(x, linear(o, Wo))
//   h = rmsnorm(x, post_attention_layernorm)
//   x = add(x, linear(silu_mul(linear(h, Wgate), linear(h, Wup)), Wdown))
//
// and finally logits = lm_head(rmsnorm(x, norm), W_lm or the tied embedding, logit_rows).
//
//===--------------------------------------------------------------------------===//

#include "compiler/GraphBuilder.h"

#include "ir/LlamaDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;
using namespace llc::llama;

namespace llc {

const std::vector<std::string> &stepMetadataNames() {
  static const std::vector<std::string> names = {"token_ids", "positions", "new_slots",
                                                 "seq_starts", "seq_rows", "kv_lens",
                                                 "slot_table", "logit_rows"};
  return names;
}

namespace {

enum Meta { kTokenIds, kPositions, kNewSlots, kSeqStarts, kSeqRows, kKVLens, kSlotTable, kLogitRows };

class ModelBuilder {
public:
  ModelBuilder(MLIRContext &ctx, const ModelConfig &config, const ResolvedOptions &options)
      : b(&ctx), config(config),
        act(options.dtype == "fp16" ? Type(b.getF16Type()) : Type(b.getBF16Type())) {}

  func::FuncOp buildFunction(StringRef name, StringRef step, Location loc) {
    Type ids = RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
    Type table = RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                       b.getI32Type());
    SmallVector<Type> argTypes(stepMetadataNames().size(), ids);
    argTypes[kSlotTable] = table;
    Type logits = RankedTensorType::get({ShapedType::kDynamic, config.vocabSize}, b.getF32Type());
    auto func = b.create<func::FuncOp>(loc, name, b.getFunctionType(argTypes, {logits}));
    func->setAttr("llama.step", b.getStringAttr(step));
    for (auto [i, metaName] : llvm::enumerate(stepMetadataNames()))
      func.setArgAttr(i, "llama.meta", b.getStringAttr(metaName));

    OpBuilder::InsertionGuard guard(b);
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    args = entry->getArguments();
    buildBody();
    return func;
  }

private:
  Location at(const Twine &name) { return NameLoc::get(b.getStringAttr(name)); }
  RankedTensorType actType(int64_t features) {
    return RankedTensorType::get({ShapedType::kDynamic, features}, act);
  }
  std::string layerName(int64_t l, StringRef suffix) {
    return ("model.layers." + Twine(l) + "." + suffix).str();
  }

  /// `llama.weight "<name>"` of the given shape, in the compiled dtype.
  Value weight(StringRef name, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, act);
    return b.create<WeightOp>(at(name), type, b.getStrArrayAttr({name}), DenseI64ArrayAttr(), StringAttr());
  }

  /// A projection `x W^T (+ b)` named `<prefix>.weight` / `<prefix>.bias`.
  Value linear(Value x, StringRef prefix, int64_t outFeatures, bool bias) {
    int64_t inFeatures = cast<RankedTensorType>(x.getType()).getDimSize(1);
    Value w = weight((prefix + ".weight").str(), {outFeatures, inFeatures});
    Value bv = bias ? weight((prefix + ".bias").str(), {outFeatures}) : Value();
    return b.create<LinearOp>(at(prefix), actType(outFeatures), x, w, bv, StringAttr(), IntegerAttr(),
                             StringAttr(), FloatAttr());
  }

  /// rmsnorm with the weight `<name>.weight`.
  Value rmsnorm(Value x, StringRef name) {
    Value w = weight((name + ".weight").str(), {config.hiddenSize});
    return b.create<RMSNormOp>(at(name), x.getType(), x, w,
                               b.getF32FloatAttr(static_cast<float>(config.rmsNormEps)), UnitAttr());
  }

  Value rope(Value x, StringRef name) {
    const RopeScaling &s = config.rope;
    auto op = b.create<RopeOp>(at(name), x.getType(), x, args[kPositions],
                               b.getI64IntegerAttr(config.headDim),
                               b.getF64FloatAttr(config.ropeTheta), b.getStringAttr(s.type),
                               b.getF64FloatAttr(s.factor), b.getF64FloatAttr(s.lowFreqFactor),
                               b.getF64FloatAttr(s.highFreqFactor),
                               b.getI64IntegerAttr(s.originalMaxPositions));
    return op;
  }

  Value attentionBlock(Value x, int64_t l) {
    int64_t qFeatures = config.numHeads * config.headDim;
    int64_t kvFeatures = config.numKVHeads * config.headDim;
    std::string attn = layerName(l, "self_attn");
    Value q = linear(x, attn + ".q_proj", qFeatures, config.qkvBias);
    Value k = linear(x, attn + ".k_proj", kvFeatures, config.qkvBias);
    Value v = linear(x, attn + ".v_proj", kvFeatures, config.qkvBias);
    q = rope(q, attn + ".rope_q");
    k = rope(k, attn + ".rope_k");

    auto view = KVViewType::get(b.getContext(), config.numKVHeads, config.headDim, act);
    auto store = b.create<KVStoreOp>(at(attn + ".kv_store"), TypeRange{view, view}, k, v,
                                     args[kNewSlots], b.getI64IntegerAttr(l));
    Value kCache = store.getKCache(), vCache = store.getVCache();
    if (config.group() > 1) {
      auto repeated = KVViewType::get(b.getContext(), config.numHeads, config.headDim, act);
      kCache = b.create<RepeatKVOp>(at(attn + ".repeat_k"), repeated, kCache,
                                    b.getI64IntegerAttr(config.group()));
      vCache = b.create<RepeatKVOp>(at(attn + ".repeat_v"), repeated, vCache,
                                    b.getI64IntegerAttr(config.group()));
    }
    float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(config.headDim)));
    Value o = b.create<AttentionOp>(at(attn + ".attention"), q.getType(), q, kCache, vCache,
                                    args[kSeqStarts], args[kSeqRows], args[kKVLens],
                                    args[kSlotTable], b.getF32FloatAttr(scale), StringAttr(),
                                    IntegerAttr(), IntegerAttr(), IntegerAttr());
    return linear(o, attn + ".o_proj", config.hiddenSize, config.outputBias);
  }

  Value mlpBlock(Value x, int64_t l) {
    std::string mlp = layerName(l, "mlp");
    Value gate = linear(x, mlp + ".gate_proj", config.intermediateSize, config.mlpBias);
    Value up = linear(x, mlp + ".up_proj", config.intermediateSize, config.mlpBias);
    Value a = b.create<SiluMulOp>(at(mlp + ".act"), gate.getType(), gate, up);
    return linear(a, mlp + ".down_proj", config.hiddenSize, config.mlpBias);
  }

  void buildBody() {
    Value table = weight("model.embed_tokens.weight", {config.vocabSize, config.hiddenSize});
    Value x = b.create<EmbeddingOp>(at("model.embed_tokens"), actType(config.hiddenSize), table,
                                    args[kTokenIds]);
    for (int64_t l = 0; l < config.numLayers; ++l) {
      Value h = rmsnorm(x, layerName(l, "input_layernorm"));
      x = b.create<AddOp>(at(layerName(l, "attn_residual")), x, attentionBlock(h, l));
      h = rmsnorm(x, layerName(l, "post_attention_layernorm"));
      x = b.create<AddOp>(at(layerName(l, "mlp_residual")), x, mlpBlock(h, l));
    }
    Value h = rmsnorm(x, "model.norm");
    Value lmWeight = config.tieWordEmbeddings
                         ? table
                         : weight("lm_head.weight", {config.vocabSize, config.hiddenSize});
    auto logitsType =
        RankedTensorType::get({ShapedType::kDynamic, config.vocabSize}, b.getF32Type());
    Value logits = b.create<LMHeadOp>(at("lm_head"), logitsType, h, lmWeight, args[kLogitRows],
                                      StringAttr(), IntegerAttr(), StringAttr());
    b.create<func::ReturnOp>(at("return"), logits);
  }

  OpBuilder b;
  const ModelConfig &config;
  Type act;
  Block::BlockArgListType args;
};

} // namespace

OwningOpRef<ModuleOp> buildModelModule(MLIRContext &context, const ModelConfig &config,
                                       const ResolvedOptions &options) {
  context.loadDialect<LlamaDialect, func::FuncDialect>();
  Location loc = FileLineColLoc::get(&context, config.path, 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  Builder b(&context);

  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("llama.architecture", b.getStringAttr(config.architecture)),
      b.getNamedAttr("llama.config_path", b.getStringAttr(config.path)),
      b.getNamedAttr("llama.dtype", b.getStringAttr(options.dtype)),
      b.getNamedAttr("llama.max_batch", b.getI64IntegerAttr(options.maxBatch)),
      b.getNamedAttr("llama.max_context", b.getI64IntegerAttr(options.maxContext)),
      b.getNamedAttr("llama.max_prefill_tokens", b.getI64IntegerAttr(options.maxPrefillTokens)),
      b.getNamedAttr("llama.graph_buckets", b.getDenseI64ArrayAttr(options.graphBuckets)),
      b.getNamedAttr("llama.bos_token_id", b.getI64IntegerAttr(config.bosTokenId.value_or(-1))),
      b.getNamedAttr("llama.eos_token_ids", b.getDenseI64ArrayAttr(config.eosTokenIds)),
      b.getNamedAttr("llama.target_arch", b.getStringAttr(options.arch)),
      b.getNamedAttr("llama.sm_count", b.getI64IntegerAttr(options.smCount)),
  };
  (*module)->setAttrs(b.getDictionaryAttr(attrs));

  ModelBuilder builder(context, config, options);
  OpBuilder moduleBuilder(&context);
  moduleBuilder.setInsertionPointToEnd(module->getBody());
  for (auto [name, step] : {std::pair<StringRef, StringRef>{"prefill", "prefill"},
                            std::pair<StringRef, StringRef>{"decode", "decode"}}) {
    func::FuncOp func = builder.buildFunction(name, step, NameLoc::get(b.getStringAttr(name)));
    module->getBody()->push_back(func);
  }
  return module;
}

} // namespace llc
