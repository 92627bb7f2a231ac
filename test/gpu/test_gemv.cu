// test_gemv.cu - the decode GEMV (templates/kernels/gemv.cuh) and the short-prefill kernels
// (gemv_prefill.cuh, and prefill_wgmma.cuh's warpgroup MMA) against a CPU fp64 reference, their
// batch invariance (a row's result is bit-identical alone and at any position of a batch), and
// informational timings at Llama-3.1-8B and 3.2-1B shapes against a device-to-device copy
// measured here. Built for sm_90a (wgmma).
#include <algorithm>
#include <vector>

#include "templates/kernels/convert.cuh"
#include "templates/kernels/gemv.cuh"
#include "templates/kernels/gemv_prefill.cuh"
#include "templates/kernels/prefill_wgmma.cuh"
#include "templates/kernels/rope_kv_store.cuh"
#include "templates/kernels/silu_mul.cuh"
#include "test/gpu/test_common.h"

namespace {

constexpr int kMaxRows = 16;  // the compiled max batch of the example programs

template <typename OutT> float out_to_f32(OutT v);
template <> float out_to_f32<float>(float v) { return v; }
template <> float out_to_f32<floatX>(floatX v) {
  uint16_t bits;
  memcpy(&bits, &v, sizeof bits);
  return x_to_f32(bits);
}

// The kernels a linear's step can run (llama.linear's kernel / short_kernel); one signature.
enum class Kind { kGemv, kGemvPrefill, kWgmma };
constexpr const char* kind_name(Kind kind) {
  return kind == Kind::kGemv ? "gemv" : kind == Kind::kGemvPrefill ? "gemv_prefill" : "prefill_wgmma";
}

template <int K, int MAX_ROWS, typename OutT, Kind KIND>
void run_gemv(OutT* out, int ld_out, const floatX* x, int ld_x, const floatX* w, const floatX* bias, int n_rows,
              int N) {
  if constexpr (KIND == Kind::kGemvPrefill)
    gemv_prefill_forward<K, MAX_ROWS, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, 0);
  else if constexpr (KIND == Kind::kWgmma)
    prefill_wgmma_forward<K, MAX_ROWS, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, 0);
  else
    gemv_forward<K, MAX_ROWS, OutT>(out, ld_out, x, ld_x, w, bias, n_rows, N, 0);
}

template <int K, typename OutT, int MAX_ROWS = kMaxRows, Kind KIND = Kind::kGemv>
void check_gemv(const char* name, int N, int n_rows, bool with_bias, Rng& rng) {
  const int ld_x = K + 16, ld_out = N + 8;
  std::vector<uint16_t> x = rng.x_vector((size_t)n_rows * ld_x, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)N * K, -0.05, 0.05);
  std::vector<uint16_t> bias = rng.x_vector(N, -0.5, 0.5);
  XBuf dx(x.size()), dw(w.size()), db(bias.size());
  dx.upload(x);
  dw.upload(w);
  db.upload(bias);
  DevBuf<OutT> dout((size_t)MAX_ROWS * ld_out);
  dout.poison();
  run_gemv<K, MAX_ROWS, OutT, KIND>(dout.ptr, ld_out, dx.ptr, ld_x, dw.ptr, with_bias ? db.ptr : nullptr,
                                       n_rows, N);
  cudaCheck(cudaDeviceSynchronize());

  // Reference in fp64 over the floatX inputs; the kernel accumulates K products in fp32 (error
  // about K * 2^-24 * sum|x w|, bounded here by 1e-4 * sum|x w|) and rounds once to OutT
  // (relative 2^-8 for bf16, 2^-11 for fp16, none for float).
  const double out_round = sizeof(OutT) == 4 ? 0.0 : kUnitRoundoff;
  size_t unwritten_past = 0;
  std::vector<OutT> host((size_t)MAX_ROWS * ld_out);
  cudaCheck(cudaMemcpy(host.data(), dout.ptr, host.size() * sizeof(OutT), cudaMemcpyDeviceToHost));
  size_t bad = 0, nan = 0;
  double max_abs = 0.0;
  for (int m = 0; m < MAX_ROWS; ++m)
    for (int n = 0; n < ld_out; ++n) {
      const float v = out_to_f32<OutT>(host[(size_t)m * ld_out + n]);
      if (m >= n_rows || n >= N) {  // never written: must still hold the poison
        if (!std::isnan(v)) ++unwritten_past;
        continue;
      }
      double sum = with_bias ? x_to_f32(bias[n]) : 0.0, mag = std::fabs(sum);
      for (int k = 0; k < K; ++k) {
        const double p = (double)x_to_f32(x[(size_t)m * ld_x + k]) * x_to_f32(w[(size_t)n * K + k]);
        sum += p;
        mag += std::fabs(p);
      }
      if (std::isnan(v)) { ++nan; continue; }
      const double err = std::fabs(v - sum);
      max_abs = std::max(max_abs, err);
      if (err > 1e-4 * mag + out_round * std::fabs(sum) + 1e-30) ++bad;
    }
  check(bad == 0 && nan == 0 && unwritten_past == 0,
        fmt_str("%s/%s/K%d/N%d/rows%d%s", kind_name(KIND), name, K, N, n_rows,
                with_bias ? "/bias" : ""),
        fmt_str("max_abs=%.3g bad=%zu nan(unwritten)=%zu written_outside=%zu", max_abs, bad, nan,
                unwritten_past));
}

