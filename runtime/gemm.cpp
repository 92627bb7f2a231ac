// gemm.cpp - GemmRunner: row-major linear layers on cuBLASLt, one cached plan per problem.
//
// cuBLASLt is column-major. A row-major [rows][ld] matrix is the column-major (cols x rows, ld)
// matrix, so the row-major product out[m][n] = in[m][k] . w[n][k]^T is, in cuBLAS terms,
//   D (n x m, ld = ldo) = op_T(A = w as k x n, ld = k) x (B = in as k x m, ld = ldi)
// and bias[n] is the epilogue's per-row-of-D vector. Types: A, B bf16 or fp16; compute
// CUBLAS_COMPUTE_32F, scale fp32; C = D bf16/fp16 (= A's) or fp32.
//
// Bias: cuBLASLt's BIAS epilogue documents the bias type as D's type unless set with
// CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE; we ask for in_type. Where the heuristic finds no algorithm for
// that (e.g. fp32 D with a bf16 bias), or when tests disable the epilogue, the bias is added by a
// second cuBLASLt product out += ones[m] x bias[n] with beta = 1 (C = D, in place), reading a
// device vector of ones that only grows, outside graph capture, and is never freed before the
// runner (so captured graphs keep valid pointers).
//
// Row invariance: out[i, :] must not depend on m (a prompt prefilled alone and in a batch must
// give bit-identical K/V and logits). cuBLASLt's heuristic picks different algorithms (tile shapes,
// split-K) for different m, so the algorithm of a main product is chosen once per problem without
// m: the heuristic is asked about kInvariantRows rows, split-K and reduction schemes are refused,
// and the first remaining algorithm that cuBLASLt accepts for the call's real layouts is kept for
// every m. Each output row is then reduced over k in the same order for any m.
//
// Invariant: a plan is keyed by everything its algorithm depends on (m, n, k, ldi, ldo, types,
// bias, epilogue switch, and the pointer alignments the heuristic was told), so a cached plan is
// always valid for the call that finds it.
#include "runtime/gemm.h"

#include <cublasLt.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/device_buffer.h"

namespace llc {
namespace {

cudaDataType_t cuda_type(DType t) {
  return t == DType::bf16 ? CUDA_R_16BF : t == DType::fp16 ? CUDA_R_16F : CUDA_R_32F;
}

void check_lt(cublasStatus_t status, const char* call, const std::string& context) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw std::runtime_error(std::string("GemmRunner: ") + call + " failed with " +
                           cublasLtGetStatusName(status) + " (" + cublasLtGetStatusString(status) +
                           ")" + (context.empty() ? "" : " for " + context));
}

// The largest power of two (<= 256) dividing the address; what cuBLASLt's heuristic may assume.
uint32_t alignment_of(const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && (a % align) != 0) align >>= 1;
  return align;
}

struct Key {
  int m, n, k, ldi, ldo;
  uint8_t in_type, out_type, bias, epilogue_enabled;
  uint16_t align_in, align_w, align_out, align_bias;
  bool operator==(const Key& o) const { return std::memcmp(this, &o, sizeof(Key)) == 0; }
};
static_assert(sizeof(Key) == 5 * 4 + 4 + 8, "Key must have no padding (compared bytewise)");

