// cli.cpp - the generated binary's flags (CLI11) and their model-independent checks.
//
// Every flag is declared once here with its help text; parse_cli() then checks ranges and
// combinations so that program_main only sees consistent options. CLI11's own parse errors are
// rethrown as CliError so every failure prints the same way.
#include "runtime/cli.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "runtime/engine.h"

namespace llc {

std::vector<int64_t> parse_int_list(std::string_view text, const std::string& what) {
  std::vector<int64_t> out;
  size_t i = 0;
  const auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    while (i < text.size() && is_sep(text[i])) {
      // Two commas in a row mean a missing value.
      if (text[i] == ',') {
        size_t j = i + 1;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
        if (j < text.size() && text[j] == ',')
          throw CliError(what + ": empty item in '" + std::string(text) + "'");
      }
      ++i;
    }
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    const std::string item(text.substr(i, j - i));
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (end != item.c_str() + item.size() || item.empty() || errno == ERANGE)
      throw CliError(what + ": '" + item + "' is not an integer (in '" + std::string(text) + "')");
    out.push_back(v);
    i = j;
  }
  return out;
}

namespace {

const char* kFooter = R"(Prompts:
  --prompt and --prompts-file give text, tokenised with DIR/tokenizer.json (or --tokenizer FILE);
  BOS is added as the model directory's tokenizer_config.json says. --prompt-ids gives token ids
  directly ("1,2,3" or "1 2 3"). Requests run in this order: every --prompt, the file's lines,
  every --prompt-ids.
  Prompts file: UTF-8, one prompt per line; empty lines are skipped; a trailing '\r' is dropped;
  inside a line, \n is a newline, \t a tab, \r a carriage return and \\ a backslash (any other
  backslash is kept as it is).

Output:
  One text prompt streams its completion to stdout as it is generated. Several prompts print
  each completion, labelled, when it finishes. --prompt-ids runs print the generated ids (and
  the text when a tokenizer is available). A metrics line goes to stderr. --output-json FILE
  writes, per sequence, the prompt ids, generated ids, finish reason (eos, stop, length) and text,
  plus the metrics.

Logits dump (--dump-logits FILE.npy):
  A float32 array [rows, vocab]: for sequence 0 its prompt positions (only the last one, or every
  one with --all-logits), then one row per decode step; then sequence 1, and so on. With
  --teacher-force N a sequence's rows are its prefilled prompt positions, then N forced steps,
  then the steps after them (the final generated token has no row: nothing runs after it).

Exit status: 0 on success, 1 on any error (one line `error: ...` on stderr).)";

bool finite(double x) { return std::isfinite(x); }

}  // namespace

