#!/usr/bin/env python3
"""Where a decode step's time goes, kernel by kernel (ncu), on the GPU machine.

Runs a compiled model binary under ncu (random weights, CUDA graphs off so that every kernel is
launched and timed alone, gpu__time_duration.sum, clocks as they are): BATCH prompts of 128 token
ids each, 4 new tokens. Takes the last decode step (from its last embedding kernel on) and prints
its kernel count, the sum of their times, and one line per kernel (calls, total, each), largest
first. Each kernel alone is slower than inside the captured step, where programmatic dependent
launch overlaps neighbours; the sum is an upper bound on the graph step (docs/performance.md,
"Where the 1B decode step's time goes").

    python3 bench/profile_decode_step.py .device-carry/models/llama-3.2-1b --batch 4 --csv $OUT/1b.csv
    python3 bench/profile_decode_step.py --from-csv saved.csv      # re-read a saved ncu CSV

Exit status: 0, or 1 when ncu gave no kernel rows or the run had no decode step.
"""
import argparse
import csv
import io
import shutil
import subprocess
import sys


def ncu_csv(binary: str, batch: int) -> str:
    ncu = shutil.which("ncu") or "/usr/local/cuda/bin/ncu"
    cmd = [ncu, "--clock-control", "none", "--metrics", "gpu__time_duration.sum", "--csv",
           "--print-units", "base", binary, "--random-weights", "--no-cuda-graph"]
    for b in range(batch):  # distinct prompts, so that no two sequences decode alike
        cmd += ["--prompt-ids", ",".join(str(100 + 7 * b + i) for i in range(128))]
    cmd += ["--max-new-tokens", "4", "--ignore-eos"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        print(f"ncu exited {run.returncode}: {run.stderr[-2000:]}", file=sys.stderr)
    return run.stdout


def kernel_times(text: str) -> list:
    """(kernel name without its parameter list or 'void ', ns) for every profiled launch."""
    rows = [r for r in csv.reader(io.StringIO(text)) if len(r) > 10]  # skips the program's output
    if not rows:
        return []
    header = rows[0]
    name, value = header.index("Kernel Name"), header.index("Metric Value")
    # Values carry thousands separators ("809,120").
    return [(r[name].removeprefix("void ").split("(")[0], float(r[value].replace(",", ""))) for r in rows[1:]]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary", nargs="?", help="a compiled model binary")
    p.add_argument("--batch", type=int, default=1, help="prompts decoded together (default 1)")
    p.add_argument("--csv", help="also save ncu's CSV here")
    p.add_argument("--from-csv", help="read a saved ncu CSV instead of running ncu")
    args = p.parse_args()
    if bool(args.binary) == bool(args.from_csv):
        p.error("give a binary or --from-csv, not both")
    text = open(args.from_csv).read() if args.from_csv else ncu_csv(args.binary, args.batch)
    if args.csv:
        open(args.csv, "w").write(text)
    kernels = kernel_times(text)
    starts = [i for i, (n, _) in enumerate(kernels) if n.startswith("embedding_kernel")]
    if len(starts) < 2:  # the prefill step's embedding, then at least one decode step's
        print(f"{len(kernels)} kernels profiled, no decode step among them", file=sys.stderr)
        return 1
    step = kernels[starts[-1]:]
    print(f"{len(kernels)} kernels profiled; last decode step: {len(step)} kernels, "
          f"sum {sum(t for _, t in step) / 1e3:.1f} us")
    totals = {}
    for n, t in step:
        calls, total = totals.get(n, (0, 0.0))
        totals[n] = (calls + 1, total + t)
    for n, (calls, total) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"{total / 1e3:9.1f} us  {calls:3d} x {total / calls / 1e3:7.2f} us  {n[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