// Row m of a 16-row batch must equal, bit for bit, the same x row decoded alone (n_rows = 1) and
// the same row at another position of a 4-row batch.
template <int K, typename OutT>
void check_batch_invariance(const char* name, int N, Rng& rng) {
  const int ld_x = K, ld_out = N;
  std::vector<uint16_t> x = rng.x_vector((size_t)kMaxRows * K, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)N * K, -0.05, 0.05);
  XBuf dx(x.size()), dw(w.size());
  dx.upload(x);
  dw.upload(w);
  DevBuf<OutT> batch((size_t)kMaxRows * ld_out), single(ld_out), four((size_t)4 * ld_out);
  gemv_forward<K, kMaxRows, OutT>(batch.ptr, ld_out, dx.ptr, ld_x, dw.ptr, nullptr, kMaxRows, N, 0);
  std::vector<OutT> hb((size_t)kMaxRows * ld_out);
  cudaCheck(cudaMemcpy(hb.data(), batch.ptr, hb.size() * sizeof(OutT), cudaMemcpyDeviceToHost));
  size_t differ_alone = 0, differ_moved = 0;
  for (int m = 0; m < kMaxRows; ++m) {
    gemv_forward<K, kMaxRows, OutT>(single.ptr, ld_out, dx.ptr + (size_t)m * ld_x, ld_x, dw.ptr, nullptr, 1, N, 0);
    // In a 4-row batch, row m sits at position m % 4 (the other rows are other x rows).
    const int pos = m % 4;
    std::vector<uint16_t> x4((size_t)4 * K);
    for (int r = 0; r < 4; ++r) {
      const int src = r == pos ? m : (m + r + 1) % kMaxRows;
      std::copy(x.begin() + (size_t)src * K, x.begin() + (size_t)(src + 1) * K, x4.begin() + (size_t)r * K);
    }
    XBuf dx4(x4.size());
    dx4.upload(x4);
    gemv_forward<K, kMaxRows, OutT>(four.ptr, ld_out, dx4.ptr, ld_x, dw.ptr, nullptr, 4, N, 0);
    std::vector<OutT> hs(ld_out), h4((size_t)4 * ld_out);
    cudaCheck(cudaMemcpy(hs.data(), single.ptr, hs.size() * sizeof(OutT), cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h4.data(), four.ptr, h4.size() * sizeof(OutT), cudaMemcpyDeviceToHost));
    differ_alone += memcmp(hs.data(), hb.data() + (size_t)m * ld_out, N * sizeof(OutT)) != 0;
    differ_moved += memcmp(h4.data() + (size_t)pos * ld_out, hb.data() + (size_t)m * ld_out, N * sizeof(OutT)) != 0;
  }
  check(differ_alone == 0 && differ_moved == 0, fmt_str("gemv_batch_invariance/%s/K%d/N%d", name, K, N),
        fmt_str("rows differing alone=%zu, at another batch position=%zu (of %d)", differ_alone,
                differ_moved, kMaxRows));
}

