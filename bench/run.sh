#!/usr/bin/env bash
# nines side by side with its peers on the same loopback targets (issue 10).
#
#   bench/run.sh [--reps N] [--seconds S] [--only LIST] [--out FILE]
#
# LIST is a comma-separated subset of: cpu, plugins, rate, rss, ingest, report,
# callgrind (default: all). Must run as root the first time (it installs
# nginx, dnsmasq, redis-server, prometheus-blackbox-exporter,
# monitoring-plugins, wrk and perf from Debian). Everything listens
# on 127.0.0.0/8 or on Unix sockets in a temp dir; every process started here
# is stopped by its PID; every run is bounded in count and time.
#
# Prints one table per figure (median and min–max over the repetitions) and
# one machine-readable line per figure and subject:
#   BENCH figure=F subject=S unit=U median=M min=A max=B reps=N
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=3 seconds=10 only=all out=""
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $reps in ''|*[!0-9]*|0) echo "bench/run.sh: --reps needs a positive integer, got '$reps'" >&2; exit 2 ;; esac
case $seconds in ''|*[!0-9]*|0) echo "bench/run.sh: --seconds needs a positive integer, got '$seconds'" >&2; exit 2 ;; esac
want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }

# ---- dependencies ---------------------------------------------------------
bench/deps.sh
build="$root/build-bench"   # not build/bench: the bench/ subdirectory of a build in build/
# RelWithDebInfo: -O2 plus symbols for perf and callgrind
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNINES_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target nines-probe nines-collector nines loadgen checkbench tcpfloor >/dev/null
probe_bin="$build/nines-probe" nines_bin="$build/nines"

