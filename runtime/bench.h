// bench.h - the --bench mode of the generated binary.
//
// Per batch size B: B prompts (synthetic: --prompt-len L deterministic pseudo-random ids; or the
// given prompts, cycled), --gen-len N new tokens each with EOS ignored; one short warm-up run,
// then --bench-runs R measured runs with CUDA graphs (medians reported) and one run with direct
// launches for the no-graph decode step time. Before the engine starts, it measures the device's
// copy bandwidth (cudaMemcpyAsync device-to-device of a 1 GiB buffer, read + write bytes, median
// of 10 after warm-up), the reference for the achieved weight-streaming bandwidth.
// Prints a table (or, with --json, one JSON object) to stdout; --output-json also writes it.
#pragma once

#include "runtime/cli.h"
#include "runtime/program.h"

namespace llc {

// Returns the exit code (0); throws on errors.
int run_bench(const ModelProgram& program, const CliOptions& options);

// Device-to-device copy bandwidth in GB/s ((read + write) bytes / time), median of `reps`.
double measure_copy_bandwidth(int device, size_t bytes, int reps);

}  // namespace llc
