// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(llc-fold-norm-into-gemv)' | FileCheck %s

// One layer's MLP in both steps. Decode: the add_rmsnorm is gone; the o-projection GEMV adds
// the residual (residual_linear), the gate/up GEMV reads that sum with norm_eps, and its
// weight (in both functions) is scaled by the norm's weight at load. Prefill keeps its
// add_rmsnorm, with weight_folded (its GEMM's weight carries w).
// CHECK-LABEL: func.func @prefill
// CHECK:         %{{.+}}, %[[N:.+]] = llama.add_rmsnorm %{{.+}}, %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32, weight_folded}
// CHECK:         %[[WGU:.+]] = llama.weight ["g", "u"] rows [32, 32] {scaled_by = "post_norm"} : tensor<64x64xbf16>
// CHECK:         llama.linear %[[N]], %[[WGU]] {kernel = "cublaslt"}
// CHECK-LABEL: func.func @decode
// CHECK-SAME:    (%[[X:.+]]: tensor<?x64xbf16>, %[[R:.+]]: tensor<?x64xbf16>)
// CHECK-NOT:     "post_norm"
// CHECK:         %[[WO:.+]] = llama.weight "o" : tensor<64x64xbf16>
// CHECK:         %[[S:.+]] = llama.residual_linear %[[X]], %[[WO]], %[[R]] {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>, tensor<?x64xbf16>) -> tensor<?x64xbf16>
// CHECK-NOT:     llama.add_rmsnorm
// CHECK:         %[[WGU:.+]] = llama.weight ["g", "u"] rows [32, 32] {scaled_by = "post_norm"} : tensor<64x64xbf16>
// CHECK:         %[[A:.+]] = llama.swiglu_linear %[[S]], %[[WGU]] {kernel = "gemv", norm_eps = 9.99999974E-6 : f32}
// CHECK:         return %[[A]], %[[S]]
module {
  func.func @prefill(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> tensor<?x64xbf16> attributes {llama.step = "prefill"} {
    %wo = llama.weight "o" : tensor<64x64xbf16>
    %o = llama.linear %x, %wo {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %w = llama.weight "post_norm" : tensor<64xbf16>
    %s, %n = llama.add_rmsnorm %o, %r, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>)
    %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
    %gu = llama.linear %n, %wgu {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    return %gu : tensor<?x64xbf16>
  }
  func.func @decode(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x64xbf16>) attributes {llama.step = "decode"} {
    %wo = llama.weight "o" : tensor<64x64xbf16>
    %o = llama.linear %x, %wo {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
    %w = llama.weight "post_norm" : tensor<64xbf16>
    %s, %n = llama.add_rmsnorm %r, %o, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>)
    %wgu = llama.weight ["g", "u"] rows [32, 32] : tensor<64x64xbf16>
    %a = llama.swiglu_linear %n, %wgu {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x32xbf16>
    return %a, %s : tensor<?x32xbf16>, tensor<?x64xbf16>
  }
}

// -----

// The first layer: a plain rmsnorm of the embedding feeds the QKV GEMV. The GEMV reads the
// embedding itself; with no GEMV before it there is nothing to add, and no prefill function
// to keep consistent.
// CHECK-LABEL: func.func @first_layer
// CHECK-SAME:    (%[[H:.+]]: tensor<?x64xbf16>)
// CHECK-NOT:     llama.rmsnorm
// CHECK:         %[[W:.+]] = llama.weight "qkv" {scaled_by = "in_norm"} : tensor<96x64xbf16>
// CHECK:         llama.linear %[[H]], %[[W]] {kernel = "gemv", norm_eps = 9.99999974E-6 : f32}
module {
  func.func @first_layer(%h: tensor<?x64xbf16>) -> tensor<?x96xbf16> attributes {llama.step = "decode"} {
    %w = llama.weight "in_norm" : tensor<64xbf16>
    %n = llama.rmsnorm %h, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %wqkv = llama.weight "qkv" : tensor<96x64xbf16>
    %y = llama.linear %n, %wqkv {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
    return %y : tensor<?x96xbf16>
  }
}

// -----

// No GEMV makes either operand of the add: the add stays (llama.add), the norm still folds.
// CHECK-LABEL: func.func @add_stays
// CHECK:         %[[S:.+]] = llama.add %{{.+}}, %{{.+}} : tensor<?x64xbf16>
// CHECK:         llama.linear %[[S]], %{{.+}} {kernel = "gemv", norm_eps
// CHECK:         return %{{.+}}, %[[S]]
module {
  func.func @add_stays(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x64xbf16>) attributes {llama.step = "decode"} {
    %w = llama.weight "norm" : tensor<64xbf16>
    %s, %n = llama.add_rmsnorm %x, %r, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<?x64xbf16>, tensor<64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>)
    %wp = llama.weight "proj" : tensor<32x64xbf16>
    %y = llama.linear %n, %wp {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    return %y, %s : tensor<?x32xbf16>, tensor<?x64xbf16>
  }
}

// -----

// Left alone: the normalised value has a second user; the consumer runs on cuBLASLt; and
// @prefill feeds the weight from something that is not the same norm (so folding the norm's
// weight into it would change @prefill's result).
// CHECK-LABEL: func.func @decode
// CHECK-NOT:     norm_eps
// CHECK-NOT:     scaled_by
// CHECK-NOT:     weight_folded
// CHECK:         return
module {
  func.func @prefill(%x: tensor<?x64xbf16>) -> tensor<?x32xbf16> attributes {llama.step = "prefill"} {
    %wp = llama.weight "proj3" : tensor<32x64xbf16>
    %y = llama.linear %x, %wp {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    return %y : tensor<?x32xbf16>
  }
  func.func @decode(%x: tensor<?x64xbf16>) -> (tensor<?x32xbf16>, tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>) attributes {llama.step = "decode"} {
    %w = llama.weight "norm" : tensor<64xbf16>
    %n = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %wp = llama.weight "proj" : tensor<32x64xbf16>
    %y = llama.linear %n, %wp {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    %n2 = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %wp2 = llama.weight "proj2" : tensor<32x64xbf16>
    %y2 = llama.linear %n2, %wp2 {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    %n3 = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
    %wp3 = llama.weight "proj3" : tensor<32x64xbf16>
    %y3 = llama.linear %n3, %wp3 {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
    return %y, %n, %y2, %y3 : tensor<?x32xbf16>, tensor<?x64xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>
  }
}
