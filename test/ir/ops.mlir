// Every llama op parses, prints, and parses again to the same IR.
// RUN: llc-opt %s | llc-opt | FileCheck %s
// RUN: llc-opt %s --mlir-print-op-generic | llc-opt | FileCheck %s

// CHECK-LABEL: func.func @weights
// CHECK:         llama.weight "model.norm.weight" : tensor<64xbf16>
// CHECK:         llama.weight ["a.k_proj.weight", "a.v_proj.weight"] rows [16, 16] : tensor<32x64xbf16>
func.func @weights() -> (tensor<64xbf16>, tensor<32x64xbf16>) {
  %w = llama.weight "model.norm.weight" : tensor<64xbf16>
  %kv = llama.weight ["a.k_proj.weight", "a.v_proj.weight"] rows [16, 16] : tensor<32x64xbf16>
  return %w, %kv : tensor<64xbf16>, tensor<32x64xbf16>
}

// CHECK-LABEL: func.func @layer_ops
// CHECK-SAME:    (%[[IDS:.+]]: tensor<?xi32>, %[[POS:.+]]: tensor<?xi32>, %[[SLOTS:.+]]: tensor<?xi32>, %[[STARTS:.+]]: tensor<?xi32>, %[[ROWS:.+]]: tensor<?xi32>, %[[LENS:.+]]: tensor<?xi32>, %[[TABLE:.+]]: tensor<?x?xi32>)
// CHECK:         %[[H:.+]] = llama.embedding %{{.+}}, %[[IDS]] : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
// CHECK:         %[[N:.+]] = llama.rmsnorm %[[H]], %{{.+}} {eps = 9.99999974E-6 : f32}
// CHECK:         %[[QKV:.+]] = llama.linear %[[N]], %{{.+}} bias %{{.+}} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>) -> tensor<?x96xbf16>
// CHECK:         %[[PARTS:.+]]:3 = llama.split %[[QKV]] [64, 16, 16] : tensor<?x96xbf16> -> tensor<?x64xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
// CHECK:         %[[Q:.+]] = llama.rope %[[PARTS]]#0, %[[POS]] {factor = 3.200000e+01 : f64, head_dim = 16 : i64, scaling = "llama3", theta = 5.000000e+05 : f64}
// CHECK:         %[[KC:.+]], %[[VC:.+]] = llama.kv_store %{{.+}}, %[[PARTS]]#2, %[[SLOTS]] {layer = 0 : i64} : {{.+}} -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
// CHECK:         %[[KR:.+]] = llama.repeat_kv %[[KC]] {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
// CHECK:         llama.attention %[[Q]], %[[KR]], %{{.+}}, %[[STARTS]], %[[ROWS]], %[[LENS]], %[[TABLE]] {scale = 2.500000e-01 : f32}
// CHECK:         llama.attention %[[Q]], %[[KC]], %[[VC]], %[[STARTS]], %[[ROWS]], %[[LENS]], %[[TABLE]] {kernel = "flash_decoding", kv_splits = 4 : i64, scale = 2.500000e-01 : f32}
// CHECK:         %[[SUM:.+]], %[[NORMED:.+]] = llama.add_rmsnorm
// CHECK:         llama.add %[[SUM]], %[[H]] : tensor<?x64xbf16>
// CHECK:         llama.linear %[[NORMED]], %{{.+}} {kernel = "gemv"}
// CHECK:         llama.silu_mul %{{.+}}, %{{.+}} : tensor<?x32xbf16>
// CHECK:         llama.swiglu_linear %[[NORMED]], %{{.+}} {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x32xbf16>
// CHECK:         llama.lm_head %{{.+}}, %{{.+}}, %{{.+}} {gemv_max_rows = 16 : i64, kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
// CHECK-NEXT:    llama.lm_head %{{.+}}, %{{.+}} {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<100x64xbf16>) -> tensor<?x100xf32>
func.func @layer_ops(%ids: tensor<?xi32>, %pos: tensor<?xi32>, %slots: tensor<?xi32>,
                     %starts: tensor<?xi32>, %rows: tensor<?xi32>, %lens: tensor<?xi32>,
                     %table: tensor<?x?xi32>) -> tensor<?x100xf32> {
  %emb = llama.weight "model.embed_tokens.weight" : tensor<100x64xbf16>
  %h = llama.embedding %emb, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %wn = llama.weight "model.layers.0.input_layernorm.weight" : tensor<64xbf16>
  %n = llama.rmsnorm %h, %wn {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %wqkv = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %bqkv = llama.weight ["qb", "kb", "vb"] rows [64, 16, 16] : tensor<96xbf16>
  %qkv = llama.linear %n, %wqkv bias %bqkv : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>) -> tensor<?x96xbf16>
  %q, %k, %v = llama.split %qkv [64, 16, 16] : tensor<?x96xbf16> -> tensor<?x64xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %qr = llama.rope %q, %pos {head_dim = 16 : i64, theta = 5.0e+05 : f64, scaling = "llama3", factor = 32.0 : f64, low_freq_factor = 1.0 : f64, high_freq_factor = 4.0 : f64, original_max_position = 8192 : i64} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %kr = llama.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %kr, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %krep = llama.repeat_kv %kc {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
  %vrep = llama.repeat_kv %vc {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
  %o = llama.attention %qr, %krep, %vrep, %starts, %rows, %lens, %table {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>, !llama.kv_view<4x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  %o2 = llama.attention %qr, %kc, %vc, %starts, %rows, %lens, %table {scale = 0.25 : f32, kernel = "flash_decoding", kv_splits = 4 : i64} : (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  %wpost = llama.weight "model.layers.0.post_attention_layernorm.weight" : tensor<64xbf16>
  %sum, %normed = llama.add_rmsnorm %o, %h, %wpost {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>)
  %s2 = llama.add %sum, %h : tensor<?x64xbf16>
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %gu = llama.linear %normed, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %a2 = llama.swiglu_linear %normed, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x32xbf16>
  %logits = llama.lm_head %s2, %emb, %starts {kernel = "cublaslt", gemv_max_rows = 16 : i64} : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  // Without logit rows: every row (a decode step's, llc-elide-decode-logit-gather).
  %every_row = llama.lm_head %s2, %emb {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<100x64xbf16>) -> tensor<?x100xf32>
  return %logits : tensor<?x100xf32>
}

// CHECK-LABEL: func.func @rope_kv_store
// CHECK:         %{{.+}}, %{{.+}}, %{{.+}} = llama.rope_kv_store %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {factor = 3.200000e+01 : f64, head_dim = 16 : i64, layer = 2 : i64, scaling = "llama3", theta = 5.000000e+05 : f64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
func.func @rope_kv_store(%qk: tensor<?x80xbf16>, %v: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> tensor<?x64xbf16> {
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 5.0e+05 : f64, scaling = "llama3", factor = 32.0 : f64, layer = 2 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @rope_kv_store_linear
// CHECK:         llama.rope_kv_store_linear %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {head_dim = 16 : i64, kernel = "gemv", layer = 1 : i64, scaling = "none", theta = 1.000000e+04 : f64} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
// CHECK:         llama.rope_kv_store_linear %{{.+}}, %{{.+}} bias %{{.+}}, %{{.+}}, %{{.+}} {head_dim = 16 : i64, kernel = "gemv", layer = 2 : i64, scaling = "none", theta = 1.000000e+04 : f64} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>, tensor<?xi32>, tensor<?xi32>)
func.func @rope_kv_store_linear(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %w = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %b = llama.weight ["qb", "kb", "vb"] rows [64, 16, 16] : tensor<96xbf16>
  %q, %kc, %vc = llama.rope_kv_store_linear %x, %w, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 1 : i64, kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %q2, %kc2, %vc2 = llama.rope_kv_store_linear %x, %w bias %b, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none", layer = 2 : i64, kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q, %q2 : tensor<?x64xbf16>, tensor<?x64xbf16>
}

// llc-fold-norm-into-gemv's forms: a weight scaled by a norm weight at load, a norm without its
// weight, GEMVs that scale by the input's inv_rms, and a GEMV that adds the residual.
// CHECK-LABEL: func.func @folded_norm
// CHECK:         llama.weight "g" {scaled_by = "n"} : tensor<64x64xbf16>
// CHECK:         llama.rmsnorm %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32, weight_folded}
// CHECK:         llama.residual_linear %{{.+}}, %{{.+}}, %{{.+}} {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xbf16>) -> tensor<?x64xbf16>
// CHECK:         llama.swiglu_linear %{{.+}}, %{{.+}} {kernel = "gemv", norm_eps = 9.99999974E-6 : f32}
// CHECK:         llama.linear %{{.+}}, %{{.+}} {kernel = "gemv", norm_eps = 9.99999974E-6 : f32}
func.func @folded_norm(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> (tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x64xbf16>) {
  %wg = llama.weight "g" {scaled_by = "n"} : tensor<64x64xbf16>
  %wn = llama.weight "n" : tensor<64xbf16>
  %n = llama.rmsnorm %x, %wn {eps = 1.0e-05 : f32, weight_folded} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %wo = llama.weight "o" : tensor<64x64xbf16>
  %s = llama.residual_linear %x, %wo, %r {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xbf16>) -> tensor<?x64xbf16>
  %a = llama.swiglu_linear %s, %wg {kernel = "gemv", norm_eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x32xbf16>
  %y = llama.linear %s, %wo {kernel = "gemv", norm_eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  return %n, %a, %y : tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x64xbf16>
}
