#!/usr/bin/env bash
# `ward ear verify` on the EAR vectors (shared/vectors/ear, SOURCES-ear.md): the valid
# Veraison results are accepted with the Veraison key at their time; a result whose header
# carries another key is refused with the Veraison key; every malformed token is refused;
# usage errors exit 2. (test_ear checks the Trustee token with its own key.)
set -u
ward=$1
V=${WARD_VECTORS:-../shared/vectors}/ear
key=$V/verifier_pub.jwk.json
at=1666091373
fails=0
expect() { # want, description, args...
    local want=$1 what=$2; shift 2
    local out got
    out=$("$ward" ear verify "$@" 2>&1); got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' <<<"$out"
        fails=$((fails + 1))
    fi
}
for t in ear_ok_veraison_extns ear_ok_trustvector ear_ok_trustvector_jwk_in_header; do
    expect 0 "$t" "$V/$t.jwt" --key "$key" --at "$at"
done
expect 1 "trustee token with the Veraison key" \
    "$V/ear_ok_trustee_cca_realm_jwk_in_header.jwt" --key "$key" --at 2025-07-09T11:05:39Z
for t in ear_bad_alg_none ear_bad_hs256_alg ear_bad_format_leading_dot ear_bad_empty_claims \
         ear_bad_trailing_rubbish; do
    expect 1 "$t" "$V/$t.jwt" --key "$key" --at "$at"
done
expect 2 "missing --key" "$V/ear_ok_trustvector.jwt"
expect 2 "no file" --key "$key"
expect 1 "missing file" /nonexistent.jwt --key "$key"
[ "$fails" -eq 0 ] && echo "sh_ear_cli: all checks passed"
exit $((fails > 0))
