#!/usr/bin/env bash
# Collector ingest, side by side with the pipelined-XADD ceiling of the same
# redis-server (AOF everysec): results/s the collector sustains, and its lag.
# Everything runs on loopback/Unix sockets in a temp dir; every process
# started here is stopped by its PID.
#
#   bench/ingest.sh [CHECKS] [SECONDS] [RATES...]     (defaults: 10000 15 3000 30000)
#
# Columns: CPU (utime+stime) per 1,000 results sent of the collector, of
# redis-server, of its forked AOF rewrites ("(rewrites)": how many finished
# during the rate x their CPU per 1,000, read from the reaped children's
# times) and of the load generator itself; the CPU budget per result is
# their sum, and 2 cores bound the rate by it (Redis alone by one core).
#
# INGEST_PERF=DIR records `perf record -g` of the collector and of
# redis-server during each rate into DIR (perf-{collector,redis}-RATE.data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
checks=${1:-10000}
seconds=${2:-15}
shift $(( $# > 2 ? 2 : $# )) || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(3000 30000)

scripts/deps.sh run
build="$root/build-bench"   # not build/bench: the bench/ subdirectory of a build in build/
# RelWithDebInfo (-O2 with symbols, as bench/run.sh builds): the Release
# build (-O3) stops on a format-truncation warning in lib/config.c today
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNINES_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target nines-collector loadgen >/dev/null

tmp=$(mktemp -d /tmp/nines-bench-XXXXXX)
pids=()
cleanup() {
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

redis-server --port 0 --unixsocket "$tmp/redis.sock" --dir "$tmp" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no >"$tmp/redis.log" 2>&1 &
rpid=$!
pids+=($rpid)
for _ in $(seq 1 100); do [ -S "$tmp/redis.sock" ] && break; sleep 0.05; done

echo "== peer: redis-benchmark XADD, pipelined, same redis-server" >&2
peer() {   # pipeline depth → requests/s
    redis-benchmark -s "$tmp/redis.sock" -n 300000 -P "$1" -q XADD bench:peer '*' f v |
        awk '/XADD/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) {print $i; exit}}'
}
peer16=$(peer 16)
peer64=$(peer 64)
redis-cli -s "$tmp/redis.sock" DEL bench:peer >/dev/null

{
    printf 'collector:\n  name: bench\n  redis: unix://%s/redis.sock\n  data_dir: %s/data\n' \
        "$tmp" "$tmp"
    printf '  log_level: warn\napi:\n  listen: 127.0.0.1:0\n'
    printf 'defaults:\n  interval: 10s\n  timeout: 5s\n  locations: [l0, l1, l2]\n'
    printf 'checks:\n'
    for ((i = 0; i < checks; i++)); do
        printf '  - {id: c%d, kind: http, url: "http://127.0.0.1:9/"}\n' "$i"
    done
} >"$tmp/nines.yaml"

if [ -n "${INGEST_CALLGRIND:-}" ]; then
    mkdir -p "$INGEST_CALLGRIND"
    # info, to see it ready; interval 1 h, so the pause between the rounds
    # is no gap in the data (a gap is logged and stored, not steady state)
    sed -i -e 's/log_level: warn/log_level: info/' -e 's/interval: 10s/interval: 1h/' \
        -e 's/timeout: 5s/timeout: 30s/' "$tmp/nines.yaml"
    valgrind --tool=callgrind --callgrind-out-file="$INGEST_CALLGRIND/callgrind.out.%p" \
        "$build/nines-collector" -c "$tmp/nines.yaml" 2>"$tmp/collector.log" &
    cpid=$!
    pids+=($cpid)
    for _ in $(seq 1 1200); do grep -q collector_ready "$tmp/collector.log" && break; sleep 0.1; done
    n=$((checks * 3))
    # a first round brings every check and location to UP (their first
    # results open states and log); the second, measured, is steady state
    for round in warm measured; do
        [ "$round" = measured ] && callgrind_control -z "$cpid" >/dev/null
        out=$("$build/bench/loadgen" --redis-socket "$tmp/redis.sock" --checks "$checks" \
            --locations 3 --rate "$n" --seconds 1 --drain-s 300)
    done
    callgrind_control -d "$cpid" >/dev/null
    n=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$out")
    f=$(ls -t "$INGEST_CALLGRIND"/callgrind.out.*.* 2>/dev/null | head -1)
    ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f")
    printf 'callgrind: %s results (%s) -> %s instructions, %s per result; file %s\n' "$n" \
        "$out" "$ir" "$((ir / n))" "$f"
    exit 0
fi

"$build/nines-collector" -c "$tmp/nines.yaml" 2>"$tmp/collector.log" &
cpid=$!
pids+=($cpid)
for _ in $(seq 1 200); do [ -s "$tmp/data/api.addr" ] && break; sleep 0.05; done
sleep 2    # catalogue published, states loaded

cpu_ms() {  # utime + stime of a pid, in ms
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"
}
child_cpu_ms() {  # cutime + cstime: its reaped children (redis: AOF rewrites), in ms
    awk -v hz="$(getconf CLK_TCK)" '{print ($16 + $17) * 1000 / hz}' "/proc/$1/stat"
}
aof_rewrites() {
    redis-cli -s "$tmp/redis.sock" INFO persistence | tr -d '\r' | sed -n 's/^aof_rewrites://p'
}

printf '\n%-10s %-10s %-10s %-12s %-14s %-14s %-9s %-9s %-9s %-12s\n' "offered/s" \
    "sent/s" "cpu ms/1k" "redis ms/1k" "(rewrites)" "loadgen ms/1k" "lag max" "lag p99" \
    "drain s" "vs XADD -P64"
lines=()
for rate in "${rates[@]}"; do
    before=$(cpu_ms "$cpid")
    rbefore=$(cpu_ms "$rpid")
    rcbefore=$(child_cpu_ms "$rpid")
    rwbefore=$(aof_rewrites)
    perfs=()
    if [ -n "${INGEST_PERF:-}" ]; then
        mkdir -p "$INGEST_PERF"
        for who in collector:$cpid redis:$rpid; do
            perf record -g -o "$INGEST_PERF/perf-${who%%:*}-$rate.data" -p "${who#*:}" \
                2>/dev/null >/dev/null &
            perfs+=($!)
        done
    fi
    out=$("$build/bench/loadgen" --redis-socket "$tmp/redis.sock" \
        --checks "$checks" --locations 3 --rate "$rate" --seconds "$seconds")
    after=$(cpu_ms "$cpid")
    rafter=$(cpu_ms "$rpid")
    rcafter=$(child_cpu_ms "$rpid")
    rwafter=$(aof_rewrites)
    for p in "${perfs[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" || true; done
    if [ -n "${INGEST_PERF:-}" ]; then
        redis-cli -s "$tmp/redis.sock" INFO commandstats >"$INGEST_PERF/commandstats-$rate.txt"
        redis-cli -s "$tmp/redis.sock" CONFIG RESETSTAT >/dev/null
    fi
    sent=$(sed -n 's/.*rate_sent=\([0-9.]*\).*/\1/p' <<<"$out")
    total=$(awk -v s="$sent" -v t="$seconds" 'BEGIN {print s * t}')
    cpu1k=$(awk -v a="$after" -v b="$before" -v n="$total" 'BEGIN {printf "%.1f", (a - b) * 1000 / n}')
    rcpu1k=$(awk -v a="$rafter" -v b="$rbefore" -v n="$total" \
        'BEGIN {printf "%.1f", (a - b) * 1000 / n}')
    rccpu1k=$(awk -v a="$rcafter" -v b="$rcbefore" -v n="$total" \
        'BEGIN {printf "%.1f", (a - b) * 1000 / n}')
    rw="$((rwafter - rwbefore)) x ${rccpu1k}"
    lcpu=$(sed -n 's/.*loadgen_cpu_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    lcpu1k=$(awk -v a="$lcpu" -v n="$total" 'BEGIN {printf "%.1f", a * 1000 / n}')
    ratio=$(awk -v s="$sent" -v p="$peer64" 'BEGIN {printf "%.3f", s / p}')
    lagmax=$(sed -n 's/.*lag_max_s=\([-0-9.]*\).*/\1/p' <<<"$out")
    lagp99=$(sed -n 's/.*lag_p99_s=\([-0-9.]*\).*/\1/p' <<<"$out")
    drain=$(sed -n 's/.*drain_s=\([-0-9.]*\).*/\1/p' <<<"$out")
    printf '%-10s %-10s %-10s %-12s %-14s %-14s %-9s %-9s %-9s %-12s\n' "$rate" "$sent" \
        "$cpu1k" "$rcpu1k" "$rw" "$lcpu1k" "$lagmax" "$lagp99" "$drain" "$ratio"
    lines+=("$out collector_cpu_ms_per_1000=$cpu1k redis_cpu_ms_per_1000=$rcpu1k \
loadgen_cpu_ms_per_1000=$lcpu1k aof_rewrites=$((rwafter - rwbefore)) \
redis_rewrite_cpu_ms_per_1000=$rccpu1k \
xadd_p64_rps=$peer64 ratio=$ratio")
done
printf '\npeer: redis-benchmark XADD -P 16: %s/s, -P 64: %s/s\n' "$peer16" "$peer64"
printf '%s\n' "${lines[@]}"
printf 'machine nproc=%s cpu="%s" date=%s\n' "$(nproc)" \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(date -u +%Y-%m-%dT%H:%MZ)"
