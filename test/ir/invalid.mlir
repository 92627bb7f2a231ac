// One verifier error per split.
// RUN: llc-opt %s --split-input-file --verify-diagnostics

func.func @weight_rows_do_not_sum() {
  // expected-error @+1 {{source rows sum to 30 but the weight has 32 rows}}
  %w = llama.weight ["k", "v"] rows [16, 14] : tensor<32x64xbf16>
  return
}

// -----

func.func @merged_weight_without_rows() {
  // expected-error @+1 {{merges 2 sources but gives no `rows` for them}}
  %w = llama.weight ["k", "v"] : tensor<32x64xbf16>
  return
}

// -----

func.func @weight_of_rank_three() {
  // expected-error @+1 {{weights have rank 1 or 2}}
  %w = llama.weight "x" : tensor<2x2x2xbf16>
  return
}

// -----

func.func @embedding_width_mismatch(%ids: tensor<?xi32>) {
  %t = llama.weight "model.embed_tokens.weight" : tensor<100x64xbf16>
  // expected-error @+1 {{result has 32 features but the table rows have 64}}
  %h = llama.embedding %t, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @rmsnorm_weight_mismatch(%x: tensor<?x64xbf16>) {
  %w = llama.weight "n" : tensor<32xbf16>
  // expected-error @+1 {{weight has 32 elements but rows have 64}}
  %y = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<32xbf16>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @rmsnorm_weight_dtype(%x: tensor<?x64xbf16>) {
  %w = llama.weight "n" : tensor<64xf16>
  // expected-error @+1 {{weight element type 'f16' differs from the activations' 'bf16'}}
  %y = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xf16>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @add_rmsnorm_types_differ(%x: tensor<?x64xbf16>, %r: tensor<?x64xf16>) {
  %w = llama.weight "n" : tensor<64xbf16>
  // expected-error @+1 {{input, residual, sum and normed must share one type}}
  %s, %n = llama.add_rmsnorm %x, %r, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<?x64xf16>, tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>)
  return
}

// -----

func.func @linear_inner_dim_mismatch(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x48xbf16>
  // expected-error @+1 {{weight is (32, 48) but the input has 64 features}}
  %y = llama.linear %x, %w : (tensor<?x64xbf16>, tensor<32x48xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @linear_bias_mismatch(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  %b = llama.weight "b" : tensor<16xbf16>
  // expected-error @+1 {{bias has 16 elements, expected 32}}
  %y = llama.linear %x, %w bias %b : (tensor<?x64xbf16>, tensor<32x64xbf16>, tensor<16xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @split_sizes_do_not_cover(%x: tensor<?x64xbf16>) {
  // expected-error @+1 {{sizes sum to 48 but the input has 64 features}}
  %a, %b = llama.split %x [32, 16] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x16xbf16>
  return
}

// -----

func.func @rope_odd_head_dim(%x: tensor<?x63xbf16>, %p: tensor<?xi32>) {
  // expected-error @+1 {{head_dim must be positive and even, found 21}}
  %y = llama.rope %x, %p {head_dim = 21 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x63xbf16>, tensor<?xi32>) -> tensor<?x63xbf16>
  return
}

// -----

func.func @rope_unknown_scaling(%x: tensor<?x64xbf16>, %p: tensor<?xi32>) {
  // expected-error @+1 {{scaling must be "none", "linear" or "llama3", found "yarn"}}
  %y = llama.rope %x, %p {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "yarn"} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @rope_llama3_bad_factors(%x: tensor<?x64xbf16>, %p: tensor<?xi32>) {
  // expected-error @+1 {{llama3 scaling needs 0 < low_freq_factor < high_freq_factor, found 4.000000e+00 and 1.000000e+00}}
  %y = llama.rope %x, %p {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "llama3", factor = 8.0 : f64, low_freq_factor = 4.0 : f64, high_freq_factor = 1.0 : f64} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @kv_store_heads_mismatch(%k: tensor<?x32xbf16>, %v: tensor<?x32xbf16>, %s: tensor<?xi32>) {
  // expected-error @+1 {{k has 32 features but the cache holds 1 heads of 16}}
  %kc, %vc = llama.kv_store %k, %v, %s {layer = 0 : i64} : (tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @repeat_kv_wrong_heads(%kc: !llama.kv_view<2x16xbf16>) {
  // expected-error @+1 {{gives 8 heads, but the result is}}
  %r = llama.repeat_kv %kc {n_rep = 4 : i64} : !llama.kv_view<2x16xbf16> -> !llama.kv_view<6x16xbf16>
  return
}

// -----

func.func @attention_heads_not_multiple(%q: tensor<?x48xbf16>, %kc: !llama.kv_view<2x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{3 query heads are not a multiple of 2 kv heads}}
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x48xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x48xbf16>
  return
}

// -----

func.func @attention_decode_without_splits(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<2x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{kernel "flash_decoding" needs kv_splits >= 1}}
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32, kernel = "flash_decoding"} : (tensor<?x64xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @attention_unknown_kernel(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<2x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{unknown attention kernel "paged"}}
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32, kernel = "paged"} : (tensor<?x64xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @lm_head_vocab_mismatch(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>) {
  %w = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  // expected-error @+1 {{result has 99 columns, expected 100 (vocabulary size)}}
  %l = llama.lm_head %x, %w, %rows : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x99xf32>
  return
}

// -----

// expected-error @+1 {{kv_view element type must be bf16 or f16, found 'f32'}}
func.func @kv_view_of_f32(%kc: !llama.kv_view<2x16xf32>) {
  return
}

// -----

func.func @linear_unknown_kernel(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{unknown linear kernel "cutlass" (expected gemv or cublaslt)}}
  %y = llama.linear %x, %w {kernel = "cutlass"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @swiglu_linear_odd_weight(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<63x32xbf16>
  // expected-error @+1 {{weight has 63 rows: a merged gate/up weight has an even number}}
  %y = llama.swiglu_linear %x, %w : (tensor<?x32xbf16>, tensor<63x32xbf16>) -> tensor<?x31xbf16>
  return
}

// -----

func.func @swiglu_linear_result_features(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<64x32xbf16>
  // expected-error @+1 {{result has 64 features, expected 32 (half the weight rows)}}
  %y = llama.swiglu_linear %x, %w : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return
}

// -----

func.func @swiglu_linear_weight_k(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<64x48xbf16>
  // expected-error @+1 {{weight is (64, 48) but the input has 32 features}}
  %y = llama.swiglu_linear %x, %w : (tensor<?x32xbf16>, tensor<64x48xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @swiglu_linear_bias_size(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<64x32xbf16>
  %b = llama.weight "b" : tensor<32xbf16>
  // expected-error @+1 {{bias has 32 elements, expected 64}}
  %y = llama.swiglu_linear %x, %w bias %b : (tensor<?x32xbf16>, tensor<64x32xbf16>, tensor<32xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @swiglu_linear_on_cublaslt(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<64x32xbf16>
  // expected-error @+1 {{kernel "cublaslt" cannot apply the gate (only gemv can)}}
  %y = llama.swiglu_linear %x, %w {kernel = "cublaslt"} : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @gemv_max_rows_on_gemv(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{gemv_max_rows refines kernel = "cublaslt" only}}
  %y = llama.linear %x, %w {kernel = "gemv", gemv_max_rows = 8 : i64} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @gemv_max_rows_too_many(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{gemv_max_rows must be in [1, 64], found 128}}
  %y = llama.linear %x, %w {kernel = "cublaslt", gemv_max_rows = 128 : i64} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @wgmma_rows_too_many(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{gemv_max_rows must be in [1, 128] with short_kernel = "wgmma", found 256}}
  %y = llama.linear %x, %w {kernel = "cublaslt", gemv_max_rows = 256 : i64, short_kernel = "wgmma"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @wgmma_k_not_64(%x: tensor<?x96xbf16>) {
  %w = llama.weight "w" : tensor<32x96xbf16>
  // expected-error @+1 {{short_kernel = "wgmma" reads K in stages of 64, found K = 96}}
  %y = llama.linear %x, %w {kernel = "cublaslt", gemv_max_rows = 128 : i64, short_kernel = "wgmma"} : (tensor<?x96xbf16>, tensor<32x96xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @short_kernel_without_rows(%x: tensor<?x64xbf16>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{short_kernel needs gemv_max_rows}}
  %y = llama.linear %x, %w {kernel = "cublaslt", short_kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  return
}

// -----

func.func @short_kernel_unknown(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>) {
  %w = llama.weight "w" : tensor<32x64xbf16>
  // expected-error @+1 {{unknown short-step kernel "gemm" (expected gemv, gemv_prefill or wgmma)}}
  %l = llama.lm_head %x, %w, %rows {kernel = "cublaslt", gemv_max_rows = 8 : i64, short_kernel = "gemm"} : (tensor<?x64xbf16>, tensor<32x64xbf16>, tensor<?xi32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @rope_kv_store_v_features(%qk: tensor<?x80xbf16>, %v: tensor<?x32xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  // expected-error @+1 {{v has 32 features but k (qk past q) has 16}}
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x32xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @rope_kv_store_partial_head(%qk: tensor<?x80xbf16>, %v: tensor<?x24xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  // expected-error @+1 {{q has 56 features: expected whole heads of 16, fewer than qk's 80}}
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x24xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x56xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @rope_kv_store_cache_shape(%qk: tensor<?x80xbf16>, %v: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  // expected-error @+1 {{k has 16 features but the cache holds 2 heads of 16}}
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>)
  return
}

// -----

func.func @rope_kv_store_linear_rows(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  %w = llama.weight "qkv" : tensor<91x64xbf16>
  // expected-error @+1 {{weight has 91 rows, expected q's 64 plus two equal K and V parts}}
  %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64, kernel = "gemv"} : (tensor<?x64xbf16>, tensor<91x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @rope_kv_store_linear_head_dim(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  %w = llama.weight "qkv" : tensor<96x64xbf16>
  // expected-error @+1 {{head_dim must be a multiple of 16 (8 rotation pairs a GEMV block), found 8}}
  %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {head_dim = 8 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64, kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<2x8xbf16>, !llama.kv_view<2x8xbf16>)
  return
}

// -----

func.func @rope_kv_store_linear_kernel(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  %w = llama.weight "qkv" : tensor<96x64xbf16>
  // expected-error @+1 {{needs kernel = "gemv" (only the decode GEMV applies the rope in its epilogue)}}
  %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64, kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @rope_kv_store_linear_bias(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) {
  %w = llama.weight "qkv" : tensor<96x64xbf16>
  %b = llama.weight "qkv_bias" : tensor<80xbf16>
  // expected-error @+1 {{bias has 80 elements, expected 96}}
  %q, %kc, %vc = llama.rope_kv_store_linear %x, %w bias %b, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 0 : i64, kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<80xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return
}

// -----

func.func @norm_eps_on_cublaslt(%x: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<16x32xbf16>
  // expected-error @+1 {{norm_eps needs kernel = "gemv"}}
  %y = llama.linear %x, %w {kernel = "cublaslt", norm_eps = 1.0e-05 : f32} : (tensor<?x32xbf16>, tensor<16x32xbf16>) -> tensor<?x16xbf16>
  return
}

// -----

func.func @residual_linear_residual_type(%x: tensor<?x32xbf16>, %r: tensor<?x32xbf16>) {
  %w = llama.weight "w" : tensor<16x32xbf16>
  // expected-error @+1 {{residual type}}
  %y = llama.residual_linear %x, %w, %r {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<16x32xbf16>, tensor<?x32xbf16>) -> tensor<?x16xbf16>
  return
}

// -----

func.func @residual_linear_on_cublaslt(%x: tensor<?x32xbf16>, %r: tensor<?x16xbf16>) {
  %w = llama.weight "w" : tensor<16x32xbf16>
  // expected-error @+1 {{cannot add the residual (only gemv can)}}
  %y = llama.residual_linear %x, %w, %r {kernel = "cublaslt"} : (tensor<?x32xbf16>, tensor<16x32xbf16>, tensor<?x16xbf16>) -> tensor<?x16xbf16>
  return
}
