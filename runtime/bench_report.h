// bench_report.h - the benchmark's arithmetic and its report (pure host code, tested on a CPU).
//
// Bytes a decode step must read (the roofline of a memory-bound step):
//   every weight once - each distinct checkpoint tensor counted once (a tied embedding that
//   doubles as lm_head is one tensor) - except the embedding table when it is NOT also the
//   lm_head (a step reads one row per token of it, which is negligible),
//   + the KV cache the attention reads: batch * mean context * bytes per slot.
// Achieved bandwidth = those bytes / decode step time; the report also gives its ratio to the
// device-to-device copy bandwidth the benchmark measured (read + write bytes / time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/program.h"

namespace llc {

size_t weight_bytes(const WeightSpec& w, DType dtype);
size_t unique_weight_bytes(const ModelSpec& spec);
size_t decode_weight_bytes(const ModelSpec& spec);
double decode_step_bytes(const ModelSpec& spec, int batch, double mean_context);

// Deterministic pseudo-random prompt ids in [0, vocab) for sequence `index` (splitmix64).
std::vector<int32_t> synthetic_prompt(uint64_t seed, int index, int len, int vocab);

struct BenchRow {
  int batch = 0;
  int64_t prompt_tokens = 0;       // per run, all sequences
  int64_t generated_tokens = 0;    // per run
  double ttft_ms = 0;              // medians over the runs of the per-run value
  double tpot_ms = 0;
  double decode_tokens_per_s = 0;
  double e2e_tokens_per_s = 0;
  double step_ms_graph = 0;        // median decode step (cudaEvents), CUDA graphs
  double step_ms_nograph = 0;      // the same with direct launches
  double mean_context = 0;         // mean kv_len per sequence over decode steps
  double step_bytes = 0;           // decode_step_bytes at that context
  double bandwidth_gbps = 0;       // step_bytes / step_ms_graph
  double copy_ratio = 0;           // bandwidth / measured copy bandwidth
};

// Fills step_bytes, bandwidth_gbps and copy_ratio from the other fields.
void finish_bench_row(const ModelSpec& spec, double copy_gbps, BenchRow& row);

std::string bench_table_header();
std::string bench_table_row(const BenchRow& row);
nlohmann::json bench_row_json(const BenchRow& row);

}  // namespace llc
