#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, and runs the whole suite
# (unit and integration) twice: a normal build, then AddressSanitizer + UBSan;
# then a short libFuzzer run of every parser. Exits non-zero on any failure,
# any sanitizer report or any fuzzer finding.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/deps.sh test
# playwright-core for tests/browser (pinned by its package-lock.json); it drives
# /usr/bin/chromium and must never download a browser of its own.
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
fi

run_suite() {      # name, cmake options...
    local name=$1; shift
    local dir="$root/build/$name"
    echo "==== $name: configure and build" >&2
    cmake -S "$root" -B "$dir" -DNINES_TESTS=ON "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)" >"$dir.build.log" 2>&1 || {
        cat "$dir.build.log" >&2; return 1; }
    echo "==== $name: ctest" >&2
    (cd "$dir" && ctest --output-on-failure -j 2 --output-log "$dir/ctest-output.log")
}

status=0
run_suite normal -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNINES_SANITIZE=OFF || status=1

# Sanitizer reports go to files: a LeakSanitizer report does not fail a
# Criterion test, and reports from the daemons the tests start would be lost.
san="$root/build/sanitizer-logs"
rm -rf "$san" && mkdir -p "$san"
export ASAN_OPTIONS="log_path=$san/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$san/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
run_suite asan -DCMAKE_BUILD_TYPE=Debug -DNINES_SANITIZE=ON -DNINES_BENCH=OFF || status=1

# Only real reports count: a test that provokes an allocation failure on
# purpose leaves "failed to allocate" warnings, which are not errors.
# UBSan next to ASan ignores log_path and writes to stderr: the tests' own
# output is searched too (the daemons' UB aborts them, which fails a test).
reports=$(grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$san"/* \
          "$root/build/asan/ctest-output.log" 2>/dev/null || true)
if [ -n "$reports" ]; then
    echo "==== sanitizer reports:" >&2
    for f in $reports; do echo "---- $f" >&2; cat "$f" >&2; done
    echo "FAILED: sanitizer reports above" >&2
    status=1
fi

# A short fuzz run of every parser from its committed corpus (clang,
# libFuzzer, ASan+UBSan): NINES_FUZZ_SECONDS each, 3 by default here;
# scripts/fuzz.sh 600 for a long run.
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
echo "==== fuzz: ${NINES_FUZZ_SECONDS:-3}s per target" >&2
scripts/fuzz.sh "${NINES_FUZZ_SECONDS:-3}" >&2 || status=1
exit $status