// The SwiGLU GEMV (llc-fuse-silu-mul-linear) must be bit-identical to what it replaces: the
// merged gate/up GEMV (2I outputs) into a buffer, then silu_mul_forward on its two halves.
// Weights large enough that the gate sums reach silu's tails; the output has a row stride > I.
template <int K, int I, int MAX_ROWS = kMaxRows>
void check_swiglu_matches_unfused(int n_rows, bool with_bias, Rng& rng) {
  const int ld_out = I + 8;
  std::vector<uint16_t> x = rng.x_vector((size_t)n_rows * K, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)2 * I * K, -0.3, 0.3);
  std::vector<uint16_t> b = rng.x_vector((size_t)2 * I, -2.0, 2.0);
  XBuf dx(x.size()), dw(w.size()), db(b.size()), gate_up((size_t)n_rows * 2 * I), unfused((size_t)n_rows * I),
      fused((size_t)MAX_ROWS * ld_out);
  dx.upload(x);
  dw.upload(w);
  db.upload(b);
  fused.poison();
  const floatX* bias = with_bias ? db.ptr : nullptr;
  gemv_forward<K, MAX_ROWS, floatX>(gate_up.ptr, 2 * I, dx.ptr, K, dw.ptr, bias, n_rows, 2 * I, 0);
  silu_mul_forward<I>(unfused.ptr, gate_up.ptr, 2 * I, gate_up.ptr + I, 2 * I, n_rows, 0);
  gemv_swiglu_forward<K, MAX_ROWS>(fused.ptr, ld_out, dx.ptr, K, dw.ptr, bias, n_rows, I, 0);
  cudaCheck(cudaDeviceSynchronize());
  const std::vector<uint16_t> hf = fused.download<uint16_t>(), hu = unfused.download<uint16_t>();
  size_t differ = 0, nan = 0, saturated = 0;
  for (int m = 0; m < n_rows; ++m)
    for (int i = 0; i < I; ++i) {
      const uint16_t f = hf[(size_t)m * ld_out + i];
      differ += f != hu[(size_t)m * I + i];
      nan += std::isnan(x_to_f32(f));
    }
  // Every element past the batch's rows and past column I of each row keeps its poison (0xFFFF).
  size_t written_outside = 0;
  for (size_t e = 0; e < hf.size(); ++e) {
    const bool inside = (int)(e / ld_out) < n_rows && (int)(e % ld_out) < I;
    if (!inside) written_outside += hf[e] != 0xFFFF;
  }
  const std::vector<uint16_t> hgu = gate_up.download<uint16_t>();
  for (int m = 0; m < n_rows; ++m)
    for (int i = 0; i < I; ++i) saturated += std::fabs(x_to_f32(hgu[(size_t)m * 2 * I + i])) > 4.0f;
  check(differ == 0 && nan == 0 && written_outside == 0 && saturated > 0,
        fmt_str("gemv_swiglu/K%d/I%d/rows%d/max%d%s", K, I, n_rows, MAX_ROWS, with_bias ? "/bias" : ""),
        fmt_str("outputs differing from gemv + silu_mul: %zu, nan: %zu, written outside: %zu, "
                "gates with |g| > 4 (silu's tails reached): %zu",
                differ, nan, written_outside, saturated));
}