# ---- processes -----------------------------------------------------------
tmp=$(mktemp -d /tmp/nines-bench-XXXXXX)
pids=()
stop_pid() {    # TERM, then KILL after 30 s: a PID started here and its children
    local pid=$1 kids k
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)   # dnsmasq forks helpers
    kill -TERM "$pid" $kids 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null && echo "bench/run.sh: PID $pid ignored TERM for 30 s: killed" >&2 || true
    wait "$pid" 2>/dev/null || true
    for k in $kids; do kill -0 "$k" 2>/dev/null && kill -KILL "$k" 2>/dev/null || true; done
}
cleanup() {
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench/run.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() {   # a TCP port free on 127.0.0.1 now
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {    # wait_for SECONDS CMD...: polls CMD every 50 ms
    local n=$(( $1 * 20 )); shift
    for _ in $(seq 1 "$n"); do "$@" 2>/dev/null && return 0; sleep 0.05; done
    echo "bench/run.sh: timed out waiting for: $*" >&2
    return 1
}
cpu_ms() {      # cpu_ms PID [sys]: utime + stime of a PID (only stime with sys), in ms
    awk -v hz="$(getconf CLK_TCK)" -v only="${2:-}" \
        '{print (only == "sys" ? $15 : $14 + $15) * 1000 / hz}' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# redis-server: AOF everysec, Unix socket
redis_sock="$tmp/redis.sock"
redis-server --port 0 --unixsocket "$redis_sock" --dir "$tmp" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_for 10 test -S "$redis_sock"
rcli() { redis-cli -s "$redis_sock" "$@"; }

# nginx: one process, /ok answers 200 from the config
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
worker_rlimit_nofile 70000;
events { worker_connections 65536; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx;
    proxy_temp_path $tmp/nginx;
    fastcgi_temp_path $tmp/nginx;
    uwsgi_temp_path $tmp/nginx;
    scgi_temp_path $tmp/nginx;
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location = /ok { return 200 "ok\n"; }
    }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr" &
nginx_pid=$!
pids+=($nginx_pid)
wait_for 10 curl -sf "http://127.0.0.1:$nginx_port/ok" -o /dev/null
target_url="http://127.0.0.1:$nginx_port/ok"

# dnsmasq: check_dns (nslookup) cannot pick a port, so port 53 on a loopback
# address of its own (all of 127.0.0.0/8 is loopback on Linux)
dns_ip=127.53.0.1
dns_name=ok.bench.test
dnsmasq -d --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
    --listen-address=$dns_ip --port=53 --address=/bench.test/127.0.0.1 --address=/bench.test/::1 \
    --pid-file="$tmp/dnsmasq.pid" --cache-size=1000 2>"$tmp/dnsmasq.log" &
pids+=($!)
wait_for 10 bash -c "dig +short +time=1 +tries=1 @$dns_ip $dns_name | grep -q 127.0.0.1"

# blackbox_exporter
bb_port=$(free_port)
cat >"$tmp/blackbox.yml" <<EOF
modules:
  http_ok:
    prober: http
    timeout: 5s
    http: { preferred_ip_protocol: ip4, valid_status_codes: [200] }
  tcp_ok:
    prober: tcp
    timeout: 5s
    tcp: { preferred_ip_protocol: ip4 }
  dns_ok:
    prober: dns
    timeout: 5s
    dns: { preferred_ip_protocol: ip4, transport_protocol: udp, query_name: $dns_name, query_type: A }
EOF
prometheus-blackbox-exporter --config.file="$tmp/blackbox.yml" \
    --web.listen-address="127.0.0.1:$bb_port" >"$tmp/blackbox.log" 2>&1 &
bb_pid=$!
pids+=($bb_pid)
wait_for 10 curl -sf "http://127.0.0.1:$bb_port/probe?module=http_ok&target=$target_url" -o /dev/null
curl -s "http://127.0.0.1:$bb_port/probe?module=http_ok&target=$target_url" | grep -q '^probe_success 1'
curl -s "http://127.0.0.1:$bb_port/probe?module=tcp_ok&target=127.0.0.1:$nginx_port" | grep -q '^probe_success 1'
curl -s "http://127.0.0.1:$bb_port/probe?module=dns_ok&target=$dns_ip" | grep -q '^probe_success 1'

# ---- results --------------------------------------------------------------
results="$tmp/results"     # lines: figure subject unit value
: >"$results"
notes=()
record() { if [ -n "${4:-}" ]; then echo "$1 $2 $3 $4" >>"$results"; else note "no value for $1 $2"; fi; }
note() { notes+=("$*"); echo "  $*" >&2; }
say() { echo "== $* (load $(loadavg))" >&2; }

# ---- the nines probe, driven by a catalogue written into Redis ------------
# catalogue KIND COUNT INTERVAL_MS: N checks of KIND at the targets above
catalogue() {
    local kind=$1 n=$2 iv=$3
    awk -v kind="$kind" -v n="$n" -v iv="$iv" -v url="$target_url" -v port="$nginx_port" \
        -v dns="$dns_name" -v dnsip="$dns_ip" 'BEGIN {
        printf "{\"checks\":["
        for (i = 0; i < n; i++) {
            if (i) printf ","
            printf "{\"failures_to_down\":2,\"id\":\"%s%d\",\"interval_ms\":%d,\"kind\":\"%s\",", kind, i, iv, kind
            printf "\"locations\":[\"bench\"],\"successes_to_up\":1,\"timeout_ms\":5000,"
            if (kind == "http")
                printf "\"http\":{\"expect_status\":\"200-399\",\"follow_redirects\":0,\"max_body_bytes\":1048576,\"method\":\"GET\",\"url\":\"%s\",\"verify_tls\":true}}", url
            else if (kind == "tcp")
                printf "\"tcp\":{\"host\":\"127.0.0.1\",\"port\":%d}}", port
            else
                printf "\"dns\":{\"name\":\"%s\",\"servers\":[\"%s:53\"]}}", dns, dnsip
        }
        printf "],\"version\":1}"
    }' >"$tmp/catalogue.json"
    rcli -x SET nines:catalogue <"$tmp/catalogue.json" >/dev/null
    rcli SET nines:catalogue:version "$(printf '%016x' "$(( $(date +%s%N) & 0x7fffffffffffffff ))")" >/dev/null
    rcli SET nines:settings:wire 2 >/dev/null       # as a collector of this version publishes it
}
added() { rcli XINFO STREAM nines:results 2>/dev/null | awk 'p {print; exit} /^entries-added$/ {p = 1}' || echo 0; }
probe_pid=""
probe_workers=1     # --workers of the next probe_start (the rate group runs 2)
probe_start() {     # probe_start LOGFILE [wrapper...]: waits until every worker applied the catalogue
    local log=$1; shift
    # a spool of its own: one run's leftovers must not replay into the next
    rm -rf "$tmp/spool"
    "$@" "$probe_bin" --redis "unix://$redis_sock" --name bench --location bench \
        --poll-ms 200 --log-level info --spool-dir "$tmp/spool" --workers "$probe_workers" 2>"$log" &
    probe_pid=$!
    pids+=($probe_pid)
    wait_for 600 awk -v n="$probe_workers" '/event=catalogue_applied/ {c++} END {exit c < n}' "$log"
}
probe_stop() {      # prints the probe_stopped line (workers: one line summing theirs)
    stop_pid "$probe_pid"
    awk '/event=probe_stopped/ {
            n++
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "late_max_ms") { if (kv[2] > lm) lm = kv[2] }
                else if (kv[1] == "first_late_max_ms") { if (kv[2] > flm) flm = kv[2] }
                else if (kv[1] ~ /^(results|unsent|late_over_100ms|first_late_over_100ms|overlaps)$/) s[kv[1]] += kv[2]
            }
        }
        END { if (n) printf "workers_stopped=%d results=%d unsent=%d late_max_ms=%d late_over_100ms=%d overlaps=%d first_late_max_ms=%d first_late_over_100ms=%d\n", n, s["results"], s["unsent"], lm, s["late_over_100ms"], s["overlaps"], flm, s["first_late_over_100ms"] }' "$1"
}
probe_cpu_ms() {    # probe_cpu_ms [sys]: the probe's CPU (kernel only with sys), master and workers
    local total=0 k
    for k in "$probe_pid" $(ps -o pid= --ppid "$probe_pid" 2>/dev/null || true); do
        total=$(awk -v t="$total" -v c="$(cpu_ms "$k" "${1:-}" 2>/dev/null || echo 0)" 'BEGIN {print t + c}')
    done
    echo "$total"
}
kv() { sed -n "s/.*[ ]$1=\\([-0-9.]*\\).*/\\1/p" <<<"$2" | head -1; }

