// metrics.cpp - run metrics (see metrics.h for the definitions).
#include "runtime/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace llc {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_or_nan(double sum, int64_t n) { return n > 0 ? sum / static_cast<double>(n) : kNaN; }

std::string fmt_num(double v, const char* f) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Mean and max of the values that are not NaN (NaN when there are none).
struct NonNanStats {
  double sum = 0, max = kNaN;
  int64_t n = 0;
  void add(double v) {
    if (std::isnan(v)) return;
    sum += v;
    ++n;
    max = std::isnan(max) ? v : std::max(max, v);
  }
  double mean() const { return mean_or_nan(sum, n); }
};
}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

double sequence_ttft_ms(const SequenceRun& s) {
  if (s.generated.empty()) return kNaN;
  return 1e3 * (s.first_token_s - s.admit_s);
}

double sequence_tpot_ms(const SequenceRun& s) {
  if (s.generated.size() < 2) return kNaN;
  return 1e3 * (s.last_token_s - s.first_token_s) / static_cast<double>(s.generated.size() - 1);
}

Metrics compute_metrics(const RunResult& run, const std::vector<int>& prompt_lens) {
  Metrics m;
  m.n_seqs = static_cast<int>(run.seqs.size());
  m.wall_s = run.wall_s;
  NonNanStats ttft, tpot;
  for (size_t i = 0; i < run.seqs.size(); ++i) {
    const SequenceRun& s = run.seqs[i];
    if (i < prompt_lens.size()) m.prompt_tokens += prompt_lens[i];
    m.generated_tokens += static_cast<int64_t>(s.generated.size());
    ttft.add(sequence_ttft_ms(s));
    tpot.add(sequence_tpot_ms(s));
  }
  m.ttft_ms_mean = ttft.mean();
  m.ttft_ms_max = ttft.max;
  m.tpot_ms_mean = tpot.mean();
  m.tokens_per_s = run.wall_s > 0 ? static_cast<double>(m.generated_tokens) / run.wall_s : kNaN;

  std::vector<double> gpu_ms, host_ms;
  double decode_host_s = 0;
  int64_t decode_tokens = 0, kv_sum = 0;
  for (const StepRecord& r : run.steps) {
    if (r.kind == StepKind::prefill) {
      ++m.prefill_steps;
      m.prefill_gpu_ms_total += r.gpu_ms;
    } else {
      ++m.decode_steps;
      gpu_ms.push_back(r.gpu_ms);
      host_ms.push_back(r.host_ms);
      decode_host_s += r.host_ms * 1e-3;
      decode_tokens += r.n_seqs;
      kv_sum += r.kv_tokens;
    }
  }
  m.decode_step_ms_median = median(gpu_ms);
  m.decode_step_host_ms_median = median(host_ms);
  m.decode_tokens_per_s = decode_host_s > 0 ? static_cast<double>(decode_tokens) / decode_host_s : kNaN;
  m.mean_decode_context = mean_or_nan(static_cast<double>(kv_sum), decode_tokens);
  return m;
}

std::string format_metrics_line(const Metrics& m) {
  return "prompt tokens " + std::to_string(m.prompt_tokens) + " | generated " +
         std::to_string(m.generated_tokens) + " | TTFT " + fmt_num(m.ttft_ms_mean, "%.2f") +
         " ms | TPOT " + fmt_num(m.tpot_ms_mean, "%.3f") + " ms | " +
         fmt_num(m.tokens_per_s, "%.1f") + " tokens/s";
}

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json j;
  j["sequences"] = m.n_seqs;
  j["prompt_tokens"] = m.prompt_tokens;
  j["generated_tokens"] = m.generated_tokens;
  j["wall_s"] = json_number(m.wall_s);
  j["ttft_ms_mean"] = json_number(m.ttft_ms_mean);
  j["ttft_ms_max"] = json_number(m.ttft_ms_max);
  j["tpot_ms_mean"] = json_number(m.tpot_ms_mean);
  j["tokens_per_s"] = json_number(m.tokens_per_s);
  j["decode_tokens_per_s"] = json_number(m.decode_tokens_per_s);
  j["prefill_steps"] = m.prefill_steps;
  j["decode_steps"] = m.decode_steps;
  j["prefill_gpu_ms_total"] = json_number(m.prefill_gpu_ms_total);
  j["decode_step_ms_median"] = json_number(m.decode_step_ms_median);
  j["decode_step_host_ms_median"] = json_number(m.decode_step_host_ms_median);
  j["mean_decode_context"] = json_number(m.mean_decode_context);
  return j;
}

}  // namespace llc
