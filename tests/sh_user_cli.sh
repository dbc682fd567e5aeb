#!/usr/bin/env bash
# `ward user ...` and `ward token ...` as an administrator meets them: adding users with roles
# (least privilege by default), passwords only from stdin (never argv; a pipe needs
# --password-stdin), listing, disabling, roles and permissions, TOTP enrolment and confirmation,
# tokens printed once and stored hashed, CAs and certificate mappings, the database settings,
# the default data directory, file modes, and refusals with the exit codes scripts rely on:
# 1 for a failed operation, 2 for bad usage (invalid names included).
# Run as: bash sh_user_cli.sh WARD_BIN BUILD_DIR
set -u
ward=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/ward-user-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out
fails=0
D=$work/node
PW='correct horse battery'

check() { # description, expected exit code, command...
    local what=$1 want=$2; shift 2
    "$@" >"$out" 2>&1
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}
check_in() { # description, expected exit code, stdin text, command...
    local what=$1 want=$2 input=$3; shift 3
    printf '%s\n' "$input" | "$@" >"$out" 2>&1
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}
contains() { # description, pattern
    if ! grep -q -- "$2" "$out"; then
        echo "FAIL: $1: output lacks '$2'"; sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}
lacks() { # description, fixed string
    if grep -qF -- "$2" "$out"; then
        echo "FAIL: $1: output has '$2'"; sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}
mode_is() { # description, file, mode
    local m; m=$(stat -c %a "$2" 2>/dev/null)
    if [ "$m" != "$3" ]; then
        echo "FAIL: $1: $2 has mode '$m', expected $3"; fails=$((fails + 1))
    fi
}
json_get() { # file, key: a scalar member of a `ward --json` document (one member per line)
    sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$1" | head -n 1
}

cd "$work" || exit 1

# ---- help and usage ---------------------------------------------------------------------------
check "user --help" 0 "$ward" user --help;            contains "user --help" "usage: ward user"
contains "user --help lists totp" "totp enroll"
check "token --help" 0 "$ward" token --help;          contains "token --help" "usage: ward token"
check "user without verb" 2 "$ward" user
check "token without verb" 2 "$ward" token
check "user unknown verb" 2 "$ward" user frobnicate --data-dir "$D"
check "token unknown verb" 2 "$ward" token frobnicate --data-dir "$D"
check "user list before any database" 1 "$ward" user list --data-dir "$D"
contains "user list before any database" "no identity database"

# ---- settings (a small Argon2 cost keeps this test quick) -------------------------------------
check "settings" 0 "$ward" user settings --data-dir "$D" --argon2 1,8,1 --window 15m
contains "settings shows the cost" "t=1 m=8 KiB p=1"
mode_is "data dir" "$D" 700
mode_is "identity.db" "$D/identity.db" 600
check "settings --json" 0 "$ward" --json user settings --data-dir "$D"
contains "settings --json" '"window_s": 900'
check "settings bad cost" 1 "$ward" user settings --data-dir "$D" --argon2 0,8,1
check "settings junk cost" 2 "$ward" user settings --data-dir "$D" --argon2 lots
check "settings bad duration" 2 "$ward" user settings --data-dir "$D" --lockout 5y

# ---- adding users -------------------------------------------------------------------------------
check_in "add alice" 0 "$PW" "$ward" user add alice --role data-provider --password-stdin \
    --data-dir "$D"
contains "add alice" "added user alice"
check "add from a pipe without --password-stdin" 2 "$ward" user add bob --data-dir "$D" </dev/null
contains "add without --password-stdin" "password-stdin"
check "password on the command line" 2 "$ward" user add bob --password hunter22 --data-dir "$D"
contains "password on the command line" "unknown option"
check "add bob without password" 0 "$ward" user add bob --no-password --display "Bob B." \
    --data-dir "$D"
check_in "add alice twice" 1 "$PW" "$ward" user add alice --password-stdin --data-dir "$D"
contains "add alice twice" "exists"
check "add with an SQL injection name" 2 "$ward" user add "alice'; DROP TABLE users;--" \
    --no-password --data-dir "$D"
