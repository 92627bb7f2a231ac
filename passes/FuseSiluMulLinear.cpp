//===- FuseSiluMulLinear.cpp - silu_mul + GEMV linear -> gated_linear -----------===//
//
// A local 1:1 fusion, written as a rewrite pattern applied greedily:
//   %a = llama.silu_mul %g, %u
//   %d = llama.linear %a, %w {kernel = "gemv"}
// ->
//   %d = llama.gated_linear %g, %u, %w {kernel = "gemv"}
// when %a has no other user and the linear has no bias. The GEMV computes %a as it loads its
// input (templates/kernels/gemv.cuh), with silu_mul's rounding, so the result is bit-identical
// to the two ops. cuBLASLt projections are left alone: the library reads its input as stored.
// The fused op takes the linear's place, where %g, %u and %w are all defined.
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

/// Folds the silu_mul that produces a GEMV linear's input into the linear.
struct FoldSiluMulIntoGemv : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp linear, PatternRewriter &rewriter) const override {
    if (linear.getKernel() != "gemv")
      return rewriter.notifyMatchFailure(linear, "only the GEMV computes the gate on the fly");
    if (linear.getBias())
      return rewriter.notifyMatchFailure(linear, "the linear has a bias");
    auto siluMul = linear.getInput().getDefiningOp<SiluMulOp>();
    if (!siluMul)
      return rewriter.notifyMatchFailure(linear, "input is not produced by llama.silu_mul");
    if (!siluMul->hasOneUse())
      return rewriter.notifyMatchFailure(linear, "the silu_mul result has other users");

    auto fused = rewriter.create<GatedLinearOp>(
        rewriter.getFusedLoc({siluMul.getLoc(), linear.getLoc()}), linear.getType(),
        siluMul.getGate(), siluMul.getUp(), linear.getWeight(), linear.getKernelAttr());
    rewriter.replaceOp(linear, fused.getResult());
    rewriter.eraseOp(siluMul);
    return success();
  }
};

struct FuseSiluMulLinearPass : llc::impl::FuseSiluMulLinearPassBase<FuseSiluMulLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldSiluMulIntoGemv>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
