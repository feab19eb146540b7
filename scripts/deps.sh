#!/usr/bin/env bash
# Installs the Debian 12 packages nines needs, when any is missing.
# Usage: scripts/deps.sh [run|test]   (test adds what only the test suite uses)
set -euo pipefail

want=(build-essential cmake pkg-config
      libuv1-dev libcurl4-openssl-dev libc-ares-dev libhiredis-dev
      libyaml-dev libjansson-dev libmicrohttpd-dev libssl-dev zlib1g-dev
      libcairo2-dev libpango1.0-dev fonts-dejavu-core
      redis-server curl tzdata)
if [ "${1:-run}" = test ]; then
    want+=(libcriterion-dev dnsmasq-base openssl iproute2 prometheus prometheus-alertmanager
           python3-aiosmtpd poppler-utils libxml2-utils
           chromium               # the pages' browser test: the system's Chromium
           valgrind               # test_instr_budget: instructions per check (callgrind)
           clang libclang-rt-14-dev)  # scripts/fuzz.sh: clang's libFuzzer runtime
    # node and npm drive Chromium (playwright-core): Debian's packages unless a
    # Node.js with npm is installed already (NodeSource's nodejs conflicts with
    # Debian's npm)
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        want+=(nodejs npm)
    fi
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "nines: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "nines: these Debian packages are missing: ${missing[*]}" >&2
    echo "nines: run this command as root (or with sudo) to install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
