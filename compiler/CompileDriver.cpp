//===- CompileDriver.cpp - `llc-llama compile` ---------------------------------===//
//
// config.json -> ModelConfig (checked) -> reference IR -> one stage per pass (dumped
// or printed on request) -> verified IR -> model.cu (skeleton filled) -> nvcc.
// Every failure prints one `error:` message naming what is wrong and returns 1.
//
//===--------------------------------------------------------------------------===//

#include "compiler/CompileDriver.h"
#include "compiler/ConfigReader.h"
#include "compiler/GraphBuilder.h"
#include "compiler/Nvcc.h"
#include "compiler/Paths.h"
#include "compiler/ResourceReport.h"

#include "codegen/Codegen.h"
#include "ir/LlamaDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llvm;

namespace llc {

namespace {

int report(const Twine &message) {
  errs() << "error: " << message << "\n";
  return 1;
}

int report(Error error) {
  std::string message = toString(std::move(error));
  return report(message);
}

Error writeFile(StringRef path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return createStringError(ec, "cannot write " + path + ": " + ec.message());
  os << text;
  os.close();
  if (os.has_error())
    return createStringError(os.error(), "cannot write " + path + ": " + os.error().message());
  return Error::success();
}

std::string printModule(mlir::ModuleOp module) {
  std::string text;
  raw_string_ostream os(text);
  module.print(os);
  return text;
}

/// Runs the pipeline one stage at a time so the module can be shown between stages.
Error runPipeline(mlir::ModuleOp module, const DriverOptions &options) {
  int stage = 0;
  auto show = [&](StringRef name) -> Error {
    if (options.printIRAfterAll)
      errs() << "// -----// IR Dump After " << name << " //----- //\n"
             << printModule(module) << "\n";
    if (!options.dumpIRDir.empty()) {
      SmallString<256> path(options.dumpIRDir);
      sys::path::append(path, formatv("{0:d2}-{1}.mlir", stage, name).str());
      if (Error e = writeFile(path, printModule(module)))
        return e;
    }
    ++stage;
    return Error::success();
  };
  if (Error e = show("frontend"))
    return e;
  for (const std::string &name : llcPipelinePassNames()) {
    if (!llcPassEnabled(options.pipeline, name))
      continue;
    mlir::PassManager pm(module.getContext());
    addLlcPipelineStage(pm, options.pipeline, name);
    std::string diagnostics;
    {
      mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
        raw_string_ostream os(diagnostics);
        os << d.getLocation() << ": " << d << "\n";
        return mlir::success();
      });
      if (mlir::failed(pm.run(module)))
        return createStringError(inconvertibleErrorCode(),
                                 "pass " + name + " failed:\n" + diagnostics);
    }
    if (mlir::failed(mlir::verify(module)))
      return createStringError(inconvertibleErrorCode(),
                               "the IR after " + name + " does not verify");
    if (Error e = show(name))
      return e;
  }
  return Error::success();
}

std::string defaultOutput(const DriverOptions &options) {
  if (options.emit == "cuda")
    return "model.cu";
  if (options.emit == "bin")
    return "model_bin";
  return "-";
}

} // namespace

int runCompile(DriverOptions options) {
  for (const std::string &name : options.pipeline.disabled)
    if (!is_contained(llcPipelinePassNames(), name))
      return report("--disable-pass " + name + " names no pass; the passes are " +
                    join(llcPipelinePassNames(), ", "));
  if (options.emit != "mlir" && options.emit != "cuda" && options.emit != "bin")
    return report("--emit must be mlir, cuda or bin, found '" + options.emit + "'");
  if (options.resourceReport && options.emit != "bin")
    return report("--resource-report needs --emit=bin (it reports what ptxas compiled)");

  Expected<ModelConfig> config = readModelConfig(options.configPath);
  if (!config)
    return report(config.takeError());
  Expected<ResolvedOptions> resolved = resolveOptions(*config, options.compile);
  if (!resolved)
    return report(resolved.takeError());
  options.pipeline.maxContext = resolved->maxContext;
  options.pipeline.smCount = resolved->smCount;
  options.pipeline.maxBatch = resolved->maxBatch;
  options.pipeline.wgmmaPrefill = resolved->wgmmaPrefill;

  if (!options.dumpIRDir.empty())
    if (std::error_code ec = sys::fs::create_directories(options.dumpIRDir))
      return report("cannot create --dump-ir directory " + options.dumpIRDir + ": " +
                    ec.message());

  mlir::MLIRContext context;
  context.disableMultithreading();
  mlir::OwningOpRef<mlir::ModuleOp> module = buildModelModule(context, *config, *resolved);
  if (mlir::failed(mlir::verify(*module)))
    return report("internal error: the frontend built IR that does not verify");
  if (Error e = runPipeline(*module, options))
    return report(std::move(e));

  std::string output = options.output.empty() ? defaultOutput(options) : options.output;
  if (options.emit == "mlir") {
    std::string text = printModule(*module);
    if (output == "-") {
      outs() << text;
      return 0;
    }
    if (Error e = writeFile(output, text))
      return report(std::move(e));
    return 0;
  }

  std::string home = std::getenv("LLC_LLAMA_HOME") ? std::getenv("LLC_LLAMA_HOME") : "";
  SmallString<256> skeletonPath(home.empty() ? LLC_DEFAULT_INCLUDE_ROOT : home);
  sys::path::append(skeletonPath, "templates", "program", "model.cu");
  ErrorOr<std::unique_ptr<MemoryBuffer>> skeleton = MemoryBuffer::getFile(skeletonPath);
  if (!skeleton)
    return report("cannot read the program skeleton " + skeletonPath + ": " +
                  skeleton.getError().message());
  Expected<std::string> source = generateModelSource(*module, (*skeleton)->getBuffer());
  if (!source)
    return report(source.takeError());

  std::string sourcePath = options.emit == "cuda" ? output : output + ".cu";
  if (Error e = writeFile(sourcePath, *source))
    return report(std::move(e));
  if (options.emit == "cuda")
    return 0;

  NvccJob job{options.nvcc, sourcePath, output, resolved->nvccArch, options.verbose,
              options.resourceReport};
  Expected<std::string> nvccLog = runNvcc(job);
  if (!nvccLog)
    return report(nvccLog.takeError());
  if (options.resourceReport) {
    Expected<std::vector<KernelResources>> kernels = parsePtxasInfo(*nvccLog);
    if (!kernels)
      return report(kernels.takeError());
    ResourceReport resources;
    resources.arch = resolved->nvccArch;
    for (StringRef step : {"prefill", "decode"})
      resources.launches[step.str()] = launcherCalls(*source, ("model_" + step).str());
    resources.bytes = byteConstants(*source);
    resources.kernels = std::move(*kernels);
    outs() << formatResourceReport(resources);
    if (Error e = writeFile(output + ".resources.json", resourceReportJson(resources)))
      return report(std::move(e));
  }
  return 0;
}

} // namespace llc
