// metrics.h - what a run measured: TTFT, TPOT, throughput, step times.
//
// Definitions (all from RunResult, host steady clock unless noted):
//   TTFT of a sequence  = first generated token on the host - its admission (ms);
//   TPOT of a sequence  = (last token - first token) / (generated - 1), sequences with >= 2 tokens;
//   tokens/s            = generated tokens / wall time of the run (end to end);
//   decode tokens/s     = tokens produced by decode steps / host time spent in decode steps;
//   decode step ms      = median of the decode steps' GPU time (cudaEvents around the replay or
//                         the launches; excludes the metadata and token copies);
//   mean decode context = mean kv_len per sequence over the decode steps.
// Means over no sequence (or no step) are reported as NaN, printed as "n/a" and written as null.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"

namespace llc {

struct Metrics {
  int n_seqs = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;
  double wall_s = 0;
  double ttft_ms_mean = 0, ttft_ms_max = 0;
  double tpot_ms_mean = 0;
  double tokens_per_s = 0;
  double decode_tokens_per_s = 0;
  int prefill_steps = 0, decode_steps = 0;
  double prefill_gpu_ms_total = 0;
  double decode_step_ms_median = 0;       // GPU (events)
  double decode_step_host_ms_median = 0;  // host, whole step
  double mean_decode_context = 0;
};

double median(std::vector<double> values);  // NaN for an empty list

// v as a JSON number, or null if it is NaN or infinite (a mean over nothing, a rate over no time).
nlohmann::json json_number(double v);

double sequence_ttft_ms(const SequenceRun& s);  // NaN without a generated token
double sequence_tpot_ms(const SequenceRun& s);  // NaN with fewer than 2

// prompt_lens[i]: the prompt length of sequence i.
Metrics compute_metrics(const RunResult& run, const std::vector<int>& prompt_lens);

// "prompt tokens 12 | generated 64 | TTFT 12.3 ms | TPOT 4.56 ms | 219.3 tokens/s"
std::string format_metrics_line(const Metrics& m);

nlohmann::json metrics_json(const Metrics& m);  // NaN values become null

}  // namespace llc
