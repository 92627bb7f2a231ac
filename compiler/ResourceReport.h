//===- ResourceReport.h - what the compiled program costs, kernel by kernel -----===//
//
// `llc-llama compile --resource-report` builds the program with `-Xptxas -v` and reports:
//   - per step function (@prefill, @decode) of the generated model.cu: the kernel launcher
//     calls it makes, by launcher (a decode step replays exactly these, captured in a graph);
//   - the arena sizes the codegen planned (the model.cu constants ending in Bytes that are
//     numbers; the decode workspace is an expression over kernel templates, left to nvcc);
//   - per kernel, as ptxas compiled it for the target: registers, static shared memory, stack
//     frame and spill stores/loads, with a warning line for every kernel that spills.
// The same as JSON next to the binary (OUT.resources.json). Nothing here runs on a GPU.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_COMPILER_RESOURCEREPORT_H
#define LLC_COMPILER_RESOURCEREPORT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace llc {

struct KernelResources {
  std::string name;  ///< demangled, without the parameter list
  int registers = 0;
  int sharedBytes = 0;  ///< static shared memory
  int stackBytes = 0;
  int spillStoreBytes = 0, spillLoadBytes = 0;
};

/// The entry functions of nvcc `-Xptxas -v` output, in the order ptxas reports them. An output
/// with no entry function is an error (the flag was not passed, or nothing was compiled).
llvm::Expected<std::vector<KernelResources>> parsePtxasInfo(llvm::StringRef log);

/// Launcher name -> calls in the body of `static void <function>(` of the generated source:
/// every `name_forward` call and every `args.gemm->` call (as "cublaslt_gemm"); a line that
/// chooses between the two at run time counts as e.g. "gemv_forward|cublaslt_gemm".
std::map<std::string, int> launcherCalls(llvm::StringRef source, llvm::StringRef function);

/// `constexpr size_t kXxxBytes = N;` constants of the generated source.
std::map<std::string, long long> byteConstants(llvm::StringRef source);

struct ResourceReport {
  std::string arch;
  std::map<std::string, std::map<std::string, int>> launches;  ///< step -> launcher -> calls
  std::map<std::string, long long> bytes;
  std::vector<KernelResources> kernels;
};

/// The report as a table for people and as JSON.
std::string formatResourceReport(const ResourceReport &report);
std::string resourceReportJson(const ResourceReport &report);

} // namespace llc

#endif // LLC_COMPILER_RESOURCEREPORT_H
