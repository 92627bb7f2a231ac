//===- SelectAttentionKernel.cpp - choose each attention's kernel --------------===//
//
// An annotation pass: walks the attentions and sets `kernel` and its launch
// attributes from the step kind of the enclosing function (`llama.step`):
//   prefill -> kernel = "flash_attention_2", block_q, block_kv (nopad, tiled, online softmax)
//   decode  -> kernel = "flash_decoding", kv_splits (fixed, so one graph serves all lengths)
//   (reference = true) -> kernel = "reference" everywhere.
//
// kv_splits: at batch 1 a decode step has kv_heads x kv_splits blocks; the split count is
// the fewest that fill `sm-count` multiprocessors, capped so that no split of a
// max-context sequence is shorter than `min-split-tokens`.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"
#include "passes/StepKind.h"

#include "mlir/IR/Builders.h"

namespace llc {
#define GEN_PASS_DEF_SELECTATTENTIONKERNELPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

int64_t decodeKVSplits(int64_t kvHeads, int64_t smCount, int64_t maxContext,
                       int64_t minSplitTokens) {
  int64_t toFill = (smCount + kvHeads - 1) / kvHeads;
  int64_t cap = std::max<int64_t>(1, maxContext / std::max<int64_t>(1, minSplitTokens));
  return std::max<int64_t>(1, std::min(toFill, cap));
}

struct SelectAttentionKernelPass
    : llc::impl::SelectAttentionKernelPassBase<SelectAttentionKernelPass> {
  using SelectAttentionKernelPassBase::SelectAttentionKernelPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool hasAttention = false;
    func.walk([&](AttentionOp) { hasAttention = true; });
    if (!hasAttention)
      return;
    std::optional<StringRef> step = llc::requireStepKind(func, "an attention kernel");
    if (!step)
      return signalPassFailure();
    if (maxContext < 1 || smCount < 1 || blockQ < 16 || blockKV < 16) {
      func.emitError() << "llc-select-attention-kernel: max-context and sm-count must be "
                          "positive and block sizes at least 16";
      return signalPassFailure();
    }

    Builder b(&getContext());
    func.walk([&](AttentionOp op) {
      if (useReference) {
        op.setKernelAttr(b.getStringAttr("reference"));
      } else if (*step == "prefill") {
        op.setKernelAttr(b.getStringAttr("flash_attention_2"));
        op.setBlockQAttr(b.getI64IntegerAttr(blockQ));
        op.setBlockKvAttr(b.getI64IntegerAttr(blockKV));
      } else {
        auto view = cast<KVViewType>(op.getKCache().getType());
        op.setKernelAttr(b.getStringAttr("flash_decoding"));
        op.setKvSplitsAttr(b.getI64IntegerAttr(
            decodeKVSplits(view.getHeads(), smCount, maxContext, minSplitTokens)));
      }
    });
  }
};

} // namespace
