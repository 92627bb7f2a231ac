//===- FuseRopeKVStoreLinear.cpp - QKV GEMV + rope_kv_store -> rope_kv_store_linear ===//
//
// A local fusion, written as a rewrite pattern applied greedily:
//   %qkv = llama.linear %x, %w {kernel = "gemv"}          (w = [Wq; Wk; Wv])
//   %s:2 = llama.split %qkv [Q + K, V]
//   %q, %kc, %vc = llama.rope_kv_store %s#0, %s#1, %pos, %slots {...}
// ->
//   %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {..., kernel = "gemv"}
// when %qkv and both halves have no other user. Each GEMV block computes 8 rotation pairs of
// one head (templates/kernels/gemv.cuh, gemv_qkv_rope_forward), rounds them as the projection
// would, then ropes them and stores K and V as rope_kv_store_kernel does: bit-identical to the
// three ops, without the rope_kv_store launch or the QKV activation's round trip. cuBLASLt
// projections (prefill) are left alone. Runs after llc-fuse-rope-kv-store.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llc {
#define GEN_PASS_DEF_FUSEROPEKVSTORELINEARPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// Folds a rope_kv_store of the two parts of a GEMV QKV projection into the projection.
struct FoldRopeKVStoreIntoQKVGemv : OpRewritePattern<RopeKVStoreOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RopeKVStoreOp store, PatternRewriter &rewriter) const override {
    auto split = store.getQk().getDefiningOp<SplitOp>();
    if (!split || split.getNumResults() != 2 || store.getQk() != split.getResult(0) ||
        store.getV() != split.getResult(1))
      return rewriter.notifyMatchFailure(store, "qk and v are not the two parts of one split");
    if (!split.getResult(0).hasOneUse() || !split.getResult(1).hasOneUse())
      return rewriter.notifyMatchFailure(split, "a part of the split has another user");
    auto linear = split.getInput().getDefiningOp<LinearOp>();
    if (!linear || linear.getKernel() != "gemv")
      return rewriter.notifyMatchFailure(split, "input is not a GEMV llama.linear");
    if (!linear->hasOneUse())
      return rewriter.notifyMatchFailure(linear, "the projection has another user");
    if (store.getHeadDim() % 16 != 0)
      return rewriter.notifyMatchFailure(store, "head_dim is not a multiple of 16");

    // At the store: the linear's operands come before it, the store's users after.
    rewriter.setInsertionPoint(store);
    auto fused = rewriter.create<RopeKVStoreLinearOp>(
        rewriter.getFusedLoc({linear.getLoc(), store.getLoc()}), store.getResultTypes(),
        linear.getInput(), linear.getWeight(), linear.getBias(), store.getPositions(),
        store.getNewSlots(), store.getHeadDimAttr(), store.getThetaAttr(), store.getScalingAttr(),
        store.getFactorAttr(), store.getLowFreqFactorAttr(), store.getHighFreqFactorAttr(),
        store.getOriginalMaxPositionAttr(), store.getLayerAttr(), linear.getKernelAttr(), linear.getNormEpsAttr());
    rewriter.replaceOp(store, fused.getResults());
    rewriter.eraseOp(split);
    rewriter.eraseOp(linear);
    return success();
  }
};

struct FuseRopeKVStoreLinearPass
    : llc::impl::FuseRopeKVStoreLinearPassBase<FuseRopeKVStoreLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldRopeKVStoreIntoQKVGemv>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
