// test_sampling.cu - GPU tests of sample_forward: Philox known answers, greedy == CPU argmax (ties,
// NaN; the split argmax's ties across blocks, its counters reset between launches, greedy and
// sampled rows in one batch, batches past the split's row limit), draws never outside the CPU's top-k/top-p set, the empirical distribution of many draws
// (one seed per row) against the CPU's truncated softmax (chi-square), and determinism: the same
// (seed, step) gives the same token.
#include "test/gpu/test_common.h"

#include <algorithm>
#include <numeric>

#include "templates/kernels/sampling.cuh"

namespace {

__global__ void philox_probe_kernel(const uint32_t* ctr, const uint32_t* key, uint32_t* out) {
  philox4x32_10(ctr, key, out);
}

void test_philox() {
  // Known-answer vectors of Random123 (counter[4], key[2] -> out[4]).
  const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
       0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
       0x24126ea1}};
  for (int c = 0; c < 3; ++c) {
    std::vector<uint32_t> ctr(kat[c], kat[c] + 4), key(kat[c] + 4, kat[c] + 6);
    DevBuf<uint32_t> d_ctr(4), d_key(2), d_out(4);
    d_ctr.upload(ctr);
    d_key.upload(key);
    d_out.poison();
    philox_probe_kernel<<<1, 1>>>(d_ctr.ptr, d_key.ptr, d_out.ptr);
    cudaCheck(cudaGetLastError());
    cudaCheck(cudaDeviceSynchronize());
    const auto dev = d_out.download<uint32_t>();
    uint32_t host[4];
    philox4x32_10(ctr.data(), key.data(), host);
    bool ok = true;
    for (int i = 0; i < 4; ++i) ok = ok && dev[i] == kat[c][6 + i] && host[i] == kat[c][6 + i];
    check(ok, fmt_str("sampling/philox_known_answer/%d", c),
          fmt_str("device=%08x %08x %08x %08x want %08x %08x %08x %08x", dev[0], dev[1], dev[2], dev[3], kat[c][6],
                  kat[c][7], kat[c][8], kat[c][9]));
  }
}

llc::SamplingRow make_row(float t, int k, float p, uint64_t seed, uint64_t step) {
  llc::SamplingRow r;
  r.temperature = t;
  r.top_k = k;
  r.top_p = p;
  r.pad = 0;
  r.seed = seed;
  r.step = step;
  return r;
}

// CPU: the truncated, renormalised distribution (0 outside the allowed set). margin_ok is false
// when the top-p boundary sits within 1e-6 of top_p (the GPU's integer masses might then round the
// other way); tests redraw such logits.
struct Expected {
  std::vector<double> p;
  bool margin_ok = true;
};
Expected expected_distribution(const float* logits, int V, float temperature, int top_k, float top_p) {
  std::vector<float> z(V);
  for (int i = 0; i < V; ++i) {
    float v = logits[i] / temperature;  // fp32 division, as the kernel
    if (std::isnan(v)) v = -INFINITY;
    z[i] = std::min(v, 3.4028235e38f);
  }
  const float zmax = *std::max_element(z.begin(), z.end());
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return z[a] > z[b]; });
  float threshold = -INFINITY;
  if (top_k > 0 && top_k < V) threshold = z[order[top_k - 1]];
  std::vector<double> w(V, 0.0);
  double total = 0;
  for (int i = 0; i < V; ++i)
    if (z[i] >= threshold) { w[i] = std::exp((double)z[i] - (double)zmax); total += w[i]; }
  Expected e;
  if (top_p < 1.0f) {
    double cum = 0;
    float tp_threshold = z[order[0]];
    for (int r = 0; r < V; ++r) {
      const int i = order[r];
      if (z[i] < threshold) break;
      const double before = cum;
      cum += w[i] / total;
      if (cum >= top_p) {
        tp_threshold = z[i];
        if (std::fabs(cum - top_p) < 1e-6 || std::fabs(before - top_p) < 1e-6) e.margin_ok = false;
        break;
      }
    }
    threshold = std::max(threshold, tp_threshold);
  }
  e.p.assign(V, 0.0);
  double kept = 0;
  for (int i = 0; i < V; ++i)
    if (z[i] >= threshold) { e.p[i] = w[i]; kept += w[i]; }
  for (auto& x : e.p) x /= kept;
  return e;
}

int cpu_argmax(const float* x, int V) {
  int best = -1;
  for (int i = 0; i < V; ++i)
    if (!std::isnan(x[i]) && (best < 0 || x[i] > x[best])) best = i;
  return best < 0 ? 0 : best;
}

