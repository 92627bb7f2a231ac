//===- CompileDriver.h - `llc-llama compile`: config -> IR -> model.cu -> binary ===//

#ifndef LLC_COMPILER_COMPILEDRIVER_H
#define LLC_COMPILER_COMPILEDRIVER_H

#include "compiler/ModelConfig.h"
#include "passes/Passes.h"

#include <string>

namespace llc {

struct DriverOptions {
  std::string configPath;
  std::string output;            ///< binary, .cu file, or .mlir file ("" = default / stdout)
  std::string emit = "bin";      ///< "mlir", "cuda" or "bin"
  bool printIRAfterAll = false;  ///< the module after every stage, on stderr
  std::string dumpIRDir;         ///< one file per stage
  std::string nvcc;              ///< explicit nvcc; else $CUDA_HOME/bin, PATH, /usr/local/cuda/bin
  bool verbose = false;          ///< print the nvcc command line
  bool resourceReport = false;   ///< print the resource report, write OUT.resources.json
  CompileOptions compile;
  PipelineOptions pipeline;
};

/// Runs the whole compile; prints errors to stderr. Returns the process exit code.
int runCompile(DriverOptions options);

} // namespace llc

#endif // LLC_COMPILER_COMPILEDRIVER_H
