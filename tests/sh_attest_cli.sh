#!/bin/bash
# `ward attest` and `ward verify` as a user meets them: software-TEE evidence round trip, the
# exit statuses scripts rely on, nonces, tampering, the EAR JWT, and Gramine emulation with a
# real SGX quote (refused because it does not bind this node's key -- it was made elsewhere).
# Usage: bash sh_attest_cli.sh WARD_BIN BUILD_DIR
set -u
WARD=${1:?ward binary}
VEC=${WARD_VECTORS:-$(dirname "$0")/../../shared/vectors}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_DATA_HOME="$T/xdg"
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
# expect STATUS NAME CMD...: runs CMD, output in $T/out, checks the exit status.
expect() {
    local want=$1 name=$2
    shift 2
    "$@" >"$T/out" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then pass "$name"; else fail "$name (exit $rc, want $want)"; sed 's/^/    /' "$T/out"; fi
}
has() { if grep -q -- "$1" "$T/out"; then pass "$2"; else fail "$2 (no '$1')"; sed 's/^/    /' "$T/out"; fi; }

if ! "$WARD" attest --help >/dev/null 2>&1; then
    echo "FAIL: '$WARD attest' is not available (cmd_attest/cmd_verify not registered in main.c?)"
    exit 1
fi
expect 0 "attest --help" "$WARD" attest --help
has "root" "attest help says root is trusted"
expect 0 "verify --help" "$WARD" verify --help
expect 2 "attest bad option" "$WARD" attest --bogus x
expect 2 "attest bad nonce" "$WARD" attest --nonce zz
expect 2 "attest nonce too long" "$WARD" attest --nonce "$(printf '%0130d' 0)"
expect 2 "attest both report-data and nonce" "$WARD" attest --nonce 00 --report-data 00
expect 2 "attest bad provider" "$WARD" attest --provider tpm
expect 2 "verify without evidence" "$WARD" verify
expect 2 "verify bad --at" "$WARD" verify x --at yesterday

N=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
D="$T/node"
expect 0 "attest (software TEE)" "$WARD" attest --data-dir "$D" --nonce $N --provider none --out "$T/ev.json"
has "root on this node is trusted" "attest says root is trusted"
CERT="$D/platform-cert.pem"

expect 1 "verify without an anchor is refused" "$WARD" verify "$T/ev.json"
has "no trust anchor" "reason: no trust anchor"
expect 1 "default policy: warning is not accepted" "$WARD" verify "$T/ev.json" --trust-cert "$CERT"
has "SOFTWARE TEE" "result says software TEE"
has "whoever is root on the node are trusted" "result says root is trusted"
has "appraisal: warning" "software TEE is warning"
has "NOT ACCEPTED" "not accepted"
expect 0 "--accept-warning" "$WARD" verify "$T/ev.json" --trust-cert "$CERT" --accept-warning --nonce $N
has "result: ACCEPTED" "accepted with --accept-warning and the nonce"
expect 1 "wrong nonce" "$WARD" verify "$T/ev.json" --trust-cert "$CERT" --accept-warning --nonce ff$N
expect 0 "evidence from stdin" sh -c "'$WARD' verify - --trust-cert '$CERT' --accept-warning <'$T/ev.json'"

# another node's certificate
expect 0 "second node" "$WARD" attest --data-dir "$T/node2" --provider none --out "$T/ev2.json"
expect 1 "wrong anchor" "$WARD" verify "$T/ev.json" --trust-cert "$T/node2/platform-cert.pem" --accept-warning
has "not pinned" "reason: not pinned"

# tampering: flip one character of the signature
python3 - "$T/ev.json" "$T/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["signature"]
d["signature"] = ("B" if s[10] != "B" else "C").join([s[:10], s[11:]])
json.dump(d, open(sys.argv[2], "w"))
PY
expect 1 "tampered signature" "$WARD" verify "$T/bad.json" --trust-cert "$CERT" --accept-warning
has "REFUSED" "tampered: refused"
echo '{"version":1}' >"$T/junk.json"
expect 1 "malformed bundle" "$WARD" verify "$T/junk.json" --trust-cert "$CERT"

# EAR JWT
expect 1 "--json (warning, not accepted)" "$WARD" verify "$T/ev.json" --trust-cert "$CERT" --json --data-dir "$T/verifier"
if grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$T/out"; then pass "EAR JWT printed"; else fail "EAR JWT printed"; cat "$T/out"; fi
[ -f "$T/verifier/verifier-key.pem" ] && pass "verifier key created" || fail "verifier key created"
expect 0 "--json --accept-warning" "$WARD" verify "$T/ev.json" --trust-cert "$CERT" --json --accept-warning --verifier-key "$T/verifier/verifier-key.pem"

# Hardware providers: configfs absent -> error when forced; auto -> software only.
expect 1 "configfs forced but absent" "$WARD" attest --data-dir "$D" --provider configfs --configfs-root "$T/none"
has "no TEE report provider" "configfs absence reported"
expect 0 "auto without TEE interfaces" "$WARD" attest --data-dir "$D" --configfs-root "$T/none" --gramine-root "$T/none" --out "$T/auto.json"
grep -q '"hw":null' "$T/auto.json" && pass "auto: hw null" || fail "auto: hw null"

# Gramine emulation with a real SGX quote.
if [ -f "$VEC/sgx/phala_sgx_v3_quote.bin" ]; then
    G="$T/attestation"
    mkdir -p "$G"
    printf dcap >"$G/attestation_type"
    : >"$G/user_report_data"
    cp "$VEC/sgx/phala_sgx_v3_quote.bin" "$G/quote"
    expect 0 "attest via Gramine" "$WARD" attest --data-dir "$D" --provider gramine --gramine-root "$G" --nonce $N --out "$T/sgx.json"
    has "sgx hardware evidence from gramine" "Gramine evidence"
    [ "$(stat -c %s "$G/user_report_data")" = 64 ] && pass "user_report_data written" || fail "user_report_data written"
    expect 1 "real SGX quote does not bind our key" "$WARD" verify "$T/sgx.json" --collateral "$VEC/sgx/phala_sgx_collateral.json" --at 2025-07-19T10:01:17Z
    has "does not bind the platform key" "reason: binding"
    expect 1 "SGX evidence without collateral" "$WARD" verify "$T/sgx.json"
    has "no SGX collateral" "reason: no collateral"
else
    fail "vectors not found at $VEC"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