# nines_run KIND N INTERVAL_MS: N checks, measured over --seconds after a
# first interval; results counted as stored in Redis over that window. Sets RUN:
# "checks/s µs-CPU-per-check late_max_ms late_over_100ms overlaps
#  failed-of-last-2000 unsent-at-stop stored first_late_max_ms first_late_over_100ms
#  µs-of-kernel-CPU-per-check"
# (late_*: every run but each check's first, which all come due at once when
# the catalogue is applied; first_late_*: those first runs)
# (runs in this shell, not a subshell: the probe's PID must reach cleanup)
nines_run() {
    local kind=$1 n=$2 iv=$3 log="$tmp/probe.log" c0 c1 s0 s1 t0 t1 a0 a1 line
    rcli DEL nines:results >/dev/null
    catalogue "$kind" "$n" "$iv"
    probe_start "$log"
    # the window's results are those stored in Redis between t0 and t1 (the
    # probe's own count would add the runs finished while it stops); it
    # opens after one interval, as a check's first run comes at once and the
    # next at its slot in the interval
    sleep $(( iv / 1000 ))
    t0=$(date +%s%N) c0=$(probe_cpu_ms) s0=$(probe_cpu_ms sys) a0=$(added)
    sleep "$seconds"
    t1=$(date +%s%N) c1=$(probe_cpu_ms) s1=$(probe_cpu_ms sys) a1=$(added)
    line=$(probe_stop "$log")
    if [ -z "$line" ]; then   # killed: count what reached Redis, mark the rest unknown
        note "probe ($kind, $n checks) did not stop within 30 s; its log ends: $(tail -1 "$log" | cut -c1-200)"
        line="results=$(rcli XLEN nines:results) unsent=-1 late_max_ms=-1 late_over_100ms=-1 overlaps=-1 first_late_max_ms=-1 first_late_over_100ms=-1"
    fi
    RUN=$(awk -v c0="$c0" -v c1="$c1" -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v n="$(( a1 - a0 ))" \
        -v lm="$(kv late_max_ms "$line")" -v lo="$(kv late_over_100ms "$line")" \
        -v ov="$(kv overlaps "$line")" -v un="$(kv unsent "$line")" -v st="$(rcli XLEN nines:results)" \
        -v flm="$(kv first_late_max_ms "$line")" -v flo="$(kv first_late_over_100ms "$line")" \
        -v fl="$(rcli XREVRANGE nines:results + - COUNT 2000 | awk 'p { if ($0 != "ok") f++; p = 0 } $0 == "out" { p = 1 } END { print f + 0 }')" \
        'BEGIN { printf "%.1f %.2f %s %s %s %s %s %s %s %s %.2f\n", n * 1e9 / (t1 - t0), n ? (c1 - c0) * 1000 / n : -1, lm, lo, ov, fl, un, st, flm == "" ? -1 : flm, flo == "" ? -1 : flo, n ? (s1 - s0) * 1000 / n : -1 }')
}