struct KeyHash {
  size_t operator()(const Key& k) const {
    const auto* p = reinterpret_cast<const uint8_t*>(&k);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(Key); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

// One cuBLASLt product D = alpha op(A) op(B) + beta C with C = D: descriptors plus a chosen algorithm.
struct MatmulOp {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~MatmulOp() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

// What a MatmulOp computes. Rows/cols/ld are column-major, before op().
struct OpShape {
  cublasOperation_t trans_a, trans_b;
  uint64_t a_rows, a_cols, b_rows, b_cols, d_rows, d_cols;
  int64_t lda, ldb, ldd;
  cudaDataType_t ab_type, d_type;
  const void* bias;  // non-null: BIAS epilogue with a bias of ab_type
  uint32_t align_a, align_b, align_d;
};

struct Plan {
  std::unique_ptr<MatmulOp> main;
  std::unique_ptr<MatmulOp> bias_update;  // the rank-1 fallback, when used
};

}  // namespace

struct GemmRunner::Impl {
  cublasLtHandle_t handle = nullptr;
  DeviceBuffer workspace;
  bool epilogue_enabled = true;
  bool last_bias_epilogue = false;
  std::unordered_map<Key, Plan, KeyHash> plans;
  // The row-invariant algorithm of each problem, keyed with m = 0 (see the file comment).
  std::unordered_map<Key, cublasLtMatmulAlgo_t, KeyHash> invariant_algos;
  // Ones for the bias fallback, per input dtype; earlier (smaller) vectors stay alive for graphs.
  std::vector<DeviceBuffer> ones_buffers;
  const void* ones[2] = {nullptr, nullptr};
  int64_t ones_len[2] = {0, 0};

  // Builds op for `s`, or returns nullptr if the heuristic has no algorithm (NOT_SUPPORTED / none),
  // or, when `optional` (a try of the bias epilogue), if cuBLASLt rejects the request at all.
  // An algorithm for `op` that computes each output row the same way for any m, chosen for
  // `shape` with kInvariantRows rows and cached under `algo_key`; false if none fits.
  bool invariant_algo(MatmulOp& op, OpShape shape, cublasLtMatmulPreference_t pref, const Key& algo_key,
                      const std::string& context) {
    auto cached = invariant_algos.find(algo_key);
    cublasLtMatmulHeuristicResult_t check{};
    if (cached != invariant_algos.end()) {
      op.algo = cached->second;
      return cublasLtMatmulAlgoCheck(handle, op.desc, op.a, op.b, op.d, op.d, &op.algo, &check) ==
             CUBLAS_STATUS_SUCCESS;
    }
    constexpr uint64_t kInvariantRows = 4096;
    shape.b_cols = shape.d_cols = kInvariantRows;
    shape.ldb = std::max<int64_t>(shape.ldb, 1);
    cublasLtMatrixLayout_t b = nullptr, d = nullptr;
    check_lt(cublasLtMatrixLayoutCreate(&b, shape.ab_type, shape.b_rows, shape.b_cols, shape.ldb),
             "cublasLtMatrixLayoutCreate(B, invariant)", context);
    check_lt(cublasLtMatrixLayoutCreate(&d, shape.d_type, shape.d_rows, shape.d_cols, shape.ldd),
             "cublasLtMatrixLayoutCreate(D, invariant)", context);
    constexpr int kCandidates = 16;
    cublasLtMatmulHeuristicResult_t results[kCandidates] = {};
    int found = 0;
    cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle, op.desc, op.a, b, d, d, pref, kCandidates,
                                                       results, &found);
    cublasLtMatrixLayoutDestroy(d);
    cublasLtMatrixLayoutDestroy(b);
    if (st != CUBLAS_STATUS_SUCCESS) return false;
    for (int i = 0; i < found; ++i) {
      int32_t split_k = 1;
      uint32_t reduction = 0;
      size_t written = 0;
      cublasLtMatmulAlgoConfigGetAttribute(&results[i].algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &split_k,
                                           sizeof(split_k), &written);
      cublasLtMatmulAlgoConfigGetAttribute(&results[i].algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                           &reduction, sizeof(reduction), &written);
      if (split_k > 1 || reduction != CUBLASLT_REDUCTION_SCHEME_NONE) continue;
      if (cublasLtMatmulAlgoCheck(handle, op.desc, op.a, op.b, op.d, op.d, &results[i].algo, &check) !=
          CUBLAS_STATUS_SUCCESS)
        continue;
      op.algo = results[i].algo;
      invariant_algos.emplace(algo_key, op.algo);
      return true;
    }
    return false;
  }

  std::unique_ptr<MatmulOp> make_op(const OpShape& s, const std::string& context, bool optional = false,
                                    const Key* algo_key = nullptr) {
    auto op = std::make_unique<MatmulOp>();
    check_lt(cublasLtMatmulDescCreate(&op->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
             "cublasLtMatmulDescCreate", context);
    check_lt(cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_TRANSA, &s.trans_a,
                                            sizeof(s.trans_a)),
             "cublasLtMatmulDescSetAttribute(TRANSA)", context);
    check_lt(cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_TRANSB, &s.trans_b,
                                            sizeof(s.trans_b)),
             "cublasLtMatmulDescSetAttribute(TRANSB)", context);
    if (s.bias) {
      cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
      int32_t bias_type = s.ab_type;
      check_lt(cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)),
               "cublasLtMatmulDescSetAttribute(EPILOGUE)", context);
      check_lt(cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                              sizeof(bias_type)),
               "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)", context);
      check_lt(cublasLtMatmulDescSetAttribute(op->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &s.bias,
                                              sizeof(s.bias)),
               "cublasLtMatmulDescSetAttribute(BIAS_POINTER)", context);
    }
    check_lt(cublasLtMatrixLayoutCreate(&op->a, s.ab_type, s.a_rows, s.a_cols, s.lda),
             "cublasLtMatrixLayoutCreate(A)", context);
    check_lt(cublasLtMatrixLayoutCreate(&op->b, s.ab_type, s.b_rows, s.b_cols, s.ldb),
             "cublasLtMatrixLayoutCreate(B)", context);
    check_lt(cublasLtMatrixLayoutCreate(&op->d, s.d_type, s.d_rows, s.d_cols, s.ldd),
             "cublasLtMatrixLayoutCreate(D)", context);

    cublasLtMatmulPreference_t pref = nullptr;
    check_lt(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate", context);
    uint64_t ws = workspace.bytes();
    cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                             &ws, sizeof(ws));
    const uint32_t aligns[4] = {s.align_a, s.align_b, s.align_d, s.align_d};
    const cublasLtMatmulPreferenceAttributes_t align_attrs[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4 && st == CUBLAS_STATUS_SUCCESS; ++i)
      st = cublasLtMatmulPreferenceSetAttribute(pref, align_attrs[i], &aligns[i], sizeof(aligns[i]));
    if (st == CUBLAS_STATUS_SUCCESS && algo_key && invariant_algo(*op, s, pref, *algo_key, context)) {
      cublasLtMatmulPreferenceDestroy(pref);
      return op;
    }
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
      st = cublasLtMatmulAlgoGetHeuristic(handle, op->desc, op->a, op->b, op->d, op->d, pref, 1,
                                          &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && found == 0) ||
        (optional && st != CUBLAS_STATUS_SUCCESS))
      return nullptr;
    check_lt(st, "cublasLtMatmulAlgoGetHeuristic", context);
    op->algo = result.algo;
    return op;
  }

  cublasStatus_t run(const MatmulOp& op, const void* a, const void* b, float beta, void* d,
                     cudaStream_t stream) {
    const float alpha = 1.f;
    return cublasLtMatmul(handle, op.desc, &alpha, a, op.a, b, op.b, &beta, d, op.d, d, op.d, &op.algo,
                          workspace.get(), workspace.bytes(), stream);
  }

  // A device vector of at least m ones of `type` (grown outside capture only).
  const void* ones_for(DType type, int m, cudaStream_t stream, const std::string& context) {
    const int t = type == DType::bf16 ? 0 : 1;
    if (ones_len[t] >= m) return ones[t];
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    LLC_CUDA(cudaStreamIsCapturing(stream, &capture));
    if (capture != cudaStreamCaptureStatusNone)
      throw std::runtime_error("GemmRunner: the bias fallback for " + context +
                               " needs a longer ones vector, which cannot be allocated during CUDA-graph "
                               "capture: run this shape once before capturing it");
    int64_t len = std::max<int64_t>({int64_t(m), 2 * ones_len[t], int64_t(4096)});
    const uint16_t one = type == DType::bf16 ? 0x3F80 : 0x3C00;  // 1.0 in bf16 / fp16
    std::vector<uint16_t> host(static_cast<size_t>(len), one);
    DeviceBuffer buf(host.size() * sizeof(uint16_t), "the GEMM bias-fallback ones vector");
    LLC_CUDA(cudaMemcpy(buf.get(), host.data(), buf.bytes(), cudaMemcpyHostToDevice));
    ones[t] = buf.get();
    ones_len[t] = len;
    ones_buffers.push_back(std::move(buf));
    return ones[t];
  }
};

