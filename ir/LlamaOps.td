//===- LlamaOps.td - the ops of the `llama` dialect ---------------------------===//
//
// One def per op, each with a one-line summary and one example. Activations are
// `tensor<?xNxT>` (tokens x features, T = bf16 or f16); weights are static tensors.
// Verifiers (LlamaOps.cpp) check shapes, element types and head counts.
//
//===--------------------------------------------------------------------------===//

#ifndef LLC_IR_LLAMAOPS_TD
#define LLC_IR_LLAMAOPS_TD

include "ir/LlamaDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Llama_IdTensor : TensorRankOf<[I32], [1]>;
def Llama_Activation : TensorRankOf<[BF16, F16], [2]>;

def Llama_WeightOp : Llama_Op<"weight", [Pure]> {
  let summary = "A weight tensor of the checkpoint, or the row-wise concatenation of several.";
  let description = [{
    Names the checkpoint tensor(s) the value is loaded from. A merged weight lists
    its sources and their row counts; the loader concatenates them along dim 0.
    `scaled_by` (set by `llc-fold-norm-into-gemv`) names a rank-1 checkpoint tensor `s` of the
    weight's column count: the loader then multiplies column c by `s[c]`, rounding once (an
    RMSNorm weight folded into the projection that follows the norm).

    ```mlir
    %wq = llama.weight "model.layers.0.self_attn.q_proj.weight" : tensor<2048x2048xbf16>
    %wkv = llama.weight ["model.layers.0.self_attn.k_proj.weight",
                         "model.layers.0.self_attn.v_proj.weight"] rows [512, 512]
        : tensor<1024x2048xbf16>
    ```
  }];
  let arguments = (ins StrArrayAttr:$sources, OptionalAttr<DenseI64ArrayAttr>:$source_rows,
                       OptionalAttr<StrAttr>:$scaled_by);
  let results = (outs AnyStaticShapeTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
}

