#!/usr/bin/env bash
# `cmake --install` puts headers, libraries, the command and ward.pc in place, and a program
# built with `pkg-config ward` alone links and runs against the installed library.
set -u
build=$1 cc=$2 extra_flags=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null || { echo "FAIL: install"; exit 1; }
for f in include/ward/err.h include/ward/crypto.h include/ward/stream.h include/ward/ta.h bin/ward; do
    [ -e "$tmp/prefix/$f" ] || fail "missing $f"
done
pc=$(find "$tmp/prefix" -name ward.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no ward.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
ls "$libdir"/libward.a "$libdir"/libward.so >/dev/null 2>&1 || fail "libraries not in $libdir"
# What a TA developer needs from an installed Ward (docs/sdk.md).
[ -e "$libdir/libward-ta.a" ] || fail "libward-ta.a not installed"
[ -e "$(dirname "$pc")/ward-ta.pc" ] || fail "ward-ta.pc not installed"
[ -e "$libdir/cmake/ward/WardTA.cmake" ] || fail "WardTA.cmake not installed"
[ -e "$libdir/cmake/ward/WardGen.cmake" ] || fail "WardGen.cmake not installed"
[ -x "$tmp/prefix/bin/ward-gen" ] || fail "ward-gen not installed"
[ -x "$tmp/prefix/bin/wardd" ] || fail "wardd not installed"
cat >"$tmp/use.c" <<'C'
#include <stdio.h>
#include <ward/crypto.h>
int main(void)
{
    uint8_t d[WARD_SHA256_LEN];
    if (ward_hash(WARD_HASH_SHA256, "abc", 3, d) != WARD_OK) return 1;
    printf("%02x%02x\n", d[0], d[1]);
    return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046,SC2086
$cc $extra_flags -o "$tmp/use" "$tmp/use.c" $(pkg-config --cflags --libs ward) \
    || fail "cannot build a program with pkg-config ward"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/use") || fail "installed program does not run"
[ "$out" = "ba78" ] || fail "installed library computed '$out', expected ba78"
[ "$fails" -eq 0 ] && echo "cli_install: all checks passed"
exit $((fails > 0))
