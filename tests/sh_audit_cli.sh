#!/usr/bin/env bash
# `ward audit verify | export | prune` as an operator meets them: output, exit codes, a hand
# edit named by seq. Usage: bash sh_audit_cli.sh WARD_BIN BUILD_DIR
# The node data directory and its audit log are made by `test_audit --make-fixture` (the
# platform key of ward_rot, records appended through the library), and edited by
# `test_audit --tamper DIR SEQ` (the actor of one record changed through SQLite).
set -euo pipefail
ward=$1
build=$2
fixture=$build/tests/test_audit
[ -x "$fixture" ] || { echo "sh_audit_cli: $fixture not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$tmp/node
fail() { echo "sh_audit_cli: FAIL: $*" >&2; exit 1; }
# expect CODE CMD...: runs CMD, stdout to $tmp/out, stderr to $tmp/err, checks the exit code.
expect() {
  local want=$1; shift
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  set -e
  if [ "$rc" -ne "$want" ]; then
    echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
    fail "'$*' exited $rc, expected $want"
  fi
}
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }

"$fixture" --make-fixture "$dir" 25 || fail "making the fixture"

# help and usage
expect 0 "$ward" audit --help
grep -q "verify" "$tmp/out" || fail "audit --help does not list verify"
expect 0 "$ward" audit verify --help
grep -q "exit status" "$tmp/out" || fail "verify --help"
expect 2 "$ward" audit
expect 2 "$ward" audit frobnicate
expect 2 "$ward" audit verify --bogus
expect 2 "$ward" audit verify --data-dir

# verify: intact
expect 0 "$ward" audit verify --data-dir "$dir"
grep -q "audit log intact: 25 records (seq 1..25)" "$tmp/out" || fail "verify output: $(cat "$tmp/out")"
grep -q "platform key: [0-9a-f]\{64\}" "$tmp/out" || fail "verify does not name the key"
expect 0 "$ward" audit verify --data-dir "$dir" --json
[ "$(json_get "$tmp/out" intact)" = "True" ] || fail "json intact"
[ "$(json_get "$tmp/out" records)" = "25" ] || fail "json records"
[ "$(json_get "$tmp/out" unanchored)" = "0" ] || fail "json unanchored"
expect 0 "$ward" --json audit verify --data-dir "$dir"
[ "$(json_get "$tmp/out" anchored_seq)" = "25" ] || fail "json anchored_seq"

# export: JSON lines
expect 0 "$ward" audit export --data-dir "$dir"
cp "$tmp/out" "$tmp/export.jsonl"
python3 - "$tmp/export.jsonl" <<'EOF' || fail "export is not valid JSON lines"
import json, sys
recs = ckpts = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d["type"] == "record":
        recs += 1
        assert d["seq"] == recs
        assert d["actor"] == "alice" and d["action"] == "task.create"
        assert d["details"] == {"slot": 1}
        assert len(d["hash"]) == 64 and len(d["prev_hash"]) == 64
    else:
        assert d["type"] == "checkpoint"
        ckpts += 1
        assert len(d["signature"]) == 128
assert recs == 25 and ckpts == 3, (recs, ckpts)
EOF
expect 0 "$ward" audit export --data-dir "$dir" --since 2999-01-01
[ ! -s "$tmp/out" ] || fail "export --since the future is not empty"
expect 0 "$ward" audit export --data-dir "$dir" --since 2000-01-01T00:00:00.000Z
[ "$(grep -c '"type":"record"' "$tmp/out")" = 25 ] || fail "export --since the past"
expect 0 "$ward" audit export --data-dir "$dir" --since 946684800
expect 2 "$ward" audit export --data-dir "$dir" --since yesterday
expect 2 "$ward" audit export --data-dir "$dir" --since 2026-02-30
expect 1 "$ward" audit export --data-dir "$tmp/nothing-here"

# prune: the minimum retention is enforced; nothing is old enough here
expect 2 "$ward" audit prune --data-dir "$dir" --older-than 10
grep -q "183" "$tmp/err" || fail "prune does not explain the minimum"
expect 2 "$ward" audit prune --data-dir "$dir" --older-than many
expect 0 "$ward" audit prune --data-dir "$dir"
grep -q "pruned 0 audit records older than 183 days" "$tmp/out" || fail "prune output"
expect 0 "$ward" audit verify --data-dir "$dir"

# the platform certificate of another node: every checkpoint fails
other=$tmp/other
"$fixture" --make-fixture "$other" 1 || fail "second fixture"
expect 1 "$ward" audit verify --data-dir "$dir" --cert "$other/platform-cert.pem"
grep -q "bad-signature" "$tmp/out" || fail "wrong key not reported"
expect 1 "$ward" audit verify --data-dir "$dir" --cert "$tmp/no-such.pem"

# a hand edit: named
"$fixture" --tamper "$dir" 7 || fail "tampering"
expect 1 "$ward" audit verify --data-dir "$dir"
grep -q "TAMPERED: first bad record: seq 7 (edited)" "$tmp/out" || fail "verify output: $(cat "$tmp/out")"
expect 1 "$ward" audit verify --data-dir "$dir" --json
[ "$(json_get "$tmp/out" intact)" = "False" ] || fail "json not intact"
[ "$(json_get "$tmp/out" bad_seq)" = "7" ] || fail "json bad_seq"
[ "$(json_get "$tmp/out" problem)" = "edited" ] || fail "json problem"
# and a tampered log is not pruned
expect 1 "$ward" audit prune --data-dir "$dir" --older-than 200
grep -q "refusing to prune" "$tmp/err" || fail "prune of a tampered log: $(cat "$tmp/err")"

# no log at all
mkdir -m 700 "$tmp/empty"
expect 1 "$ward" audit verify --data-dir "$tmp/empty"
echo "sh_audit_cli: ok"