// The roped QKV GEMV (llc-fuse-rope-kv-store-linear) must be bit-identical to what it replaces:
// the merged QKV GEMV into a buffer, then rope_kv_store_forward. Positions up to 8000 (angles of
// thousands of radians), one token with a negative slot (stores no K / V), q at a row stride
// past its heads; the whole pool (poisoned) and q are compared bit for bit.
template <int K, int D, int KVH>
void check_qkv_rope_matches_unfused(int q_heads, int n_rows, bool with_bias, Rng& rng) {
  const int q_features = q_heads * D, qk_features = (q_heads + KVH) * D, N = qk_features + KVH * D;
  const int ld_q = q_features + 8, kv_slots = 40, row = KVH * D;
  std::vector<uint16_t> x = rng.x_vector((size_t)n_rows * K, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)N * K, -0.1, 0.1);
  std::vector<uint16_t> b = rng.x_vector((size_t)N, -1.0, 1.0);
  std::vector<int32_t> positions(n_rows), slots(n_rows);
  for (int m = 0; m < n_rows; ++m) {
    positions[m] = rng.integer(0, 8000);
    slots[m] = (m * 7 + 3) % kv_slots;  // distinct for n_rows <= kv_slots
  }
  if (n_rows > 1) slots[n_rows / 2] = -1;
  RopeTable<D> table;
  for (int i = 0; i < D / 2; ++i) table.inv_freq[i] = (float)std::pow(500000.0, -2.0 * i / D);
  XBuf dx(x.size()), dw(w.size()), db(b.size()), qkv((size_t)n_rows * N), q_ref((size_t)n_rows * q_features),
      q_fused((size_t)kMaxRows * ld_q), kc_ref((size_t)kv_slots * row), vc_ref((size_t)kv_slots * row),
      kc_fused((size_t)kv_slots * row), vc_fused((size_t)kv_slots * row);
  DevBuf<int32_t> dpos(n_rows), dslots(n_rows);
  dx.upload(x);
  dw.upload(w);
  db.upload(b);
  dpos.upload(positions);
  dslots.upload(slots);
  for (XBuf* buf : {&q_fused, &kc_ref, &vc_ref, &kc_fused, &vc_fused}) buf->poison();
  const floatX* bias = with_bias ? db.ptr : nullptr;
  gemv_forward<K, kMaxRows, floatX>(qkv.ptr, N, dx.ptr, K, dw.ptr, bias, n_rows, N, 0);
  rope_kv_store_forward<D, KVH>(q_ref.ptr, q_features, qkv.ptr, N, qkv.ptr + qk_features, N, dpos.ptr, table,
                                kc_ref.ptr, vc_ref.ptr, dslots.ptr, n_rows, q_heads, 0);
  gemv_qkv_rope_forward<K, kMaxRows, D, KVH>(q_fused.ptr, ld_q, dx.ptr, K, dw.ptr, bias, n_rows, N, q_heads, dpos.ptr,
                                             table, kc_fused.ptr, vc_fused.ptr, dslots.ptr, 0);
  cudaCheck(cudaDeviceSynchronize());
  const std::vector<uint16_t> hq = q_fused.download<uint16_t>(), hq_ref = q_ref.download<uint16_t>();
  size_t q_differ = 0, written_outside = 0;
  for (size_t e = 0; e < hq.size(); ++e) {
    const int m = (int)(e / ld_q), c = (int)(e % ld_q);
    if (m < n_rows && c < q_features)
      q_differ += hq[e] != hq_ref[(size_t)m * q_features + c];
    else
      written_outside += hq[e] != 0xFFFF;
  }
  size_t cache_differ = 0, stored = 0;
  const XBuf* pools[2][2] = {{&kc_fused, &kc_ref}, {&vc_fused, &vc_ref}};
  for (const auto& pool : pools) {
    const std::vector<uint16_t> hf = pool[0]->download<uint16_t>(), hr = pool[1]->download<uint16_t>();
    for (size_t e = 0; e < hf.size(); ++e) {
      cache_differ += hf[e] != hr[e];
      stored += hr[e] != 0xFFFF;
    }
  }
  const int stored_rows = n_rows - (n_rows > 1 ? 1 : 0);
  check(q_differ == 0 && written_outside == 0 && cache_differ == 0 && stored == (size_t)2 * stored_rows * row,
        fmt_str("gemv_qkv_rope/K%d/D%d/H%d/KVH%d/rows%d%s", K, D, q_heads, KVH, n_rows, with_bias ? "/bias" : ""),
        fmt_str("q differing from gemv + rope_kv_store: %zu, q written outside: %zu, pool elements differing: "
                "%zu, stored by the reference: %zu (expected %d)",
                q_differ, written_outside, cache_differ, stored, 2 * stored_rows * row));
}

