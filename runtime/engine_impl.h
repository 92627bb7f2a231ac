// engine_impl.h - the engine's device state (private to engine.cpp and engine_setup.cpp).
//
// Everything here is allocated once by the constructor (engine_setup.cpp) at fixed addresses:
// the decode graphs captured at start-up keep pointing at the same metadata block, logits
// buffer, output-token buffer, arena and caches for the program's life. Members are declared
// so that the graphs are destroyed before the memory they reference.
#pragma once

#include <memory>

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
  ForwardArgs forward_args(const StepMetadata& meta, int n_tokens, int n_seqs, int max_q_len,
                           int n_logit_rows, int max_kv_len = 0) const;
  // Decode + sample on the decode block, for steps whose kv_lens are all at most the short bound
  // (short_kv) or any (ModelSpec::decode_short_kv_len; each kind has its graphs).
  void enqueue_decode(int bucket, bool short_kv, cudaStream_t stream);
  void upload(const DeviceBuffer& block, const PinnedBuffer& staging, size_t bytes);
  const int32_t* run_prefill(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                             StepRecord& rec);
  const int32_t* run_decode(const StepPlan& plan, const Scheduler& sched, const RunOptions& o,
                            StepRecord& rec);
  void fetch_tokens(int n, StepRecord& rec);  // D2H of n sampled tokens, sync, step time
  void keep_logits(const StepPlan& plan, const RunOptions& o, RunResult& result);

  const ModelProgram& program;
  const ModelSpec& spec;
  EngineConfig config;
  EngineInfo info;
  SchedulerLimits limits;

  StreamHandle stream;
  EventHandle ev_start, ev_end;
  DeviceWeights weights;
  DeviceBuffer arena;
  std::unique_ptr<GemmRunner> gemm;

  int64_t logit_rows_cap = 0;
  DeviceBuffer logits;      // [logit_rows_cap][vocab] f32, shared by prefill and decode
  MetadataLayout prefill_layout, decode_layout;
  DeviceBuffer prefill_block, decode_block;
  PinnedBuffer prefill_staging, decode_staging;
  DeviceBuffer slot_table;  // [(max_batch + 1)][max_context] i32, zeroed once
  DeviceBuffer out_tokens;  // [max(prefill tokens, max_batch)] i32
  PinnedBuffer host_tokens; // same
  StepMetadata prefill_meta{}, decode_meta{};
  SamplingRow* prefill_rows = nullptr;  // device, inside prefill_block
  SamplingRow* decode_rows = nullptr;   // device, inside decode_block

  DeviceBuffer k_cache, v_cache;  // [n_layers][n_slots][n_kv_heads][head_dim] each
  int64_t n_slots = 0;            // including the pad slot 0

  DecodeGraphs graphs;  // last: destroyed first
};

}  // namespace llc
