//===- main.cpp - the llc-llama command line -----------------------------------===//
//
//   llc-llama compile CONFIG [-o OUT] [--emit=mlir|cuda|bin] [options]
//
// The only file that uses CLI11 (it needs exceptions; the libraries do not).
//
//===--------------------------------------------------------------------------===//

#include "compiler/CompileDriver.h"
#include "runtime/version.h"

#include "llvm/ADT/StringExtras.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char **argv) {
  CLI::App app{"llc-llama: an ahead-of-time compiler for Llama-family models"};
  app.set_version_flag("--version", std::string("llc-llama ") + llc::kVersion);
  app.require_subcommand(1);

  llc::DriverOptions options;
  std::string graphBuckets;
  std::vector<std::string> disabled;
  bool noMergeQ = false, noMergeGateUp = false;

  CLI::App *compile = app.add_subcommand(
      "compile", "Compile a Hugging Face config.json into an executable (or its IR / CUDA source)");
  compile->add_option("config", options.configPath, "The model's config.json")
      ->required()
      ->check(CLI::ExistingFile);
  compile->add_option("-o,--output", options.output,
                      "Output: the binary (bin; default model_bin, its source kept as OUT.cu), "
                      "the .cu file (cuda; default model.cu) or the IR file (mlir; default stdout)");
  compile->add_option("--emit", options.emit, "What to produce: mlir, cuda or bin")
      ->check(CLI::IsMember({"mlir", "cuda", "bin"}))
      ->capture_default_str();
  compile->add_option("--dtype", options.compile.dtype,
                      "Compute dtype: bf16 or fp16 (default: from torch_dtype; bf16 for float32)")
      ->check(CLI::IsMember({"bf16", "fp16"}));
  compile->add_option("--max-batch", options.compile.maxBatch,
                      "Most sequences in one step")
      ->capture_default_str();
  compile->add_option("--max-context", options.compile.maxContext,
                      "Most tokens of one sequence (default: min(max_position_embeddings, 8192, "
                      "sliding window))");
  compile->add_option("--max-prefill-tokens", options.compile.maxPrefillTokens,
                      "Most new tokens in one prefill step (longer prompts are chunked)")
      ->capture_default_str();
  compile->add_option("--small-prefill-rows", options.pipeline.smallPrefillRows,
                      "Prefill steps of at most this many tokens stream the weights through the GEMV "
                      "instead of cuBLASLt (0 to 64; 0: never); on sm_90 the projections' steps of "
                      "at most 128 tokens run warpgroup MMA instead (see --no-wgmma-prefill)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  compile->add_option("--graph-buckets", graphBuckets,
                      "Decode CUDA-graph batch sizes, comma separated, ending at --max-batch "
                      "(default 1,2,4,... up to --max-batch)");
  compile->add_option("--arch", options.compile.arch, "Target GPU architecture for nvcc")
      ->capture_default_str();
  compile->add_flag("!--no-wgmma-prefill", options.compile.wgmmaPrefill,
                    "On sm_90, keep short prefills on the mma.sync GEMVs instead of warpgroup MMA "
                    "(the program is then built for sm_90, not sm_90a)");
  compile->add_flag("!--no-fold-norm", options.pipeline.foldNorm,
                    "Keep each decode RMSNorm a kernel of its own instead of folding it into the GEMV "
                    "after it, and its weight into that GEMV's weight at load (llc-fold-norm-into-gemv)");
  compile->add_option("--sm-count", options.compile.smCount,
                      "Multiprocessors of the target GPU (default from --arch: 132 for sm_90)");
  compile->add_option("--nvcc", options.nvcc,
                      "nvcc to use (default: $CUDA_HOME/bin/nvcc, nvcc on PATH, "
                      "/usr/local/cuda/bin/nvcc)");
  compile->add_flag("--print-ir-after-all", options.printIRAfterAll,
                    "Print the module after the frontend and after every pass (stderr)");
  compile->add_option("--dump-ir", options.dumpIRDir,
                      "Write the module after the frontend and after every pass, one file per "
                      "stage, into this directory");
  compile->add_option("--disable-pass", disabled,
                      "Leave a pass out (repeatable): " + llvm::join(llc::llcPipelinePassNames(), ", "));
  compile->add_flag("--no-merge-q", noMergeQ,
                    "Merge only K and V (not Q) into one projection");
  compile->add_flag("--no-merge-gate-up", noMergeGateUp,
                    "Keep the MLP's gate and up projections separate");
  compile->add_flag("--reference-attention", options.pipeline.referenceAttention,
                    "Use the naive reference attention kernel everywhere (debugging)");
  compile->add_flag("-v,--verbose", options.verbose, "Print the nvcc command line");
  compile->add_flag("--resource-report", options.resourceReport,
                    "After nvcc: print each step's kernel launcher calls, the planned arena sizes "
                    "and every kernel's registers, shared memory, stack and spills (ptxas -v); "
                    "also written as JSON to OUT.resources.json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }

  options.pipeline.mergeQ = !noMergeQ;
  options.pipeline.mergeGateUp = !noMergeGateUp;
  options.pipeline.disabled.insert(disabled.begin(), disabled.end());
  if (!graphBuckets.empty()) {
    std::stringstream ss(graphBuckets);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t used = 0;
        long long v = std::stoll(item, &used);
        if (used != item.size())
          throw std::invalid_argument(item);
        options.compile.graphBuckets.push_back(v);
      } catch (const std::exception &) {
        std::cerr << "error: --graph-buckets expects comma-separated integers, found '" << item
                  << "'\n";
        return 1;
      }
    }
  }
  return llc::runCompile(std::move(options));
}
