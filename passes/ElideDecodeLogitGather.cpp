//===- ElideDecodeLogitGather.cpp - decode's lm_head reads its rows in place ---===//
//
// In @decode (llama.step = "decode") every row is its sequence's one new token, so the rows
// whose logits the step returns are all of its rows, in order:
//   %logits = llama.lm_head %h, %w, %logit_rows
// ->
//   %logits = llama.lm_head %h, %w
// and the generated step has no gather kernel before its lm_head GEMV. The runtime still fills
// logit_rows (the identity, one entry a bucket row) for the step metadata's layout.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

namespace llc {
#define GEN_PASS_DEF_ELIDEDECODELOGITGATHERPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

struct ElideDecodeLogitGatherPass
    : llc::impl::ElideDecodeLogitGatherPassBase<ElideDecodeLogitGatherPass> {
  void runOnOperation() override {
    auto step = getOperation()->getAttrOfType<StringAttr>("llama.step");
    if (!step || step.getValue() != "decode")
      return;
    getOperation().walk([](LMHeadOp head) { head.getLogitRowsMutable().clear(); });
  }
};

} // namespace