CliResult parse_cli(int argc, const char* const* argv) {
  CliResult result;
  CliOptions& o = result.options;
  CLI::App app{"Runs the compiled model: generation from prompts, or a benchmark (--bench).",
               argc > 0 ? argv[0] : "model_bin"};
  app.footer(kFooter);
  app.set_help_flag();  // handled below so --help can be answered without other checks
  bool help = false, version = false, no_cuda_graph = false, no_overlap = false;
  std::string batch_sizes_text;

  app.add_flag("-h,--help", help, "Print this help and exit.");
  app.add_flag("--version", version, "Print the compiled model's facts (ModelSpec) and exit.");

  // model and tokenizer
  app.add_option("--weights", o.weights_dir,
                 "Hugging Face model directory: *.safetensors (or the sharded index), tokenizer.json, "
                 "tokenizer_config.json, generation_config.json.")
      ->type_name("DIR");
  app.add_flag("--random-weights", o.random_weights,
               "Use deterministic random weights (seeded by --seed) instead of a checkpoint; for "
               "benchmarks. DIR, if given, still supplies the tokenizer.");
  app.add_option("--tokenizer", o.tokenizer_file, "tokenizer.json to use instead of DIR/tokenizer.json.")
      ->type_name("FILE");
  app.add_option("--device", o.device, "CUDA device index (default 0).")->type_name("N");

  // prompts
  app.add_option("--prompt", o.prompts, "A text prompt (repeatable: one request each).")
      ->type_name("TEXT")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--prompts-file", o.prompts_file,
                 "A file of text prompts, one per line (see Prompts below).")
      ->type_name("FILE");
  app.add_option("--prompt-ids", o.prompt_ids,
                 "A prompt as token ids, e.g. \"1,2,3\" (repeatable: one request each).")
      ->type_name("IDS")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  // generation
  auto* max_new = app.add_option("--max-new-tokens", o.max_new_tokens,
                                 "Most tokens to generate per sequence (default 128).")
                      ->type_name("N");
  app.add_option("--temperature", o.temperature, "Sampling temperature; 0 (the default) is greedy.")
      ->type_name("T");
  app.add_option("--top-k", o.top_k, "Sample from the K most likely tokens only (0: all).")->type_name("K");
  app.add_option("--top-p", o.top_p,
                 "Sample from the smallest set of tokens whose probability reaches P (1: all).")
      ->type_name("P");
  app.add_option("--seed", o.seed,
                 "Seed of the sampler (every sequence uses it; draw i of a sequence depends only on "
                 "the seed and the position it predicts) and of --random-weights (default 0).")
      ->type_name("S");
  app.add_option("--stop", o.stop,
                 "Stop a sequence when its text contains STRING (repeatable; the string is not "
                 "printed; needs a tokenizer).")
      ->type_name("STRING")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--ignore-eos", o.ignore_eos, "Do not stop at end-of-sequence tokens.");

  // engine
  app.add_flag("--no-cuda-graph", no_cuda_graph,
               "Launch each decode step's kernels directly instead of replaying CUDA graphs "
               "(same tokens, slower).");
  app.add_flag("--no-overlap", no_overlap,
               "Wait for each decode step's tokens before launching the next step, instead of "
               "launching it while the host reads them (same tokens, slower).");
  auto* frac = app.add_option("--kv-cache-fraction", o.kv_cache_fraction,
                              "Fraction of the GPU memory still free after weights and buffers "
                              "that the KV cache takes (default 0.90).")
                   ->type_name("F");
  auto* kv_tokens = app.add_option("--kv-tokens", o.kv_tokens,
                                   "Size the KV cache for exactly N tokens instead "
                                   "(at least the compiled max_context).")
                        ->type_name("N");

  // output
  app.add_flag("--tokenize", o.tokenize_only,
               "Print the prompts' token ids as JSON and exit (needs only the tokenizer files; no GPU).");
  app.add_flag("--json", o.json,
               "Print the results (or the benchmark numbers) as one JSON object on stdout instead of text.");
  app.add_option("--output-json", o.output_json,
                 "Write the results (per sequence: prompt ids, generated ids, finish reason, text; "
                 "and the metrics) or the benchmark numbers as JSON to FILE.")
      ->type_name("FILE");

  // debugging and tests
  app.add_option("--teacher-force", o.teacher_force,
                 "Debug: the last N ids of each --prompt-ids are not prefilled but fed one per "
                 "decode step as if they had been sampled.")
      ->type_name("N");
  app.add_option("--dump-logits", o.dump_logits,
                 "Debug: write the float32 logits of every position that produced logits to "
                 "FILE.npy (see Logits dump below).")
      ->type_name("FILE.npy");
  app.add_flag("--all-logits", o.all_logits,
               "Debug: prefill computes the logits of every prompt token (with --dump-logits).");

  // benchmark
  app.add_flag("--bench", o.bench,
               "Benchmark: per batch size, TTFT, TPOT, tokens/s, decode step time with and without "
               "CUDA graphs, and the achieved weight-streaming bandwidth.");
  auto* bs = app.add_option("--batch-sizes", batch_sizes_text,
                            "Benchmark batch sizes, e.g. 1,4,16 (default 1).")
                 ->type_name("LIST");
  auto* plen = app.add_option("--prompt-len", o.prompt_len,
                              "Benchmark: synthetic prompts of L pseudo-random ids (default 128; "
                              "ignored when prompts are given).")
                   ->type_name("L");
  auto* glen = app.add_option("--gen-len", o.gen_len,
                              "Benchmark: tokens generated per sequence (default 128; implies "
                              "--ignore-eos).")
                   ->type_name("N");
  auto* runs = app.add_option("--bench-runs", o.bench_runs,
                              "Benchmark: runs per batch size; the median is reported (default 3).")
                   ->type_name("R");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    throw CliError(e.what());
  }
  if (help) {
    result.action = CliAction::help;
    result.help = app.help();
    return result;
  }
  if (version) {
    result.action = CliAction::version;
    return result;
  }
  o.cuda_graph = !no_cuda_graph;
  o.overlap_steps = !no_overlap;
  o.max_new_tokens_given = max_new->count() > 0;
  o.prompt_len_given = plen->count() > 0;

  // --- ranges ---
  if (o.device < 0) throw CliError("--device " + std::to_string(o.device) + ": must be >= 0");
  if (o.max_new_tokens < 1)
    throw CliError("--max-new-tokens " + std::to_string(o.max_new_tokens) + ": must be >= 1");
  if (!finite(o.temperature) || o.temperature < 0)
    throw CliError("--temperature " + std::to_string(o.temperature) + ": must be >= 0 (0 is greedy)");
  if (o.top_k < 0) throw CliError("--top-k " + std::to_string(o.top_k) + ": must be >= 0 (0: no top-k)");
  if (!finite(o.top_p) || o.top_p <= 0 || o.top_p > 1)
    throw CliError("--top-p " + std::to_string(o.top_p) + ": must be in (0, 1]");
  if (o.temperature == 0 && (o.top_k > 0 || o.top_p < 1))
    throw CliError("--top-k/--top-p need --temperature > 0 (greedy decoding ignores them)");
  for (const std::string& s : o.stop)
    if (s.empty()) throw CliError("--stop: empty stop string");
  if (frac->count() && kv_tokens->count())
    throw CliError("--kv-cache-fraction and --kv-tokens are alternatives: give one");
  if (!finite(o.kv_cache_fraction) || o.kv_cache_fraction <= 0 || o.kv_cache_fraction > 1)
    throw CliError("--kv-cache-fraction " + std::to_string(o.kv_cache_fraction) + ": must be in (0, 1]");
  if (kv_tokens->count() && o.kv_tokens < 1)
    throw CliError("--kv-tokens " + std::to_string(o.kv_tokens) + ": must be >= 1");
  if (o.teacher_force < 0)
    throw CliError("--teacher-force " + std::to_string(o.teacher_force) + ": must be >= 0");

  // --- combinations ---
  const bool needs_model = !o.tokenize_only;
  if (needs_model && o.weights_dir.empty() && !o.random_weights)
    throw CliError("no model weights: give --weights DIR or --random-weights");
  if (o.tokenize_only) {
    if (!o.has_text_prompts() && o.prompt_ids.empty())
      throw CliError("--tokenize needs prompts (--prompt, --prompts-file)");
    if (o.weights_dir.empty() && o.tokenizer_file.empty())
      throw CliError("--tokenize needs a tokenizer: --weights DIR or --tokenizer FILE");
    if (o.bench) throw CliError("--tokenize and --bench cannot be combined");
  }
  if (o.teacher_force > 0) {
    if (o.prompt_ids.empty() || o.has_text_prompts())
      throw CliError("--teacher-force applies to --prompt-ids only (no --prompt/--prompts-file)");
  }
  if (o.all_logits && o.dump_logits.empty()) throw CliError("--all-logits needs --dump-logits FILE.npy");
  if (!o.bench) {
    if (bs->count() || plen->count() || glen->count() || runs->count())
      throw CliError("--batch-sizes, --prompt-len, --gen-len and --bench-runs apply to --bench only");
    if (!o.tokenize_only && !o.has_any_prompt())
      throw CliError("no prompt: give --prompt TEXT, --prompts-file F or --prompt-ids IDS (or --bench)");
  } else {
    if (o.max_new_tokens_given) throw CliError("--bench uses --gen-len, not --max-new-tokens");
    if (o.teacher_force > 0 || !o.dump_logits.empty() || !o.stop.empty())
      throw CliError("--teacher-force, --dump-logits and --stop do not apply to --bench");
    if (bs->count()) {
      std::vector<int64_t> sizes = parse_int_list(batch_sizes_text, "--batch-sizes");
      if (sizes.empty()) throw CliError("--batch-sizes: empty list");
      o.batch_sizes.clear();
      for (int64_t b : sizes) {
        if (b < 1 || b > (1 << 20))
          throw CliError("--batch-sizes: " + std::to_string(b) + " is not a valid batch size");
        o.batch_sizes.push_back(static_cast<int>(b));
      }
    }
    if (o.prompt_len < 1) throw CliError("--prompt-len " + std::to_string(o.prompt_len) + ": must be >= 1");
    if (o.gen_len < 1) throw CliError("--gen-len " + std::to_string(o.gen_len) + ": must be >= 1");
    if (o.bench_runs < 1) throw CliError("--bench-runs " + std::to_string(o.bench_runs) + ": must be >= 1");
    if (o.prompt_len_given && o.has_any_prompt())
      throw CliError("--prompt-len makes synthetic prompts: do not combine it with given prompts");
    o.ignore_eos = true;
  }
  return result;
}

EngineConfig engine_config(const CliOptions& o) {
  EngineConfig ec;
  ec.weights_dir = o.weights_dir;
  ec.random_weights = o.random_weights;
  ec.seed = o.seed;
  ec.device = o.device;
  ec.kv_cache_fraction = o.kv_cache_fraction;
  ec.kv_tokens = o.kv_tokens;
  ec.capture_graphs = o.cuda_graph;
  ec.all_logits = o.all_logits;
  return ec;
}

}  // namespace llc
