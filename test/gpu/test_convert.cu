// test_convert.cu - GPU tests of convert_forward (bf16 / fp16 / fp32 -> floatX, round to nearest
// even: compared bit for bit with the CPU conversions of test_common.h on every 16-bit pattern and
// on 2^20 random fp32 patterns plus hand-picked ties, subnormals, overflows, infinities and NaNs)
// and of fill_random_forward (range, moments, determinism, independence of the launch shape), and
// of scale_columns_forward (bit for bit against the CPU's one rounding of the fp32 product; the
// scale and the elements past rows * cols untouched).
#include "test/gpu/test_common.h"

#include "templates/kernels/convert.cuh"

namespace {

// expected floatX bits of a value given as float (exact for bf16/fp16 inputs)
uint16_t expect_bits(float v) { return f32_to_x(v); }

bool same_bits(uint16_t got, uint16_t want) {
  const float g = x_to_f32(got), w = x_to_f32(want);
  if (std::isnan(w)) return std::isnan(g);
  return got == want;
}

template <typename H>
void run_convert_case(const char* name, const std::vector<H>& src, llc::DType type, const std::vector<float>& values) {
  DevBuf<H> d_src(src.size());
  d_src.upload(src);
  XBuf d_dst(src.size());
  d_dst.poison();
  convert_forward(d_dst.ptr, d_src.ptr, type, (int64_t)src.size(), 0);
  cudaCheck(cudaDeviceSynchronize());
  const auto got = d_dst.download<uint16_t>();
  size_t bad = 0, first = (size_t)-1;
  for (size_t i = 0; i < src.size(); ++i)
    if (!same_bits(got[i], expect_bits(values[i]))) {
      ++bad;
      if (first == (size_t)-1) first = i;
    }
  check(bad == 0, fmt_str("convert/%s", name),
        fmt_str("n=%zu mismatches=%zu%s", src.size(), bad,
                first == (size_t)-1 ? "" : fmt_str(" first: in=%a got=0x%04x want=0x%04x", values[first], got[first],
                                                   expect_bits(values[first])).c_str()));
}

void test_convert(Rng& rng) {
  // every bf16 and every fp16 pattern
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = (uint16_t)i;
  std::vector<float> vb(65536), vh(65536);
  for (int i = 0; i < 65536; ++i) { vb[i] = bf16_to_f32(all[i]); vh[i] = f16_to_f32(all[i]); }
  run_convert_case("bf16_all_patterns", all, llc::DType::bf16, vb);
  run_convert_case("fp16_all_patterns", all, llc::DType::fp16, vh);

  // fp32: specials, exact ties in both directions, subnormals, overflow edges, random patterns
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, -NAN,
                          bits_f32(0x3f808000u), bits_f32(0x3f818000u),  // bf16 ties: down to even, up to even
                          bits_f32(0x3f808001u), bits_f32(0x3f807fffu),  // just above / below a tie
                          1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f,  // fp16 ties
                          65504.0f, 65519.0f, 65520.0f, 65536.0f, 3.0e38f, 3.4028235e38f,
                          bits_f32(0x00000001u), bits_f32(0x00400000u), bits_f32(0x007fffffu),  // fp32 subnormals
                          5.9604645e-8f, 2.9802322e-8f, 2.98023259e-8f, 8.940697e-8f, 6.097555e-5f, 6.1035156e-5f,
                          bits_f32(0x7f7f8000u), bits_f32(0x7f7fffffu)};
  for (int i = 0; i < (1 << 20); ++i) {
    const uint32_t bits = (uint32_t)rng.gen();
    // mostly values in the formats' ranges, some arbitrary patterns
    v.push_back(i % 4 == 0 ? bits_f32(bits) : (float)(rng.normal() * std::ldexp(1.0, rng.integer(-30, 20))));
  }
  run_convert_case("fp32_specials_and_random", v, llc::DType::fp32, v);
}

