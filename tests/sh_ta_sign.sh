#!/usr/bin/env bash
# `ward ta keygen | sign | measure` end to end, as a TA developer meets them: a developer key
# (0600, never overwritten), signing an image (any file serves as one: measurement and
# signature do not look inside), reproducible measurements (same image and settings => same
# measurement; same key => same signer, though the signatures differ), the calls taken from an
# interface description, and refusals with the exit codes scripts rely on: 1 for a tampered
# image or manifest (with a message naming the mismatch), 2 for bad usage.
# Run as: bash sh_ta_sign.sh WARD_BIN BUILD_DIR
set -u
ward=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # absolute: the test works in a temp dir
work=$(mktemp -d "${TMPDIR:-/tmp}/ward-ta-sign-XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out
fails=0

check() { # description, expected exit code, command...
    local what=$1 want=$2; shift 2
    "$@" >"$out" 2>&1
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
field() { # file, name: the value of "name: value" lines
    sed -n "s/^$2: //p" "$1"
}
same() { # description, a, b
    if [ "$2" != "$3" ] || [ -z "$2" ]; then
        echo "FAIL: $1: '$2' != '$3'"; fails=$((fails + 1))
    fi
}
differ() { # description, a, b
    if [ "$2" = "$3" ]; then
        echo "FAIL: $1: both are '$2'"; fails=$((fails + 1))
    fi
}
json_get() { # file, key: a top-level scalar of a `ward --json` document (indented, one
             # member per line)
    sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$1"
}
# base64url without padding of stdin
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

cd "$work" || exit 1
# Any file is an image as far as signing goes; use some fixed bytes.
head -c 100000 /dev/zero | tr '\0' 'w' >image.bin
printf 'ELF?' >>image.bin

# ---- help and usage -----------------------------------------------------------------------
for v in keygen sign measure; do
    check "ta $v --help" 0 "$ward" ta "$v" --help;     contains "ta $v --help" "usage: ward ta $v"
done
check "keygen without --out" 2 "$ward" ta keygen;      contains "keygen without --out" "required"
check "keygen stray argument" 2 "$ward" ta keygen --out k.pem extra
check "sign without --key" 2 "$ward" ta sign --image image.bin --calls a --out m.json
check "sign without --calls" 2 "$ward" ta sign --key k.pem --image image.bin --out m.json
check "sign with both call lists" 2 "$ward" ta sign --key k.pem --image image.bin \
    --calls a --calls-from x.idl --out m.json
check "sign bad --svn" 2 "$ward" ta sign --key k.pem --image image.bin --calls a --out m.json \
    --svn 65536
check "sign bad --threads-max" 2 "$ward" ta sign --key k.pem --image image.bin --calls a \
    --out m.json --threads-max 0
check "sign bad --heap-max" 2 "$ward" ta sign --key k.pem --image image.bin --calls a \
    --out m.json --heap-max 12Q
check "sign --heap-max too small" 2 "$ward" ta sign --key k.pem --image image.bin --calls a \
    --out m.json --heap-max 1023K
check "sign empty call name" 2 "$ward" ta sign --key k.pem --image image.bin --calls a,,b \
    --out m.json
check "measure without --manifest" 2 "$ward" ta measure --image image.bin

# ---- keygen -------------------------------------------------------------------------------
check "keygen" 0 "$ward" ta keygen --out dev.pem;      contains "keygen" "signer: "
keygen_signer=$(field "$out" signer)
mode=$(stat -c %a dev.pem)
same "developer key mode" "$mode" "600"
grep -q "BEGIN PRIVATE KEY" dev.pem || { echo "FAIL: key is not PKCS#8 PEM"; fails=$((fails + 1)); }
cp dev.pem dev.copy
check "keygen refuses to overwrite" 1 "$ward" ta keygen --out dev.pem
contains "keygen refuses to overwrite" "refusing to overwrite"
cmp -s dev.pem dev.copy || { echo "FAIL: keygen changed an existing key"; fails=$((fails + 1)); }
check "keygen --json" 0 "$ward" ta keygen --out other.pem --json
other_signer=$(json_get "$out" signer)
differ "two keys, two signers" "$keygen_signer" "$other_signer"
check "keygen into a missing directory" 1 "$ward" ta keygen --out nodir/k.pem

# ---- sign and measure -----------------------------------------------------------------------
check "sign" 0 "$ward" ta sign --key dev.pem --image image.bin --name hello --product-id 7 \
    --svn 3 --heap-max 16M --threads-max 2 --calls ping,add --out m1.json
contains "sign" "measurement: "
m1=$(field "$out" measurement); s1=$(field "$out" signer)
same "signer of the manifest is the key's" "$s1" "$keygen_signer"
check "measure" 0 "$ward" ta measure --image image.bin --manifest m1.json
same "measure gives the signed measurement" "$(field "$out" measurement)" "$m1"
same "measure gives the signer" "$(field "$out" signer)" "$s1"
contains "measure shows the name" "name: hello"

# Reproducible: sign again (--opt=value forms this time) => same measurement and signer,
# another signature.
check "sign again" 0 "$ward" ta sign --key=dev.pem --image=image.bin --name=hello \
    --product-id=7 --svn=3 --heap-max=16777216 --threads-max=2 --calls=ping,add --out=m2.json
same "same measurement twice" "$(field "$out" measurement)" "$m1"
same "same signer twice" "$(field "$out" signer)" "$s1"
differ "signatures differ" "$(json_get m1.json signature)" "$(json_get m2.json signature)"
# Another key: same measurement, another signer.
check "sign with another key" 0 "$ward" ta sign --key other.pem --image image.bin --name hello \
    --product-id 7 --svn 3 --heap-max 16M --threads-max 2 --calls ping,add --out m3.json
same "measurement does not depend on the key" "$(field "$out" measurement)" "$m1"
same "signer is the other key" "$(field "$out" signer)" "$other_signer"
# Another setting: another measurement.
check "sign with --debug" 0 "$ward" ta sign --key dev.pem --image image.bin --name hello \
    --product-id 7 --svn 3 --heap-max 16M --threads-max 2 --calls ping,add --debug --out m4.json
differ "debug changes the measurement" "$(field "$out" measurement)" "$m1"
check "sign with --svn 4" 0 "$ward" ta sign --key dev.pem --image image.bin --name hello \
    --product-id 7 --svn 4 --heap-max 16M --threads-max 2 --calls ping,add --out m5.json
differ "svn changes the measurement" "$(field "$out" measurement)" "$m1"

# Calls from an interface description: the names of the `call` lines, in order.
cat >hello.idl <<'EOF'
# hello TA interface
ocall log(in string msg);
call ping();
  call	add(in u32 a, in u32 b, out u32 sum);
recall nothing();
EOF
check "sign --calls-from" 0 "$ward" ta sign --key dev.pem --image image.bin --name hello \
    --product-id 7 --svn 3 --heap-max 16M --threads-max 2 --calls-from hello.idl --out m6.json
same "--calls-from gives the same calls" "$(field "$out" measurement)" "$m1"
printf 'ocall only();\n' >none.idl
check "sign --calls-from without calls" 1 "$ward" ta sign --key dev.pem --image image.bin \
    --calls-from none.idl --out m7.json
contains "sign --calls-from without calls" "declares no call"
printf 'call 9bad();\n' >bad.idl
check "sign --calls-from bad name" 1 "$ward" ta sign --key dev.pem --image image.bin \
    --calls-from bad.idl --out m7.json
check "sign duplicate calls" 1 "$ward" ta sign --key dev.pem --image image.bin --calls a,b,a \
    --out m7.json
contains "sign duplicate calls" "appears twice"
[ -e m7.json ] && { echo "FAIL: a refused signing wrote a manifest"; fails=$((fails + 1)); }

# --out must not destroy the key or the image.
check "sign --out onto the key" 2 "$ward" ta sign --key dev.pem --image image.bin --calls a \
    --out dev.pem
cmp -s dev.pem dev.copy || { echo "FAIL: sign overwrote the key"; fails=$((fails + 1)); }
check "sign --out onto the image" 2 "$ward" ta sign --key dev.pem --image image.bin --calls a \
    --out ./image.bin

# Default name: the image's file name without its extension.
check "sign default name" 0 "$ward" ta sign --key dev.pem --image image.bin --calls ping \
    --out m8.json
contains "sign default name" "for TA image "
cp image.bin 'bad name.bin'
check "sign default name invalid" 2 "$ward" ta sign --key dev.pem --image 'bad name.bin' \
    --calls ping --out m8.json
contains "sign default name invalid" "give --name"

# JSON outputs
check "sign --json" 0 "$ward" --json ta sign --key dev.pem --image image.bin --name hello \
    --product-id 7 --svn 3 --heap-max 16M --threads-max 2 --calls ping,add --out m9.json
same "sign --json measurement" "$(json_get "$out" measurement)" "$m1"
check "measure --json" 0 "$ward" ta measure --image image.bin --manifest m1.json --json
same "measure --json measurement" "$(json_get "$out" measurement)" "$m1"
same "measure --json match" "$(json_get "$out" match)" "true"

# Wrong keys
check "sign with a public key" 1 "$ward" ta sign --key m1.json --image image.bin --calls a \
    --out m10.json
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null
if [ -f p384.pem ]; then
    check "sign with a P-384 key" 1 "$ward" ta sign --key p384.pem --image image.bin --calls a \
        --out m10.json
    contains "sign with a P-384 key" "P-256"
fi
chmod 644 other.pem
check "sign warns about a readable key" 0 "$ward" ta sign --key other.pem --image image.bin \
    --calls a --out m11.json
contains "sign warns about a readable key" "warning: other.pem has mode 0644"

# ---- tampering ----------------------------------------------------------------------------
cp image.bin tampered.bin
printf 'W' | dd of=tampered.bin bs=1 seek=5000 conv=notrunc status=none
check "tampered image" 1 "$ward" ta measure --image tampered.bin --manifest m1.json
contains "tampered image" "image hash differs from the manifest's image_sha256"
cp image.bin longer.bin; printf 'x' >>longer.bin
check "longer image" 1 "$ward" ta measure --image longer.bin --manifest m1.json
contains "longer image" "image size differs"
check "tampered image --json" 1 "$ward" ta measure --image tampered.bin --manifest m1.json --json
contains "tampered image --json" '"match": false'

sed 's/"svn": 3/"svn": 4/' m1.json >svn.json
check "svn bumped in the manifest" 1 "$ward" ta measure --image image.bin --manifest svn.json
contains "svn bumped in the manifest" "signature does not verify"
sed 's/"heap_max": 16777216/"heap_max": 16777216, "extra": 1/' m1.json >extra.json
check "unknown member" 1 "$ward" ta measure --image image.bin --manifest extra.json
contains "unknown member" 'unknown member "extra"'
head -c 200 m1.json >cut.json
check "truncated manifest" 1 "$ward" ta measure --image image.bin --manifest cut.json
check "missing manifest" 1 "$ward" ta measure --image image.bin --manifest nothing.json
check "missing image" 1 "$ward" ta measure --image nothing.bin --manifest m1.json

# A manifest re-signed by the right key with a measurement that is not the image's. Signed
# here with openssl, independently of Ward: ward's manifests have sorted members and no blank
# inside any string, so deleting the whitespace of the text without "signature" gives its
# RFC 8785 form; the DER signature becomes raw r||s, base64url.
sed -e 's/"measurement": "[0-9a-f]*"/"measurement": "'"$(printf '0%.0s' $(seq 64))"'"/' \
    -e '/"signature": /d' m1.json >unsigned.json
tr -d ' \n' <unsigned.json >canon.bin
openssl dgst -sha256 -sign dev.pem -out sig.der canon.bin
coords=$(openssl asn1parse -inform DER -in sig.der | sed -n 's/.*INTEGER *://p')
raw=""
for c in $coords; do
    c=$(printf '%064s' "$c" | tr ' ' '0')
    raw="$raw${c: -64}"
done
sig=$(printf '%b' "$(printf '%s' "$raw" | sed 's/../\\x&/g')" | b64url)
sed 's/"signer_key": /"signature": "'"$sig"'",\n  "signer_key": /' unsigned.json >resigned.json
check "re-signed wrong measurement" 1 "$ward" ta measure --image image.bin \
    --manifest resigned.json
contains "re-signed wrong measurement" "measurement differs: manifest says 0000000000000000"
contains "re-signed wrong measurement" "image gives $m1"

[ "$fails" -eq 0 ] && echo "sh_ta_sign: all checks passed"
exit $((fails > 0))
