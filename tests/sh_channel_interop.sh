#!/usr/bin/env bash
# Attested TLS interoperability (docs/channel.md): standard TLS clients (the openssl binary,
# curl) connect to a Ward one-way attested server when told to skip CA checks; TLS 1.2 is
# refused; and `ward verify` checks the evidence carried by the certificate the client saw,
# including that its report_data is SHA-256 of that certificate's SubjectPublicKeyInfo.
# Usage: bash sh_channel_interop.sh WARD_BIN BUILD_DIR
set -euo pipefail
WARD=$1
BUILD=$2
HELPER=$BUILD/tests/test_channel
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

"$HELPER" --serve "$TMP" 2>"$TMP/server.log" &
SRV=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || { echo "server did not start"; cat "$TMP/server.log"; exit 1; }
PORT=$(cat "$TMP/port")
fail() { echo "FAIL: $*"; exit 1; }

# 1. openssl s_client, TLS 1.3: connects, shows the certificate; we keep it.
printf 'GET / HTTP/1.0\r\n\r\n' | openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
  -ign_eof >"$TMP/s_client.out" 2>&1 || true
grep -q 'Protocol *: TLSv1.3\|New, TLSv1.3' "$TMP/s_client.out" || fail "s_client: no TLS 1.3 session"
grep -q 'hello from ward' "$TMP/s_client.out" || fail "s_client: no reply"
openssl x509 -in "$TMP/s_client.out" -out "$TMP/peer.pem" || fail "s_client: no certificate"
openssl x509 -in "$TMP/peer.pem" -noout -text | grep -q '2.23.133.5.4.9' \
  || fail "certificate lacks the tagged-evidence extension"
echo "ok: openssl s_client TLS 1.3"

# 2. TLS 1.2 is refused.
if printf '' | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 >"$TMP/s12.out" 2>&1 &&
   grep -q 'Protocol *: TLSv1.2' "$TMP/s12.out"; then
  fail "TLS 1.2 was accepted"
fi
echo "ok: TLS 1.2 refused"

# 3. curl (skip CA checks: -k).
if command -v curl >/dev/null; then
  BODY=$(curl -sk --tlsv1.3 "https://127.0.0.1:$PORT/")
  [ "$BODY" = "hello from ward" ] || fail "curl: got '$BODY'"
  if curl -sk --tls-max 1.2 "https://127.0.0.1:$PORT/" >/dev/null 2>&1; then
    fail "curl over TLS 1.2 succeeded"
  fi
  echo "ok: curl -k"
fi

# 4. ward verify checks the evidence the client saw, bound to that certificate's key.
"$HELPER" --extract "$TMP/peer.pem" "$TMP/evidence.json" || fail "extract"
SPKI_HASH=$(openssl x509 -in "$TMP/peer.pem" -pubkey -noout | openssl pkey -pubin -outform DER \
  | openssl dgst -sha256 -r | cut -d' ' -f1)
"$WARD" verify "$TMP/evidence.json" --trust-cert "$TMP/platform.pem" --nonce "$SPKI_HASH" \
  --accept-warning >"$TMP/verify.out" 2>&1 || { cat "$TMP/verify.out"; fail "ward verify"; }
# The same evidence with another key's hash is refused.
OTHER=$(printf 'x' | openssl dgst -sha256 -r | cut -d' ' -f1)
if "$WARD" verify "$TMP/evidence.json" --trust-cert "$TMP/platform.pem" --nonce "$OTHER" \
  --accept-warning >/dev/null 2>&1; then
  fail "ward verify accepted evidence for another key"
fi
echo "ok: ward verify (report_data = SHA-256(SPKI) of the certificate s_client saw)"
echo "PASS"
