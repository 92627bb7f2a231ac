// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-fuse-rope-kv-store))' | FileCheck %s

// The rope over Q|K (3 + 1 heads of 16), split, and the kv_store of the K half: one
// rope_kv_store that keeps every rope attribute and the layer; attention reads its q and views.
// CHECK-LABEL: func.func @layer
// CHECK-SAME:    (%[[QKV:[^:]+]]: tensor<?x80xbf16>, %[[POS:[^:]+]]: tensor<?xi32>, %[[SLOTS:[^:]+]]: tensor<?xi32>
// CHECK:         %[[P:[^:]+]]:2 = llama.split %[[QKV]] [64, 16]
// CHECK-NEXT:    %[[Q:[^ ,]+]], %[[KC:[^ ,]+]], %[[VC:[^ ,]+]] = llama.rope_kv_store %[[P]]#0, %[[P]]#1, %[[POS]], %[[SLOTS]] {factor = 8.000000e+00 : f64, head_dim = 16 : i64, layer = 3 : i64, scaling = "llama3", theta = 5.000000e+05 : f64} : (tensor<?x64xbf16>, tensor<?x16xbf16>, tensor<?xi32>, tensor<?xi32>) -> (tensor<?x48xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
// CHECK-NEXT:    llama.attention %[[Q]], %[[KC]], %[[VC]]
// CHECK-NOT:     llama.rope {{.+}}
// CHECK-NOT:     llama.kv_store
func.func @layer(%qkv: tensor<?x80xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>, %starts: tensor<?xi32>,
                 %rows: tensor<?xi32>, %lens: tensor<?xi32>, %table: tensor<?x?xi32>) -> tensor<?x48xbf16> {
  %qk, %v = llama.split %qkv [64, 16] : tensor<?x80xbf16> -> tensor<?x64xbf16>, tensor<?x16xbf16>
  %qkr = llama.rope %qk, %pos {head_dim = 16 : i64, theta = 5.0e+05 : f64, scaling = "llama3", factor = 8.0 : f64} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %q, %k = llama.split %qkr [48, 16] : tensor<?x64xbf16> -> tensor<?x48xbf16>, tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 3 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %o = llama.attention %q, %kc, %vc, %starts, %rows, %lens, %table {scale = 0.25 : f32, kernel = "flash_decoding", kv_splits = 4 : i64} : (tensor<?x48xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x48xbf16>
  return %o : tensor<?x48xbf16>
}

// -----

// The roped K is also returned (another user needs it as an activation): no fusion.
// CHECK-LABEL: func.func @k_used_elsewhere
// CHECK:         llama.rope
// CHECK:         llama.kv_store
// CHECK-NOT:     llama.rope_kv_store
func.func @k_used_elsewhere(%qk: tensor<?x64xbf16>, %v: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> (tensor<?x48xbf16>, tensor<?x16xbf16>) {
  %qkr = llama.rope %qk, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %q, %k = llama.split %qkr [48, 16] : tensor<?x64xbf16> -> tensor<?x48xbf16>, tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q, %k : tensor<?x48xbf16>, tensor<?x16xbf16>
}

// -----

// Separate ropes (llc-merge-rope not run) and a K that is not roped at all: left alone.
// CHECK-LABEL: func.func @unmerged
// CHECK-COUNT-2: llama.kv_store
// CHECK-NOT:     llama.rope_kv_store
func.func @unmerged(%q: tensor<?x48xbf16>, %k: tensor<?x16xbf16>, %v: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> tensor<?x48xbf16> {
  %qr = llama.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x48xbf16>, tensor<?xi32>) -> tensor<?x48xbf16>
  %kr = llama.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %kr, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  %kc1, %vc1 = llama.kv_store %k, %v, %slots {layer = 1 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %qr : tensor<?x48xbf16>
}

// -----

// V is produced after the split that the fused op would replace: the op cannot move there.
// CHECK-LABEL: func.func @v_defined_late
// CHECK:         llama.kv_store
// CHECK-NOT:     llama.rope_kv_store
func.func @v_defined_late(%qk: tensor<?x64xbf16>, %x: tensor<?x16xbf16>, %pos: tensor<?xi32>, %slots: tensor<?xi32>) -> tensor<?x48xbf16> {
  %qkr = llama.rope %qk, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %q, %k = llama.split %qkr [48, 16] : tensor<?x64xbf16> -> tensor<?x48xbf16>, tensor<?x16xbf16>
  %v = llama.silu_mul %x, %x : tensor<?x16xbf16>
  %kc, %vc = llama.kv_store %k, %v, %slots {layer = 0 : i64} : (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?xi32>) -> (!llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>)
  return %q : tensor<?x48xbf16>
}
