#!/usr/bin/env bash
# Import throughput and monthly-report time (issue 10, figure 7): CHECKS checks
# at one result every INTERVAL seconds for DAYS days of last month (UTC), as
# JSON Lines, loaded with `nines import`, then `nines report` for a customer
# holding all of them. Its own redis-server (AOF everysec) on a Unix socket in
# a temp dir; stopped by its PID. Called by bench/run.sh; standalone:
#
#   bench/report.sh [REPS] [CHECKS] [INTERVAL_S] [DAYS]   (defaults: 3 100 10 31)
#
# Prints lines "figure subject unit value" (what bench/run.sh tabulates).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=${1:-3} checks=${2:-100} iv=${3:-10} days=${4:-31}
for v in "$reps" "$checks" "$iv" "$days"; do
    case $v in ''|*[!0-9]*|0) echo "bench/report.sh: arguments are positive integers, got '$v'" >&2; exit 2 ;; esac
done
build="$root/build-bench"   # not build/bench: the bench/ subdirectory of a build in build/
[ -x "$build/nines" ] || { echo "bench/report.sh: build $build/nines first (bench/run.sh does)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/nines-bench-report-XXXXXX)
rpid=""
cleanup() {
    if [ -n "$rpid" ]; then kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
start_s=$(date -u -d "$month-01" +%s)
month_days=$(( ($(date -u -d "$month-01 +1 month" +%s) - start_s) / 86400 ))
[ "$days" -le "$month_days" ] || days=$month_days

{
    printf 'collector: {name: bench, data_dir: %s/data, redis: "unix://%s/redis.sock"}\n' "$tmp" "$tmp"
    printf 'defaults: {interval: %ds, timeout: 5s, locations: [eu]}\nchecks:\n' "$iv"
    for ((i = 0; i < checks; i++)); do
        printf '  - {id: c%d, kind: tcp, host: 127.0.0.1, port: 9}\n' "$i"
    done
    printf 'services:\n'
    for ((s = 0; s * 10 < checks; s++)); do
        printf '  - {id: s%d, name: "Service %d", checks: [' "$s" "$s"
        for ((i = s * 10; i < checks && i < s * 10 + 10; i++)); do
            printf '%sc%d' "$([ $i -gt $((s * 10)) ] && echo ', ')" "$i"
        done
        printf ']}\n'
    done
    printf 'customers:\n  - id: acme\n    name: ACME\n    timezone: UTC\n    services: ['
    for ((s = 0; s * 10 < checks; s++)); do printf '%ss%d' "$([ $s -gt 0 ] && echo ', ')" "$s"; done
    printf ']\n    slas: [{name: standard, target: 99.9, credits: [{below: 99.9, credit: 10}]}]\n'
} >"$tmp/nines.yaml"
"$build/nines" validate -c "$tmp/nines.yaml" >/dev/null

# Each check fails for 6 consecutive results once a day at its own time:
# 31 incidents per check in a full month.
awk -v n="$checks" -v iv="$iv" -v t0="$start_s" -v days="$days" 'BEGIN {
    steps = days * 86400 / iv; per_day = 86400 / iv
    for (k = 0; k < steps; k++) {
        ts = (t0 + k * iv) * 1000
        for (c = 0; c < n; c++) {
            d = (k + c * 37) % per_day
            if (d < 6)
                printf "{\"check\":\"c%d\",\"location\":\"eu\",\"timestamp\":%.0f,\"ok\":false,\"reason\":\"refused\"}\n", c, ts + c
            else
                printf "{\"check\":\"c%d\",\"location\":\"eu\",\"timestamp\":%.0f,\"ok\":true,\"latency\":%d.%d}\n", c, ts + c, 3 + c % 5, k % 10
        }
    }
}' >"$tmp/history.jsonl"
rows=$(wc -l <"$tmp/history.jsonl")
echo "report: $rows rows ($checks checks, ${iv}s, $days days of $month), $(du -m "$tmp/history.jsonl" | cut -f1) MB" >&2

mkdir -p "$tmp/data"
redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
for _ in $(seq 1 200); do [ -S "$tmp/redis.sock" ] && break; sleep 0.05; done
# one import (a month takes minutes), then REPS reports from what it stored
echo "report: import (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
t0=$(date +%s%N)
timeout 1800 "$build/nines" import "$tmp/history.jsonl" -c "$tmp/nines.yaml" >"$tmp/import.out" 2>&1 ||
    { echo "bench/report.sh: nines import failed:" >&2; tail -5 "$tmp/import.out" >&2; exit 1; }
t1=$(date +%s%N)
sed "s/^/  import: /" "$tmp/import.out" | tail -3 >&2
echo "import_rows_per_s nines 1/s $(awk -v n="$rows" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n * 1e9 / (b - a)}')"
echo "import_rows nines rows $rows"
echo "redis_used_memory_mib_after_import redis MiB $(redis-cli -s "$tmp/redis.sock" INFO memory | awk -F: '/^used_memory:/ {printf "%.1f", $2 / 1048576}')"
rm -f "$tmp/history.jsonl"
for r in $(seq 1 "$reps"); do
    echo "report rep $r (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    for f in json html pdf; do
        t0=$(date +%s%N)
        # BENCH_REPORT_WRAP="perf record -g -o FILE --" profiles the reports
        timeout 300 ${BENCH_REPORT_WRAP:-} "$build/nines" report --customer acme --month "$month" --format "$f" \
            -c "$tmp/nines.yaml" -o "$tmp/report.$f" >"$tmp/report.out" 2>&1 ||
            { echo "bench/report.sh: nines report failed:" >&2; tail -5 "$tmp/report.out" >&2; exit 1; }
        t1=$(date +%s%N)
        echo "report_month_s_$f nines s $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')"
    done
done
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); o=d['overall']; print('report: incidents', len(d['incidents']), 'coverage_pct', o.get('coverage_pct'), 'availability_pct', o.get('availability_pct'))" "$tmp/report.json" >&2 || true