# ---- peers -----------------------------------------------------------------
# blackbox_run KIND CONC → sets RUN: "probes/s µs-per-probe" (wrk drives /probe)
blackbox_run() {
    local module=$1 conc=$2 tgt c0 c1 out reqs
    case $module in
    http) tgt="$target_url" ;;
    tcp) tgt="127.0.0.1:$nginx_port" ;;
    dns) tgt="$dns_ip" ;;
    esac
    c0=$(cpu_ms "$bb_pid")
    out=$(wrk -t 2 -c "$conc" -d "${seconds}s" --timeout 5s \
        "http://127.0.0.1:$bb_port/probe?module=${module}_ok&target=$tgt")
    c1=$(cpu_ms "$bb_pid")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then note "blackbox $module c$conc: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ')"; fi
    RUN=$(awk -v r="$reqs" -v c0="$c0" -v c1="$c1" -v s="$seconds" \
        'BEGIN { printf "%.1f %.2f\n", r / s, (c1 - c0) * 1000 / r }')
}
# plugin_run COUNT CMD... → sets RUN: "checks/s µs-per-check" (CPU of the plugin processes)
plugin_run() {
    local n=$1; shift
    local t0 t1 cpu
    t0=$(date +%s%N)
    "$@" >&2 || { echo "bench/run.sh: the plugin failed: $*" >&2; exit 1; }
    cpu=$( (for ((i = 0; i < n; i++)); do "$@" >/dev/null || exit 1; done; times) | tail -1 |
        awk '{ split($1, u, /[ms]/); split($2, y, /[ms]/); print (u[1] * 60 + u[2] + y[1] * 60 + y[2]) * 1000 }')
    t1=$(date +%s%N)
    RUN=$(awk -v n="$n" -v c="$cpu" -v t=$(( (t1 - t0) / 1000000 )) \
        'BEGIN { printf "%.1f %.2f\n", n * 1000 / t, c * 1000 / n }')
}

# wrk_close_run THREADS CONC → sets RUN: "requests/s client-µs-per-request
# nginx-µs-per-request client-kernel-µs-per-request" for fresh connections
# (Connection: close) to /ok.
# wrk's own CPU is the floor of any HTTP client that opens a connection per
# request on this machine: it times nothing, checks nothing, stores nothing.
wrk_close_run() {
    local n0 n1 out reqs
    n0=$(cpu_ms "$nginx_pid")
    out=$(wrk -t "$1" -c "$2" -d "${seconds}s" -H 'Connection: close' "$target_url"; times >"$tmp/wrk.times")
    n1=$(cpu_ms "$nginx_pid")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    RUN=$(tail -1 "$tmp/wrk.times" | awk -v r="$reqs" -v s="$seconds" -v a="$n0" -v b="$n1" '{
        split($1, u, /[ms]/); split($2, y, /[ms]/)
        c = (u[1] * 60 + u[2] + y[1] * 60 + y[2]) * 1e6
        printf "%.1f %.2f %.2f %.2f\n", r / s, c / r, (b - a) * 1000 / r, (y[1] * 60 + y[2]) * 1e6 / r }')
}

# ---- figures ---------------------------------------------------------------
if want plugins; then
    for r in $(seq 1 "$reps"); do
        say "plugins rep $r: check_http, check_tcp, check_dns in a loop"
        plugin_run 300 /usr/lib/nagios/plugins/check_http -H 127.0.0.1 -p "$nginx_port" -u /ok
        read -r rate us <<<"$RUN"
        record cpu_us_per_check_http check_http us "$us"; record checks_per_s_http check_http "1/s" "$rate"
        plugin_run 300 /usr/lib/nagios/plugins/check_tcp -H 127.0.0.1 -p "$nginx_port"
        read -r rate us <<<"$RUN"
        record cpu_us_per_check_tcp check_tcp us "$us"; record checks_per_s_tcp check_tcp "1/s" "$rate"
        plugin_run 100 /usr/lib/nagios/plugins/check_dns -H "$dns_name" -s "$dns_ip"
        read -r rate us <<<"$RUN"
        record cpu_us_per_check_dns check_dns us "$us"; record checks_per_s_dns check_dns "1/s" "$rate"
    done
