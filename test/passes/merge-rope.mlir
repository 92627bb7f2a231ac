// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-merge-rope))' | FileCheck %s

// Q and K of a merged QKV: one rope over their 64 columns (3 + 1 heads of 16), split back; V
// still comes out of the (now two-way) split of the projection.
// CHECK-LABEL: func.func @qkv
// CHECK:         %[[PARTS:.+]]:2 = llama.split %{{.+}} [64, 16] : tensor<?x80xbf16> -> tensor<?x64xbf16>, tensor<?x16xbf16>
// CHECK:         %[[QK:.+]] = llama.rope %[[PARTS]]#0, %{{.+}} {head_dim = 16 : i64, scaling = "none", theta = 1.000000e+04 : f64} : (tensor<?x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
// CHECK:         %[[QR:.+]]:2 = llama.split %[[QK]] [48, 16] : tensor<?x64xbf16> -> tensor<?x48xbf16>, tensor<?x16xbf16>
// CHECK-NOT:     llama.rope
// CHECK:         return %[[QR]]#0, %[[QR]]#1, %[[PARTS]]#1
func.func @qkv(%qkv: tensor<?x80xbf16>, %pos: tensor<?xi32>) -> (tensor<?x48xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>) {
  %q, %k, %v = llama.split %qkv [48, 16, 16] : tensor<?x80xbf16> -> tensor<?x48xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %qr = llama.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x48xbf16>, tensor<?xi32>) -> tensor<?x48xbf16>
  %kr = llama.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  return %qr, %kr, %v : tensor<?x48xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
}

// -----

// A pair that covers the whole split: the rope reads the split's input, no outer split.
// CHECK-LABEL: func.func @whole
// CHECK-SAME:    (%[[QK_IN:.+]]: tensor<?x64xbf16>, %[[POS:.+]]: tensor<?xi32>)
// CHECK:         %[[R:.+]] = llama.rope %[[QK_IN]], %[[POS]]
// CHECK-NEXT:    %[[S:.+]]:2 = llama.split %[[R]] [32, 32]
// CHECK-NEXT:    return %[[S]]#0, %[[S]]#1
func.func @whole(%qk: tensor<?x64xbf16>, %pos: tensor<?xi32>) -> (tensor<?x32xbf16>, tensor<?x32xbf16>) {
  %q, %k = llama.split %qk [32, 32] : tensor<?x64xbf16> -> tensor<?x32xbf16>, tensor<?x32xbf16>
  %qr = llama.rope %q, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x32xbf16>, tensor<?xi32>) -> tensor<?x32xbf16>
  %kr = llama.rope %k, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x32xbf16>, tensor<?xi32>) -> tensor<?x32xbf16>
  return %qr, %kr : tensor<?x32xbf16>, tensor<?x32xbf16>
}

// -----

// Not merged: different frequencies, different positions, a rope input with another user, and
// two ropes that are not adjacent (Q and V).
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-8: llama.rope %{{.+}} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
// CHECK-NOT:     llama.rope
func.func @left_alone(%x: tensor<?x48xbf16>, %pos: tensor<?xi32>, %pos2: tensor<?xi32>)
    -> (tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>) {
  %a, %b, %c = llama.split %x [16, 16, 16] : tensor<?x48xbf16> -> tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %ar = llama.rope %a, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %br = llama.rope %b, %pos {head_dim = 16 : i64, theta = 5.0e+05 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %d, %e, %f = llama.split %x [16, 16, 16] : tensor<?x48xbf16> -> tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %dr = llama.rope %d, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %er = llama.rope %e, %pos2 {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %g, %h, %i = llama.split %x [16, 16, 16] : tensor<?x48xbf16> -> tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %gr = llama.rope %g, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %hr = llama.rope %h, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %j, %k, %l = llama.split %x [16, 16, 16] : tensor<?x48xbf16> -> tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
  %jr = llama.rope %j, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  %lr = llama.rope %l, %pos {head_dim = 16 : i64, theta = 1.0e+04 : f64, scaling = "none"} : (tensor<?x16xbf16>, tensor<?xi32>) -> tensor<?x16xbf16>
  return %ar, %br, %dr, %er, %gr, %hr, %g, %jr, %lr : tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>, tensor<?x16xbf16>
}
