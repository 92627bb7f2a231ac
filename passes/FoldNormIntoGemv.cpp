//===- FoldNormIntoGemv.cpp - decode RMSNorms into their GEMVs, weights into W ---===//
//
// A module pass, because @prefill and @decode share their weights. For each decode pair
//   %s, %n = llama.add_rmsnorm %x, %r, %w        (or %n = llama.rmsnorm %s, %w)
//   %y = <gemv projection> %n, %W                (linear / swiglu_linear / rope_kv_store_linear)
// it makes
//   %s = llama.residual_linear %a, %Wo, %r       (when %x = llama.linear %a, %Wo, GEMV, one use;
//                                                 else %s = llama.add %x, %r)
//   %y = <gemv projection> %s, %W' {norm_eps}    (W' = W scaled_by w: llama.weight's scaled_by)
// and in @prefill marks the norm that feeds the same weight `weight_folded` (the loader's W'
// already carries w). The GEMV computes inv_rms from the x it loads (templates/kernels/gemv.cuh,
// GemvFusion). A pair is left alone when @prefill uses the weight in another way.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace llc {
#define GEN_PASS_DEF_FOLDNORMINTOGEMVPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// A weight's identity across functions: its sources and shape (the weight table's key).
std::string weightKey(WeightOp w) {
  std::string key;
  for (Attribute a : w.getSources())
    key += cast<StringAttr>(a).getValue().str() + "|";
  auto type = cast<RankedTensorType>(w.getType());
  for (int64_t d : type.getShape())
    key += std::to_string(d) + "x";
  return key;
}

/// The norm's weight and eps, if `v` is the normalised result of a single-use rmsnorm /
/// add_rmsnorm whose weight is one checkpoint tensor.
struct NormSource {
  Operation *norm = nullptr;
  WeightOp weight;
  FloatAttr eps;
};
std::optional<NormSource> normFeeding(Value v) {
  if (!v.hasOneUse())
    return std::nullopt;
  NormSource src;
  if (auto n = v.getDefiningOp<RMSNormOp>()) {
    if (n.getWeightFolded())
      return std::nullopt;
    src = {n, n.getWeight().getDefiningOp<WeightOp>(), n.getEpsAttr()};
  } else if (auto an = v.getDefiningOp<AddRMSNormOp>()) {
    if (an.getWeightFolded() || v != an.getNormed())
      return std::nullopt;
    src = {an, an.getWeight().getDefiningOp<WeightOp>(), an.getEpsAttr()};
  } else {
    return std::nullopt;
  }
  if (!src.weight || src.weight.getSources().size() != 1)
    return std::nullopt;
  return src;
}

/// Whether `op` is a decode GEMV projection (not folded yet) the pass can fold a norm into.
bool isFoldableConsumer(Operation *op) {
  if (auto l = dyn_cast<LinearOp>(op))
    return l.getKernel() == "gemv" && !l.getNormEps();
  if (auto g = dyn_cast<SwigluLinearOp>(op))
    return g.getKernel() == "gemv" && !g.getNormEps();
  if (auto r = dyn_cast<RopeKVStoreLinearOp>(op))
    return r.getKernel() == "gemv" && !r.getNormEps();
  return false;
}
Value weightOf(Operation *op) { return op->getOperand(1); }  // (input, weight, ...) for all three

/// In @prefill: the norm feeding the only user of the weight with `key`, if that is how
/// @prefill uses it (one projection, fed by a norm whose weight has `normKey`).
struct PrefillUse {
  Operation *norm = nullptr;
  SmallVector<WeightOp> weights;  // @prefill's ops for the projection weight
};
std::optional<PrefillUse> prefillUse(func::FuncOp prefill, const std::string &key,
                                     const std::string &normKey) {
  PrefillUse use;
  if (!prefill)
    return use;
  Operation *consumer = nullptr;
  bool ok = true;
  prefill.walk([&](WeightOp w) {
    if (weightKey(w) != key)
      return;
    use.weights.push_back(w);
    for (Operation *user : w->getUsers()) {
      if (consumer && consumer != user)
        ok = false;
      consumer = user;
    }
  });
  if (!ok)
    return std::nullopt;
  if (!consumer)
    return use;  // @prefill does not use this weight
  if (consumer->getNumOperands() < 2 || weightOf(consumer).getDefiningOp<WeightOp>() == nullptr)
    return std::nullopt;
  std::optional<NormSource> norm = normFeeding(consumer->getOperand(0));
  if (!norm || weightKey(norm->weight) != normKey)
    return std::nullopt;
  use.norm = norm->norm;
  return use;
}