GemmRunner::GemmRunner(size_t workspace_bytes) : impl_(std::make_unique<Impl>()) {
  check_lt(cublasLtCreate(&impl_->handle), "cublasLtCreate", "");
  try {
    impl_->workspace.allocate(workspace_bytes, "the cuBLASLt workspace");
  } catch (...) {
    cublasLtDestroy(impl_->handle);
    throw;
  }
}

GemmRunner::~GemmRunner() {
  impl_->plans.clear();
  if (impl_->handle) cublasLtDestroy(impl_->handle);
}

void GemmRunner::set_bias_epilogue_enabled(bool enabled) { impl_->epilogue_enabled = enabled; }
size_t GemmRunner::cached_plans() const { return impl_->plans.size(); }
bool GemmRunner::last_bias_used_epilogue() const { return impl_->last_bias_epilogue; }

void GemmRunner::linear(void* out, int ldo, DType out_type, const void* in, int ldi, const void* w,
                        const void* bias, DType in_type, int m, int n, int k, cudaStream_t stream) {
  auto describe = [&] {
    return "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) +
           " ldi=" + std::to_string(ldi) + " ldo=" + std::to_string(ldo) + " in=" + dtype_name(in_type) +
           " out=" + dtype_name(out_type) + (bias ? " +bias" : "");
  };
  if (in_type == DType::fp32)
    throw std::invalid_argument("GemmRunner::linear: input dtype must be bf16 or fp16, found fp32 (" +
                                describe() + ")");
  if (out_type != in_type && out_type != DType::fp32)
    throw std::invalid_argument("GemmRunner::linear: output dtype must be the input's or fp32 (" +
                                describe() + ")");
  if (m < 1 || n < 1 || k < 1 || ldi < k || ldo < n)
    throw std::invalid_argument("GemmRunner::linear: bad shape, need m, n, k >= 1, ldi >= k, ldo >= n (" +
                                describe() + ")");
  if (!out || !in || !w)
    throw std::invalid_argument("GemmRunner::linear: null out, in or w pointer (" + describe() + ")");

  Impl& im = *impl_;
  Key key{m, n, k, ldi, ldo,
          static_cast<uint8_t>(in_type), static_cast<uint8_t>(out_type),
          static_cast<uint8_t>(bias != nullptr), static_cast<uint8_t>(!bias || im.epilogue_enabled),
          static_cast<uint16_t>(alignment_of(in)), static_cast<uint16_t>(alignment_of(w)),
          static_cast<uint16_t>(alignment_of(out)),
          static_cast<uint16_t>(bias ? alignment_of(bias) : 0)};
  auto it = im.plans.find(key);
  if (it == im.plans.end()) {
    const std::string context = describe();
    OpShape s{CUBLAS_OP_T, CUBLAS_OP_N, uint64_t(k), uint64_t(n), uint64_t(k), uint64_t(m), uint64_t(n), uint64_t(m),
              k, ldi, ldo, cuda_type(in_type), cuda_type(out_type), nullptr,
              key.align_w, key.align_in, key.align_out};
    Plan plan;
    Key algo_key = key;
    algo_key.m = 0;
    if (bias && im.epilogue_enabled) {
      s.bias = bias;
      plan.main = im.make_op(s, context, /*optional=*/true, &algo_key);
      s.bias = nullptr;
    }
    if (!plan.main) {
      algo_key.bias = 0;  // the main product runs without the epilogue: a different problem
      plan.main = im.make_op(s, context, /*optional=*/false, &algo_key);
      if (!plan.main)
        throw std::runtime_error("GemmRunner: cuBLASLt has no algorithm for " + context);
      if (bias) {
        // out (n x m) += bias (n x 1, ld n) x op_T(ones stored m x 1, ld m).
        OpShape r{CUBLAS_OP_N, CUBLAS_OP_T, uint64_t(n), 1, uint64_t(m), 1, uint64_t(n), uint64_t(m),
                  n, m, ldo, cuda_type(in_type), cuda_type(out_type), nullptr,
                  key.align_bias, 256, key.align_out};
        plan.bias_update = im.make_op(r, context + " (rank-1 bias update)");
        if (!plan.bias_update)
          throw std::runtime_error("GemmRunner: cuBLASLt has no algorithm for the rank-1 bias update of " +
                                   context);
      }
    }
    it = im.plans.emplace(key, std::move(plan)).first;
  }

  const Plan& plan = it->second;
  if (bias && !plan.bias_update) {
    // The epilogue reads the bias pointer from the descriptor: point it at this call's bias.
    check_lt(cublasLtMatmulDescSetAttribute(plan.main->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                            sizeof(bias)),
             "cublasLtMatmulDescSetAttribute(BIAS_POINTER)", describe());
  }
  // The fallback's ones vector first, so a refusal during capture enqueues nothing.
  const int t = in_type == DType::bf16 ? 0 : 1;
  const void* ones = im.ones[t];
  if (plan.bias_update && im.ones_len[t] < m) ones = im.ones_for(in_type, m, stream, describe());
  cublasStatus_t st = im.run(*plan.main, w, in, 0.f, out, stream);
  if (st != CUBLAS_STATUS_SUCCESS) check_lt(st, "cublasLtMatmul", describe());
  if (plan.bias_update) {
    st = im.run(*plan.bias_update, bias, ones, 1.f, out, stream);
    if (st != CUBLAS_STATUS_SUCCESS) check_lt(st, "cublasLtMatmul", describe() + " (rank-1 bias update)");
  }
  if (bias) im.last_bias_epilogue = !plan.bias_update;
}

}  // namespace llc
