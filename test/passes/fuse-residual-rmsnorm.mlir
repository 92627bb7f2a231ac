// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-fuse-residual-rmsnorm))' | FileCheck %s

// CHECK-LABEL: func.func @fuses_add_into_norm
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<4x64xbf16>, %[[R:[^:]+]]: tensor<4x64xbf16>, %[[W:[^:]+]]: tensor<64xbf16>)
// CHECK:         %[[SUM:.+]], %[[NORMED:.+]] = llama.add_rmsnorm %[[X]], %[[R]], %[[W]] {eps = 9.99999974E-6 : f32}
// CHECK-NOT:     llama.add %
// CHECK:         return %[[SUM]], %[[NORMED]]
func.func @fuses_add_into_norm(%x: tensor<4x64xbf16>, %r: tensor<4x64xbf16>,
                               %w: tensor<64xbf16>) -> (tensor<4x64xbf16>, tensor<4x64xbf16>) {
  %sum = llama.add %x, %r : tensor<4x64xbf16>
  %y = llama.rmsnorm %sum, %w {eps = 1.0e-05 : f32} : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  return %sum, %y : tensor<4x64xbf16>, tensor<4x64xbf16>
}

// -----

// The norm's weight is defined after the add: it moves up so the fused op can use it.
// CHECK-LABEL: func.func @hoists_weight_defined_after_add
// CHECK:         %[[W:.+]] = llama.weight "model.layers.0.post_attention_layernorm.weight"
// CHECK-NEXT:    %[[SUM:.+]], %[[NORMED:.+]] = llama.add_rmsnorm %{{.+}}, %{{.+}}, %[[W]]
// CHECK-NEXT:    %[[OTHER:.+]] = llama.add %[[SUM]], %[[SUM]]
// CHECK:         return %[[NORMED]], %[[OTHER]]
func.func @hoists_weight_defined_after_add(%x: tensor<?x64xbf16>, %r: tensor<?x64xbf16>) -> (tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %sum = llama.add %x, %r : tensor<?x64xbf16>
  %other = llama.add %sum, %sum : tensor<?x64xbf16>
  %w = llama.weight "model.layers.0.post_attention_layernorm.weight" : tensor<64xbf16>
  %y = llama.rmsnorm %sum, %w {eps = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  return %y, %other : tensor<?x64xbf16>, tensor<?x64xbf16>
}

// -----

// A norm of a block argument has no add to fuse.
// CHECK-LABEL: func.func @keeps_norm_of_block_arg
// CHECK-NOT:     llama.add_rmsnorm
// CHECK:         llama.rmsnorm
func.func @keeps_norm_of_block_arg(%x: tensor<4x64xbf16>, %w: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %y = llama.rmsnorm %x, %w {eps = 1.0e-05 : f32} : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  return %y : tensor<4x64xbf16>
}

// -----

// An add whose sum is never normalised stays an add.
// CHECK-LABEL: func.func @keeps_add_without_norm
// CHECK:         llama.add
// CHECK-NOT:     llama.add_rmsnorm
func.func @keeps_add_without_norm(%x: tensor<4x64xbf16>, %r: tensor<4x64xbf16>) -> tensor<4x64xbf16> {
  %sum = llama.add %x, %r : tensor<4x64xbf16>
  return %sum : tensor<4x64xbf16>
}