fi

if want cpu; then
    # tcpfloor_run LABEL ARGS...: the floor client, recorded as LABEL (and as
    # LABEL's kind: tcp, or http with ",http")
    tcpfloor_run() {
        local label=$1 kind=tcp floor; shift
        [[ " $* " == *",http "* ]] && kind=http
        floor=$("$build/bench/tcpfloor" 127.0.0.1 "$nginx_port" "$seconds" "$@") ||
            { echo "bench/run.sh: tcpfloor $* failed: $floor" >&2; exit 1; }
        note "$label: $floor"
        record "cpu_us_per_check_$kind" "$label" us "$(kv cpu_us_per_connect " $floor")"
    }
    # Per kind and repetition: blackbox_exporter first, driven flat out by
    # wrk; then nines at 2,000 checks/s and at blackbox's own c64 rate of
    # this repetition (a check's CPU falls with the rate: the loop and the
    # kernel's wake-ups are shared by more checks), each beside the floor
    # client paced at the same rate.
    for kind in http tcp dns; do
        for r in $(seq 1 "$reps"); do
            for conc in 16 64; do
                say "cpu $kind rep $r: blackbox_exporter via wrk -c $conc"
                blackbox_run "$kind" "$conc"
                read -r bb_rate us <<<"$RUN"
                note "blackbox $kind c$conc: ${bb_rate}/s ${us} µs/probe"
                record "cpu_us_per_check_$kind" "blackbox_c$conc" us "$us"
                record "checks_per_s_$kind" "blackbox_c$conc" "1/s" "$bb_rate"
            done
            # the peer's rate, to the hundred (at least 100/s)
            peer=$(awk -v r="$bb_rate" 'BEGIN { n = int(r / 100 + 0.5) * 100; print n < 100 ? 100 : n }')
            for run in "2000 nines _at_2000" "$peer nines_at_peer_rate _at_peer_rate"; do
                read -r n subject suffix <<<"$run"
                say "cpu $kind rep $r: nines $n checks at 1 s"
                nines_run "$kind" "$n" 1000
                read -r rate us lm lo ov fl un st flm flo sys <<<"$RUN"
                note "$subject $kind: ${rate}/s ${us} µs/check (kernel ${sys}) late_max=${lm}ms late>100ms=${lo} overlaps=${ov} failed_of_last_2000=${fl} unsent_at_stop=${un} stored=${st}"
                record "cpu_us_per_check_$kind" "$subject" us "$us"
                record "kernel_us_per_check_$kind" "$subject" us "$sys"
                record "checks_per_s_$kind" "$subject" "1/s" "$rate"
                record "cpu_ratio_to_blackbox_c64_$kind" "$subject" ratio \
                    "$(awk -v a="$us" -v b="$(awk -v k="cpu_us_per_check_$kind" '$1 == k && $2 == "blackbox_c64" {v = $4} END {print v}' "$results")" \
                        'BEGIN {printf "%.3f", a / b}')"
                case $kind in
                http) say "cpu http rep $r: the floor client (bench/tcpfloor reuse,http) paced at $n/s"
                      tcpfloor_run "http_floor$suffix" 16 10000000 reuse,http "$n" ;;
                tcp) say "cpu tcp rep $r: the floor client (bench/tcpfloor reuse) paced at $n/s"
                     tcpfloor_run "tcp_floor$suffix" 16 10000000 reuse "$n" ;;
                esac
            done
            case $kind in
            http)
                say "cpu http rep $r: the floor flat out, wrk -t1 -c16 with a fresh connection per request"
                wrk_close_run 1 16
                read -r _ wrk_us _ wrk_sys <<<"$RUN"
                note "wrk fresh-connection client: ${wrk_us} µs/request (kernel ${wrk_sys})"
                record cpu_us_per_check_http wrk_client_floor us "$wrk_us"
                record kernel_us_per_check_http wrk_client_floor us "$wrk_sys"
                say "cpu http rep $r: the floor flat out, bench/tcpfloor reuse,http, 16 in flight"
                tcpfloor_run http_floor 16 10000000 reuse,http ;;
            tcp)
                say "cpu tcp rep $r: the floor flat out, bench/tcpfloor (bare connect + reset, 16 in flight)"
                tcpfloor_run tcp_floor 16 10000000 fresh
                say "cpu tcp rep $r: the floor flat out with the socket reused (connect(AF_UNSPEC), as the TCP check does)"
                tcpfloor_run tcp_floor_reuse 16 10000000 reuse ;;
            esac
        done
    done
