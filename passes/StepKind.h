//===- StepKind.h - the step kind (`llama.step`) a kernel-selection pass needs ===//
//
// @prefill and @decode carry `llama.step = "prefill" | "decode"`; the kernel-selection
// passes choose by it, and refuse (with one error naming the function) a function that
// holds ops to choose for but no valid step kind.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_PASSES_STEPKIND_H
#define LLC_PASSES_STEPKIND_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>

namespace llc {

/// "prefill" or "decode", or nullopt after emitting
/// "cannot select <what>: @f needs llama.step = ..." on `func`.
inline std::optional<llvm::StringRef> requireStepKind(mlir::func::FuncOp func,
                                                     llvm::StringRef what) {
  auto step = func->getAttrOfType<mlir::StringAttr>("llama.step");
  if (step && (step.getValue() == "prefill" || step.getValue() == "decode"))
    return step.getValue();
  func.emitError() << "cannot select " << what << ": @" << func.getSymName()
                   << " needs llama.step = \"prefill\" or \"decode\"";
  return std::nullopt;
}

} // namespace llc

#endif // LLC_PASSES_STEPKIND_H
