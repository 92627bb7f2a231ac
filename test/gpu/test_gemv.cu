// test_gemv.cu - the decode GEMV (templates/kernels/gemv.cuh), its fused variants (the RMSNorm
// folded in, the residual added) and the short-prefill kernels (gemv_prefill.cuh, and
// prefill_wgmma.cuh's warpgroup MMA) against a CPU fp64 reference or the unfused kernels, their
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
constexpr float kEps = 1e-5f;  // the fused norms' eps (Llama 3's)

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

// A residual stream, the fused norms' x: n_rows rows of K at stride ld (the padding random too, so
// a norm summing it shows). Row m is uniform in +-amp, amp random in [0.25, 8] (rows of different
// scales: a norm taken from the wrong row shows), every fourth row +-0.004: a mean square (5e-6)
// of the order of eps, so that both terms of the norm count.
std::vector<uint16_t> residual_stream(int n_rows, int ld, int K, Rng& rng) {
  std::vector<uint16_t> s = rng.x_vector((size_t)n_rows * ld, -1.0, 1.0);
  for (int m = 0; m < n_rows; ++m) {
    const double amp = m % 4 == 3 ? 0.004 : rng.uniform(0.25, 8.0);
    for (int k = 0; k < K; ++k) s[(size_t)m * ld + k] = rng.x_uniform(-amp, amp);
  }
  return s;
}

