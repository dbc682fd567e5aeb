#!/usr/bin/env bash
# wardd serves attested TLS (docs/api.md, "Transport"): a standard TLS 1.3 client sees a
# certificate whose evidence verifies against the node's platform certificate and whose
# report_data is SHA-256 of that very certificate's key; TLS 1.2 is refused.
# Usage: bash sh_wardd_attested_tls.sh WARD_BIN BUILD_DIR
set -euo pipefail
WARD=$1
BUILD=$2
WARDD=$BUILD/wardd
HELPER=$BUILD/tests/test_channel
[ -x "$WARDD" ] || { echo "missing $WARDD"; exit 1; }
[ -x "$HELPER" ] || { echo "missing $HELPER"; exit 1; }
command -v openssl >/dev/null || { echo "SKIP: no openssl binary"; exit 0; }

TMP=$(mktemp -d)
SRV=""
cleanup() {
  if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
chmod 700 "$TMP"
fail() { echo "FAIL: $*"; [ -f "$TMP/wardd.log" ] && sed 's/^/    /' "$TMP/wardd.log"; exit 1; }

"$WARDD" --foreground --data-dir "$TMP/node" --listen 127.0.0.1:0 --port-file "$TMP/port.json" \
  >/dev/null 2>"$TMP/wardd.log" &
SRV=$!
for _ in $(seq 1 150); do [ -s "$TMP/port.json" ] && break; sleep 0.1; done
[ -s "$TMP/port.json" ] || fail "wardd did not start"
PORT=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$TMP/port.json")
[ -n "$PORT" ] || fail "no port in $(cat "$TMP/port.json")"

printf 'GET /healthz HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
  -ign_eof >"$TMP/s_client.out" 2>&1 || true
grep -q '"status":"ok"\|"status": "ok"' "$TMP/s_client.out" || fail "no /healthz answer over TLS 1.3"
openssl x509 -in "$TMP/s_client.out" -out "$TMP/peer.pem" || fail "no certificate"

if printf '' | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 >/dev/null 2>&1 </dev/null; then
  fail "TLS 1.2 accepted"
fi

"$HELPER" --extract "$TMP/peer.pem" "$TMP/evidence.json" || fail "no evidence in wardd's certificate"
SPKI_HASH=$(openssl x509 -in "$TMP/peer.pem" -pubkey -noout | openssl pkey -pubin -outform DER \
  | openssl dgst -sha256 -r | cut -d' ' -f1)
"$WARD" verify "$TMP/evidence.json" --trust-cert "$TMP/node/platform-cert.pem" \
  --nonce "$SPKI_HASH" --accept-warning >"$TMP/verify.out" 2>&1 ||
  { cat "$TMP/verify.out"; fail "ward verify refused wardd's evidence"; }
grep -qi 'software tee' "$TMP/verify.out" || fail "verify output does not say it is a software TEE"
OTHER=$(printf 'x' | openssl dgst -sha256 -r | cut -d' ' -f1)
if "$WARD" verify "$TMP/evidence.json" --trust-cert "$TMP/node/platform-cert.pem" \
  --nonce "$OTHER" --accept-warning >/dev/null 2>&1; then
  fail "evidence accepted for another key"
fi
echo "PASS: wardd's certificate carries software-TEE evidence bound to its key"
