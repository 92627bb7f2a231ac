//===- Pipeline.cpp - the order llc-llama's passes run in ---------------------===//
//
// The one place the pipeline is decided. Each pass is nested on func.func (prefill and
// decode are optimised alike); a pass named in `disabled` is left out. A stage is one
// pass over every function, so the driver can dump the module between stages.
//
//===--------------------------------------------------------------------------===//

#include "passes/Passes.h"

using namespace mlir;

namespace llc {

const std::vector<std::string> &llcPipelinePassNames() {
  static const std::vector<std::string> names = {
      "llc-merge-kv-linear",         // QKV (or KV) and gate/up become one GEMM each
      "llc-merge-rope",              // Q and K of the merged QKV roped by one kernel
      "llc-fuse-residual-rmsnorm",   // residual add + next norm in one kernel
      "llc-index-gqa-heads",         // attention reads KV head h / group: no repeat_kv copy
      "llc-select-attention-kernel", // FA2 nopad prefill, flash-decoding decode
      "llc-select-linear-kernel",    // batch-invariant GEMV in decode, cuBLASLt in prefill
                                     // (short prefills: GEMV, or wgmma on Hopper)
      "llc-fuse-silu-mul-linear",    // the gate/up GEMV applies the SwiGLU gate in its epilogue
      "llc-fuse-rope-kv-store",      // one kernel ropes Q|K and writes K, V into the pool
      "llc-fuse-rope-kv-store-linear", // the decode QKV GEMV does that in its epilogue
      "llc-fold-norm-into-gemv",     // decode RMSNorms into their GEMVs, norm weights into W
      "llc-elide-decode-logit-gather", // decode's lm_head reads its rows in place
  };
  return names;
}

bool llcPassEnabled(const PipelineOptions &options, const std::string &name) {
  return !options.disabled.count(name) && (name != "llc-fold-norm-into-gemv" || options.foldNorm);
}

void addLlcPipelineStage(OpPassManager &pm, const PipelineOptions &options,
                         llvm::StringRef passName) {
  if (passName == "llc-fold-norm-into-gemv") {  // a module pass: @prefill and @decode share weights
    pm.addPass(createFoldNormIntoGemvPass());
    return;
  }
  OpPassManager &funcPM = pm.nest<func::FuncOp>();
  if (passName == "llc-merge-kv-linear") {
    MergeKVLinearPassOptions merge;
    merge.mergeQ = options.mergeQ;
    merge.mergeGateUp = options.mergeGateUp;
    funcPM.addPass(createMergeKVLinearPass(merge));
  } else if (passName == "llc-merge-rope") {
    funcPM.addPass(createMergeRopePass());
  } else if (passName == "llc-fuse-residual-rmsnorm") {
    funcPM.addPass(createFuseResidualRMSNormPass());
  } else if (passName == "llc-index-gqa-heads") {
    funcPM.addPass(createIndexGQAHeadsPass());
  } else if (passName == "llc-select-attention-kernel") {
    SelectAttentionKernelPassOptions select;
    select.useReference = options.referenceAttention;
    select.maxContext = options.maxContext;
    select.smCount = options.smCount;
    funcPM.addPass(createSelectAttentionKernelPass(select));
  } else if (passName == "llc-select-linear-kernel") {
    SelectLinearKernelPassOptions select;
    select.maxBatch = options.maxBatch;
    select.smallPrefillRows = options.smallPrefillRows;
    select.wgmmaPrefill = options.wgmmaPrefill;
    funcPM.addPass(createSelectLinearKernelPass(select));
  } else if (passName == "llc-fuse-silu-mul-linear") {
    funcPM.addPass(createFuseSiluMulLinearPass());
  } else if (passName == "llc-fuse-rope-kv-store") {
    funcPM.addPass(createFuseRopeKVStorePass());
  } else if (passName == "llc-fuse-rope-kv-store-linear") {
    funcPM.addPass(createFuseRopeKVStoreLinearPass());
  } else if (passName == "llc-elide-decode-logit-gather") {
    funcPM.addPass(createElideDecodeLogitGatherPass());
  } else {
    llvm::report_fatal_error("addLlcPipelineStage: unknown pass " + passName);
  }
}

void buildLlcPipeline(OpPassManager &pm, const PipelineOptions &options) {
  for (const std::string &name : llcPipelinePassNames())
    if (llcPassEnabled(options, name))
      addLlcPipelineStage(pm, options, name);
}

} // namespace llc
