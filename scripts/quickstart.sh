#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs nines-collector
# (with its embedded Redis) on examples/quickstart.yaml, one nines-probe and a
# demo HTTP target. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="$root/build/quickstart"
state="$root/.nines"
demo_port=${NINES_DEMO_PORT:-8990}

scripts/deps.sh test      # the demo target is the test suite's HTTP fixture
echo "==== building in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target nines nines-collector nines-probe httpfix \
    >"$build.log" 2>&1 || { cat "$build.log" >&2; exit 1; }

mkdir -p "$state/quickstart"
pids=()
# Stops one process we started and waits (up to 15 s) until it is gone;
# `wait` alone returns early when a signal arrives meanwhile.
stop_one() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 1 150); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    wait "$1" 2>/dev/null || true
}
stop_all() {
    trap - INT TERM EXIT
    echo >&2
    echo "==== stopping" >&2
    # newest first: probe, collector (which stops its Redis), demo target
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_one "${pids[i]}"
    done
    echo "==== stopped; data kept in $state/quickstart" >&2
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

"$build/tests/httpfix" --port "$demo_port" --port-file "$state/demo.port" \
    2>"$state/demo-target.log" &
pids+=($!)
"$build/nines-collector" -c "$root/examples/quickstart.yaml" 2>"$state/collector.log" &
pids+=($!)
"$build/nines-probe" --redis "unix://$state/quickstart/redis.sock" --name "$(hostname -s)" \
    --location local 2>"$state/probe.log" &
pids+=($!)

# Wait until the first results are in, so the status shown is real.
for _ in $(seq 1 50); do
    if "$build/nines" status -c "$root/examples/quickstart.yaml" 2>/dev/null |
        grep -q ' UP \| DOWN '; then
        break
    fi
    sleep 0.2
done

cat <<EOT

nines is running: collector (embedded Redis in .nines/quickstart), one probe,
and a demo target on http://127.0.0.1:$demo_port/.

  Check states:   $build/nines status -c examples/quickstart.yaml
  As JSON:        $build/nines status -c examples/quickstart.yaml --json
  Break the demo: curl 'http://127.0.0.1:$demo_port/__fixture/mode?status=500'
  Heal it:        curl 'http://127.0.0.1:$demo_port/__fixture/mode?status=200'
  Logs:           .nines/collector.log  .nines/probe.log
  Reload config:  kill -HUP ${pids[1]}   (after editing examples/quickstart.yaml)
  API:            curl $(cat "$state/quickstart/api.addr" 2>/dev/null || echo http://127.0.0.1:8080)/api/v1/checks
  Metrics:        curl $(cat "$state/quickstart/api.addr" 2>/dev/null || echo http://127.0.0.1:8080)/metrics
  Incidents:      $build/nines incidents -c examples/quickstart.yaml
  Dashboard:      $(cat "$state/quickstart/api.addr" 2>/dev/null || echo http://127.0.0.1:8080)/   (open in a browser; no token needed here)
  Status page:    $(cat "$state/quickstart/api.addr" 2>/dev/null || echo http://127.0.0.1:8080)/status/demo

Ctrl-C stops everything.

EOT
"$build/nines" status -c "$root/examples/quickstart.yaml" || true

# Stay until Ctrl-C, or until one of them dies on its own.
wait -n "${pids[@]}" || true
echo "==== a process exited; see the logs in $state" >&2