/// The parts of an add_rmsnorm's location (llc-fuse-residual-rmsnorm fuses the add's and the
/// norm's): {add, norm}; an unfused location stands for both.
std::pair<Location, Location> addAndNormLocs(AddRMSNormOp an) {
  if (auto fused = dyn_cast<FusedLoc>(an.getLoc()); fused && fused.getLocations().size() == 2)
    return {fused.getLocations()[0], fused.getLocations()[1]};
  return {an.getLoc(), an.getLoc()};
}

/// The decode rewrite of one pair: the consumer reads the un-normalised stream. Locations follow
/// the work (the generated code's comments name them): the residual add goes with the GEMV that
/// does it, the norm with its consumer.
void foldIntoConsumer(Operation *consumer, const NormSource &norm) {
  OpBuilder b(norm.norm);
  Value stream;
  Location normLoc = norm.norm->getLoc();
  if (auto n = dyn_cast<RMSNormOp>(norm.norm)) {
    stream = n.getInput();
  } else {
    auto an = cast<AddRMSNormOp>(norm.norm);
    auto [addLoc, normPart] = addAndNormLocs(an);
    normLoc = normPart;
    // The residual add moves into the GEMV that made one of its operands, if there is one.
    LinearOp producer;
    Value other;
    for (auto [mine, theirs] : {std::pair{an.getInput(), an.getResidual()},
                                std::pair{an.getResidual(), an.getInput()}}) {
      auto l = mine.getDefiningOp<LinearOp>();
      if (l && l.getKernel() == "gemv" && !l.getNormEps() && mine.hasOneUse()) {
        producer = l;
        other = theirs;
        break;
      }
    }
    if (producer) {
      stream = b.create<ResidualLinearOp>(b.getFusedLoc({producer.getLoc(), addLoc}),
                                          an.getSum().getType(), producer.getInput(),
                                          producer.getWeight(), other, producer.getBias(),
                                          producer.getKernelAttr());
    } else {
      stream = b.create<AddOp>(addLoc, an.getInput(), an.getResidual());
    }
    an.getSum().replaceAllUsesWith(stream);
    if (producer) {
      an->dropAllReferences();
      producer->dropAllUses();
      producer->erase();
    }
  }
  consumer->setOperand(0, stream);
  consumer->setLoc(b.getFusedLoc({normLoc, consumer->getLoc()}));
  consumer->setAttr("norm_eps", norm.eps);
  norm.norm->erase();
}

struct FoldNormIntoGemvPass : llc::impl::FoldNormIntoGemvPassBase<FoldNormIntoGemvPass> {
  void runOnOperation() override {
    func::FuncOp decode, prefill;
    getOperation().walk([&](func::FuncOp f) {
      auto step = f->getAttrOfType<StringAttr>("llama.step");
      if (step && step.getValue() == "decode")
        decode = f;
      if (step && step.getValue() == "prefill")
        prefill = f;
    });
    if (!decode)
      return;
    SmallVector<Operation *> consumers;
    decode.walk([&](Operation *op) {
      if (isFoldableConsumer(op))
        consumers.push_back(op);
    });
    for (Operation *consumer : consumers) {
      std::optional<NormSource> norm = normFeeding(consumer->getOperand(0));
      auto weight = weightOf(consumer).getDefiningOp<WeightOp>();
      if (!norm || !weight || weight.getScaledBy() || !weightOf(consumer).hasOneUse())
        continue;
      std::optional<PrefillUse> use = prefillUse(prefill, weightKey(weight), weightKey(norm->weight));
      if (!use)
        continue;
      StringAttr scale = cast<StringAttr>(norm->weight.getSources()[0]);
      weight.setScaledByAttr(scale);
      for (WeightOp w : use->weights)
        w.setScaledByAttr(scale);
      if (use->norm)
        use->norm->setAttr("weight_folded", UnitAttr::get(&getContext()));
      foldIntoConsumer(consumer, *norm);
    }
    // The folded norms' weights are no longer read in @decode.
    decode.walk([](WeightOp w) {
      if (w->use_empty())
        w->erase();
    });
  }
};

} // namespace
