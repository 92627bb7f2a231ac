//===- LlamaDialect.cpp - dialect registration and the kv_view type -----------===//
//
// Registers the ops and the `!llama.kv_view<HEADSxHEAD_DIMxT>` type, and parses,
// prints and verifies that type.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llc::llama;

#include "ir/LlamaDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/LlamaTypes.cpp.inc"

void LlamaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/LlamaOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "ir/LlamaTypes.cpp.inc"
      >();
}

/// `!llama.kv_view<8x64xbf16>`: heads x head_dim x element type.
Type KVViewType::parse(AsmParser &parser) {
  SmallVector<int64_t, 2> dims;
  Type elementType;
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/false, /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  if (dims.size() != 2) {
    parser.emitError(parser.getNameLoc(),
                     "kv_view expects <HEADSxHEAD_DIMxTYPE>, found ")
        << dims.size() << " dimensions";
    return {};
  }
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), dims[0], dims[1], elementType);
}

void KVViewType::print(AsmPrinter &printer) const {
  printer << "<" << getHeads() << "x" << getHeadDim() << "x" << getElementType() << ">";
}

LogicalResult KVViewType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t heads, int64_t headDim, Type elementType) {
  if (heads <= 0 || headDim <= 0)
    return emitError() << "kv_view needs positive heads and head_dim, found " << heads << "x"
                       << headDim;
  if (!elementType.isBF16() && !elementType.isF16())
    return emitError() << "kv_view element type must be bf16 or f16, found " << elementType;
  return success();
}
