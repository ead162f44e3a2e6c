#!/usr/bin/env bash
# Sets up, builds and runs every test: the concurrency tests under ThreadSanitizer first
# (build-tsan), then the whole suite (unit, kernel, golden, streaming, CLI) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGERUN_BUILD_TESTS=OFF \
  -DEDGERUN_BUILD_BENCH=OFF -DEDGERUN_TSAN_TESTS=ON >/dev/null
cmake --build build-tsan -j"$(nproc)" --target edgerun_tsan_tests
# EDGERUN_CACHE_DIR: an empty bandwidth record, as CTest gives the main suite.
EDGERUN_CACHE_DIR="$PWD/build-tsan/test-cache" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" ./build-tsan/edgerun_tsan_tests --gtest_brief=1
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600
