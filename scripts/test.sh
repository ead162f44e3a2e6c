#!/usr/bin/env bash
# Sets up, builds and runs every test, in stages, each under a time limit and each timed:
#   0. the layering check (scripts/check_layering.py);
#   1. the whole suite with CTest (build/: unit, op harness, golden, streaming, CLI, layering,
#      install);
#   2. the concurrency tests under ThreadSanitizer (build-tsan/);
#   3. the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer with LeakSanitizer
#      (build-asan/).
# The sanitizer stages run with EDGERUN_GUARD_FREED=1: released budget memory is unmapped
# (PROT_NONE), so a buffer read after its release faults whether or not the sanitizer sees it
# (TSan cannot see inside OpenBLAS; tests/tsan.supp).
# Temporary models go to build/tmp (TMPDIR), on the disk: the direct-I/O paths need a
# filesystem that takes O_DIRECT, which tmpfs did not before Linux 6.6.
# Usage: bash scripts/test.sh [--skip-asan]
set -euo pipefail
cd "$(dirname "$0")/.."
skip_asan=0
[[ "${1:-}" == "--skip-asan" ]] && skip_asan=1
jobs=$(nproc)
times=()

stage() {  # stage NAME LIMIT_SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  echo "test.sh: stage '$name' (limit ${limit} s)" >&2
  if ! timeout -k 30 "$limit" "$@"; then
    echo "test.sh: stage '$name' FAILED after $((SECONDS - t0)) s" >&2
    exit 1
  fi
  times+=("$name: $((SECONDS - t0)) s")
}

fresh_tmp() {  # an empty TMPDIR under the build folder, so no stage sees another's leftovers
  export TMPDIR="$PWD/$1/tmp"
  rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
}

left_clean() {  # tests remove the models and files they make: a leftover fails the run
  local left
  left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | head -n 5)
  if [[ -n "$left" ]]; then
    echo "test.sh: tests left files in $TMPDIR:" >&2
    echo "$left" >&2
    exit 1
  fi
}

stage "setup and build" 1800 bash scripts/setup.sh
# The serve test's client: PyPI's tritonclient[http] in a venv of the project's own. A failed
# install fails here (the test needs it; it never skips).
stage "test tools" 600 bash scripts/setup_test_tools.sh
# Every #include against the module table (cmake/layering.txt), naming the offending line.
stage "layering" 60 python3 scripts/check_layering.py
fresh_tmp build
stage "ctest" 1200 ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300
left_clean

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGERUN_BUILD_TESTS=OFF \
  -DEDGERUN_BUILD_BENCH=OFF -DEDGERUN_TSAN_TESTS=ON >/dev/null
stage "tsan build" 1800 cmake --build build-tsan -j"$jobs" --target edgerun_tsan_tests
fresh_tmp build-tsan
# EDGERUN_CACHE_DIR: an empty bandwidth record, as CTest gives the main suite.
stage "tsan tests" 1200 env EDGERUN_CACHE_DIR="$PWD/build-tsan/test-cache" EDGERUN_GUARD_FREED=1 \
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
  ./build-tsan/edgerun_tsan_tests --gtest_brief=1
left_clean

if ((skip_asan == 0)); then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGERUN_SANITIZE=ON -DEDGERUN_BUILD_BENCH=OFF >/dev/null
  stage "asan+ubsan build" 2400 cmake --build build-asan -j"$jobs"
  fresh_tmp build-asan
  stage "asan+ubsan tests" 1800 env EDGERUN_GUARD_FREED=1 \
    ASAN_OPTIONS="detect_leaks=1 halt_on_error=1 abort_on_error=0 strict_string_checks=1 detect_stack_use_after_return=1" \
    UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
  left_clean
fi
rm -rf build/tmp build-tsan/tmp build-asan/tmp
printf 'test.sh: all stages passed:\n' >&2
printf '  %s\n' "${times[@]}" >&2