// Short prefills (MAX_ROWS = 64: gemv_prefill_forward, gemv_forward; 128: prefill_wgmma_forward):
// a prompt's rows must come out bit-identical whether its prefill has 52 rows (the four seed
// prompts; 7 batch tiles, or wgmma's 64-row B) or 120 (wgmma's 128-row B), 70 (128-row B again),
// 24 (wgmma's 32-row B), 13 (2 tiles, 16-row B) or 1.
template <int K, Kind KIND, int MAX_ROWS = 64>
void check_short_prefill_invariance(int N, Rng& rng) {
  constexpr int kRows = MAX_ROWS == 128 ? 120 : 52;
  std::vector<uint16_t> x = rng.x_vector((size_t)kRows * K, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)N * K, -0.05, 0.05);
  XBuf dx(x.size()), dw(w.size()), all((size_t)kRows * N), part((size_t)kRows * N);
  dx.upload(x);
  dw.upload(w);
  run_gemv<K, MAX_ROWS, floatX, KIND>(all.ptr, N, dx.ptr, K, dw.ptr, nullptr, kRows, N);
  const std::vector<uint16_t> ha = all.download<uint16_t>();
  // Rows [first, first + rows) as a prefill of their own.
  auto rows_differing = [&](int first, int rows) {
    run_gemv<K, MAX_ROWS, floatX, KIND>(part.ptr, N, dx.ptr + (size_t)first * K, K, dw.ptr, nullptr, rows, N);
    const std::vector<uint16_t> hp = part.download<uint16_t>();
    size_t differ = 0;
    for (int r = 0; r < rows; ++r)
      differ += memcmp(hp.data() + (size_t)r * N, ha.data() + (size_t)(first + r) * N, N * 2) != 0;
    return differ;
  };
  const size_t differ_13 = rows_differing(20, 13), differ_24 = rows_differing(28, 24);
  const size_t differ_70 = MAX_ROWS == 128 ? rows_differing(40, 70) : 0;
  size_t differ_one = 0;
  for (int m : {0, 7, 8, 51}) differ_one += rows_differing(m, 1);
  check(differ_13 == 0 && differ_24 == 0 && differ_70 == 0 && differ_one == 0,
        fmt_str("%s_short_prefill_invariance/K%d/N%d/rows%d", kind_name(KIND), K, N, kRows),
        fmt_str("rows differing: 13-row prefill %zu of 13, 24-row prefill %zu of 24, 70-row prefill %zu%s, "
                "single-row prefill %zu of 4",
                differ_13, differ_24, differ_70, MAX_ROWS == 128 ? " of 70" : " (not run)", differ_one));
}

