#!/usr/bin/env bash
# The `ward` command as a user meets it: help, version, self-test, demo, usage errors and
# their exit codes.
set -u
ward=$1
fails=0
check() { # description, expected exit code, command...
    local what=$1 want=$2; shift 2
    "$@" >/tmp/ward-cli-out.$$ 2>&1
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' /tmp/ward-cli-out.$$
        fails=$((fails + 1))
    fi
}
contains() { # description, pattern
    if ! grep -q -- "$2" /tmp/ward-cli-out.$$; then
        echo "FAIL: $1: output lacks '$2'"; sed 's/^/    /' /tmp/ward-cli-out.$$
        fails=$((fails + 1))
    fi
}

check "--help" 0 "$ward" --help;                  contains "--help" "usage: ward"
check "no command" 2 "$ward"
check "unknown command" 2 "$ward" frobnicate;      contains "unknown command" "unknown command"
check "unknown option" 2 "$ward" --frob
check "--version" 0 "$ward" --version;             contains "--version" "NOT from the machine's root"
check "version --json" 0 "$ward" version --json;   contains "version --json" '"tee": "ward-sw"'
check "version extra arg" 2 "$ward" version extra
for c in version selftest demo id node task; do
    check "$c --help" 0 "$ward" "$c" --help;       contains "$c --help" "usage: ward $c"
done
check "--help lists id" 0 "$ward" --help;          contains "--help lists id" "^  id "
contains "--help lists node" "^  node "
contains "--help lists task" "^  task "
for v in create show sign upload run status cancel result; do
    check "task $v --help" 0 "$ward" task "$v" --help
    contains "task $v --help" "usage: ward task $v"
done
check "task without verb" 2 "$ward" task
check "node unknown verb" 2 "$ward" node frob
check "id without name" 2 "$ward" id new
check "selftest" 0 "$ward" selftest;               contains "selftest" "all checks passed"
check "selftest --json" 0 "$ward" --json selftest; contains "selftest --json" '"ok": true'
check "demo" 0 "$ward" demo --rows 2000
contains "demo sql result" "sql result: [0-9][0-9]* rows"
contains "demo psi result" "psi result: [0-9][0-9]* common patient ids"
contains "demo evidence" "evidence verified"
contains "demo result signature" "result signature verified"
contains "demo trust line" "not from this machine's root"
contains "demo node stopped" "Node stopped (SIGTERM, exit 0)"
contains "demo enrols its parties" "enrolled in the node's identity"
check "demo bad --rows" 2 "$ward" demo --rows 5
check "demo extra arg" 2 "$ward" demo now
rm -f /tmp/ward-cli-out.$$
[ "$fails" -eq 0 ] && echo "cli_ward: all checks passed"
exit $((fails > 0))