void test_fill_random() {
  const int64_t n = 1 << 21;
  const float offset = 0.25f, scale = 0.5f;
  XBuf a(n), b(n), c(n);
  a.poison();
  b.poison();
  c.poison();
  fill_random_forward(a.ptr, n, 42, offset, scale, 0);
  fill_random_forward(b.ptr, n / 3 + 7, 42, offset, scale, 0);  // another launch shape
  fill_random_forward(c.ptr, n, 43, offset, scale, 0);
  cudaCheck(cudaDeviceSynchronize());
  const auto va = x_bits_to_f32(a.download<uint16_t>());
  const auto vb = x_bits_to_f32(b.download<uint16_t>());
  const auto vc = x_bits_to_f32(c.download<uint16_t>());
  double sum = 0, sumsq = 0;
  size_t out_of_range = 0, nan = 0, prefix_diff = 0, same_as_other_seed = 0;
  const double lo = offset - scale, hi = offset + scale;
  for (int64_t i = 0; i < n; ++i) {
    const double x = va[i];
    if (std::isnan(x)) { ++nan; continue; }
    // rounding to floatX may land exactly on offset + scale; never beyond it
    if (x < lo || x > hi) ++out_of_range;
    sum += x;
    sumsq += (x - offset) * (x - offset);
    if (i < n / 3 + 7 && f32_bits(vb[i]) != f32_bits(va[i])) ++prefix_diff;
    same_as_other_seed += va[i] == vc[i];
  }
  const size_t tail_written = std::isnan(vb[n / 3 + 7]) ? 0 : 1;  // past the short call: untouched
  const double mean = sum / n, var = sumsq / n;
  const double mean_sigma = scale / std::sqrt(3.0 * n);  // u uniform on [-1, 1): var = 1/3
  check(nan == 0 && out_of_range == 0, "fill_random/range", fmt_str("nan=%zu out_of_range=%zu", nan, out_of_range));
  check(std::fabs(mean - offset) < 6 * mean_sigma + 2 * kUnitRoundoff * 0.01, "fill_random/mean",
        fmt_str("mean=%.6f want %.6f +- %.2g", mean, offset, 6 * mean_sigma));
  // variance of a uniform on [-scale, scale) is scale^2/3; floatX rounding adds < 1% here
  check(std::fabs(var / (scale * scale / 3.0) - 1.0) < 0.02, "fill_random/variance",
        fmt_str("var=%.6f want %.6f", var, scale * scale / 3.0));
  check(prefix_diff == 0 && tail_written == 0, "fill_random/launch_shape_independent",
        fmt_str("prefix_mismatches=%zu short_call_wrote_past_n=%zu", prefix_diff, tail_written));
  // two different seeds agree on an element only by chance (~1/2^8 for bf16 values)
  check(same_as_other_seed < (size_t)n / 64, "fill_random/seed_matters", fmt_str("equal_elements=%zu of %lld", same_as_other_seed, (long long)n));
}

// w[r][c] = floatX(w[r][c] * scale[c]) on random w [rows][cols] and scale [cols] (norm-like, around
// 1); 64 guard elements after w must keep their values.
void run_scale_columns_case(Rng& rng, int64_t rows, int64_t cols) {
  const size_t n = size_t(rows * cols), guard = 64;
  const std::vector<uint16_t> w = rng.x_vector(n + guard, -2.0, 2.0);
  const std::vector<uint16_t> scale = rng.x_vector(static_cast<size_t>(cols), 0.5, 1.5);
  XBuf d_w(n + guard), d_scale(static_cast<size_t>(cols));
  d_w.upload(w);
  d_scale.upload(scale);
  scale_columns_forward(d_w.ptr, d_scale.ptr, rows, cols, 0);
  scale_columns_forward(d_w.ptr, d_scale.ptr, 0, cols, 0);  // nothing to do: must not launch or fail
  cudaCheck(cudaDeviceSynchronize());
  const auto got = d_w.download<uint16_t>();
  size_t bad = 0, first = (size_t)-1, guard_changed = 0;
  for (size_t i = 0; i < n; ++i)
    if (got[i] != f32_to_x(x_to_f32(w[i]) * x_to_f32(scale[i % size_t(cols)]))) {
      ++bad;
      if (first == (size_t)-1) first = i;
    }
  for (size_t i = n; i < n + guard; ++i) guard_changed += got[i] != w[i];
  const bool scale_kept = d_scale.download<uint16_t>() == scale;
  check(bad == 0 && guard_changed == 0 && scale_kept,
        fmt_str("scale_columns/%lldx%lld", (long long)rows, (long long)cols),
        fmt_str("mismatches=%zu guard_changed=%zu scale_kept=%d%s", bad, guard_changed, (int)scale_kept,
                first == (size_t)-1 ? "" : fmt_str(" first: index %zu got=0x%04x", first, got[first]).c_str()));
}

void test_scale_columns(Rng& rng) {
  run_scale_columns_case(rng, 37, 200);    // one grid-stride step
  run_scale_columns_case(rng, 4099, 384);  // more elements than the capped grid has threads
}

}  // namespace

void run_convert_tests() {
  Rng rng(99);
  test_convert(rng);
  test_fill_random();
  test_scale_columns(rng);
}
