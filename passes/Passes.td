//===- Passes.td - llc-llama's passes, alphabetical ---------------------------===//
//
// The order they run in is decided in one place: buildLlcPipeline() (Pipeline.cpp).
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_PASSES_TD
#define LLC_PASSES_TD

include "mlir/Pass/PassBase.td"

def ElideDecodeLogitGatherPass : Pass<"llc-elide-decode-logit-gather", "::mlir::func::FuncOp"> {
  let summary = "The decode step's lm_head reads its rows in place, without gathering them.";
  let description = [{
    A decode step has one row a sequence, that sequence's one new token, and so its last:
    the rows whose logits the step returns are all of its rows, in order. In a function with
    `llama.step = "decode"` each `llama.lm_head` loses its `logit_rows` operand and projects
    every row where it lies, and the step loses the gather kernel that copied each row onto
    itself. @prefill keeps its gather (one row a sequence out of many).
    Measured on the H200 (docs/performance.md, log 50): 1B decode step -0.001 ms (batch 1 and 4).
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def FoldNormIntoGemvPass : Pass<"llc-fold-norm-into-gemv", "::mlir::ModuleOp"> {
  let summary = "Fold each decode RMSNorm into the GEMV that consumes it, its weight into that GEMV's weight.";
  let description = [{
    In @decode, a `llama.rmsnorm` or `llama.add_rmsnorm` whose normalised result feeds only a
    GEMV projection (`llama.linear`, `llama.swiglu_linear` or `llama.rope_kv_store_linear`
    with `kernel = "gemv"`) disappears:
    - the projection takes the un-normalised stream and `norm_eps`, and scales its sums by
      the row's inv_rms, which each GEMV block computes from the x it loads anyway;
    - the norm's weight `w` is folded into the projection's weight at load time (`scaled_by`
      on its `llama.weight`: column c times w[c], rounded once);
    - the residual add of an add_rmsnorm moves into the GEMV that produced one of its operands
      (`llama.residual_linear`), or stays a `llama.add` when there is none.
    The decode step loses its two add_rmsnorm kernels a layer. The weights are shared with
    @prefill, so there the same norm keeps its kernel but leaves out `* w` (`weight_folded`).
    A pair is folded only when @prefill (if present) uses the projection's weight the same way:
    fed by a norm with the same weight, and by nothing else.
    Measured on the H200 (docs/performance.md, log 37): decode step -0.035 ms (1B), -0.03 to
    -0.04 ms (8B).
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def FuseResidualRMSNormPass : Pass<"llc-fuse-residual-rmsnorm", "::mlir::func::FuncOp"> {
  let summary = "Fuse a residual add and the RMSNorm of its sum into one add_rmsnorm.";
  let description = [{
    `s = llama.add x, r` followed by `n = llama.rmsnorm s, w` becomes
    `s, n = llama.add_rmsnorm x, r, w`: one kernel reads x and r once and writes both
    the new residual stream and its normalised value. Other users of `s` keep using
    the first result.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def IndexGQAHeadsPass : Pass<"llc-index-gqa-heads", "::mlir::func::FuncOp"> {
  let summary = "Remove repeat_kv: attention reads KV head h / group directly.";
  let description = [{
    `llama.repeat_kv` materialises each KV head `group` times so that every query
    head has its own copy. Attention can instead index KV head `h / group` for query
    head `h`; this pass rewires every attention operand that comes from a repeat_kv
    to the unrepeated view and erases the repeat_kv.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def MergeKVLinearPass : Pass<"llc-merge-kv-linear", "::mlir::func::FuncOp"> {
  let summary = "Merge the K and V projections of a layer into one linear and a split.";
  let description = [{
    `k = linear(x, Wk)` and `v = linear(x, Wv)` over the same `x` become one
    `linear(x, [Wk; Wv])` whose result is split back into `k` and `v`; the merged
    weight lists both checkpoint tensors so the loader concatenates them. With
    `merge-q`, the Q projection joins (one QKV GEMM); with `merge-gate-up`, the MLP's
    gate and up projections are merged the same way.
  }];
  let options = [
    Option<"mergeQ", "merge-q", "bool", /*default=*/"false",
           "Also fold the Q projection in (one QKV GEMM).">,
    Option<"mergeGateUp", "merge-gate-up", "bool", /*default=*/"false",
           "Also merge the MLP's gate and up projections.">
  ];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def MergeRopePass : Pass<"llc-merge-rope", "::mlir::func::FuncOp"> {
  let summary = "One rope over the adjacent Q and K column ranges of a merged projection.";
  let description = [{
    Two consecutive results of a `llama.split` that each feed one `llama.rope` with the same
    positions and attributes (Q and K of a merged QKV) get one rope over their joint column
    range, split back afterwards: the same values (RoPE is per head) from one kernel launch.
    Runs after `llc-merge-kv-linear`.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def SelectAttentionKernelPass : Pass<"llc-select-attention-kernel", "::mlir::func::FuncOp"> {
  let summary = "Choose each attention's kernel and launch shape from its step kind.";
  let description = [{
    In a function marked `llama.step = "prefill"`, attention becomes
    FlashAttention-2 over the unpadded batch (`kernel = "flash_attention_2"`, with
    `block_q`/`block_kv`). In `llama.step = "decode"`, it becomes flash-decoding with a
    fixed number of KV splits: enough (sequence, KV head, split) blocks to fill
    `sm-count` multiprocessors at batch 1, but no split shorter than `min-split-tokens`
    of the compiled `max-context`. The split count is a constant, so one decode graph
    serves every context length. `reference = true` selects the naive kernel instead.
  }];
  let options = [
    Option<"useReference", "reference", "bool", /*default=*/"false",
           "Select the naive reference kernel everywhere (debugging).">,
    Option<"maxContext", "max-context", "int64_t", /*default=*/"8192",
           "Compiled maximum context length.">,
    Option<"smCount", "sm-count", "int64_t", /*default=*/"132",
           "Multiprocessors of the target GPU (132 on an H100/H200 SXM).">,
    Option<"minSplitTokens", "min-split-tokens", "int64_t", /*default=*/"256",
           "Shortest KV range worth a split of its own at the maximum context.">,
    Option<"blockQ", "block-q", "int64_t", /*default=*/"64",
           "Query rows per FlashAttention-2 tile.">,
    Option<"blockKV", "block-kv", "int64_t", /*default=*/"64",
           "KV rows per FlashAttention-2 tile.">
  ];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def FuseSiluMulLinearPass : Pass<"llc-fuse-silu-mul-linear", "::mlir::func::FuncOp"> {
  let summary = "Apply the SwiGLU gate in the epilogue of the gate/up GEMV (one swiglu_linear).";
  let description = [{
    A `llama.silu_mul` of the two equal halves of a `llama.split` of a `kernel = "gemv"`
    `llama.linear` (the merged gate/up projection), none of them with another user, becomes
    one `llama.swiglu_linear`: each GEMV block computes gate rows next to their up rows and
    writes silu(gate) * up, so the step skips the silu_mul kernel and the round trip of the
    projection's 2I columns. Projections on cuBLASLt (prefill) keep the separate ops. Runs after
    `llc-select-linear-kernel`.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def FuseRopeKVStorePass : Pass<"llc-fuse-rope-kv-store", "::mlir::func::FuncOp"> {
  let summary = "Rope Q and K and store K and V in one kernel (one rope_kv_store).";
  let description = [{
    A `llama.rope` whose result is split in two, the second half (K) feeding only a
    `llama.kv_store`, becomes one `llama.rope_kv_store`: the kernel writes the roped Q heads to
    an activation and the roped K heads and the V row straight into their pool slot. Runs
    after `llc-merge-rope`, which makes the single rope over Q|K.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def FuseRopeKVStoreLinearPass : Pass<"llc-fuse-rope-kv-store-linear", "::mlir::func::FuncOp"> {
  let summary = "Rope Q and K and store K and V in the epilogue of the QKV GEMV (one rope_kv_store_linear).";
  let description = [{
    A `llama.rope_kv_store` of the two parts of a `llama.split` of a `kernel = "gemv"`
    `llama.linear` (the merged QKV projection), none of them with another user, becomes one
    `llama.rope_kv_store_linear`: each GEMV block computes 8 rotation pairs of one head side by
    side, ropes them in its epilogue and writes Q to an activation and K and V straight into
    their pool slot, so the decode step skips the rope_kv_store kernel and the round trip of the
    projection's columns (bit-identical). Projections on cuBLASLt (prefill) keep the separate
    ops. Runs after `llc-fuse-rope-kv-store` and `llc-select-linear-kernel`.
  }];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

def SelectLinearKernelPass : Pass<"llc-select-linear-kernel", "::mlir::func::FuncOp"> {
  let summary = "Choose each projection's GEMM: a batch-invariant GEMV in decode, cuBLASLt in prefill.";
  let description = [{
    A decode step multiplies at most `max-batch` rows by each weight: its time is the time to
    stream the weight from memory once, which the GEMV kernel (templates/kernels/gemv.cuh) is
    built for, and the GEMV's summation order does not depend on the batch size, so a sequence
    decodes to the same tokens alone or batched. In `llama.step = "decode"` every `llama.linear`
    and `llama.lm_head` gets `kernel = "gemv"` when `max-batch <= max-gemv-rows`; everything else
    (prefill, or larger batches) gets `kernel = "cublaslt"`. In prefill the projections also get
    `gemv_max_rows = small-prefill-rows` and the lm_head `gemv_max_rows = max-batch` (its rows
    are the sequences' last tokens): a short prefill streams the weights through a GEMV. Each
    such op also gets `short_kernel`: "gemv_prefill" (templates/kernels/gemv_prefill.cuh, 128
    weight rows a block sharing one staged copy of x) when its weight has at least
    `wide-prefill-rows` rows and its row limit is above 16 (two batch tiles, up to which
    gemv.cuh streams at copy bandwidth), else "gemv" (gemv.cuh). With `wgmma-prefill` (the
    driver sets it for sm_90, which it then builds as sm_90a) every `llama.linear` whose K is a
    multiple of 64 gets "wgmma" instead, with `gemv_max_rows = wgmma-prefill-rows` (128:
    templates/kernels/prefill_wgmma.cuh, Hopper warpgroup MMA with both operands in shared
    memory, streams the weights at up to 128 rows); the lm_head keeps the GEMV (its rows are at
    most max-batch logit rows). The choice depends on the weight's shape only, and every short-step
    kernel's sums are independent of the row count, so prefill stays bit-identical alone and
    batched while both stay on one side of the row limit.
  }];
  let options = [
    Option<"maxBatch", "max-batch", "int64_t", /*default=*/"16",
           "Compiled maximum batch: the most rows a decode step multiplies.">,
    Option<"maxGemvRows", "max-gemv-rows", "int64_t", /*default=*/"16",
           "Largest batch the GEMV serves (beyond it, tensor-core GEMMs win).">,
    Option<"smallPrefillRows", "small-prefill-rows", "int64_t", /*default=*/"64",
           "Prefill steps of at most this many tokens run their projections on the GEMV "
           "(gemv_max_rows; 0: always cuBLASLt; at most 64).">,
    Option<"widePrefillRows", "wide-prefill-rows", "int64_t", /*default=*/"15360",
           "Short steps of weights with at least this many rows run gemv_prefill.cuh "
           "(short_kernel; default: 120 blocks of 128 rows, about one wave of 132 SMs).">,
    Option<"wgmmaPrefill", "wgmma-prefill", "bool", /*default=*/"false",
           "Short prefill steps run the projections on Hopper warpgroup MMA (short_kernel "
           "wgmma; the program must be built for sm_90a).">,
    Option<"wgmmaPrefillRows", "wgmma-prefill-rows", "int64_t", /*default=*/"128",
           "With wgmma-prefill: prefill steps of at most this many tokens run prefill_wgmma.cuh "
           "(gemv_max_rows; 0: none; at most 128).">
  ];
  let dependentDialects = ["::llc::llama::LlamaDialect"];
}

#endif // LLC_PASSES_TD