template <int K, typename OutT>
void bench_gemv(const char* name, int N, double copy_gbps) {
  const size_t bytes = (size_t)N * K * sizeof(floatX);
  const std::vector<XBuf> ws = weight_copies(N, K);
  const int copies = (int)ws.size();
  constexpr int kPrefillRows = 52;  // the four seed prompts as one short prefill (7 batch tiles)
  XBuf x((size_t)128 * K);
  fill_random_forward(x.ptr, (int64_t)x.n, 3, 0.0f, 1.0f, 0);
  DevBuf<OutT> out((size_t)128 * N);
  // Ten back-to-back calls per timing, as in a decode step (one call between two events also
  // times the event and launch latency); each call reads the next copy of the weight. Decode
  // batches run the program's GEMV instantiation (MAX_ROWS = max batch); the short prefill every
  // kernel a short step can have (MAX_ROWS = 64): gemv.cuh's, gemv_prefill.cuh's and, on sm_90,
  // prefill_wgmma.cuh's (also at 13 rows, one seed prompt alone).
  enum class Kernel { kDecode, kShortGemv, kShortPrefill, kShortWgmma };
  auto time_one = [&](Kernel kernel, int rows) {
    constexpr int kBurst = 10;
    int call = 0;
    const double ms = median_ms([&] {
      for (int i = 0; i < kBurst; ++i) {
        const floatX* w = ws[call++ % copies].ptr;
        if (kernel == Kernel::kDecode)
          gemv_forward<K, kMaxRows, OutT>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
        else if (kernel == Kernel::kShortGemv)
          gemv_forward<K, 64, OutT>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
        else if (kernel == Kernel::kShortPrefill)
          gemv_prefill_forward<K, 64, OutT>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
        else
          prefill_wgmma_forward<K, 128, OutT>(out.ptr, N, x.ptr, K, w, nullptr, rows, N, 0);
      }
    }) / kBurst;
    const double gbps = bytes / (ms * 1e-3) / 1e9;
    info(fmt_str("bench %s %s N%d K%d rows%d: %.4f ms, %.0f GB/s of weights = %.2f of copy bandwidth",
                 kernel == Kernel::kShortPrefill ? "gemv_prefill"
                 : kernel == Kernel::kShortWgmma ? "prefill_wgmma"
                                                 : "gemv",
                 name, N, K, rows, ms, gbps,
                 gbps / copy_gbps));
  };
  for (int rows : {1, 4, 16}) time_one(Kernel::kDecode, rows);
  time_one(Kernel::kShortGemv, kPrefillRows);
  time_one(Kernel::kShortPrefill, kPrefillRows);
  time_one(Kernel::kShortWgmma, kPrefillRows);
  time_one(Kernel::kShortWgmma, 13);
  time_one(Kernel::kShortWgmma, 128);
}

}  // namespace

