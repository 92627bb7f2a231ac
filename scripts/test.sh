#!/usr/bin/env bash
# Quick start, step 2: run the whole test suite through ctest: lit + FileCheck, unit tests,
# every example config compiled to a binary, and the GPU tests (without a GPU they print
# "skipped: no GPU" and ctest counts them as skipped, not passed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
cmake --build build
status=0
ctest --test-dir build --output-on-failure -j2 || status=$?
log=build/Testing/Temporary/LastTest.log
if [ -f "$log" ] && grep -q "skipped: no GPU" "$log"; then
  echo "GPU tests not run here:"
  grep -h "skipped: no GPU" "$log" | sort | uniq -c
fi
exit $status
