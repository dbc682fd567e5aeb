#!/usr/bin/env bash
# The main job: install what Ward needs, build it (hardened release build), run `ward demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARD_TESTS=OFF \
      -DWARD_BENCH=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target ward >/dev/null
exec build/release/ward demo "$@"
