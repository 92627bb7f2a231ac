#!/usr/bin/env bash
# ab_decode.sh - same-call A/B timing of generated model binaries on the GPU machine.
# Runs every binary's --bench (random weights; 128-token prompts, 256 new tokens) in turn, ROUNDS
# times, interleaved so that the machine's drift hits every binary alike, and prints one line per
# run and batch size: the binary, TPOT, the decode step with and without the graph, TTFT.
# Usage: bench/ab_decode.sh OUT ROUNDS BIN... (each run's JSON lands in OUT/<name>.<round>.json)
# Other workloads: AB_BENCH_ARGS="--batch-sizes 1 --prompt-len 3000 --gen-len 64" (replaces the
# default "--batch-sizes 1,4 --prompt-len 128 --gen-len 256").
set -euo pipefail
out=$1 rounds=$2; shift 2
mkdir -p "$out"
read -r -a workload <<<"${AB_BENCH_ARGS:---batch-sizes 1,4 --prompt-len 128 --gen-len 256}"
for round in $(seq 1 "$rounds"); do
  for bin in "$@"; do
    name=$(basename "$bin")
    json="$out/$name.$round.json"
    "$bin" --random-weights --seed 1 --bench "${workload[@]}" --bench-runs 3 --json \
      >"$json" 2>"$out/$name.$round.err" ||
      { echo "$name round $round: exit $? (see $out/$name.$round.err)"; continue; }
    python3 - "$json" "$name" "$round" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for r in report["results"]:
    print(f"{sys.argv[2]:<28} round {sys.argv[3]} batch {r['batch']}: tpot {r['tpot_ms']:.4f} ms, "
          f"step graph {r['decode_step_ms_graph']:.4f} / no graph {r['decode_step_ms_no_graph']:.4f} ms, "
          f"ttft {r['ttft_ms']:.3f} ms")
EOF
  done
done
