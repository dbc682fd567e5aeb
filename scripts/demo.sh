#!/usr/bin/env bash
# The main job: install what Ward needs, build it (hardened release build), run `ward demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
# The same release build tree as scripts/test.sh, so neither rebuilds what the other built.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target ward >/dev/null
exec build/release/ward demo "$@"
