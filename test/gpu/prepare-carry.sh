#!/usr/bin/env bash
# prepare-carry.sh - builds, on the build machine, everything test/gpu/run-gpu-checks.sh needs on a
# GPU machine that has no MLIR, into one folder to carry there (default .device-carry, ignored by
# git): the GPU test programs, the 4-layer parity binaries of every example config, the two
# full-size benchmark binaries, the GEMV variant sweep and the tokenizer files.
# Usage: [LLC_COMPILE_ARGS="--no-wgmma-prefill ..."] test/gpu/prepare-carry.sh [CARRY]
# (LLC_COMPILE_ARGS: extra llc-llama compile arguments for every binary it builds)
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${1:-.device-carry}
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
mkdir -p "$carry/bin" "$carry/models" "$carry/data"
cmake --build build --target llc-llama kernel_tests runtime_gpu_tests engine_toy_program
cp build/bin/kernel_tests build/bin/runtime_gpu_tests build/bin/engine_toy_program "$carry/bin/"
nvcc -arch=sm_90 -O3 -std=c++17 -I. bench/gemv_variants.cu -o "$carry/bin/gemv_variants"
read -r -a extra <<<"${LLC_COMPILE_ARGS:-}"
python3 test/gpu/parity.py prepare --out "$carry/parity" --llc-llama build/bin/llc-llama \
  ${extra[@]+"${extra[@]/#/--compile-arg=}"}
for m in llama-3.2-1b llama-3.1-8b; do
  build/bin/llc-llama compile "examples/$m/config.json" -o "$carry/models/$m" ${extra[@]+"${extra[@]}"}
  rm -f "$carry/models/$m.cu"
done
rm -rf "$carry/data/tokenizers"
cp -r ../shared/data/tokenizers "$carry/data/"
chmod -R u+w "$carry/data/tokenizers"
strip "$carry"/bin/* "$carry"/models/* "$carry"/parity/*/model_bin
du -sh "$carry"
