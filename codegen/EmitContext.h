//===- EmitContext.h - state shared while emitting one model.cu ----------------===//
//
// `ProgramContext` holds what both functions contribute to the program-wide
// constants (the weight table, rope tables, decode workspaces); `FunctionEmitter`
// turns one function into a C++ function of kernel launches.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_CODEGEN_EMITCONTEXT_H
#define LLC_CODEGEN_EMITCONTEXT_H

#include "codegen/BufferPlan.h"
#include "codegen/RopeFrequencies.h"
#include "codegen/WeightTable.h"

#include "ir/LlamaDialect.h"

#include "llvm/Support/Error.h"

#include <map>
#include <set>
#include <string>

namespace llc {

struct ProgramContext {
  WeightTable weights;
  std::map<std::string, std::string> ropeTableByValues; ///< hex list -> constant name
  std::string ropeDeclarations;                         ///< `static const RopeTable<..> ..`
  std::set<std::string> decodeWorkspaceFloats;          ///< constexpr expressions
  int64_t maxContext = 0;
  std::string dtypeEnum;                                ///< "llc::DType::bf16"
};

/// Emits `static void model_<name>(const llc::ForwardArgs &args, cudaStream_t stream)`.
class FunctionEmitter {
public:
  FunctionEmitter(mlir::func::FuncOp func, const BufferPlan &plan, ProgramContext &program)
      : func(func), plan(plan), program(program) {}

  llvm::Expected<std::string> emit();

private:
  struct TensorRef {
    std::string ptr; ///< C++ expression of the first element
    int64_t ld = 0;  ///< row stride in elements
  };

  llvm::Error emitOp(mlir::Operation *op);
  llvm::Error unsupported(mlir::Operation *op, const llvm::Twine &why);
  /// Declares a planned buffer for `v` and returns its variable name.
  std::string define(mlir::Value v);
  TensorRef ref(mlir::Value v) const;
  std::string weight(mlir::Value v);
  std::string meta(mlir::Value v) const;
  std::string layerCache(mlir::Value view, llvm::StringRef which) const;
  /// Records the layer of a KV store's cache views (for attention) and checks that every
  /// layer's pool rows have one shape.
  llvm::Error noteCacheViews(mlir::Operation *op, mlir::Value kCache, mlir::Value vCache, int64_t layer);
  std::string ropeTable(const RopeParams &rope);
  void line(const llvm::Twine &text, mlir::Operation *op = nullptr);

  mutable mlir::func::FuncOp func;
  const BufferPlan &plan;
  ProgramContext &program;
  llvm::DenseMap<mlir::Value, TensorRef> refs;
  llvm::DenseMap<mlir::Value, int64_t> viewLayer;
  std::set<int> declaredWeights;
  std::string body;
  int nextTensor = 0;
  int launches = 0;
  int64_t kvRowElements = 0; ///< heads x head_dim of a pool row (every layer alike)
};

} // namespace llc

#endif // LLC_CODEGEN_EMITCONTEXT_H
