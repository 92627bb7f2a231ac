//===- FuseResidualRMSNorm.cpp - add + rmsnorm -> add_rmsnorm -----------------===//
//
// A local 1:1 fusion, written as a rewrite pattern applied greedily:
//   %s = llama.add %x, %r
//   %n = llama.rmsnorm %s, %w
// ->
//   %s, %n = llama.add_rmsnorm %x, %r, %w
// The fused op takes the add's place, so every other user of %s still sees it defined
// before use; the norm weight (a `llama.weight`, which has no operands) moves up if it
// was defined after the add.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llc {
#define GEN_PASS_DEF_FUSERESIDUALRMSNORMPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// Fuses an rmsnorm into the add that produces its input.
struct FuseAddIntoRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp norm, PatternRewriter &rewriter) const override {
    auto add = norm.getInput().getDefiningOp<AddOp>();
    if (!add)
      return rewriter.notifyMatchFailure(norm, "input is not produced by llama.add");
    if (add->getBlock() != norm->getBlock())
      return rewriter.notifyMatchFailure(norm, "add is in another block");
    Operation *weightDef = norm.getWeight().getDefiningOp();
    if (!weightDef || !isa<WeightOp>(weightDef)) {
      // A block argument or another producer: only fusable if it already dominates the add.
      if (weightDef && !(weightDef->getBlock() == add->getBlock() &&
                         weightDef->isBeforeInBlock(add)))
        return rewriter.notifyMatchFailure(norm, "weight is not available at the add");
    } else if (weightDef->getBlock() == add->getBlock() && add->isBeforeInBlock(weightDef)) {
      rewriter.modifyOpInPlace(weightDef, [&] { weightDef->moveBefore(add); });
    }

    rewriter.setInsertionPoint(add);
    auto fused = rewriter.create<AddRMSNormOp>(
        rewriter.getFusedLoc({add.getLoc(), norm.getLoc()}), add.getType(), norm.getType(),
        add.getLhs(), add.getRhs(), norm.getWeight(), norm.getEpsAttr(), norm.getWeightFoldedAttr());
    rewriter.replaceOp(norm, fused.getNormed());
    rewriter.replaceOp(add, fused.getSum());
    return success();
  }
};

struct FuseResidualRMSNormPass
    : llc::impl::FuseResidualRMSNormPassBase<FuseResidualRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAddIntoRMSNorm>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
