#!/usr/bin/env bash
# Every configuration change is an audit record (issue 8): each wardd start records its
# configuration (node.start, files by SHA-256), and a start whose configuration differs from
# the previous one's records config.change; an unchanged restart records none. The chain still
# verifies afterwards.
# Usage: bash sh_wardd_config_audit.sh WARD_BIN BUILD_DIR
set -euo pipefail
WARD=$1
BUILD=$2
WARDD=$BUILD/wardd
[ -x "$WARDD" ] || { echo "missing $WARDD"; exit 1; }

TMP=$(mktemp -d)
SRV=""
cleanup() {
  if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
chmod 700 "$TMP"
fail() { echo "FAIL: $*"; [ -f "$TMP/wardd.log" ] && sed 's/^/    /' "$TMP/wardd.log"; exit 1; }

# start_stop [wardd options...]: one start, then a clean stop (SIGTERM, exit status 0)
start_stop() {
  rm -f "$TMP/port.json"
  "$WARDD" --foreground --data-dir "$TMP/node" --listen 127.0.0.1:0 \
    --port-file "$TMP/port.json" "$@" >/dev/null 2>"$TMP/wardd.log" &
  SRV=$!
  for _ in $(seq 1 300); do [ -s "$TMP/port.json" ] && break; sleep 0.1; done
  [ -s "$TMP/port.json" ] || fail "wardd did not start"
  kill -TERM "$SRV"
  local st=0
  wait "$SRV" || st=$?
  SRV=""
  [ "$st" -eq 0 ] || fail "wardd exited with status $st"
}
count() { "$WARD" audit export --data-dir "$TMP/node" | grep -c "\"action\":\"$1\"" || true; }

printf '{"disk":{"threshold_percent":95}}\n' >"$TMP/alarms.json"
start_stop
[ "$(count node.start)" -eq 1 ] || fail "first start: node.start not recorded once"
[ "$(count config.change)" -eq 1 ] || fail "first start: no config.change from none"
start_stop
[ "$(count node.start)" -eq 2 ] || fail "second start not recorded"
[ "$(count config.change)" -eq 1 ] || fail "an unchanged restart recorded config.change"
start_stop --nonce-ttl 60
[ "$(count config.change)" -eq 2 ] || fail "a changed option was not recorded"
"$WARD" audit export --data-dir "$TMP/node" | grep '"action":"node.start"' | tail -1 |
  grep -q 'nonce_ttl_s[^0-9]*60' || fail "node.start does not carry the new nonce TTL"
start_stop --nonce-ttl 60 --alarm-config "$TMP/alarms.json"
[ "$(count config.change)" -eq 3 ] || fail "a new alarm configuration file was not recorded"
H=$(sha256sum "$TMP/alarms.json" | cut -d' ' -f1)
"$WARD" audit export --data-dir "$TMP/node" | grep '"action":"node.start"' | tail -1 |
  grep -q "$H" || fail "node.start does not name the alarm file's SHA-256"
"$WARD" audit verify --data-dir "$TMP/node" >/dev/null || fail "the audit chain does not verify"
echo "PASS: every start records its configuration; every change, and only a change, is a config.change"
