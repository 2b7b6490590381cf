#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the release and the sanitizer
# (ASan+UBSan) configurations, and runs every test in both with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs="$(nproc)"

echo "== release build and tests"
bash scripts/build.sh release
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300

echo "== sanitizer build (ASan+UBSan) and tests"
bash scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 600

echo "== fuzz pass (libFuzzer, 10 s per target)"
# A fixed seed, from the repository's seed corpus (libFuzzer still reads the corpus in directory
# order, so two machines do not explore exactly the same inputs). Any crash fails the run: fix it
# and add its input to tests/fuzz/corpus/<target>/. Longer runs: scripts/fuzz.sh 600.
if command -v clang++ >/dev/null; then
  FUZZ_FLAGS="${FUZZ_FLAGS:--seed=1}" bash scripts/fuzz.sh 10
else
  echo "skipped: clang++ not installed"
fi
