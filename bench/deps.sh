#!/usr/bin/env bash
# Installs what bench/run.sh needs from Debian 12, when any is missing (root).
# Service start-up is held back while installing (nginx would otherwise start
# on port 80): the harness runs its own instances on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
want=(nginx dnsmasq-base redis-server redis-tools prometheus-blackbox-exporter
      monitoring-plugins-basic monitoring-plugins-standard bind9-dnsutils wrk
      linux-perf python3 curl)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/deps.sh: these Debian packages are missing: ${missing[*]}" >&2
    echo "bench/deps.sh: run bench/run.sh once as root to install them" >&2
    exit 1
fi
echo "bench/deps.sh: installing ${missing[*]}" >&2
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi
trap '[ $made_policy -eq 0 ] || rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
