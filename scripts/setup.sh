#!/usr/bin/env bash
# Quick start, step 1 (Debian 12 with the CUDA toolkit): install the build dependencies, build
# llc-llama and its runtime, and compile the example model (Llama-3.2-1B) into
# build/models/llama-3.2-1b. Safe to re-run: every step is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
packages="cmake g++ ninja-build ccache libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  libfmt-dev libcli11-dev nlohmann-json3-dev libpcre2-dev libgtest-dev python3-psutil"
# shellcheck disable=SC2086
if ! dpkg -s $packages >/dev/null 2>&1; then
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
fi

if ! command -v nvcc >/dev/null 2>&1 && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
  echo "error: nvcc not found: install the CUDA toolkit (12.4 or newer; 13.0 is tested) at" \
       "/usr/local/cuda, or set CUDA_HOME" >&2
  exit 1
fi
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"

cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
mkdir -p build/models
time build/bin/llc-llama compile examples/llama-3.2-1b/config.json -o build/models/llama-3.2-1b
echo "built build/models/llama-3.2-1b; run it with --weights DIR (a Hugging Face checkpoint)" \
     "or --random-weights"
