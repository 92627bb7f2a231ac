//===- IndexGQAHeads.cpp - attention indexes KV head h / group ----------------===//
//
// Grouped-query attention without the copy:
//   %kr = llama.repeat_kv %kc {n_rep = 4} : !llama.kv_view<8x64xbf16> -> !llama.kv_view<32x64xbf16>
//   %o = llama.attention %q, %kr, %vr, ...
// ->
//   %o = llama.attention %q, %kc, %vc, ...
// Attention's contract (LlamaOps.td) is that query head h reads KV head
// h / (q_heads / kv_heads), so the unrepeated view carries the same meaning. A
// repeat_kv with users other than attention keeps serving them.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "llvm/ADT/SetVector.h"

namespace llc {
#define GEN_PASS_DEF_INDEXGQAHEADSPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

struct IndexGQAHeadsPass : llc::impl::IndexGQAHeadsPassBase<IndexGQAHeadsPass> {
  void runOnOperation() override {
    // 1. Collect the attentions that read a repeated view.
    SmallVector<AttentionOp> attentions;
    getOperation().walk([&](AttentionOp op) {
      if (op.getKCache().getDefiningOp<RepeatKVOp>() || op.getVCache().getDefiningOp<RepeatKVOp>())
        attentions.push_back(op);
    });
    // 2. Point them at the unrepeated views.
    llvm::SetVector<Operation *> repeats;
    for (AttentionOp op : attentions) {
      for (OpOperand *operand : {&op.getKCacheMutable(), &op.getVCacheMutable()}) {
        if (auto repeat = operand->get().getDefiningOp<RepeatKVOp>()) {
          operand->set(repeat.getInput());
          repeats.insert(repeat);
        }
      }
    }
    // 3. Erase the copies nobody reads any more.
    for (Operation *repeat : repeats)
      if (repeat->use_empty())
        repeat->erase();
  }
};

} // namespace
