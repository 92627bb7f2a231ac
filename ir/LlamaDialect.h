//===- LlamaDialect.h - the `llama` dialect and its type ----------------------===//
//
// Include this to use the dialect, its `!llama.kv_view` type and its ops.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_IR_LLAMADIALECT_H
#define LLC_IR_LLAMADIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/LlamaDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/LlamaTypes.h.inc"

#define GET_OP_CLASSES
#include "ir/LlamaOps.h.inc"

#endif // LLC_IR_LLAMADIALECT_H
