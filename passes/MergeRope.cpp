//===- MergeRope.cpp - one rope over the adjacent Q and K of a merged QKV ------===//
//
// After llc-merge-kv-linear, Q and K are consecutive column ranges of one projection's output,
// and each gets its own rope with the same positions and frequencies. RoPE works head by head,
// so one rope over the Q|K range computes the same values with one kernel launch instead of two:
//   %q, %k, %v = llama.split %qkv [Q, K, V]
//   %qr = llama.rope %q, %pos {...}
//   %kr = llama.rope %k, %pos {...}
// ->
//   %qk, %v = llama.split %qkv [Q + K, V]
//   %qkr = llama.rope %qk, %pos {...}
//   %qr, %kr = llama.split %qkr [Q, K]
// Applies to any two consecutive split results that each feed exactly one rope, the two ropes
// having the same positions and attributes. Where the pair covers the whole split, the rope
// reads the split's input directly.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llc {
#define GEN_PASS_DEF_MERGEROPEPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

/// The single rope that reads `v`, or null.
RopeOp soleRope(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return dyn_cast<RopeOp>(*v.getUsers().begin());
}

struct MergeAdjacentRopes : OpRewritePattern<SplitOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SplitOp split, PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> sizes = split.getSizes();
    for (unsigned i = 0; i + 1 < sizes.size(); ++i) {
      RopeOp first = soleRope(split.getResult(i)), second = soleRope(split.getResult(i + 1));
      if (!first || !second || first.getPositions() != second.getPositions() ||
          first->getAttrDictionary() != second->getAttrDictionary())
        continue;
      rewrite(split, i, first, second, rewriter);
      return success();
    }
    return rewriter.notifyMatchFailure(split, "no two adjacent results feed matching ropes");
  }

  void rewrite(SplitOp split, unsigned i, RopeOp first, RopeOp second,
               PatternRewriter &rewriter) const {
    ArrayRef<int64_t> sizes = split.getSizes();
    auto typeOf = [&](int64_t features) {
      auto t = cast<RankedTensorType>(split.getInput().getType());
      return RankedTensorType::get({t.getDimSize(0), features}, t.getElementType());
    };
    // Build the new rope where the earlier of the two was: every user of either comes after it,
    // and what it reads (the split's input, the positions) comes before.
    Operation *earlier = first->isBeforeInBlock(second) ? first.getOperation() : second.getOperation();

    // 1. The pair as one column range: the split's input itself, or one result of a new split.
    Value pair = split.getInput();
    SmallVector<Value> others;  // the old split's other results, in order, in the new split
    if (sizes.size() > 2) {
      SmallVector<int64_t> merged;
      SmallVector<Type> types;
      for (unsigned j = 0; j < sizes.size(); ++j) {
        if (j == i + 1)
          continue;
        merged.push_back(j == i ? sizes[i] + sizes[i + 1] : sizes[j]);
        types.push_back(typeOf(merged.back()));
      }
      rewriter.setInsertionPointAfter(split);
      auto outer = rewriter.create<SplitOp>(split.getLoc(), types, split.getInput(),
                                            rewriter.getDenseI64ArrayAttr(merged));
      for (unsigned j = 0, k = 0; j < sizes.size(); ++j) {
        if (j == i + 1)
          continue;
        if (j == i)
          pair = outer.getResult(k);
        else
          others.push_back(outer.getResult(k));
        ++k;
      }
    }

    // 2. One rope over the pair, split back into the two ropes' results.
    rewriter.setInsertionPoint(earlier);
    Type pairType = typeOf(sizes[i] + sizes[i + 1]);
    auto rope = rewriter.create<RopeOp>(rewriter.getFusedLoc({first.getLoc(), second.getLoc()}),
                                        TypeRange{pairType}, ValueRange{pair, first.getPositions()},
                                        first->getAttrs());
    auto inner = rewriter.create<SplitOp>(
        rope.getLoc(), TypeRange{first.getType(), second.getType()}, rope.getResult(),
        rewriter.getDenseI64ArrayAttr({sizes[i], sizes[i + 1]}));
    rewriter.replaceOp(first, inner.getResult(0));
    rewriter.replaceOp(second, inner.getResult(1));

    // 3. The old split's other results now come from the new split.
    if (sizes.size() > 2) {
      for (unsigned j = 0, k = 0; j < sizes.size(); ++j)
        if (j != i && j != i + 1)
          rewriter.replaceAllUsesWith(split.getResult(j), others[k++]);
    }
    rewriter.eraseOp(split);
  }
};

struct MergeRopePass : llc::impl::MergeRopePassBase<MergeRopePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MergeAdjacentRopes>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
