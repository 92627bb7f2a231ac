//===- SelectLinearKernel.cpp - choose each projection's GEMM ------------------===//
//
// An annotation pass: every llama.linear and llama.lm_head gets `kernel`:
//   decode, max-batch <= max-gemv-rows -> "gemv"      (weight-streaming, batch-invariant)
//   otherwise                          -> "cublaslt"  (tensor-core GEMM)
// In prefill, cuBLASLt projections get gemv_max_rows (small-prefill-rows; the lm_head:
// max-batch): steps with at most that many rows run a GEMV, short_kernel says which:
// "gemv_prefill" for weights of at least wide-prefill-rows rows whose steps may have more than
// two batch tiles (16 rows; up to that the decode GEMV streams at copy bandwidth), else "gemv";
// with wgmma-prefill, every llama.linear whose K is a multiple of 64 gets "wgmma" instead, with
// gemv_max_rows = wgmma-prefill-rows (128 by default: Hopper warpgroup MMA over 64-k stages,
// prefill_wgmma.cuh, streams the weights at up to 128 rows where cuBLASLt's tiles do not).
// The GEMV reads K in 16-byte pieces of 4 lanes (templates/kernels/gemv.cuh): a function whose
// projections do not all have K % 32 == 0 keeps cuBLASLt for all of them, so that a step never
// mixes the two (and one model is batch-invariant or not as a whole).
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"
#include "passes/StepKind.h"
#include "templates/kernels/kernel_limits.h"

#include "mlir/IR/Builders.h"

namespace llc {
#define GEN_PASS_DEF_SELECTLINEARKERNELPASS
#include "passes/Passes.h.inc"
} // namespace llc

using namespace mlir;
using namespace llc::llama;

namespace {

using kernel_limits::kGemvKMultiple;
constexpr int64_t kGemvMaxRowsLimit = kernel_limits::kGemvMaxRows;
constexpr int64_t kGemvTwoTileRows = 16;  // two batch tiles of the mma's 8 columns
using kernel_limits::kWgmmaKMultiple;
constexpr int64_t kWgmmaMaxRowsLimit = kernel_limits::kWgmmaMaxRows;

struct SelectLinearKernelPass : llc::impl::SelectLinearKernelPassBase<SelectLinearKernelPass> {
  using SelectLinearKernelPassBase::SelectLinearKernelPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool hasLinear = false;
    func.walk([&](Operation *op) { hasLinear |= isa<LinearOp, LMHeadOp>(op); });
    if (!hasLinear)
      return;
    std::optional<StringRef> step = llc::requireStepKind(func, "a linear kernel");
    if (!step)
      return signalPassFailure();
    if (maxBatch < 1 || maxGemvRows < 1 || maxGemvRows > 32) {
      func.emitError() << "llc-select-linear-kernel: max-batch must be positive and "
                          "max-gemv-rows in [1, 32]";
      return signalPassFailure();
    }
    if (wgmmaPrefillRows < 0 || wgmmaPrefillRows > kWgmmaMaxRowsLimit) {
      func.emitError() << "llc-select-linear-kernel: wgmma-prefill-rows must be in [0, "
                       << kWgmmaMaxRowsLimit << "]";
      return signalPassFailure();
    }
    if (smallPrefillRows < 0 || smallPrefillRows > kGemvMaxRowsLimit) {
      func.emitError() << "llc-select-linear-kernel: small-prefill-rows must be in [0, "
                       << kGemvMaxRowsLimit << "]";
      return signalPassFailure();
    }
    if (widePrefillRows < 1) {
      func.emitError() << "llc-select-linear-kernel: wide-prefill-rows must be positive";
      return signalPassFailure();
    }
    bool gemvFits = true;
    func.walk([&](Operation *op) {
      if (isa<LinearOp, LMHeadOp>(op) &&
          cast<RankedTensorType>(op->getOperand(1).getType()).getDimSize(1) % kGemvKMultiple != 0)
        gemvFits = false;
    });
    bool gemv = *step == "decode" && maxBatch <= maxGemvRows && gemvFits;
    StringAttr kernel = StringAttr::get(&getContext(), gemv ? "gemv" : "cublaslt");
    // Short prefills: the GEMV below a row limit, where every K allows it.
    Builder b(&getContext());
    IntegerAttr linearRows, headRows, wgmmaRows;
    if (*step == "prefill" && gemvFits) {
      if (smallPrefillRows > 0)
        linearRows = b.getI64IntegerAttr(smallPrefillRows);
      if (maxBatch <= kGemvMaxRowsLimit)
        headRows = b.getI64IntegerAttr(maxBatch);
      if (wgmmaPrefill && wgmmaPrefillRows > 0)
        wgmmaRows = b.getI64IntegerAttr(wgmmaPrefillRows);
    }
    auto shortKernel = [&](Operation *op, IntegerAttr stepRows) {
      int64_t weightRows = cast<RankedTensorType>(op->getOperand(1).getType()).getDimSize(0);
      bool wide = weightRows >= widePrefillRows && stepRows.getInt() > kGemvTwoTileRows;
      return b.getStringAttr(wide ? "gemv_prefill" : "gemv");
    };
    func.walk([&](Operation *op) {
      if (auto linear = dyn_cast<LinearOp>(op)) {
        linear.setKernelAttr(kernel);
        if (wgmmaRows && linear.getWeight().getType().getDimSize(1) % kWgmmaKMultiple == 0) {
          linear.setGemvMaxRowsAttr(wgmmaRows);
          linear.setShortKernelAttr(b.getStringAttr("wgmma"));
        } else if (linearRows) {
          linear.setGemvMaxRowsAttr(linearRows);
          linear.setShortKernelAttr(shortKernel(op, linearRows));
        }
      } else if (auto head = dyn_cast<LMHeadOp>(op)) {
        head.setKernelAttr(kernel);
        if (headRows) {
          head.setGemvMaxRowsAttr(headRows);
          head.setShortKernelAttr(shortKernel(op, headRows));
        }
      }
    });
  }
};

} // namespace
