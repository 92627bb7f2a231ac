//===- GraphBuilder.h - ModelConfig -> the reference `llama` graph ------------===//
//
// Builds the module the passes start from: `@prefill` and `@decode`, each the model
// written as the reference implementation does it (separate q/k/v projections,
// repeat_kv before attention, residual add then rmsnorm), so that every pass has real
// work and its effect shows in the dumped IR.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_COMPILER_GRAPHBUILDER_H
#define LLC_COMPILER_GRAPHBUILDER_H

#include "compiler/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace llc {

/// The step metadata arguments of @prefill and @decode, in order; each argument
/// carries `llama.meta = "<name>"`.
const std::vector<std::string> &stepMetadataNames();

mlir::OwningOpRef<mlir::ModuleOp> buildModelModule(mlir::MLIRContext &context,
                                                   const ModelConfig &config,
                                                   const ResolvedOptions &options);

} // namespace llc

#endif // LLC_COMPILER_GRAPHBUILDER_H