void run_gemv_tests() {
  Rng rng(91);
  for (int rows : {1, 3, 16}) {
    check_gemv<2048, floatX>("qkv", 3072, rows, false, rng);
    check_gemv<1536, floatX>("qkv_bias", 2048, rows, true, rng);
    check_gemv<5632, floatX>("down_odd_n", 1001, rows, false, rng);
    check_gemv<2048, float>("lm_head_f32", 4099, rows, false, rng);
  }
  for (int rows : {1, 3, 16}) {
    check_swiglu_matches_unfused<512, 648>(rows, rows == 3, rng);
    check_swiglu_matches_unfused<1536, 8960>(rows, false, rng);  // Qwen2-1.5B's gate/up
  }
  for (int rows : {1, 3, 16}) {
    check_qkv_rope_matches_unfused<2048, 64, 8>(32, rows, false, rng);   // Llama-3.2-1B
    check_qkv_rope_matches_unfused<1536, 128, 2>(12, rows, true, rng);   // Qwen2-1.5B (QKV bias)
  }
  check_qkv_rope_matches_unfused<4096, 128, 8>(32, 4, false, rng);       // Llama-3.1-8B
  // Short prefills (8 batch tiles; one weight tile per block below gemv::TWO_TILE_MIN_N features,
  // two from there); I = 648 and 3080 end mid-block.
  for (int rows : {20, 52}) check_swiglu_matches_unfused<512, 648, 64>(rows, rows == 52, rng);
  check_swiglu_matches_unfused<256, 3080, 64>(52, true, rng);  // two weight tiles per block
  // Short prefills: gemv_prefill_forward (weights of many rows) in every batch-tile
  // instantiation (1 to 8 tiles), units of 128 and 32 k, odd N, fp32 logits; and gemv_forward
  // with MAX_ROWS = 64 (the other weights), one or two weight tiles a block.
  constexpr Kind kPrefill = Kind::kGemvPrefill, kWgmma = Kind::kWgmma;
  for (int rows : {1, 5, 13, 20, 33, 52, 64})
    check_gemv<2048, floatX, 64, kPrefill>("short_prefill", 1030, rows, rows == 52 || rows == 5, rng);
  check_gemv<2048, float, 64, kPrefill>("short_prefill_lm_head_f32", 2051, 40, false, rng);
  check_gemv<1056, floatX, 64, kPrefill>("short_prefill_k_unit32", 520, 21, true, rng);  // K % 64 != 0
  // prefill_wgmma_forward: every B width (16, 32, 64 rows), k split over 5 blocks with uneven
  // ranges (N = 1030: 17 tiles of 64, the last of 6 rows; 32 k tiles), no split (N = 8200 ends
  // mid-tile), bias, fp32 logits, the 8B down projection's K.
  for (int rows : {1, 5, 13, 16, 17, 20, 32, 33, 52, 64})
    check_gemv<2048, floatX, 64, kWgmma>("short_wgmma_split", 1030, rows, rows == 52 || rows == 5, rng);
  for (int rows : {65, 100, 128})  // the 128-row B (4 stages)
    check_gemv<2048, floatX, 128, kWgmma>("short_wgmma_split", 1030, rows, rows == 100, rng);
  for (int rows : {3, 29, 52}) check_gemv<512, floatX, 64, kWgmma>("short_wgmma", 8200, rows, rows == 29, rng);
  check_gemv<512, floatX, 128, kWgmma>("short_wgmma", 8200, 97, true, rng);
  check_gemv<2048, float, 64, kWgmma>("short_wgmma_f32", 2051, 40, true, rng);
  check_gemv<14336, floatX, 64, kWgmma>("short_wgmma_down_8b", 4096, 52, false, rng);
  check_gemv<14336, floatX, 128, kWgmma>("short_wgmma_down_8b", 4096, 128, false, rng);
  for (int rows : {20, 52, 64})
    check_gemv<2048, floatX, 64>("short_step", 1030, rows, rows == 52, rng);
  check_gemv<2048, floatX, 64>("short_step_two_tiles", 4000, 52, true, rng);  // >= TWO_TILE_MIN_N
  check_gemv<2048, float, 64>("short_step_lm_head_f32", 2051, 40, false, rng);
  check_short_prefill_invariance<4096, kPrefill>(768, rng);
  check_short_prefill_invariance<4096, Kind::kGemv>(768, rng);
  check_short_prefill_invariance<4096, Kind::kGemv>(4000, rng);
  check_short_prefill_invariance<4096, kWgmma>(768, rng);       // k split in 8
  check_short_prefill_invariance<1024, kWgmma>(16384, rng);     // no split
  check_short_prefill_invariance<4096, kWgmma, 128>(768, rng);  // every B width up to 128 rows
  check_short_prefill_invariance<1024, kWgmma, 128>(16384, rng);
  check_batch_invariance<4096, floatX>("o_proj", 512, rng);
  check_batch_invariance<2048, float>("lm_head_f32", 1024, rng);
}

void run_gemv_benchmarks() {
  const double copy = measure_copy_gbps();
  info(fmt_str("bench copy bandwidth (read + write): %.0f GB/s", copy));
  bench_gemv<4096, floatX>("qkv_8b", 6144, copy);
  bench_gemv<4096, floatX>("o_8b", 4096, copy);
  bench_gemv<4096, floatX>("gate_up_8b", 28672, copy);
  bench_gemv<14336, floatX>("down_8b", 4096, copy);
  bench_gemv<4096, float>("lm_head_8b", 128256, copy);
  bench_gemv<2048, floatX>("qkv_1b", 3072, copy);
  bench_gemv<2048, floatX>("o_1b", 2048, copy);
  bench_gemv<2048, floatX>("gate_up_1b", 16384, copy);
  bench_gemv<8192, floatX>("down_1b", 2048, copy);
}
