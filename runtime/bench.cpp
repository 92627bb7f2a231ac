// bench.cpp - the --bench mode (see bench.h).
#include "runtime/bench.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bench_report.h"
#include "runtime/cuda_check.h"
#include "runtime/device_buffer.h"
#include "runtime/engine.h"
#include "runtime/kv_sizing.h"
#include "runtime/metrics.h"
#include "runtime/output.h"
#include "runtime/prompts.h"

namespace llc {

namespace {

// Benchmarks generate exactly --gen-len tokens: the engine ends each sequence at its length.
class LengthOnly : public TokenObserver {
 public:
  FinishReason on_token(int, int32_t) override { return FinishReason::none; }
};

std::vector<std::vector<int32_t>> given_prompts(const CliOptions& o, const ModelSpec& spec) {
  CliOptions q = o;
  q.max_new_tokens = o.gen_len;
  std::unique_ptr<Tokenizer> tok;
  GenerationDefaults defaults;
  defaults.bos_token_id = spec.bos_token_id;
  std::vector<int32_t> eos(spec.eos_token_ids, spec.eos_token_ids + spec.n_eos);
  if (o.has_text_prompts()) {
    const std::string path = find_tokenizer_file(o);
    if (path.empty())
      throw PromptError("text prompts need a tokenizer: no tokenizer.json in --weights DIR; give --tokenizer FILE");
    tok = Tokenizer::from_file(path);
    const std::string dir = o.weights_dir.empty() ? path.substr(0, path.find_last_of('/') + 1) : o.weights_dir;
    defaults = read_generation_defaults(dir, tok.get(), spec.bos_token_id, eos);
  }
  std::vector<std::vector<int32_t>> out;
  for (Request& r : build_requests(collect_prompts(q), q, tok.get(), defaults, spec.vocab, spec.max_context))
    out.push_back(std::move(r.prompt));
  return out;
}

std::vector<SequenceSpec> make_specs(const CliOptions& o, const ModelSpec& spec,
                                     const std::vector<std::vector<int32_t>>& given, int batch,
                                     int max_new) {
  std::vector<SequenceSpec> specs(static_cast<size_t>(batch));
  for (int i = 0; i < batch; ++i) {
    SequenceSpec& s = specs[static_cast<size_t>(i)];
    s.prompt = given.empty() ? synthetic_prompt(o.seed, i, o.prompt_len, spec.vocab)
                             : given[static_cast<size_t>(i) % given.size()];
    s.max_new_tokens = max_new;
    s.sampling.temperature = o.temperature;
    s.sampling.top_k = o.top_k;
    s.sampling.top_p = o.top_p;
    s.sampling.seed = o.seed;
  }
  return specs;
}

}  // namespace

double measure_copy_bandwidth(int device, size_t bytes, int reps) {
  LLC_CUDA(cudaSetDevice(device));
  DeviceBuffer src(bytes, "the copy-bandwidth source buffer");
  DeviceBuffer dst(bytes, "the copy-bandwidth destination buffer");
  cudaStream_t stream = nullptr;
  cudaEvent_t a = nullptr, b = nullptr;
  LLC_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  std::vector<double> ms;
  try {
    LLC_CUDA(cudaEventCreate(&a));
    LLC_CUDA(cudaEventCreate(&b));
    LLC_CUDA(cudaMemsetAsync(src.get(), 1, bytes, stream));
    for (int i = 0; i < 3; ++i)  // warm-up
      LLC_CUDA(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
    for (int i = 0; i < reps; ++i) {
      LLC_CUDA(cudaEventRecord(a, stream));
      LLC_CUDA(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream));
      LLC_CUDA(cudaEventRecord(b, stream));
      LLC_CUDA(cudaEventSynchronize(b));
      float t = 0;
      LLC_CUDA(cudaEventElapsedTime(&t, a, b));
      ms.push_back(t);
    }
  } catch (...) {
    if (a) cudaEventDestroy(a);
    if (b) cudaEventDestroy(b);
    cudaStreamDestroy(stream);
    throw;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaStreamDestroy(stream);
  const double t = median(ms) * 1e-3;
  return 2.0 * static_cast<double>(bytes) / t / 1e9;
}

int run_bench(const ModelProgram& program, const CliOptions& o) {
  const ModelSpec& spec = *program.spec;
  check_model_spec(spec);
  const std::vector<std::vector<int32_t>> given = o.has_any_prompt() ? given_prompts(o, spec)
                                                                     : std::vector<std::vector<int32_t>>{};
  if (given.empty() && static_cast<int64_t>(o.prompt_len) + o.gen_len > spec.max_context)
    throw CliError("--prompt-len " + std::to_string(o.prompt_len) + " + --gen-len " +
                   std::to_string(o.gen_len) + " exceeds the compiled max_context " +
                   std::to_string(spec.max_context));
  for (int b : o.batch_sizes)
    if (b > spec.max_batch)
      throw CliError("--batch-sizes: " + std::to_string(b) + " exceeds the compiled max_batch " +
                     std::to_string(spec.max_batch));

  const double copy_gbps = measure_copy_bandwidth(o.device, size_t(1) << 30, 10);
  EngineConfig ec = engine_config(o);
  ec.capture_graphs = true;  // each batch is timed both with the graphs and without
  ec.all_logits = false;
  Engine engine(program, ec);
  const EngineInfo& info = engine.info();

  if (!o.json) {
    std::printf("benchmark: %s %s on %s | %s | gen %d tokens | %d run(s), median | copy bandwidth %.0f GB/s\n",
                spec.architecture ? spec.architecture : "?", dtype_name(spec.dtype), info.device_name.c_str(),
                given.empty() ? ("synthetic prompts of " + std::to_string(o.prompt_len) + " tokens").c_str()
                              : (std::to_string(given.size()) + " given prompt(s)").c_str(),
                o.gen_len, o.bench_runs, copy_gbps);
    std::printf("weights %s (decode reads %s), KV cache %lld tokens\n%s\n",
                format_bytes(unique_weight_bytes(spec)).c_str(), format_bytes(decode_weight_bytes(spec)).c_str(),
                static_cast<long long>(info.kv_slots), bench_table_header().c_str());
    std::fflush(stdout);
  }

  LengthOnly observer;
  nlohmann::json rows = nlohmann::json::array();
  for (int batch : o.batch_sizes) {
    std::vector<SequenceSpec> specs = make_specs(o, spec, given, batch, o.gen_len);
    int64_t need = 0;
    std::vector<int> prompt_lens;
    for (const SequenceSpec& s : specs) {
      need += static_cast<int64_t>(s.prompt.size()) + s.max_new_tokens;
      prompt_lens.push_back(static_cast<int>(s.prompt.size()));
    }
    if (need > engine.kv_capacity())
      throw CliError("batch " + std::to_string(batch) + " needs " + std::to_string(need) +
                     " KV slots at once but the pool holds " + std::to_string(engine.kv_capacity()) +
                     ": lower the batch, --prompt-len or --gen-len, or raise --kv-cache-fraction");

    RunOptions graphs_on;
    graphs_on.overlap_steps = o.overlap_steps;
    RunOptions graphs_off = graphs_on;
    graphs_off.use_graphs = false;
    engine.run(make_specs(o, spec, given, batch, std::min(o.gen_len, 2)), observer, graphs_on);  // warm-up
    std::vector<double> ttft, tpot, dec_tps, e2e_tps, step_ms, ctx;
    Metrics last;
    for (int r = 0; r < o.bench_runs; ++r) {
      last = compute_metrics(engine.run(specs, observer, graphs_on), prompt_lens);
      ttft.push_back(last.ttft_ms_mean);
      tpot.push_back(last.tpot_ms_mean);
      dec_tps.push_back(last.decode_tokens_per_s);
      e2e_tps.push_back(last.tokens_per_s);
      step_ms.push_back(last.decode_step_ms_median);
      ctx.push_back(last.mean_decode_context);
    }
    const Metrics nograph = compute_metrics(engine.run(specs, observer, graphs_off), prompt_lens);

    BenchRow row;
    row.batch = batch;
    row.prompt_tokens = last.prompt_tokens;
    row.generated_tokens = last.generated_tokens;
    row.ttft_ms = median(ttft);
    row.tpot_ms = median(tpot);
    row.decode_tokens_per_s = median(dec_tps);
    row.e2e_tokens_per_s = median(e2e_tps);
    row.step_ms_graph = median(step_ms);
    row.step_ms_nograph = nograph.decode_step_ms_median;
    row.mean_context = median(ctx);
    finish_bench_row(spec, copy_gbps, row);
    rows.push_back(bench_row_json(row));
    if (!o.json) {
      std::printf("%s\n", bench_table_row(row).c_str());
      std::fflush(stdout);
    }
  }

  nlohmann::json j;
  j["model"] = model_json(spec);
  j["device"] = info.device_name;
  j["copy_bandwidth_GBps"] = copy_gbps;
  j["weights_bytes"] = unique_weight_bytes(spec);
  j["decode_weight_bytes"] = decode_weight_bytes(spec);
  j["kv_slots"] = info.kv_slots;
  j["weights_load_s"] = info.load_s;
  j["graph_capture_s"] = info.capture_s;
  if (given.empty())
    j["prompt_len"] = o.prompt_len;
  else
    j["given_prompts"] = given.size();
  j["gen_len"] = o.gen_len;
  j["runs"] = o.bench_runs;
  j["results"] = std::move(rows);
  if (o.json) std::printf("%s\n", dump_json(j).c_str());
  if (!o.output_json.empty()) write_text_file(o.output_json, dump_json(j) + "\n");
  return 0;
}

}  // namespace llc