contains "injection name" "invalid user name"
check "add with an upper-case name" 2 "$ward" user add Alice --no-password --data-dir "$D"
check "add with an invalid role name" 2 "$ward" user add carol --role "x' OR 1=1" \
    --no-password --data-dir "$D"
check "add with an unknown role" 1 "$ward" user add carol --role no-such-role --no-password \
    --data-dir "$D"
check_in "add with a short password" 1 "short" "$ward" user add carol --password-stdin \
    --data-dir "$D"
contains "short password" "password must be"
check "add with an empty stdin" 1 "$ward" user add carol --password-stdin --data-dir "$D" \
    </dev/null
check "list" 0 "$ward" user list --data-dir "$D"
contains "list shows alice" "alice"
contains "list shows alice's role" "data-provider"
lacks "list never shows a password" "$PW"
lacks "carol was not half-added" "carol"
check "options before the verb" 0 "$ward" user --data-dir "$D" list
contains "options before the verb" "alice"
check "list --json" 0 "$ward" user list --json --data-dir "$D"
contains "list --json" '"name": "bob"'
contains "list --json display" '"display": "Bob B."'
lacks "list --json never shows a password" "$PW"

# ---- passwords, disabling -----------------------------------------------------------------------
check_in "passwd" 0 "another password" "$ward" user passwd alice --password-stdin --data-dir "$D"
check_in "passwd unknown user" 1 "another password" "$ward" user passwd nobody --password-stdin \
    --data-dir "$D"
check "disable" 0 "$ward" user disable alice --data-dir "$D"
check "list shows disabled" 0 "$ward" user list --data-dir "$D"
contains "list shows disabled" "disabled"
check "enable" 0 "$ward" user enable alice --data-dir "$D"
check "disable unknown" 1 "$ward" user disable nobody --data-dir "$D"
check "disable without a name" 2 "$ward" user disable --data-dir "$D"

# ---- roles ------------------------------------------------------------------------------------
check "role add" 0 "$ward" user role add bob auditor --data-dir "$D"
check "role add unknown role" 1 "$ward" user role add bob no-such --data-dir "$D"
check "role add unknown user" 1 "$ward" user role add nobody auditor --data-dir "$D"
check "role remove" 0 "$ward" user role remove bob auditor --data-dir "$D"
check "role list" 0 "$ward" user role list --data-dir "$D"
contains "role list: admin is sensitive" "admin \[sensitive\]"
contains "role list: operator is sensitive" "operator \[sensitive\]"
contains "role list: result-consumer" "result-consumer"
check "role list --json" 0 "$ward" --json user role list --data-dir "$D"
contains "role list --json" '"name": "auditor"'
check "role perms" 0 "$ward" user role perms --data-dir "$D"
contains "role perms" "key.release"
check "role create" 0 "$ward" user role create kms --sensitive --description "fetches keys" \
    --data-dir "$D"
check "role create twice" 1 "$ward" user role create kms --data-dir "$D"
check "role grant" 0 "$ward" user role grant kms key.release --data-dir "$D"
check "role grant unknown permission" 1 "$ward" user role grant kms no.such --data-dir "$D"
check "role grant invalid permission" 2 "$ward" user role grant kms "x;y" --data-dir "$D"
check "role revoke" 0 "$ward" user role revoke kms key.release --data-dir "$D"
check "role sensitive off" 0 "$ward" user role sensitive kms off --data-dir "$D"
check "admin stays sensitive" 1 "$ward" user role sensitive admin off --data-dir "$D"
check "role sensitive bad value" 2 "$ward" user role sensitive kms maybe --data-dir "$D"
check "delete admin" 1 "$ward" user role delete admin --data-dir "$D"
check "role add kms to bob" 0 "$ward" user role add bob kms --data-dir "$D"
check "delete a held role" 1 "$ward" user role delete kms --data-dir "$D"
contains "delete a held role" "held by 1 user"
check "role remove kms from bob" 0 "$ward" user role remove bob kms --data-dir "$D"
check "delete role" 0 "$ward" user role delete kms --data-dir "$D"
check "role unknown verb" 2 "$ward" user role frob --data-dir "$D"
check "role add, missing argument" 2 "$ward" user role add bob --data-dir "$D"

