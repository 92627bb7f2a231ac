//===- FuseSiluMulLinear.cpp - gate/up GEMV + silu_mul -> swiglu_linear ---------===//
//
// A local fusion, written as a rewrite pattern applied greedily:
//   %gu = llama.linear %x, %w {kernel = "gemv"}          (w = [Wg; Wu], 2I rows)
//   %s:2 = llama.split %gu [I, I]
//   %a = llama.silu_mul %s#0, %s#1
// ->
//   %a = llama.swiglu_linear %x, %w {kernel = "gemv"}
// when %gu and both halves have no other user. The GEMV computes each gate row next to its up
// row and applies silu_mul's rounding in its epilogue (templates/kernels/gemv.cuh), so the
// result is bit-identical to the three ops, without the silu_mul kernel or the round trip of the
// (rows, 2I) projection. cuBLASLt projections (prefill) are left alone. An input-side variant
// (the down GEMV computing silu_mul as it loads its input) was measured slower on the H200: every
// GEMV block recomputed the gate for the whole row (docs/performance.md, log 9).
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llc {
#define GEN_PASS_DEF_FUSESILUMULLINEARPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// Folds a silu_mul of the two halves of a GEMV gate/up projection into the projection.
struct FoldSiluMulIntoGateUpGemv : OpRewritePattern<SiluMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SiluMulOp siluMul, PatternRewriter &rewriter) const override {
    auto split = siluMul.getGate().getDefiningOp<SplitOp>();
    if (!split || split.getNumResults() != 2)
      return rewriter.notifyMatchFailure(siluMul, "gate is not half of a two-way llama.split");
    if (siluMul.getGate() != split.getResult(0) || siluMul.getUp() != split.getResult(1))
      return rewriter.notifyMatchFailure(siluMul, "gate and up are not the split's halves in order");
    ArrayRef<int64_t> sizes = split.getSizes();
    if (sizes[0] != sizes[1])
      return rewriter.notifyMatchFailure(split, "the halves differ in size");
    if (!split.getResult(0).hasOneUse() || !split.getResult(1).hasOneUse())
      return rewriter.notifyMatchFailure(split, "a half has another user");
    auto linear = split.getInput().getDefiningOp<LinearOp>();
    if (!linear || linear.getKernel() != "gemv")
      return rewriter.notifyMatchFailure(split, "input is not a GEMV llama.linear");
    if (!linear->hasOneUse())
      return rewriter.notifyMatchFailure(linear, "the projection has another user");

    auto fused = rewriter.create<SwigluLinearOp>(
        rewriter.getFusedLoc({linear.getLoc(), siluMul.getLoc()}), siluMul.getType(),
        linear.getInput(), linear.getWeight(), linear.getBias(), linear.getKernelAttr(), linear.getNormEpsAttr());
    rewriter.replaceOp(siluMul, fused.getResult());
    rewriter.eraseOp(split);
    rewriter.eraseOp(linear);
    return success();
  }
};

struct FuseSiluMulLinearPass : llc::impl::FuseSiluMulLinearPassBase<FuseSiluMulLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldSiluMulIntoGateUpGemv>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
