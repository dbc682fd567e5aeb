#!/usr/bin/env bash
# Installs the Debian 12 packages Ward builds, tests and runs with.
# Idempotent: when every package is present it only checks and exits (well under a second);
# it runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libssl-dev openssl          # every primitive, TLS 1.3, X.509
  libjansson-dev              # JSON
  libsqlite3-dev              # task state, trusted storage
  libevent-dev                # HTTP server (evhttp + OpenSSL bufferevents)
  libcurl4-openssl-dev        # HTTP clients
  libseccomp-dev              # TA sandbox
  libcmocka-dev               # unit tests
  libargon2-dev               # password hashing (Argon2id, RFC 9106)
  clang libclang-rt-14-dev    # libFuzzer targets and sanitizer runtimes
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
