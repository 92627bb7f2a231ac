//===- Nvcc.h - find nvcc and build model.cu into a binary ---------------------===//

#ifndef LLC_COMPILER_NVCC_H
#define LLC_COMPILER_NVCC_H

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llc {

struct NvccJob {
  std::string nvcc;    ///< "" = search $CUDA_HOME/bin, PATH, /usr/local/cuda/bin
  std::string source;  ///< model.cu
  std::string output;  ///< the binary
  std::string arch;    ///< e.g. sm_90
  bool verbose = false;
  bool ptxasInfo = false;  ///< add -Xptxas -v (per-kernel registers, shared memory, spills)
};

/// The nvcc to use, or an error saying where it looked.
llvm::Expected<std::string> findNvcc(const std::string &explicitPath);

/// Compiles and links `job.source` against the runtime library and returns nvcc's output
/// (stdout and stderr). On failure the error holds that output.
llvm::Expected<std::string> runNvcc(const NvccJob &job);

} // namespace llc

#endif // LLC_COMPILER_NVCC_H
