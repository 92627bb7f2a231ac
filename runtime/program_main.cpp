// program_main.cpp - the generated binary's main(): CLI, prompts, engine, output.
//
// Order (every check that needs no GPU comes before the first CUDA call):
//   1. parse the command line (--help / --version answer here);
//   2. load the tokenizer and the model directory's generation defaults;
//   3. collect, tokenise and check the prompts (--tokenize prints them and stops here);
//   4. start the engine (GPU), check the requests against the KV pool it got;
//   5. run, printing as the mode says; write --output-json / --dump-logits; the metrics line and
//      the start-up line (weight loading, graph capture, process start to first token).
// Any failure prints exactly one line `error: ...` on stderr and returns 1.
#include <sys/stat.h>

#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "runtime/bench.h"
#include "runtime/cli.h"
#include "runtime/engine.h"
#include "runtime/kv_sizing.h"
#include "runtime/metrics.h"
#include "runtime/npy.h"
#include "runtime/output.h"
#include "runtime/program.h"
#include "runtime/prompts.h"
#include "runtime/steady_clock.h"
#include "runtime/tokenizer.h"

namespace llc {

namespace {

// Where a generation run's start-up time went. first_token_s: from program_main's entry to the
// first generated token on the host (NaN if none was generated).
struct Startup {
  double load_s = 0, capture_s = 0, first_token_s = 0;
};

// run_start_s: seconds from program_main's entry to the start of the run.
Startup startup_of(const EngineInfo& info, double run_start_s, const RunResult& run) {
  Startup s;
  s.load_s = info.load_s;
  s.capture_s = info.capture_s;
  double first = std::numeric_limits<double>::quiet_NaN();
  for (const SequenceRun& q : run.seqs)
    if (!q.generated.empty() && !(q.first_token_s >= first)) first = q.first_token_s;
  s.first_token_s = run_start_s + first;
  return s;
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Fails early (before GPU work) if `path` cannot be created.
void check_writable(const std::string& path, const char* flag) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw std::runtime_error(std::string(flag) + " " + path + ": cannot create the file");
  std::fclose(f);
}

// A --weights DIR that is not a directory is reported before anything else looks inside it.
void check_weights_dir(const CliOptions& o) {
  if (o.weights_dir.empty()) return;
  struct stat st;
  if (::stat(o.weights_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("--weights " + o.weights_dir + ": no such directory");
}

nlohmann::json settings_json(const CliOptions& o, const Engine& engine) {
  nlohmann::json s;
  s["cuda_graph"] = o.cuda_graph;
  s["overlap_steps"] = o.overlap_steps;
  s["max_new_tokens"] = o.max_new_tokens;
  s["temperature"] = o.temperature;
  s["top_k"] = o.top_k;
  s["top_p"] = o.top_p;
  s["seed"] = o.seed;
  s["ignore_eos"] = o.ignore_eos;
  s["stop"] = o.stop;
  s["teacher_force"] = o.teacher_force;
  s["all_logits"] = o.all_logits;
  s["random_weights"] = o.random_weights;
  s["kv_slots"] = engine.kv_capacity();
  s["device"] = engine.info().device_name;
  return s;
}

int run_generate(const ModelProgram& program, const CliOptions& o, SteadyClock::time_point main_entry) {
  const ModelSpec& spec = *program.spec;
  check_model_spec(spec);

  // 2. Tokenizer and generation defaults. A tokenizer found only implicitly (DIR/tokenizer.json)
  // that cannot be read does not stop an id-only run: it just has no text.
  const std::string tok_path = find_tokenizer_file(o);
  std::unique_ptr<Tokenizer> tokenizer;
  if (!tok_path.empty()) {
    try {
      tokenizer = Tokenizer::from_file(tok_path);
    } catch (const TokenizerError& e) {
      if (o.has_text_prompts() || !o.tokenizer_file.empty() || !o.stop.empty() || o.tokenize_only) throw;
      std::fprintf(stderr, "warning: %s; generated ids will be printed without text\n", e.what());
    }
  }
  const std::vector<int32_t> compiled_eos(spec.eos_token_ids, spec.eos_token_ids + spec.n_eos);
  GenerationDefaults defaults;
  defaults.bos_token_id = spec.bos_token_id;
  defaults.eos_token_ids = compiled_eos;
  if (!o.weights_dir.empty() || !tok_path.empty()) {
    const std::string dir = !o.weights_dir.empty() ? o.weights_dir : parent_dir(tok_path);
    defaults = read_generation_defaults(dir, tokenizer.get(), spec.bos_token_id, compiled_eos);
    if (defaults.eos_token_ids.empty()) defaults.eos_token_ids = compiled_eos;
  }
  if (!o.stop.empty() && !tokenizer)
    throw PromptError("--stop needs a tokenizer (no tokenizer.json in --weights DIR; give --tokenizer FILE)");

  // 3. Requests, all checked against the compiled model.
  const std::vector<Request> requests =
      build_requests(collect_prompts(o), o, tokenizer.get(), defaults, spec.vocab, spec.max_context);
  if (o.tokenize_only) {
    std::printf("%s\n", dump_json(tokenize_json(requests)).c_str());
    return 0;
  }
  if (!o.output_json.empty()) check_writable(o.output_json, "--output-json");
  if (!o.dump_logits.empty()) check_writable(o.dump_logits, "--dump-logits");

  // 4. The engine.
  Engine engine(program, engine_config(o));
  for (const Request& r : requests) {
    const int64_t need = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
    if (need > engine.kv_capacity())
      throw PromptError(r.label + " needs " + std::to_string(need) + " KV slots but the pool holds only " +
                        std::to_string(engine.kv_capacity()) + " (--kv-tokens / --kv-cache-fraction)");
  }

  // 5. Run.
  FinishRules rules;
  rules.eos_ids = defaults.eos_token_ids;
  rules.ignore_eos = o.ignore_eos;
  rules.stop = o.stop;
  rules.max_new_tokens = o.max_new_tokens;
  GenerationPrinter printer(requests, tokenizer.get(), rules, choose_print_mode(requests, o.json), stdout);
  std::vector<SequenceSpec> specs;
  std::vector<int> prompt_lens;
  for (const Request& r : requests) {
    SequenceSpec s;
    s.prompt = r.prompt;
    s.n_forced = r.n_forced;
    s.max_new_tokens = r.max_new_tokens;
    s.sampling = r.sampling;
    specs.push_back(std::move(s));
    prompt_lens.push_back(static_cast<int>(r.prompt.size()));
  }
  RunOptions ro;
  ro.use_graphs = o.cuda_graph;
  ro.overlap_steps = o.overlap_steps;
  ro.all_logits = o.all_logits;
  ro.keep_logits = !o.dump_logits.empty();
  const double run_start_s = seconds_since(main_entry);
  const RunResult run = engine.run(specs, printer, ro);
  const Metrics metrics = compute_metrics(run, prompt_lens);
  const Startup startup = startup_of(engine.info(), run_start_s, run);

  if (o.json || !o.output_json.empty()) {
    nlohmann::json doc_json = results_json(spec, requests, run, printer, metrics, settings_json(o, engine));
    doc_json["startup"] = {{"weights_load_s", json_number(startup.load_s)},
                           {"graph_capture_s", json_number(startup.capture_s)},
                           {"start_to_first_token_s", json_number(startup.first_token_s)}};
    const std::string doc = dump_json(doc_json);
    if (o.json) std::printf("%s\n", doc.c_str());
    if (!o.output_json.empty()) write_text_file(o.output_json, doc + "\n");
  }
  if (!o.dump_logits.empty()) {
    int64_t rows = 0;
    for (const SequenceRun& s : run.seqs) rows += s.logit_rows;
    NpyWriter w(o.dump_logits, rows, spec.vocab);
    for (const SequenceRun& s : run.seqs) w.append_rows(s.logits.data(), s.logit_rows);
    w.close();
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", format_metrics_line(metrics).c_str());
  std::fprintf(stderr, "start-up: weights loaded in %.2f s, graphs captured in %.2f s, first token %.2f s after start\n",
               startup.load_s, startup.capture_s, startup.first_token_s);
  return 0;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

int program_main(int argc, char** argv, const ModelProgram& program) {
  const SteadyClock::time_point main_entry = SteadyClock::now();
  try {
    const CliResult cli = parse_cli(argc, argv);
    if (cli.action == CliAction::help) {
      std::printf("%s", cli.help.c_str());
      return 0;
    }
    if (!program.spec) throw std::invalid_argument("the program has no ModelSpec");
    if (cli.action == CliAction::version) {
      std::printf("%s", version_text(*program.spec, argc > 0 ? argv[0] : nullptr).c_str());
      return 0;
    }
    check_weights_dir(cli.options);
    if (cli.options.bench) return run_bench(program, cli.options);
    return run_generate(program, cli.options, main_entry);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", one_line(e.what()).c_str());
    return 1;
  }
}

}  // namespace llc