template <int V>
std::vector<int32_t> run_sampler_dev(const float* d_logits, const std::vector<llc::SamplingRow>& rows) {
  const int n = (int)rows.size();
  DevBuf<llc::SamplingRow> d_rows(n);
  cudaCheck(cudaMemcpy(d_rows.ptr, rows.data(), n * sizeof(llc::SamplingRow), cudaMemcpyHostToDevice));
  DevBuf<int32_t> d_out(n);
  d_out.poison();
  sample_forward<V>(d_out.ptr, d_logits, d_rows.ptr, n, 0);
  cudaCheck(cudaDeviceSynchronize());
  return d_out.download<int32_t>();
}

template <int V>
std::vector<int32_t> run_sampler(const std::vector<float>& logits, const std::vector<llc::SamplingRow>& rows) {
  DevBuf<float> d_logits(logits.size());
  d_logits.upload(logits);
  return run_sampler_dev<V>(d_logits.ptr, rows);
}

template <int V>
void test_greedy(Rng& rng) {
  const int n = 7;
  std::vector<float> logits((size_t)n * V);
  for (auto& x : logits) x = (float)(rng.normal() * 4.0);
  auto row = [&](int r) { return &logits[(size_t)r * V]; };
  // row 1: the maximum appears twice: the lower index wins
  {
    const int a = rng.integer(0, V / 2), b = rng.integer(V / 2 + 1, V - 1);
    row(1)[a] = row(1)[b] = 100.0f;
  }
  // row 2: NaNs everywhere including index 0 and a spot holding a huge value elsewhere
  for (int i = 0; i < V; i += 7) row(2)[i] = NAN;
  row(2)[V - 1] = 50.0f;
  // row 3: all -inf but one
  for (int i = 0; i < V; ++i) row(3)[i] = -INFINITY;
  row(3)[V / 3] = -1e30f;
  // row 4: all -inf: lowest index
  for (int i = 0; i < V; ++i) row(4)[i] = -INFINITY;
  // row 6: maximum at the very last index
  row(6)[V - 1] = 1000.0f;
  std::vector<llc::SamplingRow> rows = {make_row(0.0f, 0, 1.0f, 1, 0),  make_row(0.0f, 5, 0.5f, 2, 3),
                                        make_row(-1.0f, 0, 1.0f, 3, 0), make_row(0.0f, 0, 1.0f, 4, 0),
                                        make_row(0.0f, 0, 1.0f, 5, 0),  make_row(NAN, 0, 1.0f, 6, 0),
                                        make_row(0.0f, 1, 1.0f, 7, 9)};
  const auto got = run_sampler<V>(logits, rows);
  int bad = 0;
  std::string details;
  for (int r = 0; r < n; ++r) {
    const int want = cpu_argmax(row(r), V);
    if (got[r] != want) { ++bad; details += fmt_str(" row%d:got=%d,want=%d", r, got[r], want); }
  }
  check(bad == 0, fmt_str("sampling/greedy/V%d", V), fmt_str("rows=%d wrong=%d%s", n, bad, details.c_str()));
}

// The split argmax (greedy_blocks<V>() blocks a row): launches in a row on new logits (each must
// find its own maximum: a counter left behind by a launch would end the next one early), with the
// maximum tied between the first and the last block's slice in some rows, and greedy rows next
// to sampled ones with top_k = 1 (also the argmax, from one block).
template <int V>
void test_greedy_split(Rng& rng) {
  static_assert(greedy_blocks<V>() > 1, "test_greedy_split: a vocabulary that is split");
  const int n = 24, launches = 3;
  int bad = 0;
  std::string details;
  for (int launch = 0; launch < launches; ++launch) {
    std::vector<float> logits((size_t)n * V);
    for (auto& x : logits) x = (float)(rng.normal() * 3.0);
    std::vector<llc::SamplingRow> rows(n);
    for (int r = 0; r < n; ++r) {
      float* row = &logits[(size_t)r * V];
      const bool sampled = r % 4 == 3;  // top_k = 1 draws among tied maxima: ties in greedy rows only
      if (r % 3 == 0 && !sampled) row[rng.integer(V - V / 8, V - 1)] = row[rng.integer(0, V / 8)] = 60.0f;
      if (r % 5 == 1) row[rng.integer(0, V - 1)] = NAN;
      rows[r] = sampled ? make_row(0.9f, 1, 1.0f, r + 1, launch) : make_row(0.0f, 0, 1.0f, r + 1, launch);
    }
    const auto got = run_sampler<V>(logits, rows);
    for (int r = 0; r < n; ++r) {
      const int want = cpu_argmax(&logits[(size_t)r * V], V);
      if (got[r] != want) { ++bad; details += fmt_str(" launch%d/row%d:got=%d,want=%d", launch, r, got[r], want); }
    }
  }
  check(bad == 0, fmt_str("sampling/greedy_split/V%d", V),
        fmt_str("blocks=%d rows=%d launches=%d wrong=%d%s", greedy_blocks<V>(), n, launches, bad, details.c_str()));
}

