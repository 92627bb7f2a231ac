// RUN: llc-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-index-gqa-heads))' | FileCheck %s

// CHECK-LABEL: func.func @reads_kv_head_by_index
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x64xbf16>, %[[KC:[^:]+]]: !llama.kv_view<1x16xbf16>, %[[VC:[^:]+]]: !llama.kv_view<1x16xbf16>
// CHECK-NOT:     llama.repeat_kv
// CHECK:         llama.attention %[[Q]], %[[KC]], %[[VC]], {{.+}} : (tensor<?x64xbf16>, !llama.kv_view<1x16xbf16>, !llama.kv_view<1x16xbf16>,
func.func @reads_kv_head_by_index(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<1x16xbf16>, %vc: !llama.kv_view<1x16xbf16>,
                                  %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> tensor<?x64xbf16> {
  %kr = llama.repeat_kv %kc {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
  %vr = llama.repeat_kv %vc {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
  %o = llama.attention %q, %kr, %vr, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>, !llama.kv_view<4x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// A repeated view something else still reads survives; attention stops using it.
// CHECK-LABEL: func.func @keeps_repeat_with_other_users
// CHECK-SAME:    (%[[Q:[^:]+]]: tensor<?x64xbf16>, %[[KC:[^:]+]]: !llama.kv_view<1x16xbf16>
// CHECK:         %[[KR:.+]] = llama.repeat_kv %[[KC]]
// CHECK:         llama.attention %[[Q]], %[[KC]], %[[KC]],
// CHECK:         return %{{.+}}, %[[KR]]
func.func @keeps_repeat_with_other_users(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<1x16xbf16>,
                                         %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>) {
  %kr = llama.repeat_kv %kc {n_rep = 4 : i64} : !llama.kv_view<1x16xbf16> -> !llama.kv_view<4x16xbf16>
  %o = llama.attention %q, %kr, %kr, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>, !llama.kv_view<4x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o, %kr : tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>
}

// -----

// Multi-head attention (one KV head per query head) has nothing to remove.
// CHECK-LABEL: func.func @leaves_mha_alone
// CHECK:         llama.attention %{{.+}}, %{{.+}}, %{{.+}}, {{.+}} : (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>, !llama.kv_view<4x16xbf16>,
func.func @leaves_mha_alone(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<4x16xbf16>, %vc: !llama.kv_view<4x16xbf16>,
                            %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> tensor<?x64xbf16> {
  %o = llama.attention %q, %kc, %vc, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<4x16xbf16>, !llama.kv_view<4x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}
