// engine_impl.h - the engine's device state (private to engine.cpp and engine_setup.cpp).
//
// Everything here is allocated once by the constructor (engine_setup.cpp) at fixed addresses:
// the decode graphs captured at start-up keep pointing at the same metadata blocks, logits
// buffer, output-token buffer, arena and caches for the program's life. Members are declared
// so that the graphs are destroyed before the memory they reference.
// Decode steps alternate between two metadata blocks (0, 1), each with its own graphs: a step on
// block b reads block b and samples its tokens into block 1 - b's token_ids, which are the next
// step's input ids when that step was planned ahead (engine.cpp: overlapped decode).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <cuda_runtime.h>

#include "runtime/cuda_graphs.h"
#include "runtime/device_buffer.h"
#include "runtime/engine.h"
#include "runtime/gemm.h"
#include "runtime/step_metadata.h"
#include "runtime/weights.h"

namespace llc {

// Owns a stream or an event; destroyed quietly.
struct StreamHandle {
  cudaStream_t s = nullptr;
  ~StreamHandle() {
    if (s) cudaStreamDestroy(s);
  }
};
struct EventHandle {
  cudaEvent_t e = nullptr;
  ~EventHandle() {
    if (e) cudaEventDestroy(e);
  }
};

struct Engine::Impl {
  Impl(const ModelProgram& program, const EngineConfig& config);  // engine_setup.cpp
  ~Impl();

  // --- engine_setup.cpp ---
  void select_device();
  void load_model_weights();
  void allocate_buffers();
  void allocate_kv_cache();
  void capture_decode_graphs();

  // --- engine.cpp ---
  // A step launched and not yet waited for: what the loop needs of it after its plan is gone.
  struct LaunchedStep {
    StepKind kind = StepKind::decode;
    std::vector<StepEntry> entries;   // the plan's (reserved for max_batch: no allocation)
    int events = 0;                   // ev_start / ev_end pair
    const int32_t* tokens = nullptr;  // device: entry i's sampled token at [i]
    StepRecord rec;
    std::chrono::steady_clock::time_point planned;
  };
  ForwardArgs forward_args(const StepMetadata& meta, int n_tokens, int n_seqs, int max_q_len,
                           int n_logit_rows, int max_kv_len = 0) const;
  // Decode + sample on metadata block `block`, for steps whose kv_lens are all at most the short
  // bound (short_kv) or any (ModelSpec::decode_short_kv_len; each kind has its graphs).
  void enqueue_decode(int bucket, bool short_kv, int block, cudaStream_t stream);
  // Copies staging bytes [from, bytes) to the block on the copy stream; the compute stream waits.
  void upload(const DeviceBuffer& block, const PinnedBuffer& staging, size_t from, size_t bytes,
              cudaEvent_t uploaded);
  void launch_prefill(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                      LaunchedStep& out);
  // ids_on_device: the step was planned ahead, so its token ids are the ones the step before it
  // sampled into this block; the upload leaves them alone.
  void launch_decode(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                     bool ids_on_device, LaunchedStep& out);
  const int32_t* wait_for(LaunchedStep& step);  // D2H of its tokens, wait, step time
  void keep_logits(const LaunchedStep& step, const RunOptions& o, RunResult& result);

  const ModelProgram& program;
  const ModelSpec& spec;
  EngineConfig config;
  EngineInfo info;
  SchedulerLimits limits;

  StreamHandle stream;       // the steps' kernels
  StreamHandle copy_stream;  // metadata uploads and token downloads, beside the running step
  EventHandle ev_start[2], ev_end[2], ev_uploaded[2], ev_fetched;
  DeviceWeights weights;
  DeviceBuffer arena;
  std::unique_ptr<GemmRunner> gemm;

  int64_t logit_rows_cap = 0;
  DeviceBuffer logits;      // [logit_rows_cap][vocab] f32, shared by prefill and decode
  MetadataLayout prefill_layout, decode_layout;
  DeviceBuffer prefill_block, decode_block[2];
  PinnedBuffer prefill_staging, decode_staging[2];
  DeviceBuffer slot_table;  // [(max_batch + 1)][max_context] i32, zeroed once
  DeviceBuffer out_tokens;  // [prefill tokens] i32: prefill's sampled tokens
  PinnedBuffer host_tokens; // [max(prefill tokens, max_batch)] i32
  StepMetadata prefill_meta{}, decode_meta[2]{};
  SamplingRow* prefill_rows = nullptr;      // device, inside prefill_block
  SamplingRow* decode_rows[2] = {nullptr, nullptr};  // device, inside decode_block[b]
  int next_decode_block = 0;                // alternates with every decode step

  DeviceBuffer k_cache, v_cache;  // [n_layers][n_slots][n_kv_heads][head_dim] each
  int64_t n_slots = 0;            // including the pad slot 0

  DecodeGraphs graphs;  // last: destroyed first
};

}  // namespace llc
