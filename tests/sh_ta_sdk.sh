#!/usr/bin/env bash
# The TA SDK end to end, from the build tree, as a TA developer meets it (docs/sdk.md, "Quick
# start"; issue 3, "Done when"): `ward ta new` scaffolds a project; it configures and builds
# (warnings as errors) against this build tree; `ward ta keygen` and `ward ta sign --calls-from`
# sign it; `ward ta run` starts an instance, verifies a report over a fresh nonce, seals,
# restarts and unseals, refuses a tampered blob; `ward ta run --call` calls functions with typed
# arguments. Then the refusals, with the exit codes scripts rely on, and the example TA in
# build/examples.
# Run as: bash sh_ta_sdk.sh WARD_BIN BUILD_DIR
set -u
ward=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
build=$(cd "$2" && pwd)
src=${WARD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/ward-ta-sdk-XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out
err=$work/err
fails=0

check() { # description, expected exit code, command...
    local what=$1 want=$2; shift 2
    "$@" >"$out" 2>"$err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"
        sed 's/^/    out: /' "$out"; sed 's/^/    err: /' "$err"
        fails=$((fails + 1))
    fi
}
contains() { # description, pattern (stdout)
    if ! grep -q -- "$2" "$out"; then
        echo "FAIL: $1: output lacks '$2'"; sed 's/^/    /' "$out"
        fails=$((fails + 1))
    fi
}
says() { # description, pattern (stderr)
    if ! grep -q -- "$2" "$err"; then
        echo "FAIL: $1: stderr lacks '$2'"; sed 's/^/    /' "$err"
        fails=$((fails + 1))
    fi
}

cd "$work" || exit 1
data=$work/node # the node's data directory: platform key and sealing secret

if [ ! -f "$build/ward-sdk.cmake" ]; then
    echo "FAIL: $build/ward-sdk.cmake missing (libward-ta not built?)"
    exit 1
fi

# ---- ward ta new ----------------------------------------------------------------------------
check "ta new --help" 0 "$ward" ta new --help;          contains "ta new --help" "usage: ward ta new"
check "ta new without a name" 2 "$ward" ta new
check "ta new bad name" 2 "$ward" ta new 9lives;        says "ta new bad name" "invalid TA name"
check "ta new name with dash" 2 "$ward" ta new my-ta
check "ta new reserved name" 2 "$ward" ta new ward
check "ta new" 0 "$ward" ta new hello2
contains "ta new" "created hello2/"
contains "ta new" "builds against the Ward build tree $build"
for f in CMakeLists.txt hello2.idl hello2.c README.md; do
    [ -s "hello2/$f" ] || { echo "FAIL: ta new did not write hello2/$f"; fails=$((fails + 1)); }
done
check "ta new over an existing directory" 2 "$ward" ta new hello2
says "ta new over an existing directory" "already exists"
mkdir taken
check "ta new --dir existing" 2 "$ward" ta new other --dir taken
[ -z "$(ls taken)" ] || { echo "FAIL: ta new wrote into an existing directory"; fails=$((fails + 1)); }
check "ta new --dir" 0 "$ward" ta new other --dir "$work/elsewhere"
[ -f elsewhere/other.idl ] || { echo "FAIL: --dir not honoured"; fails=$((fails + 1)); }

# ---- build it (warnings are errors: the generated and scaffolded code must be clean) --------
check "configure the new TA" 0 cmake -S hello2 -B hello2/build -DCMAKE_C_FLAGS=-Werror
check "build the new TA" 0 cmake --build hello2/build
image=hello2/build/hello2
if [ ! -x "$image" ]; then
    echo "FAIL: no image at $image"; exit 1
fi
# a static PIE: ELF type DYN, no program interpreter
if readelf -h "$image" | grep -q 'Type:.*DYN' && ! readelf -l "$image" | grep -q INTERP; then
    :
else
    echo "FAIL: $image is not a static PIE"; fails=$((fails + 1))
fi
[ -f hello2/build/ward-gen/hello2/hello2_ta.c ] ||
    { echo "FAIL: generated sources not in build/ward-gen/hello2"; fails=$((fails + 1)); }

# ---- sign it ----------------------------------------------------------------------------------
check "keygen" 0 "$ward" ta keygen --out dev-key.pem
check "sign --calls-from" 0 "$ward" ta sign --key dev-key.pem --image "$image" \
    --calls-from hello2/hello2.idl --out hello2.manifest.json
manifest=hello2.manifest.json
check "measure" 0 "$ward" ta measure --image "$image" --manifest "$manifest"

# ---- run it: the demonstration ------------------------------------------------------------------
run() { "$ward" ta run --image "$image" --manifest "$manifest" --data-dir "$data" "$@"; }
check "ta run (demonstration)" 0 run
contains "ta run" "image registered"
contains "ta run" "instance 1 started"
contains "ta run" "verified with the platform key (ward-sw)"
contains "ta run" "(= the manifest's)"
contains "ta run" "the fresh 32-byte nonce"
contains "ta run" "debug                 no"
contains "ta run" "sealed                  "
contains "ta run" "instance 1 destroyed"
contains "ta run" "instance 2 started"
contains "ta run" "identical to what was sealed"
contains "ta run" "one flipped bit: refused (auth)"
contains "ta run" "all steps succeeded"
# the node's data directory was created private
mode=$(stat -c %a "$data")
[ "$mode" = 700 ] || { echo "FAIL: data dir mode $mode"; fails=$((fails + 1)); }
# the measurement printed is the manifest's (ward ta measure agrees)
m1=$("$ward" ta measure --image "$image" --manifest "$manifest" | sed -n 's/^measurement: //p')
run >"$out" 2>"$err"
grep -q "measurement *$m1" "$out" || { echo "FAIL: run and measure disagree ($m1)"; sed 's/^/    /' "$out"; fails=$((fails + 1)); }

check "ta run --json" 0 run --json
contains "ta run --json" '"ok": true'
contains "ta run --json" '"verified": true'
contains "ta run --json" '"tampered_refused": true'
contains "ta run --json" '"unsealed_by_new_instance": true'

check "ta run --backend sim" 0 run --backend sim
contains "ta run sim" "verified with the platform key (ward-sim)"
contains "ta run sim" "debug                 yes"

# ---- run it: one call with typed arguments ---------------------------------------------------
idl=hello2/hello2.idl
check "call add named" 0 run --idl "$idl" --call add a=2 b=40;  contains "call add" "sum = 42"
check "call add positional" 0 run --idl "$idl" --call add 0x10 1; contains "call add pos" "sum = 17"
check "call add mixed" 0 run --idl "$idl" --call add b=5 7;      contains "call add mixed" "sum = 12"
check "call greet" 0 run --idl "$idl" --call greet name=Ada
contains "call greet" 'greeting = "Hello, Ada!"'
says "call greet makes an ocall" "ocall log_line"
says "call greet makes an ocall" "greet: a greeting was asked for"
check "call greet control chars" 0 run --idl "$idl" --call greet "$(printf 'a\033[2Jb')"
contains "call greet control chars" 'Hello, a\\x1b\[2Jb!'
check "call add --json" 0 run --idl "$idl" --call add a=1 b=2 --json
contains "call add --json" '"sum": 3'
contains "call add --json" '"ok": true'
check "call seal" 0 run --idl "$idl" --call seal data=00ff10
contains "call seal" "blob = 01"
contains "call seal" "(32 bytes)"
check "call report" 0 run --idl "$idl" --call report nonce=hex:abcd
contains "call report" "(200 bytes)"
contains "call report" "sig = .*(64 bytes)"
# a blob sealed by one instance unseals in a later run (same TA, same platform)
run --idl "$idl" --call seal data=str:kept --json >"$out" 2>"$err"
blob=$(sed -n 's/^ *"blob": "\([0-9a-f]*\)".*/\1/p' "$out")
check "call unseal from an earlier run" 0 run --idl "$idl" --call unseal "blob=$blob"
contains "unseal earlier" "data = 6b657074 (4 bytes)"

# the TA's own refusals come back as failures
check "call add overflow" 1 run --idl "$idl" --call add a=0xffffffffffffffff b=1
says "call add overflow" "overflow"
check "call unseal garbage" 1 run --idl "$idl" --call unseal blob=01
check "call greet too long" 1 run --idl "$idl" --call greet "$(head -c 300 /dev/zero | tr '\0' x)"

# usage errors: exit 2
check "call without --idl" 2 run --call add 1 2
check "call unknown" 2 run --idl "$idl" --call frob
check "call missing argument" 2 run --idl "$idl" --call add a=1;   says "missing" "missing argument 'b'"
check "call too many arguments" 2 run --idl "$idl" --call add 1 2 3
check "call bad integer" 2 run --idl "$idl" --call add a=x b=1
check "call negative u64" 2 run --idl "$idl" --call add a=-1 b=1
check "call bad hex" 2 run --idl "$idl" --call seal data=xyz
check "call output given" 2 run --idl "$idl" --call add a=1 b=2 sum=3
check "call twice named" 2 run --idl "$idl" --call add a=1 a=2
check "call bad utf-8" 2 run --idl "$idl" --call greet "$(printf 'a\303')"
check "unknown backend" 2 run --backend kvm
check "no manifest" 2 "$ward" ta run --image "$image"

# an IDL that does not match the manifest's calls
sed 's/^call add(/call plus(/' "$idl" >renamed.idl
check "call with a mismatched IDL" 1 run --idl renamed.idl --call plus 1 2
says "mismatched IDL" "in the manifest"
# a malformed IDL: file:line: message
printf 'ta x;\ncall a(in u32 n\n' >bad.idl
check "call with a malformed IDL" 1 run --idl bad.idl --call a 1
says "malformed IDL" "bad.idl:2: "

# a tampered image or manifest is refused before anything runs
cp "$image" tampered
printf '\001' | dd of=tampered bs=1 seek=4000 conv=notrunc status=none
check "tampered image" 1 "$ward" ta run --image tampered --manifest "$manifest" --data-dir "$data"
sed 's/"svn": 0/"svn": 1/' "$manifest" >tampered.json
check "tampered manifest" 1 "$ward" ta run --image "$image" --manifest tampered.json --data-dir "$data"

# ---- the example TA in the build tree ----------------------------------------------------------
example=$build/examples/hello
if [ -x "$example" ]; then
    check "sign the example" 0 "$ward" ta sign --key dev-key.pem --image "$example" \
        --calls-from "$src/examples/hello/hello.idl" --out example.json
    check "run the example" 0 "$ward" ta run --image "$example" --manifest example.json \
        --data-dir "$data" --idl "$src/examples/hello/hello.idl"
    contains "run the example" "all steps succeeded"
    check "call the example" 0 "$ward" ta run --image "$example" --manifest example.json \
        --data-dir "$data" --idl "$src/examples/hello/hello.idl" --call greet World
    contains "call the example" 'greeting = "Hello, World!"'
    # the example and hello2 are different TAs: hello2's blob does not unseal in the example
    check "another TA's blob" 1 "$ward" ta run --image "$example" --manifest example.json \
        --data-dir "$data" --idl "$src/examples/hello/hello.idl" --call unseal "blob=$blob"
else
    echo "FAIL: the example TA was not built ($example)"; fails=$((fails + 1))
fi
check "ward-gen --check the example" 0 "$build/tools/ward-gen" --check "$src/examples/hello/hello.idl"

# ---- against an installed Ward (WARD_BUILD_DIR empty) ----------------------------------------
check "install Ward" 0 cmake --install "$build" --prefix "$work/prefix"
check "ta new for an installed Ward" 0 "$ward" ta new inst
check "configure against the installed Ward" 0 env PATH="$work/prefix/bin:$PATH" \
    cmake -S inst -B inst/build -DWARD_BUILD_DIR= -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_FLAGS=-Werror
contains "configure installed" "Generating done"
check "build against the installed Ward" 0 env PATH="$work/prefix/bin:$PATH" cmake --build inst/build
[ -x inst/build/inst ] || { echo "FAIL: no image built against the installed Ward"; fails=$((fails + 1)); }
if grep -q "$build" inst/build/CMakeCache.txt; then
    echo "FAIL: the installed-Ward build refers to the build tree"; fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] && echo "sh_ta_sdk: all checks passed"
exit $((fails > 0))
