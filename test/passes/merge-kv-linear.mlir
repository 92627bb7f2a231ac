// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-merge-kv-linear))' | FileCheck %s
// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-merge-kv-linear{merge-q=true merge-gate-up=true}))' \
// RUN:   | FileCheck %s --check-prefix=ALL

// K and V of one layer: one linear over the merged weight, split back.
// CHECK-LABEL: func.func @merges_k_and_v
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x64xbf16>
// CHECK:         %[[WKV:.+]] = llama.weight ["l0.k_proj.weight", "l0.v_proj.weight"] rows [16, 16] : tensor<32x64xbf16>
// CHECK:         %[[KV:.+]] = llama.linear %[[X]], %[[WKV]] : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
// CHECK:         %[[PARTS:.+]]:2 = llama.split %[[KV]] [16, 16]
// CHECK:         %[[K:.+]] = llama.rope %[[PARTS]]#0
// CHECK:         llama.kv_store %[[K]], %[[PARTS]]#1
// CHECK-NOT:     "l0.k_proj.weight" :
// ALL-LABEL:   func.func @merges_k_and_v
// ALL:           llama.weight ["l0.q_proj.weight", "l0.k_proj.weight", "l0.v_proj.weight"] rows [64, 16, 16] : tensor<96x64xbf16>
// ALL:           %[[QKV:.+]]:3 = llama.split %{{.+}} [64, 16, 16]
// ALL:           %[[Q:.+]] = llama.rope %[[QKV]]#0
// ALL:           %[[K:.+]] = llama.rope %[[QKV]]#1
// ALL:           llama.kv_store %[[K]], %[[QKV]]#2
// ALL:           llama.attention %[[Q]],
func.func @merges_k_and_v(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>,
                          %starts: tensor<?xi32>, %rows: tensor<?xi32>, %lens: tensor<?xi32>,
                          %table: tensor<?x?xi32>) -> tensor<?x64xbf16> {
  %wq = llama.weight "l0.q_proj.weight" : tensor<64x64xbf16>
  %q = llama.linear %x, %wq : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %wk = llama.weight "l0.k_proj.weight" : tensor<16x64xbf16>
  %k = llama.linear %x, %wk : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %wv = llama.weight "l0.v_proj.weight" : tensor<16x64xbf16>
  %v = llama.linear %x, %wv : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %qr = llama.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %kr = llama.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %kr, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %o = llama.attention %qr, %kc, %vc, %starts, %rows, %lens, %table {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// Qwen2-style biases merge alongside their weights.
// CHECK-LABEL: func.func @merges_biases_too
// CHECK:         %[[W:.+]] = llama.weight ["k.weight", "v.weight"] rows [16, 16] : tensor<32x64xbf16>
// CHECK:         %[[B:.+]] = llama.weight ["k.bias", "v.bias"] rows [16, 16] : tensor<32xbf16>
// CHECK:         llama.linear %{{.+}}, %[[W]] bias %[[B]]
func.func @merges_biases_too(%x: tensor<?x64xbf16>, %slots: tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>) {
  %wk = llama.weight "k.weight" : tensor<16x64xbf16>
  %bk = llama.weight "k.bias" : tensor<16xbf16>
  %k = llama.linear %x, %wk bias %bk : (tensor<?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x16xbf16>
  %wv = llama.weight "v.weight" : tensor<16x64xbf16>
  %bv = llama.weight "v.bias" : tensor<16xbf16>
  %v = llama.linear %x, %wv bias %bv : (tensor<?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %kc, %vc : !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>
}

// -----

// The MLP's gate and up merge only with merge-gate-up.
// CHECK-LABEL: func.func @gate_up_only_when_asked
// CHECK-NOT:     llama.split
// CHECK:         llama.silu_mul
// ALL-LABEL:   func.func @gate_up_only_when_asked
// ALL:           llama.weight ["mlp.gate_proj.weight", "mlp.up_proj.weight"] rows [32, 32] : tensor<64x64xbf16>
// ALL:           %[[GU:.+]]:2 = llama.split %{{.+}} [32, 32]
// ALL:           llama.silu_mul %[[GU]]#0, %[[GU]]#1 : tensor<?x32xbf16>
func.func @gate_up_only_when_asked(%x: tensor<?x64xbf16>) -> tensor<?x32xbf16> {
  %wg = llama.weight "mlp.gate_proj.weight" : tensor<32x64xbf16>
  %g = llama.linear %x, %wg : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %wu = llama.weight "mlp.up_proj.weight" : tensor<32x64xbf16>
  %u = llama.linear %x, %wu : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  return %a : tensor<?x32xbf16>
}

// -----

// K and V over different inputs are not one GEMM.
// CHECK-LABEL: func.func @keeps_projections_of_different_inputs
// CHECK-NOT:     llama.split
// CHECK-COUNT-2: llama.linear
// CHECK-NOT:     llama.split
func.func @keeps_projections_of_different_inputs(%x: tensor<?x64xbf16>, %y: tensor<?x64xbf16>, %slots: tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>) {
  %wk = llama.weight "k.weight" : tensor<16x64xbf16>
  %k = llama.linear %x, %wk : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %wv = llama.weight "v.weight" : tensor<16x64xbf16>
  %v = llama.linear %y, %wv : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %kc, %vc : !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>
}

// -----

// One projection with a bias and one without cannot share an epilogue.
// CHECK-LABEL: func.func @keeps_mixed_bias
// CHECK-NOT:     llama.split
func.func @keeps_mixed_bias(%x: tensor<?x64xbf16>, %slots: tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>) {
  %wk = llama.weight "k.weight" : tensor<16x64xbf16>
  %bk = llama.weight "k.bias" : tensor<16xbf16>
  %k = llama.linear %x, %wk bias %bk : (tensor<?x64xbf16>, tensor<16x64xbf16>, tensor<16xbf16>) -> tensor<?x16xbf16>
  %wv = llama.weight "v.weight" : tensor<16x64xbf16>
  %v = llama.linear %x, %wv : (tensor<?x64xbf16>, tensor<16x64xbf16>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %kc, %vc : !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>
}