def Llama_EmbeddingOp : Llama_Op<"embedding", [Pure]> {
  let summary = "Gathers the embedding row of each token id.";
  let description = [{
    `out[t, :] = table[ids[t], :]`.

    ```mlir
    %h = llama.embedding %table, %ids : (tensor<128256x2048xbf16>, tensor<?xi32>) -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$table, Llama_IdTensor:$ids);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$table `,` $ids attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Llama_RMSNormOp : Llama_Op<"rmsnorm", [Pure]> {
  let summary = "Root-mean-square normalisation of each row, scaled by a weight.";
  let description = [{
    `out[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * w[:]`. With `weight_folded` (set by
    `llc-fold-norm-into-gemv`, whose consumers' weights carry `w` already) the `* w` is left out.

    ```mlir
    %y = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight, F32Attr:$eps,
                       UnitAttr:$weight_folded);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Llama_AddOp : Llama_Op<"add", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise sum of two activations (the residual add).";
  let description = [{
    ```mlir
    %s = llama.add %x, %r : tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$lhs, Llama_Activation:$rhs);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Llama_AddRMSNormOp : Llama_Op<"add_rmsnorm", [Pure]> {
  let summary = "A residual add and the RMSNorm of its sum, in one op.";
  let description = [{
    `sum = x + residual; normed = rmsnorm(sum, w, eps)`; both are results. `weight_folded` as
    for `llama.rmsnorm`.

    ```mlir
    %sum, %normed = llama.add_rmsnorm %x, %r, %w {eps = 1.0e-05 : f32}
        : (tensor<?x2048xbf16>, tensor<?x2048xbf16>, tensor<2048xbf16>) -> (tensor<?x2048xbf16>, tensor<?x2048xbf16>)
    ```
  }];
  let arguments = (ins Llama_Activation:$input, Llama_Activation:$residual,
                       AnyStaticShapeTensor:$weight, F32Attr:$eps, UnitAttr:$weight_folded);
  let results = (outs Llama_Activation:$sum, Llama_Activation:$normed);
  let assemblyFormat = "$input `,` $residual `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Llama_LinearOp : Llama_Op<"linear", [Pure]> {
  let summary = "A projection `x W^T (+ b)` with W stored as (out_features, in_features).";
  let description = [{
    `out[t, n] = sum_k x[t, k] * w[n, k] (+ bias[n])`, fp32 accumulation.
    `kernel` ("gemv" or "cublaslt") is set by `llc-select-linear-kernel`; with "cublaslt",
    `gemv_max_rows = R` (1..64) says a step of at most R rows runs a GEMV instead (short
    prefills, where a GEMM tiled for thousands of rows streams the weights slowly), and
    `short_kernel` which: "gemv" (templates/kernels/gemv.cuh), "gemv_prefill" (the 128-row
    blocks of gemv_prefill.cuh, for weights with enough rows to fill the GPU with them) or
    "wgmma" (prefill_wgmma.cuh, Hopper warpgroup MMA; needs K % 64 == 0 and an sm_90a build).
    `norm_eps` (set by `llc-fold-norm-into-gemv` on GEMV projections) says the input is the
    un-normalised residual stream `s` and the weight has the norm's weight folded in:
    `out[t, n] = rsqrt(mean(s[t, :]^2) + norm_eps) * sum_k s[t, k] w[n, k] (+ bias[n])`.

    ```mlir
    %q = llama.linear %x, %wq : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
    %k = llama.linear %x, %wk bias %bk : (tensor<?x1536xbf16>, tensor<256x1536xbf16>, tensor<256xbf16>) -> tensor<?x256xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight,
                       Optional<AnyStaticShapeTensor>:$bias, OptionalAttr<StrAttr>:$kernel,
                       OptionalAttr<I64Attr>:$gemv_max_rows, OptionalAttr<StrAttr>:$short_kernel,
                       OptionalAttr<F32Attr>:$norm_eps);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_SplitOp : Llama_Op<"split", [Pure]> {
  let summary = "Splits the feature dimension into consecutive column ranges.";
  let description = [{
    The inverse of a merged linear: result `i` holds columns
    `[sum(sizes[:i]), sum(sizes[:i+1]))` of the input.

    ```mlir
    %k, %v = llama.split %kv [512, 512] : tensor<?x1024xbf16> -> tensor<?x512xbf16>, tensor<?x512xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Llama_Activation>:$results);
  let assemblyFormat = "$input $sizes attr-dict `:` type($input) `->` type($results)";
  let hasVerifier = 1;
}

def Llama_RopeOp : Llama_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding of every head of each token, at its position.";
  let description = [{
    Per head, pairs `(i, i + head_dim/2)` rotate by `positions[t] * inv_freq[i]`
    (the rotate-half convention). `inv_freq[i] = theta^(-2i/head_dim)`, adjusted by
    `scaling`: "none", "linear" (divided by `factor`) or "llama3" (the Llama 3.1
    wavelength-dependent rule with `factor`, `low_freq_factor`, `high_freq_factor`,
    `original_max_position`).

    ```mlir
    %qr = llama.rope %q, %pos {head_dim = 64 : i64, theta = 5.0e+05 : f64, scaling = "none"}
        : (tensor<?x2048xbf16>, tensor<?xi32>) -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, Llama_IdTensor:$positions,
                       I64Attr:$head_dim, F64Attr:$theta, StrAttr:$scaling,
                       DefaultValuedAttr<F64Attr, "1.0">:$factor,
                       DefaultValuedAttr<F64Attr, "1.0">:$low_freq_factor,
                       DefaultValuedAttr<F64Attr, "4.0">:$high_freq_factor,
                       DefaultValuedAttr<I64Attr, "8192">:$original_max_position);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Llama_KVStoreOp : Llama_Op<"kv_store", []> {
  let summary = "Writes the step's new K and V rows into their pool slots.";
  let description = [{
    Row `t` of `k` and `v` goes to slot `new_slots[t]` of layer `layer`'s pool.
    The results view the whole cached K and V of every sequence in the step,
    including the rows just written.

    ```mlir
    %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64}
        : (tensor<?x512xbf16>, tensor<?x512xbf16>, tensor<?xi32>) -> (!llama.kv_view<8x64xbf16>, !llama.kv_view<8x64xbf16>)
    ```
  }];
  let arguments = (ins Llama_Activation:$k, Llama_Activation:$v, Llama_IdTensor:$new_slots,
                       I64Attr:$layer);
  let results = (outs Llama_KVViewType:$k_cache, Llama_KVViewType:$v_cache);
  let assemblyFormat = "$k `,` $v `,` $new_slots attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Llama_RopeKVStoreOp : Llama_Op<"rope_kv_store", []> {
  let summary = "RoPE of the adjacent Q and K heads, with K and V written into their pool slots.";
  let description = [{
    `qk` holds the Q heads then the K heads of each token (the merged QKV's first columns).
    Every head is rotated as `llama.rope` with these attributes would rotate it; the Q heads
    become `q`, the K heads and `v` go to slot `new_slots[t]` of layer `layer`'s pool, as
    `llama.kv_store` would write them (a negative slot writes nothing). The views are the
    whole cached K and V, as `llama.kv_store`'s. `llc-fuse-rope-kv-store` makes it from a rope
    whose K part feeds only a kv_store: one kernel instead of two, and the roped K never goes
    through an activation buffer.

    ```mlir
    %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 64 : i64, layer = 0 : i64, scaling = "none", theta = 5.0e+05 : f64}
        : (tensor<?x2560xbf16>, tensor<?x512xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x2048xbf16>, !llama.kv_view<8x64xbf16>, !llama.kv_view<8x64xbf16>)
    ```
  }];
  let arguments = (ins Llama_Activation:$qk, Llama_Activation:$v, Llama_IdTensor:$positions,
                       Llama_IdTensor:$new_slots,
                       I64Attr:$head_dim, F64Attr:$theta, StrAttr:$scaling,
                       DefaultValuedAttr<F64Attr, "1.0">:$factor,
                       DefaultValuedAttr<F64Attr, "1.0">:$low_freq_factor,
                       DefaultValuedAttr<F64Attr, "4.0">:$high_freq_factor,
                       DefaultValuedAttr<I64Attr, "8192">:$original_max_position,
                       I64Attr:$layer);
  let results = (outs Llama_Activation:$q, Llama_KVViewType:$k_cache, Llama_KVViewType:$v_cache);
  let assemblyFormat = [{
    $qk `,` $v `,` $positions `,` $new_slots attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_RopeKVStoreLinearOp : Llama_Op<"rope_kv_store_linear", []> {
  let summary = "A merged QKV projection with `llama.rope_kv_store` applied in its epilogue.";
  let description = [{
    `weight` holds the Q heads' rows, then the K heads', then the V heads' (the merged QKV
    projection, `(q + 2 kv) x in_features`); with `qkv = input weight^T (+ bias)` rounded to
    the activation type, the results are what `llama.rope_kv_store` makes of the Q|K and V
    columns of `qkv`: `q` (roped), and the roped K and the V of token `t` in slot
    `new_slots[t]` of layer `layer`'s pool (a negative slot writes nothing). Rope attributes
    as `llama.rope_kv_store`'s. `llc-fuse-rope-kv-store-linear` makes it from a GEMV
    `llama.linear` (`kernel` = "gemv", decode steps) whose two-way split feeds only a
    rope_kv_store: each GEMV block computes 8 rotation pairs of one head (rows d and
    d + head_dim / 2 side by side), so one thread holds both halves of a pair and ropes and
    stores it, bit-identical to the two kernels, without the rope_kv_store launch or the QKV
    activation's round trip. Only the GEMV implements it. `norm_eps` as for `llama.linear`.

    ```mlir
    %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {head_dim = 64 : i64, kernel = "gemv", layer = 0 : i64, scaling = "none", theta = 5.0e+05 : f64}
        : (tensor<?x2048xbf16>, tensor<3072x2048xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x2048xbf16>, !llama.kv_view<8x64xbf16>, !llama.kv_view<8x64xbf16>)
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight,
                       Optional<AnyStaticShapeTensor>:$bias, Llama_IdTensor:$positions,
                       Llama_IdTensor:$new_slots,
                       I64Attr:$head_dim, F64Attr:$theta, StrAttr:$scaling,
                       DefaultValuedAttr<F64Attr, "1.0">:$factor,
                       DefaultValuedAttr<F64Attr, "1.0">:$low_freq_factor,
                       DefaultValuedAttr<F64Attr, "4.0">:$high_freq_factor,
                       DefaultValuedAttr<I64Attr, "8192">:$original_max_position,
                       I64Attr:$layer, OptionalAttr<StrAttr>:$kernel, OptionalAttr<F32Attr>:$norm_eps);
  let results = (outs Llama_Activation:$q, Llama_KVViewType:$k_cache, Llama_KVViewType:$v_cache);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? `,` $positions `,` $new_slots attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_RepeatKVOp : Llama_Op<"repeat_kv", [Pure]> {
  let summary = "Repeats each KV head `n_rep` times to match the query heads (GQA).";
  let description = [{
    Head `h` of the result is head `h / n_rep` of the input: the copy the reference
    model makes before attention. `llc-index-gqa-heads` removes it.

    ```mlir
    %kr = llama.repeat_kv %kc {n_rep = 4 : i64} : !llama.kv_view<8x64xbf16> -> !llama.kv_view<32x64xbf16>
    ```
  }];
  let arguments = (ins Llama_KVViewType:$input, I64Attr:$n_rep);
  let results = (outs Llama_KVViewType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def Llama_AttentionOp : Llama_Op<"attention", []> {
  let summary = "Causal softmax attention of each new token over its sequence's cached K/V.";
  let description = [{
    Sequence `s` owns tokens `[seq_starts[s], seq_starts[s+1])` of `q` and sees
    `kv_lens[s]` cached rows through row `seq_rows[s]` of `slot_table`. Its `i`-th new
    token sits at position `kv_lens[s] - q_len + i` and attends to rows `0..` that
    position. Query head `h` reads KV head `h / (q_heads / kv_heads)`.
    `kernel` (with its launch attributes) is set by `llc-select-attention-kernel`.

    ```mlir
    %o = llama.attention %q, %kc, %vc, %starts, %rows, %lens, %table {scale = 1.250000e-01 : f32}
        : (tensor<?x2048xbf16>, !llama.kv_view<8x64xbf16>, !llama.kv_view<8x64xbf16>,
           tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$q, Llama_KVViewType:$k_cache, Llama_KVViewType:$v_cache,
                       Llama_IdTensor:$seq_starts, Llama_IdTensor:$seq_rows, Llama_IdTensor:$kv_lens,
                       TensorRankOf<[I32], [2]>:$slot_table, F32Attr:$scale,
                       OptionalAttr<StrAttr>:$kernel,
                       OptionalAttr<I64Attr>:$block_q, OptionalAttr<I64Attr>:$block_kv,
                       OptionalAttr<I64Attr>:$kv_splits);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache `,` $seq_starts `,` $seq_rows `,` $kv_lens `,` $slot_table
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_SiluMulOp : Llama_Op<"silu_mul", [Pure, SameOperandsAndResultType]> {
  let summary = "The SwiGLU gate: `silu(gate) * up`, elementwise.";
  let description = [{
    `out = gate / (1 + exp(-gate)) * up`.

    ```mlir
    %a = llama.silu_mul %gate, %up : tensor<?x8192xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$gate, Llama_Activation:$up);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Llama_SwigluLinearOp : Llama_Op<"swiglu_linear", [Pure]> {
  let summary = "A merged gate/up projection with the SwiGLU gate applied: `silu(x Wg^T) * (x Wu^T)`.";
  let description = [{
    `weight` is the merged gate/up weight `[Wg; Wu]` (2I rows, gate rows first); with
    `g = x Wg^T (+ bias[:I])` and `u = x Wu^T (+ bias[I:])`, each rounded to the activation type,
    `out = silu_mul(g, u)` rounded exactly as `llama.silu_mul` rounds it (I features), fp32
    accumulation. `llc-fuse-silu-mul-linear` makes it from a GEMV `llama.linear` whose output is
    split in two equal halves that feed only a `llama.silu_mul`: each GEMV block computes a gate
    row and its up row side by side and applies the gate in its epilogue, so the step has no
    silu_mul kernel and the (rows, 2I) projection output never goes through memory. Only the
    GEMV implements it (`kernel` = "gemv"). `norm_eps` as for `llama.linear`.

    ```mlir
    %a = llama.swiglu_linear %x, %w {kernel = "gemv"} : (tensor<?x2048xbf16>, tensor<16384x2048xbf16>) -> tensor<?x8192xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight,
                       Optional<AnyStaticShapeTensor>:$bias, OptionalAttr<StrAttr>:$kernel,
                       OptionalAttr<F32Attr>:$norm_eps);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_ResidualLinearOp : Llama_Op<"residual_linear", [Pure]> {
  let summary = "A projection that ends a residual block: `residual + x W^T (+ b)`.";
  let description = [{
    `out[t, n] = residual[t, n] + (sum_k x[t, k] * w[n, k] (+ bias[n]))`, the projection rounded
    to the activation type before the add, as a `llama.linear` followed by `llama.add` rounds it.
    `llc-fold-norm-into-gemv` makes it from a GEMV `llama.linear` (decode) whose only user is the
    residual add of an RMSNorm it folds into the next projection; the add then happens in the
    GEMV's epilogue. Only the GEMV implements it (`kernel` = "gemv").

    ```mlir
    %s = llama.residual_linear %x, %w, %r {kernel = "gemv"} : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>, tensor<?x2048xbf16>) -> tensor<?x2048xbf16>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight,
                       Llama_Activation:$residual, Optional<AnyStaticShapeTensor>:$bias,
                       OptionalAttr<StrAttr>:$kernel);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $residual (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Llama_LMHeadOp : Llama_Op<"lm_head", [Pure]> {
  let summary = "The vocabulary projection of the selected token rows, in f32.";
  let description = [{
    `logits[i, :] = x[logit_rows[i], :] W^T` (W is `lm_head.weight`, or the embedding
    table when the model ties them). Usually one row a sequence: its last token.
    Without `logit_rows`, every row: `logits[i, :] = x[i, :] W^T` (the decode step, whose
    rows are each its sequence's one new token: `llc-elide-decode-logit-gather`).
    `kernel` ("gemv" or "cublaslt") is set by `llc-select-linear-kernel`, and `gemv_max_rows`
    and `short_kernel` as for `llama.linear` (counting logit rows).

    ```mlir
    %logits = llama.lm_head %h, %w, %rows : (tensor<?x2048xbf16>, tensor<128256x2048xbf16>, tensor<?xi32>) -> tensor<?x128256xf32>
    %all = llama.lm_head %h, %w : (tensor<?x2048xbf16>, tensor<128256x2048xbf16>) -> tensor<?x128256xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, AnyStaticShapeTensor:$weight,
                       Optional<Llama_IdTensor>:$logit_rows, OptionalAttr<StrAttr>:$kernel,
                       OptionalAttr<I64Attr>:$gemv_max_rows, OptionalAttr<StrAttr>:$short_kernel);
  let results = (outs TensorRankOf<[F32], [2]>:$result);
  let assemblyFormat = "$input `,` $weight (`,` $logit_rows^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // LLC_IR_LLAMAOPS_TD
