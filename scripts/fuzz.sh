#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and runs each
# for SECONDS_EACH seconds (default 60), one after another, starting from its
# committed corpus in fuzz/corpus/<target>/. New interesting inputs go into a
# temporary copy of the corpus, never into the repository. Exits non-zero when
# any target crashes, leaks, times out or runs out of memory; the input that
# did it is left in build-fuzz/crashes/<target>/.
# Usage: scripts/fuzz.sh [SECONDS_EACH] [TARGET...]   (targets: fuzz_<name> or <name>)
set -euo pipefail

cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
case $secs in ''|*[!0-9]*|0) echo "fuzz.sh: SECONDS_EACH must be a positive number, not '$secs'" >&2; exit 2;; esac

build=build-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DNINES_SANITIZE=ON -DNINES_FUZZ=ON -DNINES_TESTS=OFF -DNINES_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

if [ $# -gt 0 ]; then
    targets=("${@#fuzz_}")
else
    targets=()
    for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
    bin=$build/fuzz/fuzz_$t
    if [ ! -x "$bin" ] || [ ! -d "fuzz/corpus/$t" ]; then
        echo "fuzz.sh: no target '$t' (want $bin and fuzz/corpus/$t/)" >&2
        failed+=("$t")
        continue
    fi
    mkdir -p "$work/$t" "$build/crashes/$t"
    cp fuzz/corpus/"$t"/* "$work/$t"/ 2>/dev/null || true
    echo "== $t: ${secs}s from $(ls fuzz/corpus/"$t" | wc -l) seeds"
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a blow-up
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
            -print_final_stats=1 -artifact_prefix="$build/crashes/$t/" \
            "$work/$t" >"$work/$t.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
            "$work/$t.log" | tr '\n' ' '
        echo
    else
        tail -60 "$work/$t.log"
        echo "fuzz.sh: $t FAILED; input in $build/crashes/$t/" >&2
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${secs}s each without a crash"
