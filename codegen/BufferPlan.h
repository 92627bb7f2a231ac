//===- BufferPlan.h - activation buffers of one function, reused by liveness ===//
//
// Every activation an op produces gets a byte range of the arena, sized for the
// function's most tokens (max_prefill_tokens for @prefill, max_batch for @decode) and
// aligned to 256 bytes. A range is reused once every reader of its value (including
// the readers of the column views a llama.split makes of it) has run.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_CODEGEN_BUFFERPLAN_H
#define LLC_CODEGEN_BUFFERPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"

namespace llc {

struct BufferPlan {
  llvm::DenseMap<mlir::Value, size_t> offsets; ///< arena offset of each planned value
  llvm::DenseMap<mlir::Operation *, size_t> scratch; ///< per-op scratch (lm_head's gathered rows)
  size_t bytes = 0;                                  ///< arena bytes the plan needs
};

/// Plans `func`'s buffers for `maxTokens` rows. Values with no buffer of their own:
/// weights, kv views, split results (views of their input), the lm_head logits
/// (written to ForwardArgs::logits).
BufferPlan planBuffers(mlir::func::FuncOp func, int64_t maxTokens);

/// Bytes of one activation of `type` for `maxTokens` rows, 256-byte aligned.
size_t activationBytes(mlir::Type type, int64_t maxTokens);

} // namespace llc

#endif // LLC_CODEGEN_BUFFERPLAN_H