# ---- TOTP -------------------------------------------------------------------------------------
check "totp enroll" 0 "$ward" user totp enroll alice --data-dir "$D"
contains "totp enroll prints the URI" "^uri: otpauth://totp/Ward:alice?secret="
contains "totp enroll prints the secret" "^secret: [A-Z2-7]\{32\}$"
secret=$(sed -n 's/^secret: //p' "$out")
check "list: totp pending" 0 "$ward" --json user list --data-dir "$D"
contains "list: totp pending" '"totp": "pending"'
check "totp enroll unknown user" 1 "$ward" user totp enroll nobody --data-dir "$D"
# The current code, computed with the openssl and base32 tools (RFC 6238, SHA-1, 6 digits).
totp_code() { # base32 secret, offset in steps
    local hexkey ctr mac off bin
    hexkey=$(printf '%s' "$1" | base32 -d | od -An -tx1 | tr -d ' \n')
    ctr=$(( $(date +%s) / 30 + $2 ))
    printf "$(printf '%016x' "$ctr" | sed 's/../\\x&/g')" >"$work/ctr.bin"
    mac=$(openssl mac -digest SHA1 -macopt "hexkey:$hexkey" -in "$work/ctr.bin" HMAC | tr 'A-F' 'a-f')
    off=$(( 0x${mac:39:1} * 2 ))
    bin=$(( 0x${mac:off:8} & 0x7fffffff ))
    printf '%06d' $(( bin % 1000000 ))
}
if command -v openssl >/dev/null && command -v base32 >/dev/null && command -v od >/dev/null; then
    code=$(totp_code "$secret" 0)
    wrong=$(printf '%06d' $(( (10#$code + 500000) % 1000000 )))
    check_in "totp confirm with a wrong code" 1 "$wrong" "$ward" user totp confirm alice \
        --data-dir "$D"
    check_in "totp confirm" 0 "$code" "$ward" user totp confirm alice --data-dir "$D"
    check "list: totp active" 0 "$ward" --json user list --data-dir "$D"
    contains "list: totp active" '"totp": "active"'
    check_in "totp confirm again" 1 "$code" "$ward" user totp confirm alice --data-dir "$D"
    contains "totp confirm again" "no pending"
else
    echo "note: openssl/base32/od missing: TOTP confirmation not exercised"
fi
check "totp confirm with no code" 1 "$ward" user totp confirm bob --data-dir "$D" </dev/null
check "totp remove" 0 "$ward" user totp remove alice --data-dir "$D"
check "totp bad verb" 2 "$ward" user totp frob alice --data-dir "$D"

# ---- tokens -----------------------------------------------------------------------------------
check "token issue" 0 "$ward" token issue alice --ttl 1h --description "ci job" --json \
    --data-dir "$D"
token=$(json_get "$out" token)
id=$(json_get "$out" id)
if [ "${#token}" -ne 43 ] || [ "${#id}" -ne 16 ]; then
    echo "FAIL: token issue: token '${#token}' chars, id '$id'"; fails=$((fails + 1))
fi
check "token issue text" 0 "$ward" token issue bob --data-dir "$D"
contains "token issue text" "^token: "
contains "token issue text" "^expires: "
check "token list" 0 "$ward" token list --data-dir "$D"
contains "token list shows the id" "$id"
contains "token list shows the state" "active"
lacks "token list never shows the token" "$token"
check "token list --json for alice" 0 "$ward" --json token list alice --data-dir "$D"
contains "token list --json" "\"id\": \"$id\""
lacks "token list --json never shows the token" "$token"
check "token ttl zero" 2 "$ward" token issue alice --ttl 0 --data-dir "$D"
check "token ttl junk" 2 "$ward" token issue alice --ttl 5x --data-dir "$D"
check "token ttl too long" 1 "$ward" token issue alice --ttl 400d --data-dir "$D"
check "token for nobody" 1 "$ward" token issue nobody --data-dir "$D"
check "token revoke" 0 "$ward" token revoke "$id" --data-dir "$D"
check "token list after revoke" 0 "$ward" token list alice --data-dir "$D"
contains "token list after revoke" "revoked"
check "token revoke unknown" 1 "$ward" token revoke ffffffffffffffff --data-dir "$D"
check "token revoke malformed" 2 "$ward" token revoke "1' OR '1'='1" --data-dir "$D"
# Stored hashed: neither the token nor a password appears in the database files.
for f in "$D"/identity.db*; do
    if grep -qaF -- "$token" "$f" || grep -qaF -- "$PW" "$f"; then
        echo "FAIL: a secret in clear in $f"; fails=$((fails + 1))
    fi
done

# ---- certificates -------------------------------------------------------------------------------
if command -v openssl >/dev/null; then
    ossl() { openssl "$@" >/dev/null 2>&1; }
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=client-ca \
        -addext basicConstraints=critical,CA:TRUE -keyout ca.key -out ca.pem -days 2
    ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=alice \
        -keyout leaf.key -out leaf.csr
    ossl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1
    check "ca add a leaf" 1 "$ward" user ca add leaf.pem --data-dir "$D"
    check "ca add" 0 "$ward" user ca add ca.pem --data-dir "$D"
    check "ca add twice" 1 "$ward" user ca add ca.pem --data-dir "$D"
    check "ca list" 0 "$ward" user ca list --data-dir "$D"
    contains "ca list" "CN=client-ca"
    fp=$(awk '{print $1}' "$out" | head -n 1)
    check "cert add" 0 "$ward" user cert add alice leaf.pem --data-dir "$D"
    check "cert add to another user" 1 "$ward" user cert add bob leaf.pem --data-dir "$D"
    check "cert add not a certificate" 1 "$ward" user cert add bob leaf.key --data-dir "$D"
    check "cert remove" 0 "$ward" user cert remove leaf.pem --data-dir "$D"
    # A CRL from the CA revoking the leaf (openssl ca keeps its state in index.txt).
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n' \
        > ca.cnf
    : > index.txt
    echo 01 > crlnumber
    ossl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke leaf.pem
    ossl ca -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem
    check "ca crl add" 0 "$ward" user ca crl add crl.pem --data-dir "$D"
    check "ca crl add the same again (not newer)" 1 "$ward" user ca crl add crl.pem --data-dir "$D"
    check "ca crl add not a CRL" 1 "$ward" user ca crl add leaf.pem --data-dir "$D"
    check "ca crl list" 0 "$ward" user ca crl list --data-dir "$D"
    contains "ca crl list" "CN=client-ca .*revoked=1"
    check "ca crl bad verb" 2 "$ward" user ca crl drop crl.pem --data-dir "$D"
    check "ca remove" 0 "$ward" user ca remove "$fp" --data-dir "$D"
    check "ca crl list after the CA is gone" 0 "$ward" user ca crl list --data-dir "$D"
    if grep -q "client-ca" "$out"; then
        echo "FAIL: the CRL outlived its CA"; fails=$((fails + 1))
    fi
    check "ca remove again" 1 "$ward" user ca remove "$fp" --data-dir "$D"
    check "ca remove bad fingerprint" 2 "$ward" user ca remove xyz --data-dir "$D"
fi

# ---- the default data directory ---------------------------------------------------------------
check "default data dir" 0 env XDG_DATA_HOME="$work/xdg" "$ward" user settings --argon2 1,8,1
mode_is "default identity.db" "$work/xdg/ward/identity.db" 600
check "default data dir add" 0 env XDG_DATA_HOME="$work/xdg" "$ward" user add dora --no-password
check "default data dir list" 0 env XDG_DATA_HOME="$work/xdg" "$ward" user list
contains "default data dir list" "dora"
mode_is "identity.db after use" "$D/identity.db" 600

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all user/token CLI checks passed"
