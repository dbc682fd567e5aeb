#!/usr/bin/env bash
# The participants' command line (docs/cli.md) end to end: three identities, a node started
# with `ward node start` on a temporary data directory and an ephemeral port, the parties
# enrolled for RBAC, an sql task through create / show / sign / upload / run / result (the CSV
# content checked), and the refusals a participant meets: upload by a non-owner, result by a
# non-recipient, cancel by a non-participant, a tampered manifest file, loose key permissions,
# an unaccepted software-TEE policy; --help of every verb and --json output that parses.
# Usage: bash sh_task_cli.sh WARD_BIN BUILD_DIR
set -u
WARD=$1
BUILD=$2
[ -x "$BUILD/wardd" ] || { echo "missing $BUILD/wardd"; exit 1; }

T=$(mktemp -d)
chmod 700 "$T"
D=$T/node
export XDG_CONFIG_HOME=$T/config
unset WARD_NODE WARD_ID
cleanup() {
    "$WARD" node stop --data-dir "$D" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
OUT=$T/out
fail() { echo "FAIL: $*"; sed 's/^/    /' "$OUT"; fails=$((fails + 1)); }
expect() { # exit code, description, command...
    local want=$1 what=$2; shift 2
    "$@" >"$OUT" 2>&1
    local got=$?
    [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want"
}
contains() { grep -q -- "$2" "$OUT" || fail "$1: output lacks '$2'"; }
# Parses JSON with whatever is installed (python3 or jq); without either, a shape check.
json_ok() { # description, file
    if command -v python3 >/dev/null; then
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$2" 2>/dev/null ||
            fail "$1: not JSON"
    elif command -v jq >/dev/null; then
        jq . "$2" >/dev/null 2>&1 || fail "$1: not JSON"
    else
        head -c1 "$2" | grep -q '{' && tail -c2 "$2" | grep -q '}' || fail "$1: not JSON"
    fi
}
json_stdout() { # description, command... (stdout only must be JSON)
    local what=$1; shift
    "$@" >"$T/json" 2>"$OUT" || fail "$what: exit $?"
    json_ok "$what" "$T/json"
}

# ---- help and usage ----
expect 0 "task --help" "$WARD" task --help; contains "task --help" "usage: ward task"
for v in create show sign upload run status cancel result; do
    expect 0 "task $v --help" "$WARD" task "$v" --help
    contains "task $v --help" "usage: ward task $v"
done
expect 0 "id --help" "$WARD" id --help; contains "id --help" "usage: ward id"
expect 0 "node --help" "$WARD" node --help; contains "node --help" "usage: ward node"
expect 2 "task unknown verb" "$WARD" task frob
expect 2 "task unknown option" "$WARD" task status --frob x
expect 2 "create without function" "$WARD" task create --id x
expect 2 "upload without args" "$WARD" task upload

# ---- identities ----
for p in alice bob carol mallory; do
    expect 0 "id new $p" "$WARD" id new "$p"; contains "id new $p" "identity:"
done
ID=$XDG_CONFIG_HOME/ward/id
[ "$(stat -c %a "$ID/alice/key.pem")" = 600 ] || fail "key.pem is not 0600"
[ "$(stat -c %a "$ID/alice/x25519.key")" = 600 ] || fail "x25519.key is not 0600"
expect 1 "id new refuses to overwrite" "$WARD" id new alice; contains "overwrite" "refusing"
json_stdout "id show --json" "$WARD" id show bob --json
cp "$T/json" "$T/bob.card"
expect 0 "id show card" "$WARD" id show "$T/bob.card"; contains "id show card" "x25519:"

# ---- the node ----
json_stdout "node start --json" "$WARD" node start --data-dir "$D" --listen 127.0.0.1:0 --json
[ -s "$D/node.json" ] || { fail "node start: no node file"; exit 1; }
expect 1 "second node start refused" "$WARD" node start --data-dir "$D" --listen 127.0.0.1:0
for p in alice bob mallory; do
    "$WARD" user add "$p" --role data-provider --no-password --data-dir "$D" >/dev/null &&
        "$WARD" user cert add "$p" "$ID/$p/cert.pem" --data-dir "$D" >/dev/null ||
        fail "enrol $p"
done
"$WARD" user add carol --role result-consumer --no-password --data-dir "$D" >/dev/null &&
    "$WARD" user cert add carol "$ID/carol/cert.pem" --data-dir "$D" >/dev/null ||
    fail "enrol carol"
N=(--node "$D/node.json" --trust-cert "$D/platform-cert.pem" --accept-warning)

expect 0 "node status" "$WARD" node status "${N[@]}"
contains "node status" "healthy"
contains "node status" "binds this TLS key"
contains "node status" "NOT from the node machine's root"
json_stdout "node status --json" "$WARD" node status "${N[@]}" --json
# The default policy does not accept a software TEE: the attested-TLS handshake says why.
expect 1 "default policy refuses the software TEE" "$WARD" node status --node "$D/node.json" \
    --trust-cert "$D/platform-cert.pem"
contains "default policy refuses the software TEE" "warning"
expect 1 "no way to authenticate the node" "$WARD" node status --node "127.0.0.1:1"
contains "no way to authenticate the node" "cannot authenticate"

# ---- create, show, sign ----
{ printf 'id,name\n1,ann\n2,bo\n3,cy\n'; i=10; while [ $i -lt 2000 ]; do echo "$i,n$i"; i=$((i + 1)); done; } >"$T/a.csv"
printf 'id,amount\n1,10\n1,5\n3,7\n4,100\n' >"$T/b.csv"
Q='SELECT a.name AS name, SUM(CAST(b.amount AS INTEGER)) AS total FROM a JOIN b ON b.id = a.id GROUP BY a.name ORDER BY a.name'
json_stdout "task create --json" "$WARD" task create --id carol --function sql --query "$Q" \
    --input a=alice --input b="$T/bob.card" --recipient carol --expires 2h \
    --out "$T/task.json" "${N[@]}" --json
grep -q '"state": "created"' "$T/json" || fail "create: not created on the node"
TASK=$(sed -n 's/.*"task_id": "\([0-9a-f]*\)".*/\1/p' "$T/json" | head -1)
[ ${#TASK} -eq 32 ] || fail "create: no task id"
expect 1 "create refuses to overwrite" "$WARD" task create --id carol --function sql --query "$Q" \
    --input a=alice --recipient carol --out "$T/task.json" --no-post
expect 0 "show" "$WARD" task show "$T/task.json"
contains "show" "valid     .* carol (creator, recipient)"
contains "show" "missing   .* alice (owner of slot a)"
contains "show" "SELECT a.name"
json_stdout "show --json" "$WARD" task show "$T/task.json" --json

chmod 644 "$ID/alice/key.pem"
expect 1 "loose key permissions refused" "$WARD" task sign "$T/task.json" --id alice "${N[@]}"
contains "loose key permissions refused" "others may read it"
chmod 600 "$ID/alice/key.pem"
expect 0 "sign alice" "$WARD" task sign "$T/task.json" --id alice "${N[@]}"
contains "sign alice" "1 signature missing"
expect 0 "sign bob" "$WARD" task sign "$T/task.json" --id bob "${N[@]}"
contains "sign bob" "is approved"
expect 1 "sign by a non-participant" "$WARD" task sign "$T/task.json" --id mallory --no-post

# A manifest changed after signing: its signatures no longer verify.
sed 's/"max_bytes":1073741824/"max_bytes":1073741823/' "$T/task.json" >"$T/tampered.json"
cmp -s "$T/task.json" "$T/tampered.json" && fail "tampering did not change the file"
expect 1 "show tampered" "$WARD" task show "$T/tampered.json"; contains "show tampered" "INVALID"
expect 1 "sign tampered" "$WARD" task sign "$T/tampered.json" --id alice "${N[@]}"
contains "sign tampered" "does not verify"
expect 1 "upload with a tampered manifest" "$WARD" task upload "$T/tampered.json" a "$T/a.csv" \
    --id alice "${N[@]}"
contains "upload with a tampered manifest" "another manifest"

# ---- upload ----
expect 1 "upload by a non-owner" "$WARD" task upload "$T/task.json" a "$T/a.csv" --id bob "${N[@]}"
contains "upload by a non-owner" "403 forbidden"
expect 1 "upload without an anchor" "$WARD" task upload "$T/task.json" a "$T/a.csv" --id alice \
    --node "$D/node.json"
contains "upload without an anchor" "no trust anchor"
# A lost reply: the client sends the chunk again and resumes at the node's offset.
expect 0 "upload alice (lost reply)" env WARD_TEST_LOSE_REPLY=0 "$WARD" task upload \
    "$T/task.json" a "$T/a.csv" --id alice --chunk-size 4096 "${N[@]}"
contains "upload alice (lost reply)" "resuming there"
contains "upload alice (lost reply)" "evidence verified"
json_stdout "upload bob --json (lost final reply)" env WARD_TEST_LOSE_REPLY=0 "$WARD" task upload "$T/task.json" b "$T/b.csv" --id bob \
    "${N[@]}" --json
expect 1 "upload twice" "$WARD" task upload "$T/task.json" b "$T/b.csv" --id bob "${N[@]}"
contains "upload twice" "already complete"

# ---- cancel, status, run, result ----
expect 1 "cancel by a non-participant" "$WARD" task cancel "$TASK" --id mallory "${N[@]}"
contains "cancel by a non-participant" "403 forbidden"
json_stdout "status --json" "$WARD" task status "$TASK" --id alice "${N[@]}" --json
grep -q '"state": "collecting"' "$T/json" || fail "status: not collecting"
expect 1 "result before run" "$WARD" task result "$T/task.json" --id carol "${N[@]}"
expect 0 "run" "$WARD" task run "$T/task.json" --id carol "${N[@]}"; contains "run" "is done"
expect 1 "result by a non-recipient" "$WARD" task result "$T/task.json" --id alice "${N[@]}"
contains "result by a non-recipient" "403 forbidden"
expect 0 "result" "$WARD" task result "$T/task.json" --id carol --out "$T/result.csv" "${N[@]}"
contains "result" "result signature verified"
printf 'name,total\r\nann,15\r\ncy,7\r\n' >"$T/want.csv"
cmp -s "$T/result.csv" "$T/want.csv" || { fail "result CSV differs"; od -c "$T/result.csv" | head; }
[ "$(stat -c %a "$T/result.csv")" = 600 ] || fail "result file is not 0600"
json_stdout "result --json" "$WARD" task result "$T/task.json" --id carol "${N[@]}" --json
grep -q '"csv": "name,total' "$T/json" || fail "result --json lacks the CSV"
expect 0 "status after run" "$WARD" task status "$TASK" --id bob "${N[@]}"
contains "status after run" "TA instance destroyed"

# ---- a multi-chunk streamed upload ----
# Several MiB in PUTs of 700000 bytes (not a multiple of the 1 MiB read piece nor of the
# stream's 64 KiB chunks), the reply of the third lost; the other slot from a pipe. The
# result is every row of a, in order: byte for byte the input (CRLF lines, nothing quoted).
awk 'BEGIN { printf "id,name,pad\r\n"; for (i = 1; i <= 60000; i++)
    printf "%d,n%d,%s\r\n", i, i, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789" }' \
    >"$T/big.csv"
[ "$(stat -c %s "$T/big.csv")" -gt 4000000 ] || fail "big.csv is too small"
Q3='SELECT a.id, a.name, a.pad FROM a WHERE a.id NOT IN (SELECT id FROM b) ORDER BY CAST(a.id AS INTEGER)'
# Two recipients: carol and alice (who also reads results on this node); each gets its own copy.
"$WARD" user role add alice result-consumer --data-dir "$D" >/dev/null || fail "alice's second role"
expect 0 "create task 3" "$WARD" task create --id carol --function sql --query "$Q3" \
    --input a=alice --input b=bob --recipient carol --recipient alice --out "$T/task3.json" \
    "${N[@]}"
expect 0 "sign task 3 alice" "$WARD" task sign "$T/task3.json" --id alice "${N[@]}"
expect 0 "sign task 3 bob" "$WARD" task sign "$T/task3.json" --id bob "${N[@]}"
expect 2 "upload a chunk size the node refuses" "$WARD" task upload "$T/task3.json" a \
    "$T/big.csv" --id alice --chunk-size 20000000 "${N[@]}"
json_stdout "streamed upload (lost reply)" env WARD_TEST_LOSE_REPLY=2 "$WARD" task upload \
    "$T/task3.json" a "$T/big.csv" --id alice --chunk-size 700000 "${N[@]}" --json
grep -q "resuming there" "$OUT" || fail "streamed upload: did not resume"
grep -q "\"plaintext_bytes\": $(stat -c %s "$T/big.csv")," "$T/json" ||
    fail "streamed upload: plaintext_bytes"
grep -q "\"plaintext_sha256\": \"$(sha256sum "$T/big.csv" | cut -c1-64)\"" "$T/json" ||
    fail "streamed upload: plaintext_sha256 is not the file's"
grep -q '"chunks": [7-9],' "$T/json" || fail "streamed upload: not in 7..9 chunks"
printf 'id\n-1\n' | "$WARD" task upload "$T/task3.json" b - --id bob "${N[@]}" >"$OUT" 2>&1 ||
    fail "upload from a pipe"
expect 0 "run task 3" "$WARD" task run "$T/task3.json" --id carol "${N[@]}"
expect 0 "result task 3" "$WARD" task result "$T/task3.json" --id carol --out "$T/big.out" \
    "${N[@]}"
cmp -s "$T/big.csv" "$T/big.out" || fail "task 3: the result is not the input byte for byte"
"$WARD" task result "$T/task3.json" --id carol "${N[@]}" 2>"$OUT" | cmp -s - "$T/big.csv" ||
    fail "task 3: the result on stdout differs"
expect 0 "result task 3, second recipient" "$WARD" task result "$T/task3.json" --id alice \
    --out "$T/big.alice" "${N[@]}"
cmp -s "$T/big.csv" "$T/big.alice" || fail "task 3: the second recipient's result differs"
expect 1 "result task 3 by a non-recipient" "$WARD" task result "$T/task3.json" --id bob "${N[@]}"

# ---- cancel by quorum ----
expect 0 "create task 2" "$WARD" task create --id carol --function psi --key id --columns id \
    --input a=alice --input b=bob --recipient carol --cancel-quorum 2 --out "$T/task2.json" \
    "${N[@]}"
expect 0 "cancel vote 1" "$WARD" task cancel "$T/task2.json" --id alice "${N[@]}"
contains "cancel vote 1" "1 of 2 votes"
expect 0 "cancel vote 2" "$WARD" task cancel "$T/task2.json" --id carol "${N[@]}"
contains "cancel vote 2" "is cancelled"

# ---- the node stops ----
expect 0 "node stop" "$WARD" node stop --data-dir "$D"
[ -e "$D/node.json" ] && fail "node stop left the node file"
expect 1 "status of a stopped node" "$WARD" node status --node "127.0.0.1:1" --pin \
    0000000000000000000000000000000000000000000000000000000000000000

[ "$fails" -eq 0 ] && echo "sh_task_cli: all checks passed"
exit $((fails > 0))
