#!/usr/bin/env bash
# run-gpu-checks.sh - every GPU check of the project, from prebuilt binaries.
#
# The GPU machine of this project has no MLIR, so everything is built on the build machine and
# carried over in one folder (CARRY; test/gpu/prepare-carry.sh builds it) laid out as:
#   bin/{kernel_tests,runtime_gpu_tests,engine_toy_program}   (ninja -C build ...)
#   parity/<model>/{config.json,model_bin}                    (test/gpu/parity.py prepare)
#   models/<model>                                            (full-size binaries, for --bench)
#   data/tokenizers/{llama3,llama2}                           (../shared/data/tokenizers)
# Usage: test/gpu/run-gpu-checks.sh CARRY OUT STAGE...
#   stages: info kernels runtime engine tokenizer parity[:model,model...] text bench sbs[:1b,8b]
#   (sbs: bench/side_by_side.py, our binaries against transformers; several minutes per shape)
# Each stage writes OUT/<stage>.log and prints one summary line; the script's exit status is
# non-zero if any stage failed. A machine without a GPU gets "skipped: no GPU" and exit 77.
set -uo pipefail
carry=$(realpath "$1"); out=$(realpath -m "$2"); shift 2
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
if ! nvidia-smi -L >/dev/null 2>&1; then echo "skipped: no GPU"; exit 77; fi
commit=${LLC_COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}  # the GPU copy has no .git

failed=0
run_stage() {  # name, timeout seconds, command...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  local verdict=PASS
  if [ $rc -ne 0 ]; then verdict="FAIL (exit $rc)"; failed=1; fi
  echo "== $name: $verdict in $((SECONDS - t0)) s; $(grep -Ec '^(PASS|\[PASS\])' "$out/$name.log") PASS lines, $(grep -Ec '^(FAIL|\[FAIL\])' "$out/$name.log") FAIL lines"
  grep -E '^(FAIL|\[FAIL\])|summary|error' "$out/$name.log" | head -20
}

for stage in "$@"; do
  case "$stage" in
    info)
      nvidia-smi >"$out/info.log" 2>&1
      { echo "commit $commit"; date -u; nvcc --version 2>/dev/null | tail -1;
        python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'; } >>"$out/info.log" 2>&1
      grep -E "H200|Driver|commit|torch" "$out/info.log" ;;
    kernels) run_stage kernels 420 "$carry/bin/kernel_tests" ;;
    runtime) run_stage runtime 300 "$carry/bin/runtime_gpu_tests" ;;
    engine)
      run_stage engine 420 python3 "$repo/test/gpu/engine_e2e_check.py" \
        --bin "$carry/bin/engine_toy_program" --data "$carry/data" ;;
    tokenizer)
      run_stage tokenizer 300 python3 "$repo/test/gpu/make_tokenizer_refs.py" \
        --data "$carry/data/tokenizers" --corpus "$repo/test/data/tokenizer/corpus.jsonl" \
        --out "$out/refs" ;;
    parity*)
      models=()
      if [[ "$stage" == parity:* ]]; then IFS=, read -r -a models <<<"${stage#parity:}"; fi
      run_stage parity 3000 python3 "$repo/test/gpu/parity.py" run --dir "$carry/parity" \
        --tokenizer "$carry/data/tokenizers/llama3/tokenizer.json" --report "$out/parity" \
        --commit "$commit" ${models[@]+--models "${models[@]}"}
      tail -20 "$out/parity.log" ;;
    text)
      run_stage text 300 python3 "$repo/test/gpu/text_generation_check.py" \
        --binary "$carry/models/llama-3.2-1b" --tokenizer-dir "$carry/data/tokenizers/llama3" \
        --work /tmp/llc-text --report "$out/text.json"
      tail -3 "$out/text.log" ;;
    bench)
      for m in llama-3.2-1b llama-3.1-8b; do
        run_stage "bench-$m" 600 "$carry/models/$m" --random-weights --seed 1 --bench \
          --batch-sizes 1,4 --prompt-len 128 --gen-len 256 --bench-runs 3 --json
        tail -5 "$out/bench-$m.log"
      done ;;
    sbs*)
      shapes=1b,8b
      if [[ "$stage" == sbs:* ]]; then shapes=${stage#sbs:}; fi
      run_stage sbs 3000 python3 "$repo/bench/side_by_side.py" --models-dir "$carry/models" \
        --tokenizer-dir "$carry/data/tokenizers/llama3" --shapes "$shapes" --out "$out/sbs.json" \
        --markdown "$out/sbs.md" --commit "$commit"
      tail -40 "$out/sbs.log" ;;
    *) echo "unknown stage $stage"; failed=1 ;;
  esac
done
exit $failed
