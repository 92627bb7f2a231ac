// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-attention-kernel))' | FileCheck %s
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-attention-kernel{reference=true}))' \
// RUN:   | FileCheck %s --check-prefix=REF
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-attention-kernel{max-context=1024 min-split-tokens=256}))' \
// RUN:   | FileCheck %s --check-prefix=SHORT

// CHECK-LABEL: func.func @prefill
// CHECK:         llama.attention {{.+}} {block_kv = 64 : i64, block_q = 64 : i64, kernel = "flash_attention_2", scale
// REF-LABEL:   func.func @prefill
// REF:           llama.attention {{.+}} {kernel = "reference", scale
func.func @prefill(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<2x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> tensor<?x64xbf16>
    attributes {llama.step = "prefill"} {
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// 8 KV heads on 132 SMs: 17 splits fill the GPU at batch 1 (8 x 17 = 136 blocks);
// at max-context 1024 no more than 1024 / 256 = 4 splits are worth having.
// CHECK-LABEL: func.func @decode
// CHECK:         llama.attention {{.+}} {kernel = "flash_decoding", kv_splits = 17 : i64, scale
// REF-LABEL:   func.func @decode
// REF:           llama.attention {{.+}} {kernel = "reference", scale
// SHORT-LABEL: func.func @decode
// SHORT:         llama.attention {{.+}} {kernel = "flash_decoding", kv_splits = 4 : i64, scale
func.func @decode(%q: tensor<?x128xbf16>, %kc: !llama.kv_view<8x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> tensor<?x128xbf16>
    attributes {llama.step = "decode"} {
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x128xbf16>, !llama.kv_view<8x16xbf16>, !llama.kv_view<8x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x128xbf16>
  return %o : tensor<?x128xbf16>
}

// -----

// Without a step kind there is no basis for a choice.
// expected-error @+1 {{cannot select an attention kernel: @unmarked needs llama.step = "prefill" or "decode"}}
func.func @unmarked(%q: tensor<?x64xbf16>, %kc: !llama.kv_view<2x16xbf16>, %a: tensor<?xi32>, %t: tensor<?x?xi32>) -> tensor<?x64xbf16> {
  %o = llama.attention %q, %kc, %kc, %a, %a, %a, %t {scale = 0.25 : f32} : (tensor<?x64xbf16>, !llama.kv_view<2x16xbf16>, !llama.kv_view<2x16xbf16>, tensor<?xi32>, tensor<?xi32>, tensor<?xi32>, tensor<?x?xi32>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}