// Batches at and past sampling::MAX_SPLIT_ROWS (the split's workspace): the larger one takes a
// block a row, both must give every row's argmax.
void test_greedy_many_rows(Rng& rng) {
  constexpr int V = 8192;
  for (int n : {sampling::MAX_SPLIT_ROWS, sampling::MAX_SPLIT_ROWS + 1}) {
    std::vector<float> logits((size_t)n * V);
    for (auto& x : logits) x = (float)(rng.normal() * 3.0);
    std::vector<llc::SamplingRow> rows(n, make_row(0.0f, 0, 1.0f, 1, 0));
    const auto got = run_sampler<V>(logits, rows);
    int bad = 0;
    for (int r = 0; r < n; ++r) bad += got[r] != cpu_argmax(&logits[(size_t)r * V], V);
    check(bad == 0, fmt_str("sampling/greedy_rows%d/V%d", n, V), fmt_str("wrong=%d", bad));
  }
}

// Many draws from one distribution: rows share the logits, seeds differ. Chi-square over the
// allowed tokens (bins with expected count < 5 merged); never a token outside the allowed set.
template <int V>
void test_distribution(Rng& rng, float temperature, int top_k, float top_p, double logit_sigma, int draws,
                       int heavy_tokens) {
  std::vector<float> one(V);
  Expected e;
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (int i = 0; i < V; ++i)
      one[i] = (float)(i < heavy_tokens || heavy_tokens == 0 ? rng.normal() * logit_sigma : rng.normal() - 8.0);
    std::shuffle(one.begin(), one.end(), rng.gen);
    e = expected_distribution(one.data(), V, temperature, top_k, top_p);
    if (e.margin_ok) break;
  }
  const int per_launch = std::min(draws, V <= 1024 ? 4096 : 1024);
  std::vector<float> logits((size_t)per_launch * V);
  for (int r = 0; r < per_launch; ++r) std::copy(one.begin(), one.end(), logits.begin() + (size_t)r * V);
  DevBuf<float> d_logits(logits.size());
  d_logits.upload(logits);
  std::vector<int64_t> counts(V, 0);
  int64_t forbidden = 0, invalid = 0;
  for (int done = 0; done < draws; done += per_launch) {
    std::vector<llc::SamplingRow> rows(std::min(per_launch, draws - done));  // exactly `draws` in all
    for (int r = 0; r < (int)rows.size(); ++r) rows[r] = make_row(temperature, top_k, top_p, 0x1234567ull * (done + r + 1), 17);
    const auto got = run_sampler_dev<V>(d_logits.ptr, rows);
    for (int t : got) {
      if (t < 0 || t >= V) { ++invalid; continue; }
      ++counts[t];
      forbidden += e.p[t] == 0.0;
    }
  }
  // Group allowed tokens, least likely first, until each group expects >= 5 draws; a leftover
  // joins the last group. chi2 over the groups, df = groups - 1.
  std::vector<std::pair<double, int64_t>> items;
  for (int i = 0; i < V; ++i)
    if (e.p[i] > 0.0) items.push_back({e.p[i] * draws, counts[i]});
  std::sort(items.begin(), items.end());
  std::vector<std::pair<double, int64_t>> groups;
  double acc_e = 0;
  int64_t acc_c = 0;
  for (const auto& it : items) {
    acc_e += it.first;
    acc_c += it.second;
    if (acc_e >= 5.0) { groups.push_back({acc_e, acc_c}); acc_e = 0; acc_c = 0; }
  }
  if (acc_e > 0 || acc_c > 0) {
    if (groups.empty()) groups.push_back({acc_e, acc_c});
    else { groups.back().first += acc_e; groups.back().second += acc_c; }
  }
  double chi2 = 0;
  for (const auto& g : groups) chi2 += (g.second - g.first) * (g.second - g.first) / g.first;
  const int bins = (int)groups.size(), allowed = (int)items.size();
  const int df = std::max(bins - 1, 1);
  const double limit = df + 6.0 * std::sqrt(2.0 * df) + 10.0;  // ~6 sigma: a fair sampler fails < 1e-6
  check(forbidden == 0 && invalid == 0 && chi2 <= limit && e.margin_ok,
        fmt_str("sampling/distribution/V%d/T%g/k%d/p%g", V, temperature, top_k, top_p),
        fmt_str("draws=%d allowed=%d chi2=%.1f df=%d limit=%.1f outside_set=%lld invalid=%lld margin_ok=%d", draws,
                allowed, chi2, df, limit, (long long)forbidden, (long long)invalid, (int)e.margin_ok));
}

