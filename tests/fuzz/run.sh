#!/usr/bin/env bash
# run.sh [SECONDS_PER_TARGET] [TARGET…] — build the libFuzzer harnesses
# (build.sh, into $FUZZ_BUILD, default build-fuzz) and run each for the
# given time (default 20 s: the short run of `make test`; `make fuzz` asks
# for 600) over a temp copy of its seed corpus, so new inputs never land in
# the repo. One fuzzer at a time, niced: the machine is shared.
#
# Prints "PASS: fuzz/T (N execs, N s)" or "FAIL: fuzz/T: reason" per target
# — a crash, leak, UBSan report, time-out or out-of-memory is a FAIL, with
# the saved input's path — then "fuzz: N passed, N failed"; exits 1 on any
# failure. Full logs and crash inputs stay in $FUZZ_BUILD/fuzz-logs and
# $FUZZ_BUILD/fuzz-artifacts.
set -uo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-20}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(msg env landmarks sprite tts_response face_mp avatar_ref)
BUILD=${FUZZ_BUILD:-build-fuzz}
HERE=tests/fuzz

passed=0
failed=0
work=$(mktemp -d -t tc-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
if ! tests/fuzz/build.sh "$BUILD" >"$work/build.log" 2>&1; then
  tail -20 "$work/build.log" >&2
  for t in "${TARGETS[@]}"; do echo "FAIL: fuzz/$t: build failed"; done
  echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
  exit 1
fi
mkdir -p "$BUILD/fuzz-logs" "$BUILD/fuzz-artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "${TARGETS[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz_$t
  log=$BUILD/fuzz-logs/$t.log
  if [ ! -x "$bin" ]; then
    echo "FAIL: fuzz/$t: no harness $bin"
    failed=$((failed + 1))
    continue
  fi
  corpus=$work/corpus-$t
  mkdir -p "$corpus" "$BUILD/fuzz-artifacts/$t"
  cp -r "$HERE/corpus/$t/." "$corpus/" 2>/dev/null || true
  args=(-max_total_time="$SECS" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$PWD/$BUILD/fuzz-artifacts/$t/")
  [ -f "$HERE/$t.dict" ] && args+=(-dict="$HERE/$t.dict")
  start=$(date +%s)
  TMPDIR=$work nice -n 10 "$bin" "${args[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(awk -F': *' '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)
  # the first report names the bug; libFuzzer names the file it saved
  what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$log" |
         sed -E 's/^==[0-9]+==//; s/^ +//')
  saved=$(grep -m1 -oE 'Test unit written to [^ ]+' "$log" | sed 's/Test unit written to //')
  if [ $rc -eq 0 ] && [ -z "$what" ] && [ -n "$execs" ]; then
    echo "PASS: fuzz/$t ($execs execs, $secs s)"
    passed=$((passed + 1))
  else
    echo "FAIL: fuzz/$t: ${what:-exit status $rc}${saved:+ — input saved to $saved} (log $log)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
