// engine_setup.cpp - the engine's start-up: device, weights, buffers, KV cache, decode graphs.
//
// Order matters: the KV cache is sized from the memory still free after the weights, the arena,
// the GemmRunner and every fixed buffer are allocated; the decode graphs are captured last, over
// the final buffers, after each bucket ran once uncaptured (so cuBLASLt picks its algorithms
// outside the capture). Every CUDA call is checked and its error names the call.
#include <algorithm>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/engine_impl.h"
#include "runtime/kv_sizing.h"
#include "runtime/steady_clock.h"

namespace llc {

Engine::Impl::Impl(const ModelProgram& p, const EngineConfig& c)
    : program(p), spec(*p.spec), config(c) {
  if (!p.spec || !p.prefill || !p.decode || !p.sample || !p.convert || !p.fill_random)
    throw std::invalid_argument("the ModelProgram lacks its spec or a forward function");
  check_model_spec(spec);
  limits.max_batch = spec.max_batch;
  limits.max_prefill_tokens = spec.max_prefill_tokens;
  limits.max_context = spec.max_context;
  limits.graph_buckets.assign(spec.graph_buckets, spec.graph_buckets + spec.n_graph_buckets);

  select_device();
  load_model_weights();
  allocate_buffers();
  allocate_kv_cache();
  if (config.capture_graphs) capture_decode_graphs();
  size_t free_bytes = 0, total_bytes = 0;
  LLC_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  info.free_bytes_after = free_bytes;
}

Engine::Impl::~Impl() {
  // Nothing may still use the buffers freed next.
  if (stream.s) cudaStreamSynchronize(stream.s);
  if (copy_stream.s) cudaStreamSynchronize(copy_stream.s);
}

void Engine::Impl::select_device() {
  cudaError_t err = cudaSetDevice(config.device);
  if (err != cudaSuccess) {
    cudaGetLastError();
    const std::string why = cuda_error_text(err);
    if (is_no_gpu_error(err))
      throw CudaError(err, "no usable CUDA GPU: cudaSetDevice(" + std::to_string(config.device) +
                               ") failed: " + why);
    throw CudaError(err, "cudaSetDevice(" + std::to_string(config.device) + ") failed: " + why);
  }
  cudaDeviceProp prop{};
  LLC_CUDA(cudaGetDeviceProperties(&prop, config.device));
  info.device_name = prop.name;
  LLC_CUDA(cudaStreamCreateWithFlags(&stream.s, cudaStreamNonBlocking));
  LLC_CUDA(cudaStreamCreateWithFlags(&copy_stream.s, cudaStreamNonBlocking));
  for (int b = 0; b < 2; ++b) {
    LLC_CUDA(cudaEventCreate(&ev_start[b].e));
    LLC_CUDA(cudaEventCreate(&ev_end[b].e));
    LLC_CUDA(cudaEventCreateWithFlags(&ev_uploaded[b].e, cudaEventDisableTiming));
  }
  LLC_CUDA(cudaEventCreateWithFlags(&ev_fetched.e, cudaEventDisableTiming));
}

void Engine::Impl::load_model_weights() {
  const auto t0 = SteadyClock::now();
  weights = config.random_weights ? random_weights(program, config.seed, stream.s)
                                  : load_weights(program, config.weights_dir, stream.s);
  LLC_CUDA(cudaStreamSynchronize(stream.s));
  if (weights.pointers.size() != static_cast<size_t>(spec.n_weights))
    throw std::runtime_error("the weight loader returned " + std::to_string(weights.pointers.size()) +
                             " weights; the program names " + std::to_string(spec.n_weights));
  for (size_t i = 0; i < weights.pointers.size(); ++i)
    if (!weights.pointers[i])
      throw std::runtime_error(std::string("weight ") + std::to_string(i) + " (" +
                               (spec.weights[i].n_sources > 0 ? spec.weights[i].sources[0].name : "?") +
                               ") was not loaded");
  info.weight_bytes = weights.bytes;
  info.load_s = seconds_since(t0);
}

void Engine::Impl::allocate_buffers() {
  arena.allocate(std::max<size_t>(spec.arena_bytes, 256), "the activation arena");
  info.arena_bytes = arena.bytes();
  gemm = std::make_unique<GemmRunner>();

  const int max_tokens = prefill_max_tokens(spec);
  const int b = spec.max_batch;
  prefill_layout = make_metadata_layout(max_tokens, b, config.all_logits ? max_tokens : b);
  decode_layout = make_metadata_layout(b, b, b);
  prefill_block.allocate(prefill_layout.bytes, "the prefill step metadata");
  prefill_staging.allocate(prefill_layout.bytes, "the prefill metadata staging copy");
  for (int i = 0; i < 2; ++i) {
    decode_block[i].allocate(decode_layout.bytes, "a decode step metadata block");
    decode_staging[i].allocate(decode_layout.bytes, "a decode metadata staging copy");
  }

  const size_t table_bytes = static_cast<size_t>(b + 1) * static_cast<size_t>(spec.max_context) *
                             sizeof(int32_t);
  slot_table.allocate(table_bytes, "the slot table");
  // Row max_batch (the pad row) must map every position to the pad slot 0; the other rows are
  // written by the program before they are read.
  LLC_CUDA(cudaMemsetAsync(slot_table.get(), 0, table_bytes, stream.s));
  prefill_meta = bind_metadata(prefill_layout, prefill_block.get(), slot_table.as<int32_t>());
  prefill_rows = bind_sampling_rows(prefill_layout, prefill_block.get());
  for (int i = 0; i < 2; ++i) {
    decode_meta[i] = bind_metadata(decode_layout, decode_block[i].get(), slot_table.as<int32_t>());
    decode_rows[i] = bind_sampling_rows(decode_layout, decode_block[i].get());
  }

  out_tokens.allocate(static_cast<size_t>(max_tokens) * sizeof(int32_t), "the sampled tokens");
  host_tokens.allocate(static_cast<size_t>(std::max(max_tokens, b)) * sizeof(int32_t),
                       "the sampled tokens (host)");

  logit_rows_cap = logits_rows(spec, config.all_logits);
  logits.allocate(static_cast<size_t>(logit_rows_cap) * static_cast<size_t>(spec.vocab) * sizeof(float),
                  "the logits");
  info.buffer_bytes = prefill_block.bytes() + decode_block[0].bytes() + decode_block[1].bytes() +
                      slot_table.bytes() + out_tokens.bytes() + logits.bytes();
  LLC_CUDA(cudaStreamSynchronize(stream.s));
}

void Engine::Impl::allocate_kv_cache() {
  size_t free_bytes = 0, total_bytes = 0;
  LLC_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  const KvPlan kv = plan_kv_cache(spec, free_bytes, config.kv_cache_fraction, config.kv_tokens);
  k_cache.allocate(kv.cache_bytes, "the K cache");
  v_cache.allocate(kv.cache_bytes, "the V cache");
  // Zeroed so the pad slot (and any slot read before it is written) holds finite values.
  LLC_CUDA(cudaMemsetAsync(k_cache.get(), 0, kv.cache_bytes, stream.s));
  LLC_CUDA(cudaMemsetAsync(v_cache.get(), 0, kv.cache_bytes, stream.s));
  LLC_CUDA(cudaStreamSynchronize(stream.s));
  n_slots = kv.n_slots;
  info.kv_slots = kv.n_slots - 1;
  info.kv_bytes = 2 * kv.cache_bytes;
}

void Engine::Impl::capture_decode_graphs() {
  const auto t0 = SteadyClock::now();
  const int pad_row = spec.max_batch;
  std::vector<bool> kinds = {false};  // every context; and short contexts, where they have a path
  if (spec.decode_short_kv_len > 0) kinds.push_back(true);
  for (int bucket : limits.graph_buckets) {
    for (bool short_kv : kinds) {
      for (int block = 0; block < 2; ++block) {
        // 1. One uncaptured run over pad metadata: lazy set-up (GEMM algorithms) happens here.
        pack_pad_decode_step(bucket, pad_row, decode_layout, decode_staging[block].get());
        LLC_CUDA(cudaMemcpyAsync(decode_block[block].get(), decode_staging[block].get(),
                                 decode_layout.bytes, cudaMemcpyHostToDevice, stream.s));
        enqueue_decode(bucket, short_kv, block, stream.s);
        LLC_CUDA(cudaStreamSynchronize(stream.s));
        LLC_CUDA(cudaGetLastError());
        // 2. Capture the same calls.
        graphs.capture(bucket, short_kv, block, stream.s, [this, bucket, short_kv, block](cudaStream_t s) {
          enqueue_decode(bucket, short_kv, block, s);
        });
      }
    }
  }
  LLC_CUDA(cudaStreamSynchronize(stream.s));
  info.capture_s = seconds_since(t0);
}

Engine::Engine(const ModelProgram& program, const EngineConfig& config)
    : impl_(std::make_unique<Impl>(program, config)) {}

Engine::~Engine() = default;

const ModelSpec& Engine::spec() const { return impl_->spec; }
const EngineInfo& Engine::info() const { return impl_->info; }
int64_t Engine::kv_capacity() const { return impl_->n_slots - 1; }

}  // namespace llc