// Big vocabulary: every row has its own logits; each draw must be in that row's allowed set, and
// a second launch with the same (seed, step) must give the same tokens.
template <int V>
void test_allowed_and_deterministic(Rng& rng, float temperature, int top_k, float top_p) {
  const int n = 256;
  std::vector<float> logits((size_t)n * V);
  std::vector<Expected> exp(n);
  for (int r = 0; r < n; ++r) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (int i = 0; i < V; ++i) logits[(size_t)r * V + i] = (float)(rng.normal() * 3.0);
      if (r % 5 == 0)
        for (int i = 0; i < V; i += 11) logits[(size_t)r * V + i] = NAN;  // NaN logits are never drawn
      exp[r] = expected_distribution(&logits[(size_t)r * V], V, temperature, top_k, top_p);
      if (exp[r].margin_ok) break;
    }
  }
  std::vector<llc::SamplingRow> rows(n);
  for (int r = 0; r < n; ++r) rows[r] = make_row(temperature, top_k, top_p, 1000 + r, 5);
  const auto a = run_sampler<V>(logits, rows);
  const auto b = run_sampler<V>(logits, rows);
  for (int r = 0; r < n; ++r) rows[r].step = 6;
  const auto c = run_sampler<V>(logits, rows);
  int outside = 0, differ = 0, changed_with_step = 0;
  size_t allowed_total = 0;
  for (int r = 0; r < n; ++r) {
    const bool in_range = a[r] >= 0 && a[r] < V;
    outside += !in_range || exp[r].p[a[r]] == 0.0 || !exp[r].margin_ok;
    differ += a[r] != b[r];
    changed_with_step += a[r] != c[r];
    for (double p : exp[r].p) allowed_total += p > 0;
  }
  check(outside == 0, fmt_str("sampling/allowed_set/V%d/T%g/k%d/p%g", V, temperature, top_k, top_p),
        fmt_str("rows=%d draws_outside_allowed_set=%d mean_allowed=%.1f", n, outside, (double)allowed_total / n));
  check(differ == 0, fmt_str("sampling/same_seed_same_token/V%d/T%g/k%d/p%g", V, temperature, top_k, top_p),
        fmt_str("rows=%d differing=%d", n, differ));
  // with dozens of allowed tokens per row a new step must change many draws
  const bool step_matters = allowed_total / n < 2 || changed_with_step > n / 4;
  check(step_matters, fmt_str("sampling/step_changes_draw/V%d/T%g/k%d/p%g", V, temperature, top_k, top_p),
        fmt_str("rows=%d changed=%d", n, changed_with_step));
}

// top_k = 1 and top_p <= 0 both reduce to the argmax.
template <int V>
void test_degenerate(Rng& rng) {
  const int n = 64;
  std::vector<float> logits((size_t)n * V);
  for (auto& x : logits) x = (float)(rng.normal() * 2.0);
  std::vector<llc::SamplingRow> rows(n);
  for (int r = 0; r < n; ++r) rows[r] = r % 2 ? make_row(0.7f, 1, 1.0f, r, 1) : make_row(1.5f, 0, 0.0f, r, 1);
  const auto got = run_sampler<V>(logits, rows);
  int bad = 0;
  for (int r = 0; r < n; ++r) bad += got[r] != cpu_argmax(&logits[(size_t)r * V], V);
  check(bad == 0, fmt_str("sampling/topk1_or_topp0_is_argmax/V%d", V), fmt_str("rows=%d wrong=%d", n, bad));
}

}  // namespace

void run_sampling_tests() {
  Rng rng(4242);
  test_philox();
  test_greedy<32000>(rng);
  test_greedy<128256>(rng);
  test_greedy<151936>(rng);
  test_greedy<64>(rng);
  test_greedy_split<128256>(rng);
  test_greedy_split<8192>(rng);
  test_greedy_many_rows(rng);

  test_distribution<64>(rng, 0.8f, 20, 0.9f, 2.0, 200000, 0);
  test_distribution<64>(rng, 1.3f, 0, 1.0f, 2.0, 200000, 0);
  test_distribution<64>(rng, 1.0f, 5, 1.0f, 2.0, 200000, 0);
  test_distribution<64>(rng, 0.7f, 0, 0.8f, 2.0, 200000, 0);
  test_distribution<32000>(rng, 1.0f, 50, 0.95f, 2.0, 65536, 40);
  test_distribution<32000>(rng, 1.0f, 0, 1.0f, 2.0, 65536, 40);  // no truncation: the tail has mass

  test_allowed_and_deterministic<151936>(rng, 0.9f, 40, 0.9f);
  test_allowed_and_deterministic<128256>(rng, 1.0f, 0, 0.5f);
  test_allowed_and_deterministic<32000>(rng, 0.6f, 200, 1.0f);
  test_degenerate<128256>(rng);
  test_degenerate<64>(rng);
}
