// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-fuse-rope-kv-store-linear))' | FileCheck %s

// The decode attention input: the QKV GEMV (4 Q heads, 1 KV head of 16), its split and the
// rope_kv_store become one rope_kv_store_linear over the projection's input and merged weight,
// with the rope attributes and the layer; attention still reads its q and the views.
// CHECK-LABEL: func.func @decode_qkv
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<?x64xbf16>, %[[POS:[^:]+]]: tensor<?xi32>, %[[SLOTS:[^:]+]]: tensor<?xi32>
// CHECK:         %[[W:.+]] = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
// CHECK-NOT:     llama.linear
// CHECK-NOT:     llama.split
// CHECK:         %[[Q:.+]], %[[KC:.+]], %[[VC:.+]] = llama.rope_kv_store_linear %[[X]], %[[W]], %[[POS]], %[[SLOTS]] {factor = 3.200000e+01 : f64, head_dim = 16 : i64, kernel = "gemv", layer = 3 : i64, scaling = "llama3", theta = 5.000000e+05 : f64} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
// CHECK-NOT:     llama.rope_kv_store %
// CHECK:         llama.attention %[[Q]], %[[KC]], %[[VC]]
func.func @decode_qkv(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>, %starts: tensor<?xi32>, %rows: tensor<?xi32>, %lens: tensor<?xi32>, %table: tensor<?x?xi32>) -> tensor<?x64xbf16> attributes {llama.step = "decode"} {
  %w = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %qkv = llama.linear %x, %w {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %qk, %v = llama.split %qkv [80, 16] : tensor<?x96xbf16> -> tensor<?x80xbf16>, tensor<?x16xbf16>
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 5.0e+05 : f64, scaling = "llama3", factor = 32.0 : f64, layer = 3 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %o = llama.attention %q, %kc, %vc, %starts, %rows, %lens, %table {kernel = "flash_decoding", kv_splits = 4 : i64, scale = 2.500000e-01 : f32} : (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// A QKV bias goes along (added to each output before its rope, as in the linear).
// CHECK-LABEL: func.func @with_bias
// CHECK:         llama.rope_kv_store_linear %{{.+}}, %{{.+}} bias %{{.+}}, %{{.+}}, %{{.+}} {head_dim = 16 : i64, kernel = "gemv", layer = 0 : i64, scaling = "none", theta = 1.000000e+06 : f64} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>, tensor<?xi32>, tensor<?xi32>)
// CHECK-NOT:     llama.split
func.func @with_bias(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> tensor<?x64xbf16> {
  %w = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %b = llama.weight ["qb", "kb", "vb"] rows [64, 16, 16] : tensor<96xbf16>
  %qkv = llama.linear %x, %w bias %b {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>, tensor<96xbf16>) -> tensor<?x96xbf16>
  %qk, %v = llama.split %qkv [80, 16] : tensor<?x96xbf16> -> tensor<?x80xbf16>, tensor<?x16xbf16>
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+06 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q : tensor<?x64xbf16>
}

// -----

// cuBLASLt writes its output as a GEMM does (prefill): the linear, split and rope_kv_store stay.
// CHECK-LABEL: func.func @prefill_qkv
// CHECK:         llama.linear {{.+}} {kernel = "cublaslt"}
// CHECK:         llama.split
// CHECK:         llama.rope_kv_store %
// CHECK-NOT:     llama.rope_kv_store_linear
func.func @prefill_qkv(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> tensor<?x64xbf16> {
  %w = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %qkv = llama.linear %x, %w {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %qk, %v = llama.split %qkv [80, 16] : tensor<?x96xbf16> -> tensor<?x80xbf16>, tensor<?x16xbf16>
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+06 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q : tensor<?x64xbf16>
}

// -----

// The unroped Q|K part has another user, which still needs it in memory: no fusion.
// CHECK-LABEL: func.func @shared_part
// CHECK:         llama.linear {{.+}} {kernel = "gemv"}
// CHECK:         llama.rope_kv_store %
// CHECK-NOT:     llama.rope_kv_store_linear
func.func @shared_part(%x: tensor<?x64xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> (tensor<?x64xbf16>, tensor<?x80xbf16>) {
  %w = llama.weight ["q", "k", "v"] rows [64, 16, 16] : tensor<96x64xbf16>
  %qkv = llama.linear %x, %w {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %qk, %v = llama.split %qkv [80, 16] : tensor<?x96xbf16> -> tensor<?x80xbf16>, tensor<?x16xbf16>
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+06 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q, %qk : tensor<?x64xbf16>, tensor<?x80xbf16>
}

// -----

// Q|K and V from two different projections (or from an op that is not a linear), and a head
// of 8 (the GEMV's blocks hold 8 rotation pairs): not the merged-QKV pattern, left alone.
// CHECK-LABEL: func.func @not_merged_qkv
// CHECK-COUNT-2: llama.rope_kv_store %
// CHECK-NOT:     llama.rope_kv_store_linear
func.func @not_merged_qkv(%x: tensor<?x64xbf16>, %v: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %w = llama.weight ["q", "k"] rows [64, 16] : tensor<80x64xbf16>
  %qk = llama.linear %x, %w {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<80x64xbf16>) -> tensor<?x80xbf16>
  %q, %kc, %vc = llama.rope_kv_store %qk, %v, %pos, %slots {head_dim = 16 : i64, theta = 1.0e+06 : f64, scaling = "none", layer = 0 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %w8 = llama.weight ["q8", "k8", "v8"] rows [64, 16, 16] : tensor<96x64xbf16>
  %qkv8 = llama.linear %x, %w8 {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %qk8, %v8 = llama.split %qkv8 [80, 16] : tensor<?x96xbf16> -> tensor<?x80xbf16>, tensor<?x16xbf16>
  %q8, %kc8, %vc8 = llama.rope_kv_store %qk8, %v8, %pos, %slots {head_dim = 8 : i64, theta = 1.0e+06 : f64, scaling = "none", layer = 1 : i64} : (tensor<?x80xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<2x8xbf16>, !llama.kv_view<2x8xbf16>)
  return %q, %q8 : tensor<?x64xbf16>, tensor<?x64xbf16>
}
