// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-elide-decode-logit-gather))' | FileCheck %s

// A decode step's rows are its sequences' new tokens, so its lm_head projects every row in
// place: the logit_rows operand goes, and with it the gather kernel codegen would emit.
// CHECK-LABEL: func.func @decode
// CHECK-SAME:    (%[[H:[^:]+]]: tensor<?x64xbf16>, %[[ROWS:[^:]+]]: tensor<?xi32>
// CHECK:         %[[W:.+]] = llama.weight "lm_head.weight"
// CHECK-NEXT:    llama.lm_head %[[H]], %[[W]] {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<100x64xbf16>) -> tensor<?x100xf32>
func.func @decode(%h: tensor<?x64xbf16>, %rows: tensor<?xi32> {llama.meta = "logit_rows"}) -> tensor<?x100xf32>
    attributes {llama.step = "decode"} {
  %w = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  %l = llama.lm_head %h, %w, %rows {kernel = "gemv"} : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}

// -----

// A prefill step keeps its logit rows: one row a sequence (its last token) out of many.
// CHECK-LABEL: func.func @prefill
// CHECK-SAME:    (%[[H:[^:]+]]: tensor<?x64xbf16>, %[[ROWS:[^:]+]]: tensor<?xi32>
// CHECK:         llama.lm_head %[[H]], %{{.+}}, %[[ROWS]] {kernel = "cublaslt"}
func.func @prefill(%h: tensor<?x64xbf16>, %rows: tensor<?xi32> {llama.meta = "logit_rows"}) -> tensor<?x100xf32>
    attributes {llama.step = "prefill"} {
  %w = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  %l = llama.lm_head %h, %w, %rows {kernel = "cublaslt"} : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}

// -----

// A function that is no step (no llama.step) is left alone.
// CHECK-LABEL: func.func @no_step
// CHECK:         llama.lm_head %{{.+}}, %{{.+}}, %{{.+}} :
func.func @no_step(%h: tensor<?x64xbf16>, %rows: tensor<?xi32>) -> tensor<?x100xf32> {
  %w = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  %l = llama.lm_head %h, %w, %rows : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}
