//===- LlcOpt.cpp - llc-opt: mlir-opt for the llama dialect -------------------===//
//
// The lit tests' driver: parses IR, runs the passes named on the command line, prints IR.
// Registers only what llc-llama uses: the llama and func dialects and our passes.
//
//===--------------------------------------------------------------------------===//

#include "ir/LlamaDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<llc::llama::LlamaDialect, mlir::func::FuncDialect>();
  llc::registerLlcPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "llc-opt: the llama dialect and llc-llama's passes\n", registry));
}