fi

if want rate; then
    for r in $(seq 1 "$reps"); do
        say "rate rep $r: wrk -H 'Connection: close' -c 64 on nginx /ok"
        wrk_close_run 2 64
        read -r wrk_rate wrk_us nginx_us _ <<<"$RUN"
        record fresh_conn_per_s wrk "1/s" "$wrk_rate"
        record nginx_cpu_us_per_req wrk us "$nginx_us"
        record wrk_client_cpu_us_per_req wrk_t2_c64 us "$wrk_us"
        # wrk runs two threads: the probe runs two workers (--workers 2), so
        # both may use every core; the cpu group keeps one (CPU per check)
        probe_workers=2
        for offered in ${BENCH_RATE_OFFERED:-10000 14000 16000 17000 18000 20000}; do
            say "rate rep $r: one probe (--workers $probe_workers), $offered HTTP checks at 1 s"
            nines_run http "$offered" 1000
            read -r rate us lm lo ov fl un st flm flo _ <<<"$RUN"
            note "nines sustained offered=$offered workers=$probe_workers (beside wrk -t2): ${rate}/s ${us} µs/check late_max=${lm}ms late>100ms=${lo} overlaps=${ov} failed_of_last_2000=${fl} unsent_at_stop=${un} stored=${st} first_runs: late_max=${flm}ms late>100ms=${flo}"
            record "sustained_per_s_offered_$offered" nines "1/s" "$rate"
            record "sustained_ratio_to_wrk_offered_$offered" nines ratio "$(awk -v a="$rate" -v b="$wrk_rate" 'BEGIN {printf "%.3f", a / b}')"
            record "late_max_ms_offered_$offered" nines ms "$lm"
            record "late_over_100ms_offered_$offered" nines runs "$lo"
            record "first_run_late_max_ms_offered_$offered" nines ms "$flm"
            record "unsent_at_stop_offered_$offered" nines results "$un"
            record "cpu_us_per_stored_check_offered_$offered" nines us "$us"
        done
        probe_workers=1
    done
fi

if want rss; then
    for r in $(seq 1 "$reps"); do
        say "rss rep $r: probe with 0 checks"
        rcli DEL nines:results >/dev/null
        catalogue http 0 3600000
        probe_start "$tmp/rss.log"
        sleep 1
        base=$(rss_kib "$probe_pid")
        probe_stop "$tmp/rss.log" >/dev/null
        record rss_kib_0_checks nines KiB "$base"
        for n in 1000 10000 100000; do
            # 100,000 checks take minutes to apply (see RESULTS.md): first repetition only
            [ "$n" -lt 100000 ] || [ "$r" -eq 1 ] || continue
            say "rss rep $r: probe with $n idle HTTP checks (1 h interval)"
            catalogue http "$n" 3600000
            t0=$(date +%s%N)
            probe_start "$tmp/rss.log"
            t1=$(date +%s%N)
            sleep 3
            kib=$(rss_kib "$probe_pid")
            probe_stop "$tmp/rss.log" >/dev/null
            record "rss_kib_${n}_checks" nines KiB "$kib"
            record "rss_bytes_per_check_$n" nines B "$(awk -v a="$kib" -v b="$base" -v n="$n" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')"
            record "catalogue_apply_s_$n" nines s "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')"
        done
    done
fi

