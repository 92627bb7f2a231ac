//===- Passes.h - llc-llama's passes and the pipeline -------------------------===//

#ifndef LLC_PASSES_PASSES_H
#define LLC_PASSES_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace llc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// What the pipeline does; every field has a CLI flag in llc-llama.
struct PipelineOptions {
  bool mergeQ = true;              ///< QKV in one GEMM (else only K/V merged).
  bool mergeGateUp = true;         ///< gate/up in one GEMM.
  bool referenceAttention = false; ///< naive attention kernel everywhere.
  int64_t maxContext = 8192;
  int64_t smCount = 132;
  int64_t maxBatch = 16;
  int64_t smallPrefillRows = 64;   ///< prefill steps up to this many rows use the GEMV (0: never)
  bool wgmmaPrefill = false;       ///< those steps' projections on Hopper wgmma (sm_90a builds)
  bool foldNorm = true;            ///< llc-fold-norm-into-gemv (off: --no-fold-norm)
  std::set<std::string> disabled;  ///< pass arguments (e.g. "llc-index-gqa-heads") to skip.
};

/// The pass names in pipeline order.
const std::vector<std::string> &llcPipelinePassNames();

/// Whether `options` runs the pass `name`: not --disable-pass'ed, and (llc-fold-norm-into-gemv)
/// not turned off by --no-fold-norm.
bool llcPassEnabled(const PipelineOptions &options, const std::string &name);

/// Adds one of llc-llama's passes, configured by `options`, to `pm` (nested on func.func).
void addLlcPipelineStage(mlir::OpPassManager &pm, const PipelineOptions &options,
                         llvm::StringRef passName);

/// Adds llc-llama's passes, in order, to `pm` (nested on func.func).
void buildLlcPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

} // namespace llc

#endif // LLC_PASSES_PASSES_H
