//===- Codegen.h - optimised `llama` IR -> model.cu ----------------------------===//
//
// Fills the marked sections of the program skeleton (templates/program/model.cu)
// with the model's constants, weight table, and the kernel launches of @prefill and
// @decode in program order. Output is deterministic: the same IR gives the same bytes.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_CODEGEN_CODEGEN_H
#define LLC_CODEGEN_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>

namespace llc {

/// The text of model.cu for `module`, or an error naming the op codegen cannot
/// lower (e.g. a repeat_kv left by a disabled pass) and the pass that would fix it.
llvm::Expected<std::string> generateModelSource(mlir::ModuleOp module,
                                                llvm::StringRef skeleton);

/// Replaces the text between `// LLC-BEGIN <name>` and `// LLC-END <name>` lines of
/// `skeleton` with `sections[name]`; every section of the skeleton must be given.
llvm::Expected<std::string>
fillSkeleton(llvm::StringRef skeleton, const std::map<std::string, std::string> &sections);

} // namespace llc

#endif // LLC_CODEGEN_CODEGEN_H
