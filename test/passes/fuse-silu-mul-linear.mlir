// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-fuse-silu-mul-linear))' | FileCheck %s

// The decode MLP: the gate/up GEMV, its split and the silu_mul become one swiglu_linear over
// the projection's input and merged weight; the down projection is untouched.
// CHECK-LABEL: func.func @decode_mlp
// CHECK-SAME:    (%[[X:.+]]: tensor<?x64xbf16>)
// CHECK:         %[[WGU:.+]] = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
// CHECK-NOT:     llama.split
// CHECK-NOT:     llama.silu_mul
// CHECK:         %[[A:.+]] = llama.swiglu_linear %[[X]], %[[WGU]] {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x32xbf16>
// CHECK:         %[[D:.+]] = llama.linear %[[A]], %{{.+}} {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
// CHECK:         return %[[D]]
func.func @decode_mlp(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> attributes {llama.step = "decode"} {
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %gu = llama.linear %x, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %wd = llama.weight "down" : tensor<64x32xbf16>
  %d = llama.linear %a, %wd {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return %d : tensor<?x64xbf16>
}

// -----

// A bias goes along (its gate half and up half are added before the gate, as in the linear).
// CHECK-LABEL: func.func @with_bias
// CHECK:         llama.swiglu_linear %{{.+}}, %{{.+}} bias %{{.+}} {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>) -> tensor<?x32xbf16>
// CHECK-NOT:     llama.silu_mul
func.func @with_bias(%x: tensor<?x64xbf16>) -> tensor<?x32xbf16> {
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %bgu = llama.weight ["gb", "ub"] rows [32, 32] : tensor<64xbf16>
  %gu = llama.linear %x, %wgu bias %bgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  return %a : tensor<?x32xbf16>
}

// -----

// cuBLASLt writes its output as a GEMM does (prefill): the split and silu_mul stay.
// CHECK-LABEL: func.func @prefill_mlp
// CHECK:         llama.linear {{.+}} {kernel = "cublaslt"}
// CHECK:         llama.split
// CHECK:         llama.silu_mul
// CHECK-NOT:     llama.swiglu_linear
func.func @prefill_mlp(%x: tensor<?x64xbf16>) -> tensor<?x32xbf16> {
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %gu = llama.linear %x, %wgu {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  return %a : tensor<?x32xbf16>
}

// -----

// The gate half has another user, which still needs it in memory: no fusion.
// CHECK-LABEL: func.func @shared_half
// CHECK:         llama.linear {{.+}} {kernel = "gemv"}
// CHECK:         llama.silu_mul
// CHECK-NOT:     llama.swiglu_linear
func.func @shared_half(%x: tensor<?x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x32xbf16>) {
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %gu = llama.linear %x, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  return %a, %g : tensor<?x32xbf16>, tensor<?x32xbf16>
}

// -----

// Halves swapped (the first half as up), unequal halves, and silu_mul of two separate GEMVs
// are not the merged gate/up pattern: left alone.
// CHECK-LABEL: func.func @not_gate_up
// CHECK-COUNT-3: llama.silu_mul
// CHECK-NOT:     llama.swiglu_linear
func.func @not_gate_up(%x: tensor<?x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x16xbf16>, tensor<?x32xbf16>) {
  %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
  %gu = llama.linear %x, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %g, %u = llama.split %gu [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %a = llama.silu_mul %u, %g : tensor<?x32xbf16>
  %w3 = llama.weight ["a", "b"] rows [16, 48] : tensor<64x64xbf16>
  %p = llama.linear %x, %w3 {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %p1, %p2 = llama.split %p [16, 48] : tensor<?x64xbf16> -> tensor<?x16xbf16>, tensor<?x48xbf16>
  %p2s, %p2t = llama.split %p2 [16, 32] : tensor<?x48xbf16> -> tensor<?x16xbf16>, tensor<?x32xbf16>
  %b = llama.silu_mul %p1, %p2s : tensor<?x16xbf16>
  %wg = llama.weight "g2" : tensor<32x64xbf16>
  %wu = llama.weight "u2" : tensor<32x64xbf16>
  %g2 = llama.linear %x, %wg {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %u2 = llama.linear %x, %wu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %c = llama.silu_mul %g2, %u2 : tensor<?x32xbf16>
  return %a, %b, %c : tensor<?x32xbf16>, tensor<?x16xbf16>, tensor<?x32xbf16>
}
