// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-fuse-silu-mul-linear))' | FileCheck %s

// A GEMV projection of a silu_mul used nowhere else: one gated_linear over the gate and up
// halves, in the linear's place; the silu_mul is gone.
// CHECK-LABEL: func.func @decode_mlp
// CHECK:         %[[GU:.+]]:2 = llama.split
// CHECK-NOT:     llama.silu_mul
// CHECK:         %[[D:.+]] = llama.gated_linear %[[GU]]#0, %[[GU]]#1, %{{.+}} {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
// CHECK-NOT:     llama.linear %{{.+}}, %{{.+}} {kernel = "gemv"} : (tensor<?x32xbf16>
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

// cuBLASLt reads its input as stored: the silu_mul stays.
// CHECK-LABEL: func.func @prefill_mlp
// CHECK:         llama.silu_mul
// CHECK:         llama.linear {{.+}} {kernel = "cublaslt"}
// CHECK-NOT:     llama.gated_linear
func.func @prefill_mlp(%g: tensor<?x32xbf16>, %u: tensor<?x32xbf16>) -> tensor<?x64xbf16> {
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %wd = llama.weight "down" : tensor<64x32xbf16>
  %d = llama.linear %a, %wd {kernel = "cublaslt"} : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return %d : tensor<?x64xbf16>
}

// -----

// The activation has another user, which still needs it in memory: no fusion.
// CHECK-LABEL: func.func @shared_activation
// CHECK:         %[[A:.+]] = llama.silu_mul
// CHECK:         llama.linear %[[A]], {{.+}} {kernel = "gemv"}
// CHECK-NOT:     llama.gated_linear
func.func @shared_activation(%g: tensor<?x32xbf16>, %u: tensor<?x32xbf16>) -> (tensor<?x64xbf16>, tensor<?x32xbf16>) {
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %wd = llama.weight "down" : tensor<64x32xbf16>
  %d = llama.linear %a, %wd {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return %d, %a : tensor<?x64xbf16>, tensor<?x32xbf16>
}

// -----

// A projection with a bias (no Llama-family MLP has one) and one with no kernel chosen yet
// are left alone.
// CHECK-LABEL: func.func @bias_or_unselected
// CHECK-COUNT-2: llama.silu_mul
// CHECK-NOT:     llama.gated_linear
func.func @bias_or_unselected(%g: tensor<?x32xbf16>, %u: tensor<?x32xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %a = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %wd = llama.weight "down" : tensor<64x32xbf16>
  %bd = llama.weight "down_bias" : tensor<64xbf16>
  %d = llama.linear %a, %wd bias %bd {kernel = "gemv"} : (tensor<?x32xbf16>, tensor<64x32xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %a2 = llama.silu_mul %g, %u : tensor<?x32xbf16>
  %d2 = llama.linear %a2, %wd : (tensor<?x32xbf16>, tensor<64x32xbf16>) -> tensor<?x64xbf16>
  return %d, %d2 : tensor<?x64xbf16>, tensor<?x64xbf16>
}
