//===- Nvcc.cpp - find nvcc and build model.cu into a binary -------------------===//
//
// The generated program is one translation unit; it includes runtime/*.h and
// templates/kernels/*.cuh from the include root and links the prebuilt host runtime
// (llc_runtime, llc_tokenizer) plus cuBLASLt and PCRE2.
//
//===--------------------------------------------------------------------------===//

#include "compiler/Nvcc.h"
#include "compiler/Paths.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;

namespace llc {

namespace {
Error fail(const Twine &m) { return createStringError(inconvertibleErrorCode(), m); }

std::string envOr(const char *name, const std::string &fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
} // namespace

Expected<std::string> findNvcc(const std::string &explicitPath) {
  if (!explicitPath.empty()) {
    if (sys::fs::can_execute(explicitPath))
      return explicitPath;
    return fail("nvcc not found at --nvcc " + explicitPath);
  }
  std::vector<std::string> tried;
  if (const char *cudaHome = std::getenv("CUDA_HOME"); cudaHome && *cudaHome) {
    SmallString<256> p(cudaHome);
    sys::path::append(p, "bin", "nvcc");
    if (sys::fs::can_execute(p))
      return std::string(p);
    tried.push_back(std::string(p) + " ($CUDA_HOME)");
  }
  if (ErrorOr<std::string> onPath = sys::findProgramByName("nvcc"))
    return *onPath;
  tried.push_back("nvcc on $PATH");
  if (sys::fs::can_execute("/usr/local/cuda/bin/nvcc"))
    return std::string("/usr/local/cuda/bin/nvcc");
  tried.push_back("/usr/local/cuda/bin/nvcc");
  std::string list;
  for (const std::string &t : tried)
    list += "\n  " + t;
  return fail("nvcc not found; looked for:" + list +
              "\nInstall the CUDA toolkit, set CUDA_HOME, or pass --nvcc PATH");
}

Expected<std::string> runNvcc(const NvccJob &job) {
  Expected<std::string> nvcc = findNvcc(job.nvcc);
  if (!nvcc)
    return nvcc.takeError();
  std::string home = envOr("LLC_LLAMA_HOME", "");
  std::string includeRoot = home.empty() ? LLC_DEFAULT_INCLUDE_ROOT : home;
  std::string libDir = home.empty() ? LLC_DEFAULT_LIB_DIR : home + "/lib";
  for (const char *lib : {"libllc_runtime.a", "libllc_tokenizer.a"}) {
    SmallString<256> p(libDir);
    sys::path::append(p, lib);
    if (!sys::fs::exists(p))
      return fail("runtime library " + p + " is missing: build the llc_runtime target, or set "
                  "LLC_LLAMA_HOME to an llc-llama installation");
  }

  std::vector<std::string> args = {*nvcc,
                                   "-arch=" + job.arch,
                                   "-O3",
                                   "-std=c++17",
                                   "-lineinfo",
                                   "-I" + includeRoot,
                                   "-o",
                                   job.output,
                                   job.source,
                                   "-L" + libDir,
                                   "-lllc_runtime",
                                   "-lllc_tokenizer",
                                   "-lcublasLt",
                                   "-lpcre2-8"};
  if (job.ptxasInfo) {
    args.push_back("-Xptxas");
    args.push_back("-v");
  }
  if (job.verbose) {
    for (const std::string &a : args)
      errs() << a << " ";
    errs() << "\n";
  }

  SmallString<128> logPath;
  if (std::error_code ec = sys::fs::createTemporaryFile("llc-nvcc", "log", logPath))
    return fail("cannot create a temporary file for nvcc's output: " + ec.message());
  std::vector<StringRef> argRefs(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string execError;
  int rc = sys::ExecuteAndWait(*nvcc, argRefs, std::nullopt, redirects, 0, 0, &execError);
  std::string log;
  if (ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(logPath))
    log = (*buffer)->getBuffer().str();
  sys::fs::remove(logPath);
  if (rc != 0) {
    std::string command;
    for (const std::string &a : args)
      command += a + " ";
    return fail("nvcc failed (exit code " + Twine(rc) + (execError.empty() ? "" : ", " + execError) +
                ") on " + job.source + "\ncommand: " + command + "\n" + log);
  }
  if (job.verbose && !log.empty())
    errs() << log;
  return log;
}

} // namespace llc
