#!/usr/bin/env bash
# test.sh BUILD ASAN — run every test: the unit tests in the normal build and
# again under AddressSanitizer + UBSan, then the integration tests against
# real servers on loopback. Counts individual test cases (cmocka cases and
# integration scripts) and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ASAN=${2:-build-asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0

# count_meson DIR LABEL: sum the cmocka cases of one meson test run.
count_meson() {
  local dir=$1 label=$2
  meson test -C "$dir" --no-rebuild --suite unit --print-errorlogs >"$dir/unit-test.out" 2>&1
  local counts
  counts=$(python3 scripts/count_tests.py "$dir/meson-logs/testlog.json" "$label")
  echo "$counts" | grep -E '^(PASS|FAIL)' || true
  local p f
  p=$(echo "$counts" | awk '/^TOTAL/ {print $2}')
  f=$(echo "$counts" | awk '/^TOTAL/ {print $3}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-1}))
}

echo "== unit tests ($BUILD)"
count_meson "$BUILD" unit
echo "== unit tests under ASan+UBSan ($ASAN)"
count_meson "$ASAN" asan

echo "== integration tests"
export TALKCAST_BIN=$PWD/$BUILD/talkcast
int_out=$(mktemp)
bash tests/run-integration.sh 2>&1 | tee "$int_out"
ip=$(grep -cE '^PASS' "$int_out" || true)
if_=$(grep -cE '^FAIL' "$int_out" || true)
passed=$((passed + ip))
failed=$((failed + if_))

echo "== fault-injection tests (the short set; make test-long runs the rest)"
TC_IT_DIR=tests/faults bash tests/run-integration.sh 2>&1 | tee "$int_out"
ip=$(grep -cE '^PASS' "$int_out" || true)
if_=$(grep -cE '^FAIL' "$int_out" || true)
passed=$((passed + ip))
failed=$((failed + if_))

# The daemon's message path (amqp, pipeline, run) once more, as a whole
# process under ASan+UBSan: a leak or a race-made overflow fails the run.
echo "== message integration tests under ASan+UBSan ($ASAN/talkcast)"
TALKCAST_BIN=$PWD/$ASAN/talkcast bash tests/run-integration.sh run_ 2>&1 | sed 's|integration/|integration-asan/|' | tee "$int_out"
ip=$(grep -cE '^PASS' "$int_out" || true)
if_=$(grep -cE '^FAIL' "$int_out" || true)
passed=$((passed + ip))
failed=$((failed + if_))

# The parsers under libFuzzer (tests/fuzz), 20 s each: a crash, leak or
# UBSan report is a failure (make fuzz runs them for 10 minutes each).
echo "== fuzz (20 s per target)"
tests/fuzz/run.sh 20 2>&1 | tee "$int_out"
fp=$(grep -cE '^PASS' "$int_out" || true)
ff=$(grep -cE '^FAIL' "$int_out" || true)
rm -f "$int_out"
passed=$((passed + fp))
failed=$((failed + ff))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
