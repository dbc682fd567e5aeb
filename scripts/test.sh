#!/usr/bin/env bash
# Every test: install what Ward needs, then
#   1. the hardened release build (gcc, FORTIFY_SOURCE=3) and its tests,
#   2. the AddressSanitizer + UndefinedBehaviorSanitizer build (clang, with the libFuzzer
#      targets and their smoke runs) and its tests, whose CTest summary closes the output.
# Exits non-zero if anything fails to build or any test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
jobs=$(nproc)

echo "== release build (hardened) =="
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$jobs"
(cd build/release && ctest --output-on-failure -j"$jobs")
echo "== the README's main job (scripts/demo.sh) =="
scripts/demo.sh >build/release/demo.log 2>&1 || { cat build/release/demo.log; exit 1; }
echo "demo: ok"

echo "== sanitizer build (ASan + UBSan, fuzz smoke runs) =="
cmake -S . -B build/sanitize -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DWARD_SANITIZE=ON -DWARD_FUZZ=ON -DWARD_BENCH=OFF >/dev/null
cmake --build build/sanitize -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build/sanitize
ctest --output-on-failure -j"$jobs"
