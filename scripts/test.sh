#!/usr/bin/env bash
# Quick start, step 2: run the whole test suite through ctest: lit + FileCheck, unit tests,
# every example config compiled to a binary, and the GPU tests (without a GPU they print
# "skipped: no GPU" and ctest counts them as skipped, not passed); then the unit tests again,
# built with AddressSanitizer + UBSan (build-asan/, host code only), so that a memory error fails
# the run instead of depending on the heap's luck.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
cmake --build build
status=0
ctest --test-dir build --output-on-failure -j2 || status=$?

cmake -G Ninja -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLLC_SANITIZE=ON >/dev/null
cmake --build build-asan --target runtime_engine_test runtime_data_test tokenizer_test engine_mock_program
echo "unit tests under AddressSanitizer + UBSan:"
ctest --test-dir build-asan -R '^unit[.]' --output-on-failure -j2 || status=$?
log=build/Testing/Temporary/LastTest.log
if [ -f "$log" ] && grep -q "skipped: no GPU" "$log"; then
  echo "GPU tests not run here:"
  grep -h "skipped: no GPU" "$log" | sort | uniq -c
fi
exit $status
