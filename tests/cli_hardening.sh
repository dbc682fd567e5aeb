#!/usr/bin/env bash
# The built binary and shared library carry the hardening the build promises: PIE, full RELRO
# (BIND_NOW), non-executable stack, stack protector, and, outside sanitizer builds,
# FORTIFY_SOURCE checked functions. CET: every object Ward compiles is marked IBT+SHSTK
# (-fcf-protection=full); the linked programs are not, because Debian 12's glibc start files
# (crt1.o, crti.o) carry no CET note and the linker keeps a note only if every input has it.
set -u
ward=$1 lib=$2 sanitize=$3 archive=$4
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for f in "$ward" "$lib"; do
    hdr=$(readelf -h "$f") dyn=$(readelf -d "$f") seg=$(readelf -lW "$f")
    grep -q 'Type: *DYN' <<<"$hdr" || fail "$f is not position-independent"
    grep -q 'GNU_RELRO' <<<"$seg" || fail "$f has no RELRO segment"
    grep -Eq 'BIND_NOW|FLAGS_1.*NOW' <<<"$dyn" || fail "$f is not bound now (partial RELRO)"
    grep -q 'GNU_STACK.*RW ' <<<"$seg" || fail "$f has an executable stack"
done
if [ "$(uname -m)" = x86_64 ]; then
    members=$(ar t "$archive" | grep -c '\.o$')
    marked=$(readelf -n "$archive" | grep -c 'x86 feature: IBT, SHSTK')
    [ "$members" -gt 0 ] && [ "$marked" -eq "$members" ] ||
        fail "only $marked of $members objects in $archive are marked IBT+SHSTK"
fi
syms=$(nm -D "$lib"; nm "$ward" 2>/dev/null)
grep -q '__stack_chk_fail' <<<"$syms" || fail "no stack protector references"
if [ "$sanitize" = OFF ]; then
    grep -Eq '__(memcpy|snprintf|vsnprintf|memset|strcpy|fprintf|printf|memmove)_chk' \
        <<<"$(nm -D "$ward"; nm -D "$lib")" || fail "no FORTIFY_SOURCE checked functions"
fi
[ "$fails" -eq 0 ] && echo "cli_hardening: all checks passed"
exit $((fails > 0))
