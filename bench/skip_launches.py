#!/usr/bin/env python3
"""skip_launches.py - a compiled program's source with some kernel launches of one step left out.

What a kernel costs inside the captured decode graph is not its time alone (PDL overlaps
neighbours, a launch has latency of its own): the way to know is to run the step without it.
This takes the CUDA source `llc-llama compile --emit cuda` writes (or the OUT.cu a binary build
keeps), and in the generated function of one step (between `// LLC-BEGIN <step>` and
`// LLC-END <step>`) turns every statement that calls one of the named launchers into
`if (0) <call>`. The outputs are garbage, the weight stream and every other kernel are unchanged:
build the result with the nvcc line `llc-llama compile -v` prints and time it next to the
unchanged binary (docs/performance.md, log 23).

    python3 bench/skip_launches.py model.cu --skip add_rmsnorm_forward --skip rope_kv_store_forward \\
        -o model_without_norm_rope.cu

Exit status 2 (with a message) when the step's section is missing or a named launcher is never
called in it.
"""
import argparse
import re
import sys


def skip_launches(source, step, launchers):
    """Returns (new source, {launcher: calls skipped}); raises ValueError when the step's section
    is missing."""
    begin_marker, end_marker = f"// LLC-BEGIN {step}\n", f"// LLC-END {step}"
    begin = source.find(begin_marker)
    end = source.find(end_marker, begin + 1) if begin >= 0 else -1
    if begin < 0 or end < 0:
        raise ValueError(f"no '// LLC-BEGIN {step}' ... '// LLC-END {step}' section")
    body = source[begin:end]
    counts = {}
    for name in launchers:
        # A launch statement starts its line: `name<...>(...)` or `name(...)`.
        pattern = re.compile(r"^(\s*)(" + re.escape(name) + r"\s*[<(])", re.M)
        body, counts[name] = pattern.subn(r"\1if (0) \2", body)
    return source[:begin] + body + source[end:], counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="the program's .cu (llc-llama compile --emit cuda)")
    parser.add_argument("--skip", action="append", required=True, metavar="LAUNCHER",
                        help="a launcher function to leave out, e.g. add_rmsnorm_forward (repeatable)")
    parser.add_argument("--step", default="decode", help="the generated function: decode (default) or prefill")
    parser.add_argument("-o", "--output", required=True, help="where to write the changed source")
    args = parser.parse_args()
    with open(args.source, encoding="utf-8") as f:
        source = f.read()
    try:
        changed, counts = skip_launches(source, args.step, args.skip)
    except ValueError as e:
        sys.exit(f"skip_launches: {args.source}: {e}")
    missing = [name for name, n in counts.items() if n == 0]
    if missing:
        print(f"skip_launches: {args.source}: @{args.step} never calls {', '.join(missing)}", file=sys.stderr)
        sys.exit(2)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(changed)
    for name, n in counts.items():
        print(f"{name}: {n} launch statements skipped in @{args.step}")


if __name__ == "__main__":
    main()
