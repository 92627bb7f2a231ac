// engine.h - the inference engine: device state, the step loop, and what a run produces.
//
// Engine's constructor does all start-up on the GPU: device and stream, weights (checkpoint or
// random), the activation arena, a GemmRunner, the logits buffer, the prefill and decode metadata
// blocks with their pinned staging copies, the shared slot table, the KV cache (sized from free
// memory), and decode CUDA graphs per batch bucket. run() then serves a list of requests with
// continuous batching (Scheduler) until every sequence finishes; it may be called repeatedly
// (the benchmark does) and leaves the pool empty. A step costs one host-to-device copy of its
// metadata, the forward + sampling launches (or one graph replay), one device-to-host copy of
// the sampled tokens and one host wait; nothing in the decode loop allocates. Decode steps
// overlap: the next one is launched before the host waits for the current one where the
// scheduler allows (engine.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/program.h"
#include "runtime/scheduler.h"

namespace llc {

struct EngineConfig {
  std::string weights_dir;        // checkpoint directory (unless random_weights)
  bool random_weights = false;
  uint64_t seed = 0;              // random weights' seed
  int device = 0;
  double kv_cache_fraction = 0.90;
  int64_t kv_tokens = 0;          // > 0: exactly this many usable slots
  bool capture_graphs = true;     // capture the decode graphs at start-up
  bool all_logits = false;        // size the logits buffer for every prompt token of a step
};

struct EngineInfo {
  size_t weight_bytes = 0, arena_bytes = 0, buffer_bytes = 0, kv_bytes = 0;
  int64_t kv_slots = 0;           // usable (the pad slot excluded)
  size_t free_bytes_after = 0;    // GPU memory free once everything is allocated
  double load_s = 0, capture_s = 0;
  std::string device_name;
};

// Receives every generated token (in step order) and says whether it ends its sequence.
class TokenObserver {
 public:
  virtual ~TokenObserver() = default;
  virtual FinishReason on_token(int seq, int32_t token) = 0;
};

struct RunOptions {
  bool use_graphs = true;   // replay the captured graphs (false: direct launches)
  bool overlap_steps = true;  // launch a decode step before the host has the previous one's
                              // tokens, where the scheduler allows (engine.cpp)
  bool all_logits = false;  // prefill computes every prompt token's logits (needs the config's too)
  bool keep_logits = false; // copy the logits of every producing position to the host (debug)
};

struct SequenceRun {
  std::vector<int32_t> generated;
  std::vector<int32_t> forced_predictions;  // teacher forcing: the draws made while forced
  FinishReason finish = FinishReason::none;
  double admit_s = 0, first_token_s = 0, last_token_s = 0;  // since the run started
  std::vector<float> logits;                                // keep_logits: [logit_rows][vocab]
  int64_t logit_rows = 0;
};

struct StepRecord {
  StepKind kind = StepKind::decode;
  int n_seqs = 0;        // real sequences (pads excluded)
  int n_tokens = 0;      // real tokens
  int bucket = 0;        // decode: graph bucket
  float gpu_ms = 0;      // cudaEvents around the forward + sampling launches / graph replay
  double host_ms = 0;    // wall time of the whole step (pack, copies, launch, sync)
  int64_t kv_tokens = 0; // sum of kv_len over the step's sequences (KV rows attention reads)
};

struct RunResult {
  std::vector<SequenceRun> seqs;
  std::vector<StepRecord> steps;
  double wall_s = 0;
};

class Engine {
 public:
  Engine(const ModelProgram& program, const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelSpec& spec() const;
  const EngineInfo& info() const;
  int64_t kv_capacity() const;  // usable slots

  // Throws (std::invalid_argument) before any GPU work if a request cannot be served.
  RunResult run(const std::vector<SequenceSpec>& seqs, TokenObserver& observer,
                const RunOptions& options);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llc