if want ingest; then
    BENCH_INGEST_RATES=${BENCH_INGEST_RATES:-100000 150000 180000 200000}
    for r in $(seq 1 "$reps"); do
        say "ingest rep $r: bench/ingest.sh 10000 $seconds $BENCH_INGEST_RATES"
        bench/ingest.sh 10000 "$seconds" $BENCH_INGEST_RATES >"$tmp/ingest.out" 2>/dev/null
        p64=$(sed -n 's/.*-P 64: \([0-9.]*\).*/\1/p' "$tmp/ingest.out")
        record xadd_p64_per_s redis-benchmark "1/s" "$p64"
        while read -r l; do
            rate=$(kv rate_offered "$l"); [ -n "$rate" ] || rate=$(kv offered "$l")
            record "ingest_sent_per_s_offered_$rate" collector "1/s" "$(kv rate_sent "$l")"
            record "ingest_lag_max_s_offered_$rate" collector s "$(kv lag_max_s "$l")"
            record "ingest_ratio_to_xadd_p64_offered_$rate" collector ratio "$(kv ratio "$l")"
        done < <(grep 'rate_sent=' "$tmp/ingest.out")
    done
fi

if want report; then
    bench/report.sh "$reps" 100 10 "${BENCH_REPORT_DAYS:-31}" >"$tmp/report.out"
    cat "$tmp/report.out" >>"$results"
fi

# Figure 6: instructions per check under callgrind, through the real check
# engine (bench/checkbench: one check run back to back, each result encoded as
# the probe's push would). COUNT runs minus 0 runs cancels the start-up cost
# (loading, curl/OpenSSL init, the loop); both counts are deterministic up to a
# few hundred instructions, so one repetition would do, but all are recorded.
callgrind_instr() {     # callgrind_instr CATALOGUE COUNT → sets CG_IR: Ir of the whole run
    local out="$tmp/callgrind.out"
    rm -f "$out"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$build/bench/checkbench" "$1" "$2" 1 \
        >"$tmp/checkbench.log" 2>&1 ||
        { echo "bench/run.sh: checkbench $2 under callgrind failed: $(grep -v '^==' "$tmp/checkbench.log" | tail -3)" >&2; exit 1; }
    CG_IR=$(awk '/^summary:/ {print $2}' "$out")
    [ -n "$CG_IR" ] || { echo "bench/run.sh: no instruction count in $out" >&2; exit 1; }
}
if want callgrind; then
    cg_count=${BENCH_CALLGRIND_CHECKS:-1000}
    for kind in http tcp dns; do
        catalogue "$kind" 1 1000
        cp "$tmp/catalogue.json" "$tmp/checkbench-$kind.json"
        for r in $(seq 1 "$reps"); do
            say "callgrind $kind rep $r: $cg_count checks and 0 checks under valgrind --tool=callgrind"
            callgrind_instr "$tmp/checkbench-$kind.json" 0; i0=$CG_IR
            callgrind_instr "$tmp/checkbench-$kind.json" "$cg_count"; i1=$CG_IR
            per=$(awk -v a="$i0" -v b="$i1" -v n="$cg_count" 'BEGIN {printf "%.0f", (b - a) / n}')
            note "callgrind $kind: ${cg_count} checks ${i1} Ir, 0 checks ${i0} Ir: ${per} Ir/check"
            record "instr_per_check_$kind" nines instr "$per"
        done
    done
fi

# ---- table -----------------------------------------------------------------
table() {
    sort -k1,1 -k2,2 -s "$results" | awk -v reps="$reps" '
    function flush() {
        if (key == "") return
        n = m
        for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
        med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "| %-38s | %-18s | %-6s | %12s | %12s | %12s | %d |\n", f, s, u, med, v[1], v[n], n > "/dev/stderr"
        printf "BENCH figure=%s subject=%s unit=%s median=%s min=%s max=%s reps=%d\n", f, s, u, med, v[1], v[n], n
        delete v
    }
    { k = $1 " " $2; if (k != key) { flush(); key = k; f = $1; s = $2; u = $3; m = 0 } v[++m] = $4 + 0 }
    END { flush() }'
}
{
    echo
    printf '| %-38s | %-18s | %-6s | %12s | %12s | %12s | %s |\n' figure subject unit median min max n
    printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..40})" "$(printf -- '-%.0s' {1..20})" \
        "--------" "--------------" "--------------" "--------------" "---"
} >&2
if [ -n "$out" ]; then table | tee "$out"; else table; fi
printf 'BENCH machine nproc=%s cpu="%s" date=%s load="%s"\n' "$(nproc)" \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(loadavg)"
for n in "${notes[@]}"; do echo "NOTE $n"; done