// 1 / sqrt(mean(s[m, :K]^2) + eps) in fp64.
double inv_rms(const std::vector<uint16_t>& s, int m, int ld, int K) {
  double sum_sq = 0.0;
  for (int k = 0; k < K; ++k) sum_sq += (double)x_to_f32(s[(size_t)m * ld + k]) * x_to_f32(s[(size_t)m * ld + k]);
  return 1.0 / std::sqrt(sum_sq / K + (double)kEps);
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

// The fused-norm GEMVs (llc-fold-norm-into-gemv) against fp64, s a residual_stream at a row
// stride past K: gemv_norm_forward's out = inv_rms * (s w^T) (+ bias), or (SWIGLU,
// gemv_swiglu_norm_forward, w of 2N rows) gate and up so, each rounded to floatX, then silu_mul's
// roundings. Tolerance: check_gemv's, of the scaled terms: 1e-4 * (inv_rms * sum|s w| + |bias|)
// (fp32 accumulation, which also covers inv_rms's fp32 sum of K squares and rsqrtf, ~1e-5
// relative), plus the rounding. SwiGLU: that error in gate and up plus a neighbouring floatX each
// (2u), carried through silu (|silu'| <= 1.1) and the product, plus two roundings (4u of out).
template <int K, bool SWIGLU>
void check_gemv_norm(const char* name, int N, int n_rows, bool with_bias, Rng& rng) {
  const int ld_s = K + 16, ld_out = N + 8, w_rows = SWIGLU ? 2 * N : N;
  const std::vector<uint16_t> s = residual_stream(n_rows, ld_s, K, rng);
  const std::vector<uint16_t> w = rng.x_vector((size_t)w_rows * K, -0.05, 0.05);
  const std::vector<uint16_t> bias = rng.x_vector(w_rows, -0.5, 0.5);
  XBuf ds(s.size()), dw(w.size()), db(bias.size()), dout((size_t)kMaxRows * ld_out);
  ds.upload(s);
  dw.upload(w);
  db.upload(bias);
  dout.poison();
  const floatX* b = with_bias ? db.ptr : nullptr;
  if constexpr (SWIGLU)
    gemv_swiglu_norm_forward<K, kMaxRows>(dout.ptr, ld_out, ds.ptr, ld_s, dw.ptr, b, n_rows, N, kEps, 0);
  else
    gemv_norm_forward<K, kMaxRows>(dout.ptr, ld_out, ds.ptr, ld_s, dw.ptr, b, n_rows, N, kEps, 0);
  cudaCheck(cudaDeviceSynchronize());
  const std::vector<uint16_t> got = dout.download<uint16_t>();
  size_t bad = 0, nan = 0, written_outside = 0;
  double max_abs = 0.0;
  for (int m = 0; m < kMaxRows; ++m) {
    const double inv = m < n_rows ? inv_rms(s, m, ld_s, K) : 0.0;
    // Weight row n's output before rounding, and the kernel's fp32 error bound on it.
    auto project = [&](int n, double& err) {
      double sum = 0.0, mag = 0.0;
      for (int k = 0; k < K; ++k) {
        const double p = (double)x_to_f32(s[(size_t)m * ld_s + k]) * x_to_f32(w[(size_t)n * K + k]);
        sum += p;
        mag += std::fabs(p);
      }
      const double bn = with_bias ? x_to_f32(bias[n]) : 0.0;
      err = 1e-4 * (inv * mag + std::fabs(bn));
      return inv * sum + bn;
    };
    for (int n = 0; n < ld_out; ++n) {
      const uint16_t bits = got[(size_t)m * ld_out + n];
      if (m >= n_rows || n >= N) {  // never written: must still hold the poison
        written_outside += bits != 0xFFFF;
        continue;
      }
      const double v = x_to_f32(bits);
      if (std::isnan(v)) { ++nan; continue; }
      double ref, tol;
      if constexpr (SWIGLU) {
        double eg, eu;
        const double g = round_x(project(n, eg)), u = round_x(project(N + n, eu));
        eg += 2 * kUnitRoundoff * std::fabs(g);
        eu += 2 * kUnitRoundoff * std::fabs(u);
        const double act = round_x(g / (1.0 + std::exp(-g)));
        ref = round_x(act * u);
        tol = 1.1 * eg * (std::fabs(u) + eu) + std::fabs(act) * eu + 4 * kUnitRoundoff * std::fabs(ref) + 1e-6;
      } else {
        ref = project(n, tol);
        tol += kUnitRoundoff * std::fabs(ref) + 1e-30;
      }
      const double err = std::fabs(v - ref);
      max_abs = std::max(max_abs, err);
      bad += err > tol;
    }
  }
  check(bad == 0 && nan == 0 && written_outside == 0,
        fmt_str("%s/%s/K%d/N%d/rows%d%s", SWIGLU ? "gemv_swiglu_norm" : "gemv_norm", name, K, N, n_rows,
                with_bias ? "/bias" : ""),
        fmt_str("max_abs=%.3g bad=%zu nan(unwritten)=%zu written_outside=%zu", max_abs, bad, nan, written_outside));
}

// The residual GEMV (gemv_residual_forward) must be bit-identical to gemv_forward then the add,
// here on the host: floatX(float(residual) + float(out)), the same fp32 sum rounded, added, rounded.
// In place (out == residual, as a program runs it) or into a separate poisoned out (the residual
// must stay as it was); every element past the batch's rows or column N keeps what it held.
template <int K>
void check_residual_matches_unfused(const char* name, int N, int n_rows, bool with_bias, bool in_place, Rng& rng) {
  const int ld_x = K + 16, ld_out = N + 8;
  const std::vector<uint16_t> x = rng.x_vector((size_t)n_rows * ld_x, -1.0, 1.0);
  const std::vector<uint16_t> w = rng.x_vector((size_t)N * K, -0.05, 0.05);
  const std::vector<uint16_t> b = rng.x_vector(N, -0.5, 0.5);
  const std::vector<uint16_t> res = rng.x_vector((size_t)kMaxRows * ld_out, -4.0, 4.0);
  XBuf dx(x.size()), dw(w.size()), db(b.size()), dres(res.size()), dout(res.size()), sum((size_t)n_rows * N);
  dx.upload(x);
  dw.upload(w);
  db.upload(b);
  dres.upload(res);
  if (in_place) dout.upload(res); else dout.poison();
  const floatX* bias = with_bias ? db.ptr : nullptr;
  gemv_forward<K, kMaxRows, floatX>(sum.ptr, N, dx.ptr, ld_x, dw.ptr, bias, n_rows, N, 0);
  gemv_residual_forward<K, kMaxRows>(dout.ptr, ld_out, dx.ptr, ld_x, dw.ptr, bias, n_rows, N,
                                     in_place ? dout.ptr : dres.ptr, 0);
  cudaCheck(cudaDeviceSynchronize());
  const std::vector<uint16_t> hout = dout.download<uint16_t>(), hsum = sum.download<uint16_t>();
  size_t differ = 0, written_outside = 0;
  for (size_t e = 0; e < hout.size(); ++e) {
    const int m = (int)(e / ld_out), n = (int)(e % ld_out);
    if (m < n_rows && n < N)
      differ += hout[e] != f32_to_x(x_to_f32(res[e]) + x_to_f32(hsum[(size_t)m * N + n]));
    else
      written_outside += hout[e] != (in_place ? res[e] : 0xFFFF);
  }
  const bool residual_kept = in_place || dres.download<uint16_t>() == res;
  check(differ == 0 && written_outside == 0 && residual_kept,
        fmt_str("gemv_residual/%s/K%d/N%d/rows%d%s%s", name, K, N, n_rows, with_bias ? "/bias" : "",
                in_place ? "/in_place" : ""),
        fmt_str("outputs differing from gemv + add: %zu, written outside: %zu, residual kept: %s", differ,
                written_outside, residual_kept ? "yes" : "NO"));
}

// The decode GEMVs a batch-invariance check runs: the plain GEMV and its fused variants.
enum class Variant { kPlain, kNorm, kSwigluNorm, kResidual };

template <int K, typename OutT, Variant VARIANT>
void run_variant(OutT* out, int ld_out, const floatX* x, const floatX* w, const floatX* residual, int n_rows, int N) {
  if constexpr (VARIANT == Variant::kNorm)
    gemv_norm_forward<K, kMaxRows>(out, ld_out, x, K, w, nullptr, n_rows, N, kEps, 0);
  else if constexpr (VARIANT == Variant::kSwigluNorm)
    gemv_swiglu_norm_forward<K, kMaxRows>(out, ld_out, x, K, w, nullptr, n_rows, N, kEps, 0);
  else if constexpr (VARIANT == Variant::kResidual)
    gemv_residual_forward<K, kMaxRows>(out, ld_out, x, K, w, nullptr, n_rows, N, residual, 0);
  else
    gemv_forward<K, kMaxRows, OutT>(out, ld_out, x, K, w, nullptr, n_rows, N, 0);
}

// Row m of a 16-row batch must equal, bit for bit, the same x row decoded alone (n_rows = 1) and
// the same row at another position of a 4-row batch. The fused norms' x is a residual_stream
// (rows of different scales); the residual variant's residual rows move with their x rows.
template <int K, typename OutT, Variant VARIANT = Variant::kPlain>
void check_batch_invariance(const char* name, int N, Rng& rng) {
  constexpr bool kNormed = VARIANT == Variant::kNorm || VARIANT == Variant::kSwigluNorm;
  const int ld_x = K, ld_out = N, w_rows = VARIANT == Variant::kSwigluNorm ? 2 * N : N;
  std::vector<uint16_t> x =
      kNormed ? residual_stream(kMaxRows, K, K, rng) : rng.x_vector((size_t)kMaxRows * K, -1.0, 1.0);
  std::vector<uint16_t> w = rng.x_vector((size_t)w_rows * K, -0.05, 0.05);
  std::vector<uint16_t> res((size_t)kMaxRows * N);
  if constexpr (VARIANT == Variant::kResidual) res = rng.x_vector(res.size(), -4.0, 4.0);
  XBuf dx(x.size()), dw(w.size()), dres(res.size()), dx4((size_t)4 * K), dres4((size_t)4 * N);
  dx.upload(x);
  dw.upload(w);
  dres.upload(res);
  DevBuf<OutT> batch((size_t)kMaxRows * ld_out), single(ld_out), four((size_t)4 * ld_out);
  run_variant<K, OutT, VARIANT>(batch.ptr, ld_out, dx.ptr, dw.ptr, dres.ptr, kMaxRows, N);
  std::vector<OutT> hb((size_t)kMaxRows * ld_out);
  cudaCheck(cudaMemcpy(hb.data(), batch.ptr, hb.size() * sizeof(OutT), cudaMemcpyDeviceToHost));
  size_t differ_alone = 0, differ_moved = 0;
  for (int m = 0; m < kMaxRows; ++m) {
    run_variant<K, OutT, VARIANT>(single.ptr, ld_out, dx.ptr + (size_t)m * ld_x, dw.ptr, dres.ptr + (size_t)m * ld_out,
                                  1, N);
    // In a 4-row batch, row m sits at position m % 4 (the other rows are other x rows).
    const int pos = m % 4;
    auto batch_of_4 = [&](const std::vector<uint16_t>& rows, int width) {
      std::vector<uint16_t> four_rows((size_t)4 * width);
      for (int r = 0; r < 4; ++r) {
        const int src = r == pos ? m : (m + r + 1) % kMaxRows;
        std::copy(rows.begin() + (size_t)src * width, rows.begin() + (size_t)(src + 1) * width,
                  four_rows.begin() + (size_t)r * width);
      }
      return four_rows;
    };
    dx4.upload(batch_of_4(x, K));
    dres4.upload(batch_of_4(res, N));
    run_variant<K, OutT, VARIANT>(four.ptr, ld_out, dx4.ptr, dw.ptr, dres4.ptr, 4, N);
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

// The tile loop (gemv_kernel's TILE_LOOP, which gemv::launch_tiles picks for a decode launch of
// more tiles than fit the GPU) must give every output bit for bit as one block a tile does, over
// any grid: 1 block (every tile through one block's loop), 7 (uneven shares) and the grid
// tile_loop_blocks picks. Direct launches of both instantiations; bias, in-place residual (out
// holds the residual before the launch) or the fused norm as the variant has them; every element
// past the batch's rows or column N must keep what it held.
template <int K, typename OutT, bool SWIGLU, bool NORM, bool RESIDUAL>
void check_tile_loop_matches_plain(const char* name, int N, int n_rows, Rng& rng) {
  constexpr int W = gemv::WARPS;
  const int ld_x = K + 16, ld_out = N + 8, w_rows = SWIGLU ? 2 * N : N;
  const int tiles = CEIL_DIV(N, SWIGLU ? gemv::TILE_N / 2 : gemv::TILE_N);
  const std::vector<uint16_t> x =
      NORM ? residual_stream(n_rows, ld_x, K, rng) : rng.x_vector((size_t)n_rows * ld_x, -1.0, 1.0);
  const std::vector<uint16_t> w = rng.x_vector((size_t)w_rows * K, -0.05, 0.05);
  const std::vector<uint16_t> b = rng.x_vector(w_rows, -0.5, 0.5);
  // What out holds before each launch, and what each launch leaves there, as bytes.
  constexpr size_t kSize = sizeof(OutT);
  const size_t n_out = (size_t)kMaxRows * ld_out;
  std::vector<uint8_t> start(n_out * kSize, 0xFF);
  if constexpr (RESIDUAL) {
    const std::vector<uint16_t> res = rng.x_vector(n_out, -4.0, 4.0);
    memcpy(start.data(), res.data(), start.size());
  }
  XBuf dx(x.size()), dw(w.size()), db(b.size());
  dx.upload(x);
  dw.upload(w);
  db.upload(b);
  DevBuf<OutT> out(n_out);
  auto run = [&](auto kernel, int blocks) {
    cudaCheck(cudaMemcpy(out.ptr, start.data(), start.size(), cudaMemcpyHostToDevice));
    const GemvFusion fusion{RESIDUAL ? reinterpret_cast<const floatX*>(out.ptr) : nullptr, NORM ? kEps : 0.0f};
    launch_pdl(kernel, blocks, W * 32, 0, (cudaStream_t)0, out.ptr, ld_out, (const floatX*)dx.ptr, ld_x,
               (const floatX*)dw.ptr, (const floatX*)db.ptr, n_rows, N, GemvRope<0>{}, fusion);
    cudaCheck(cudaDeviceSynchronize());
    std::vector<uint8_t> h(start.size());
    cudaCheck(cudaMemcpy(h.data(), out.ptr, h.size(), cudaMemcpyDeviceToHost));
    return h;
  };
  auto element_differs = [&](const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, size_t e) {
    return memcmp(a.data() + e * kSize, b.data() + e * kSize, kSize) != 0;
  };
  gemv::with_batch_tiles<2, false>(CEIL_DIV(n_rows, gemv::TILE_M), [&](auto batch_tiles) {
    constexpr int NT = decltype(batch_tiles)::value;
    constexpr auto plain = gemv_kernel<K, NT, 1, OutT, SWIGLU, 0, NORM, W, false>;
    constexpr auto looped = gemv_kernel<K, NT, 1, OutT, SWIGLU, 0, NORM, W, true>;
    const std::vector<uint8_t> want = run(plain, tiles);
    size_t written_outside = 0;
    for (size_t e = 0; e < n_out; ++e)
      if ((int)(e / ld_out) >= n_rows || (int)(e % ld_out) >= N) written_outside += element_differs(want, start, e);
    const int picked = gemv::tile_loop_blocks(tiles, gemv::resident_blocks_of<looped, W * 32>());
    std::string grids;
    size_t differ = 0;
    for (int blocks : {1, 7, picked}) {
      const std::vector<uint8_t> got = run(looped, blocks);
      size_t d = 0;
      for (size_t e = 0; e < n_out; ++e) d += element_differs(got, want, e);
      differ += d;
      grids += fmt_str(" %d blocks: %zu differ;", blocks, d);
    }
    check(differ == 0 && written_outside == 0 && picked < tiles,
          fmt_str("gemv_tile_loop/%s/K%d/N%d/rows%d", name, K, N, n_rows),
          fmt_str("%d tiles, tile_loop_blocks picks %d;%s plain wrote outside: %zu", tiles, picked, grids.c_str(),
                  written_outside));
  });
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
// NORM (the norm folded in, x a residual_stream): the unfused GEMV is gemv_norm_forward (checked
// against fp64 by check_gemv_norm): each output is the same scaled sum, rounded before its rope.
// With a bias, inv_rms * sum + bias may be one fma in one epilogue and a rounded product then an
// add in the other (the compiler's contraction: the PTX of gemv_norm_forward's has the fma, the
// roped one's a mul and an add), so a pre-rope output may round to its neighbour (<= 2u of it);
// allowed there: that, carried through the rotation (|cos|, |sin| <= 1), and a neighbouring
// rounding of the output. Everything else bit for bit.
template <int K, int D, int KVH, bool NORM = false>
void check_qkv_rope_matches_unfused(int q_heads, int n_rows, bool with_bias, Rng& rng) {
  const int q_features = q_heads * D, qk_features = (q_heads + KVH) * D, N = qk_features + KVH * D;
  const int ld_q = q_features + 8, kv_slots = 40, row = KVH * D;
  std::vector<uint16_t> x = NORM ? residual_stream(n_rows, K, K, rng) : rng.x_vector((size_t)n_rows * K, -1.0, 1.0);
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
  if constexpr (NORM)
    gemv_norm_forward<K, kMaxRows>(qkv.ptr, N, dx.ptr, K, dw.ptr, bias, n_rows, N, kEps, 0);
  else
    gemv_forward<K, kMaxRows, floatX>(qkv.ptr, N, dx.ptr, K, dw.ptr, bias, n_rows, N, 0);
  rope_kv_store_forward<D, KVH>(q_ref.ptr, q_features, qkv.ptr, N, qkv.ptr + qk_features, N, dpos.ptr, table,
                                kc_ref.ptr, vc_ref.ptr, dslots.ptr, n_rows, q_heads, 0);
  if constexpr (NORM)
    gemv_qkv_rope_norm_forward<K, kMaxRows, D, KVH>(q_fused.ptr, ld_q, dx.ptr, K, dw.ptr, bias, n_rows, N, q_heads,
                                                    dpos.ptr, table, kc_fused.ptr, vc_fused.ptr, dslots.ptr, kEps, 0);
  else
    gemv_qkv_rope_forward<K, kMaxRows, D, KVH>(q_fused.ptr, ld_q, dx.ptr, K, dw.ptr, bias, n_rows, N, q_heads,
                                               dpos.ptr, table, kc_fused.ptr, vc_fused.ptr, dslots.ptr, 0);
  cudaCheck(cudaDeviceSynchronize());
  const std::vector<uint16_t> hq = q_fused.download<uint16_t>(), hq_ref = q_ref.download<uint16_t>();
  const std::vector<uint16_t> hqkv = qkv.download<uint16_t>();
  std::vector<int> token_of(kv_slots, -1);
  for (int m = 0; m < n_rows; ++m)
    if (slots[m] >= 0) token_of[slots[m]] = m;
  size_t a_rounding_apart = 0;
  auto differs = [&](uint16_t got, uint16_t want, int m, int f) {  // token m's output from qkv column f
    if (got == want) return false;
    if (!(NORM && with_bias) || m < 0) return true;
    double pre = std::fabs(x_to_f32(hqkv[(size_t)m * N + f]));  // |x1| + |x2| of a pair, |v| of V
    if (f < qk_features) pre += std::fabs(x_to_f32(hqkv[(size_t)m * N + (f % D < D / 2 ? f + D / 2 : f - D / 2)]));
    const double want_f = x_to_f32(want);
    const bool near = std::fabs(x_to_f32(got) - want_f) <= 2 * kUnitRoundoff * (pre + std::fabs(want_f));
    a_rounding_apart += near;
    return !near;
  };
  size_t q_differ = 0, written_outside = 0;
  for (size_t e = 0; e < hq.size(); ++e) {
    const int m = (int)(e / ld_q), c = (int)(e % ld_q);
    if (m < n_rows && c < q_features)
      q_differ += differs(hq[e], hq_ref[(size_t)m * q_features + c], m, c);
    else
      written_outside += hq[e] != 0xFFFF;
  }
  size_t cache_differ = 0, stored = 0;
  const XBuf* pools[2][2] = {{&kc_fused, &kc_ref}, {&vc_fused, &vc_ref}};
  for (int p = 0; p < 2; ++p) {  // K, then V
    const std::vector<uint16_t> hf = pools[p][0]->download<uint16_t>(), hr = pools[p][1]->download<uint16_t>();
    for (size_t e = 0; e < hf.size(); ++e) {
      const int f = (p == 0 ? q_features : qk_features) + (int)(e % row);
      cache_differ += differs(hf[e], hr[e], token_of[e / row], f);
      stored += hr[e] != 0xFFFF;
    }
  }
  const int stored_rows = n_rows - (n_rows > 1 ? 1 : 0);
  check(q_differ == 0 && written_outside == 0 && cache_differ == 0 && stored == (size_t)2 * stored_rows * row,
        fmt_str("%s/K%d/D%d/H%d/KVH%d/rows%d%s", NORM ? "gemv_qkv_rope_norm" : "gemv_qkv_rope", K, D, q_heads, KVH,
                n_rows, with_bias ? "/bias" : ""),
        fmt_str("q differing from %s + rope_kv_store: %zu, q written outside: %zu, pool elements differing: "
                "%zu, stored by the reference: %zu (expected %d), a rounding apart (allowed with NORM and a "
                "bias): %zu",
                NORM ? "gemv_norm" : "gemv", q_differ, written_outside, cache_differ, stored, 2 * stored_rows * row,
                a_rounding_apart));
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

// gemv::warps_for: the GPU is asked how many blocks fit it (a device that answers 0 would silently
// keep 8 warps everywhere), and the rule is the documented one around those counts: 16 warps up
// to what fits at 16 where K has 2 units a warp (K = 8192), never where it has not (K = 2048);
// else 4 between what fits at 8 and at 4.
template <int K>
void check_warps_for(const char* projection, int projection_blocks) {
  const int fit16 = gemv::resident_blocks<K, gemv::WIDE_WARPS>();
  const int fit8 = gemv::resident_blocks<K, gemv::WARPS>(), fit4 = gemv::resident_blocks<K, gemv::SMALL_WARPS>();
  const bool wide_ok = gemv::units<K>() >= 2 * gemv::WIDE_WARPS;
  bool ok = fit16 > 0 && fit8 > 0 && fit4 > 0;  // (at K = 2048 two 16-warp blocks fit an SM, as two 8-warp ones)
  for (int n : {1, fit16, fit16 + 1, fit8, fit8 + 1, fit4, fit4 + 1, 4 * fit4}) {
    const int want = wide_ok && n <= fit16 ? gemv::WIDE_WARPS
                     : n > fit8 && n <= fit4 ? gemv::SMALL_WARPS
                                             : gemv::WARPS;
    ok &= gemv::warps_for<K>(n) == want;
  }
  check(ok, fmt_str("gemv_warps_for/K%d", K),
        fmt_str("%d blocks fit at 16 warps, %d at 8, %d at 4; %s (%d blocks) gets %d warps", fit16, fit8, fit4,
                projection, projection_blocks, gemv::warps_for<K>(projection_blocks)));
}

void run_gemv_tests() {
  Rng rng(91);
  check_warps_for<4096>("the 8B QKV", 384);
  check_warps_for<8192>("the 1B down", 128);
  check_warps_for<2048>("the 1B o_proj", 128);
  check(gemv::tile_loop_blocks(1024, 264) == 256 && gemv::tile_loop_blocks(1792, 264) == 256 &&
            gemv::tile_loop_blocks(265, 264) == 133 && gemv::tile_loop_blocks(264, 264) == 264 &&
            gemv::tile_loop_blocks(100, 264) == 100 && gemv::tile_loop_blocks(1024, 0) == 1024 &&
            gemv::loops_over_tiles<2048, gemv::WARPS>() && !gemv::loops_over_tiles<4096, gemv::WARPS>() &&
            !gemv::loops_over_tiles<2048, gemv::SMALL_WARPS>(),
        "gemv_tile_loop_rule",
        "grids for 1024 / 1792 / 265 / 264 / 100 tiles over 264 resident blocks; loops at K = 2048 only");
  // Decode launches of more tiles than fit: the tile loop against one block a tile. The 1B's
  // gate/up (norm + SwiGLU, 1024 tiles), an fp32 lm_head, a residual o_proj-like projection.
  for (int rows : {1, 4, 16}) {
    check_tile_loop_matches_plain<2048, floatX, true, true, false>("swiglu_norm_gate_up_1b", 8192, rows, rng);
    check_tile_loop_matches_plain<2048, float, false, false, false>("lm_head_f32", 8201, rows, rng);
    check_tile_loop_matches_plain<2048, floatX, false, false, true>("residual", 5000, rows, rng);
    check_tile_loop_matches_plain<1056, floatX, false, true, false>("norm_k_unit32", 12000, rows, rng);
  }
  // A roped QKV of 704 tiles (160 query heads): 8-warp blocks in the tile loop, against the
  // unfused norm GEMV (itself looping) and rope_kv_store.
  check_qkv_rope_matches_unfused<2048, 64, 8, true>(160, 3, false, rng);
  for (int rows : {1, 3, 16}) {
    check_gemv<2048, floatX>("qkv", 3072, rows, false, rng);
    check_gemv<4096, floatX>("qkv_8b", 6144, rows, rows == 3, rng);  // 4 warps a block on an H200
    check_gemv<8192, floatX>("down_1b", 2048, rows, rows == 1, rng);   // 16 warps a block
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
  // The fused norm and residual add (llc-fold-norm-into-gemv) at decode batches: 1B and 8B shapes,
  // odd N and I (ending mid-block), K in units of 32 (K = 1056: 33 units over 8 warps).
  for (int rows : {1, 4, 16}) {
    check_gemv_norm<2048, false>("qkv_1b", 3072, rows, rows != 1, rng);
    check_gemv_norm<4096, false>("qkv_8b", 6144, rows, rows == 1, rng);
    check_gemv_norm<1056, false>("odd_n_k_unit32", 1001, rows, rows == 4, rng);
    check_gemv_norm<2048, true>("gate_up_1b", 8192, rows, rows == 16, rng);
    check_gemv_norm<4096, true>("gate_up_odd_i", 1001, rows, rows != 16, rng);
    check_qkv_rope_matches_unfused<2048, 64, 8, true>(32, rows, false, rng);  // Llama-3.2-1B
    check_qkv_rope_matches_unfused<1536, 128, 2, true>(12, rows, true, rng);  // Qwen2-1.5B (QKV bias)
    for (bool in_place : {false, true}) {
      check_residual_matches_unfused<2048>("o_proj_1b", 2048, rows, in_place, in_place, rng);
      check_residual_matches_unfused<5632>("odd_n", 1001, rows, rows == 4, in_place, rng);
    }
  }
  check_qkv_rope_matches_unfused<4096, 128, 8, true>(32, 16, false, rng);  // Llama-3.1-8B
  check_residual_matches_unfused<8192>("down_1b", 2048, 1, false, false, rng);  // 16 warps a block
  check_residual_matches_unfused<8192>("down_1b", 2048, 16, true, true, rng);
  check_residual_matches_unfused<14336>("down_8b", 4096, 1, false, false, rng);
  check_residual_matches_unfused<14336>("down_8b", 4096, 16, true, true, rng);
  check_batch_invariance<2048, floatX, Variant::kNorm>("norm_qkv_1b", 3072, rng);
  check_batch_invariance<4096, floatX>("qkv_8b", 6144, rng);  // gemv::warps_for's 4-warp blocks (H200)
  check_batch_invariance<8192, floatX, Variant::kResidual>("residual_down_1b", 2048, rng);  // 16 warps
  check_batch_invariance<4096, floatX, Variant::kNorm>("norm_qkv_8b", 6144, rng);
  check_batch_invariance<4096, floatX, Variant::kNorm>("norm_odd_n", 1001, rng);
  check_batch_invariance<2048, floatX, Variant::kSwigluNorm>("swiglu_norm_odd_i", 1001, rng);
  check_batch_invariance<2048, floatX, Variant::kResidual>("residual_o_proj_1b", 2048, rng);
  check_batch_invariance<14336, floatX, Variant::kResidual>("residual_down_8b", 4096, rng);
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
