//===- FuseRopeKVStore.cpp - rope of Q|K + kv_store of K -> rope_kv_store -------===//
//
// After llc-merge-rope, Q and K are roped by one llama.rope and split apart; K then only goes
// into the KV pool:
//   %qkr = llama.rope %qk, %pos {...}
//   %q, %k = llama.split %qkr [Q, K]
//   %kc, %vc = llama.kv_store %k, %v, %slots {layer = L}
// ->
//   %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {..., layer = L}
// One kernel (templates/kernels/rope_kv_store.cuh) rotates the heads and writes the K heads and
// the V row straight into their slot: one launch fewer per layer, and the roped K skips its
// activation buffer. Bit-identical to the three ops (same rotation code, exact copies).
// Applies when the rope's only user is that split and the K half's only user the kv_store;
// the fused op goes where the split was, so every user of %q still follows it (v, positions
// and slots must be defined before that point).
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llc {
#define GEN_PASS_DEF_FUSEROPEKVSTOREPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// True if `v` is available at `point`: a block argument of its block or defined before it.
bool definedBefore(Value v, Operation *point) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg.getOwner() == point->getBlock();
  Operation *def = v.getDefiningOp();
  return def->getBlock() == point->getBlock() && def->isBeforeInBlock(point);
}

struct FoldRopeIntoKVStore : OpRewritePattern<KVStoreOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(KVStoreOp store, PatternRewriter &rewriter) const override {
    auto split = store.getK().getDefiningOp<SplitOp>();
    if (!split || split.getNumResults() != 2 || store.getK() != split.getResult(1))
      return rewriter.notifyMatchFailure(store, "k is not the second half of a two-way split");
    if (!split.getResult(1).hasOneUse())
      return rewriter.notifyMatchFailure(split, "the K half has another user");
    auto rope = split.getInput().getDefiningOp<RopeOp>();
    if (!rope || !rope->hasOneUse())
      return rewriter.notifyMatchFailure(split, "input is not a rope used only by this split");
    if (!definedBefore(store.getV(), split) || !definedBefore(store.getNewSlots(), split))
      return rewriter.notifyMatchFailure(store, "v or the slots are defined after the split");

    rewriter.setInsertionPoint(split);
    auto fused = rewriter.create<RopeKVStoreOp>(
        rewriter.getFusedLoc({rope.getLoc(), store.getLoc()}),
        TypeRange{split.getResult(0).getType(), store.getKCache().getType(),
                  store.getVCache().getType()},
        rope.getInput(), store.getV(), rope.getPositions(), store.getNewSlots(),
        rope.getHeadDimAttr(), rope.getThetaAttr(), rope.getScalingAttr(), rope.getFactorAttr(),
        rope.getLowFreqFactorAttr(), rope.getHighFreqFactorAttr(),
        rope.getOriginalMaxPositionAttr(), store.getLayerAttr());
    rewriter.replaceAllUsesWith(split.getResult(0), fused.getQ());
    rewriter.replaceOp(store, {fused.getKCache(), fused.getVCache()});
    rewriter.eraseOp(split);
    rewriter.eraseOp(rope);
    return success();
  }
};

struct FuseRopeKVStorePass : llc::impl::FuseRopeKVStorePassBase<FuseRopeKVStorePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldRopeIntoKVStore>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
