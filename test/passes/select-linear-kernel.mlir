// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel))' | FileCheck %s
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel{max-batch=64}))' \
// RUN:   | FileCheck %s --check-prefix=BIG-BATCH
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel{small-prefill-rows=0}))' \
// RUN:   | FileCheck %s --check-prefix=NO-SMALL
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel{wide-prefill-rows=64}))' \
// RUN:   | FileCheck %s --check-prefix=WIDE
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel{wgmma-prefill=true}))' \
// RUN:   | FileCheck %s --check-prefix=WGMMA
// RUN: llc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llc-select-linear-kernel{wgmma-prefill=true wgmma-prefill-rows=32}))' \
// RUN:   | FileCheck %s --check-prefix=WGMMA32

// Decode multiplies at most max-batch rows: every projection streams its weight in the GEMV.
// CHECK-LABEL: func.func @decode
// CHECK:         llama.linear {{.+}} {kernel = "gemv"}
// CHECK:         llama.lm_head {{.+}} {kernel = "gemv"}
// BIG-BATCH-LABEL: func.func @decode
// BIG-BATCH:       llama.linear {{.+}} {kernel = "cublaslt"}
// BIG-BATCH:       llama.lm_head {{.+}} {kernel = "cublaslt"}
func.func @decode(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>) -> tensor<?x100xf32>
    attributes {llama.step = "decode"} {
  %w = llama.weight "w" : tensor<64x64xbf16>
  %y = llama.linear %x, %w : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %h = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  %l = llama.lm_head %y, %h, %rows : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}

// -----

// Prefill multiplies up to thousands of rows: tensor-core GEMMs, but a short step (at most
// small-prefill-rows = 64 tokens; for the lm_head, at most max-batch = 16 logit rows) streams
// the weights through a GEMV: gemv_prefill.cuh's for weights of at least wide-prefill-rows rows
// (15360 by default; 64 in the WIDE run) in steps of more than 16 rows (so never the lm_head's).
// CHECK-LABEL: func.func @prefill
// CHECK:         llama.linear {{.+}} {gemv_max_rows = 64 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// CHECK:         llama.lm_head {{.+}} {gemv_max_rows = 16 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// BIG-BATCH-LABEL: func.func @prefill
// BIG-BATCH:       llama.linear {{.+}} {gemv_max_rows = 64 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// BIG-BATCH:       llama.lm_head {{.+}} {gemv_max_rows = 64 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// NO-SMALL-LABEL:  func.func @prefill
// NO-SMALL:        llama.linear {{.+}} {kernel = "cublaslt"}
// NO-SMALL:        llama.lm_head {{.+}} {gemv_max_rows = 16 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// WIDE-LABEL:      func.func @prefill
// WIDE:            llama.linear {{.+}} {gemv_max_rows = 64 : i64, kernel = "cublaslt", short_kernel = "gemv_prefill"}
// WIDE:            llama.lm_head {{.+}} {gemv_max_rows = 16 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// With wgmma-prefill (Hopper), the projections' steps of at most wgmma-prefill-rows (128; 32 in
// the WGMMA32 run) tokens run prefill_wgmma.cuh; the lm_head's logit rows stay on the GEMV.
// WGMMA-LABEL:     func.func @prefill
// WGMMA:           llama.linear {{.+}} {gemv_max_rows = 128 : i64, kernel = "cublaslt", short_kernel = "wgmma"}
// WGMMA:           llama.lm_head {{.+}} {gemv_max_rows = 16 : i64, kernel = "cublaslt", short_kernel = "gemv"}
// WGMMA32-LABEL:   func.func @prefill
// WGMMA32:         llama.linear {{.+}} {gemv_max_rows = 32 : i64, kernel = "cublaslt", short_kernel = "wgmma"}
func.func @prefill(%x: tensor<?x64xbf16>, %rows: tensor<?xi32>) -> tensor<?x100xf32>
    attributes {llama.step = "prefill"} {
  %w = llama.weight "w" : tensor<64x64xbf16>
  %y = llama.linear %x, %w : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %h = llama.weight "lm_head.weight" : tensor<100x64xbf16>
  %l = llama.lm_head %y, %h, %rows : (tensor<?x64xbf16>, tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x100xf32>
  return %l : tensor<?x100xf32>
}

// -----

// One projection with K = 72 (not a multiple of 32, which the GEMV reads in 4-lane pieces): the
// whole decode function keeps cuBLASLt, so no step mixes the two kernels.
// CHECK-LABEL: func.func @decode_odd_k
// CHECK:         llama.linear {{.+}} {kernel = "cublaslt"}
// CHECK:         llama.linear {{.+}} {kernel = "cublaslt"}
func.func @decode_odd_k(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16>
    attributes {llama.step = "decode"} {
  %w1 = llama.weight "w1" : tensor<72x64xbf16>
  %y = llama.linear %x, %w1 : (tensor<?x64xbf16>, tensor<72x64xbf16>) -> tensor<?x72xbf16>
  %w2 = llama.weight "w2" : tensor<64x72xbf16>
  %z = llama.linear %y, %w2 : (tensor<?x72xbf16>, tensor<64x72xbf16>) -> tensor<?x64xbf16>
  return %z : tensor<?x64xbf16>
}

// -----

// wgmma reads K in stages of 64: a projection with K = 96 keeps the GEMV for its short steps (the
// choice is per weight shape, so every step of that projection still runs one kernel).
// WGMMA-LABEL:     func.func @prefill_k96
// WGMMA:           llama.linear {{.+}} {gemv_max_rows = 128 : i64, kernel = "cublaslt", short_kernel = "wgmma"} : (tensor<?x64xbf16>, tensor<96x64xbf16>)
// WGMMA:           llama.linear {{.+}} {gemv_max_rows = 64 : i64, kernel = "cublaslt", short_kernel = "gemv"} : (tensor<?x96xbf16>, tensor<64x96xbf16>)
func.func @prefill_k96(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16>
    attributes {llama.step = "prefill"} {
  %w1 = llama.weight "w1" : tensor<96x64xbf16>
  %y = llama.linear %x, %w1 : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %w2 = llama.weight "w2" : tensor<64x96xbf16>
  %z = llama.linear %y, %w2 : (tensor<?x96xbf16>, tensor<64x96xbf16>) -> tensor<?x64xbf16>
  return %z : tensor<?x64xbf16>
}

// -----

// expected-error @+1 {{cannot select a linear kernel: @unmarked needs llama.step = "prefill" or "decode"}}
func.func @unmarked(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  %w = llama.weight "w" : tensor<64x64xbf16>
  %y = llama.linear %x, %w : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
