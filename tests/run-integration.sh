#!/usr/bin/env bash
# run-integration.sh [FILTER] — run every tests/integration/*.sh (or those
# whose name contains FILTER), one after the other: they measure real-time
# streams, so running them side by side would skew each other's timing.
#
# Each test runs under a time limit (TC_IT_TIMEOUT, default 120 s) with its
# output in a log (TC_IT_LOGS, default a new /tmp/tc-it-logs-* dir). Prints
# "PASS: integration/NAME (Ns)" or "FAIL: integration/NAME (Ns)" plus the
# reason and the end of its log, then "integration: N passed, N failed";
# exits 1 if any failed. A test that exits 77 (skip) counts as failed: the
# tests never skip, a missing tool is a failure.
#
# The talkcast under test is $TALKCAST_BIN (default build/talkcast).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
export TALKCAST_BIN=${TALKCAST_BIN:-$root/build/talkcast}
case "$TALKCAST_BIN" in /*) ;; *) TALKCAST_BIN=$root/$TALKCAST_BIN ;; esac
limit=${TC_IT_TIMEOUT:-120}
logs=${TC_IT_LOGS:-$(mktemp -d /tmp/tc-it-logs-XXXXXX)}
mkdir -p "$logs"

# reap DIR: stop any nginx a killed test left behind under DIR (its own
# cleanup did not run), then remove DIR.
reap() {
  local pidfile
  while IFS= read -r pidfile; do
    tests/env/nginx-rtmp.sh stop "$(dirname "$pidfile")" >/dev/null 2>&1 || true
  done < <(find "$1" -name nginx.pid 2>/dev/null)
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$1"
}

passed=0
failed=0
for t in tests/integration/*.sh; do
  name=$(basename "$t" .sh)
  if [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]]; then continue; fi
  tmp=$logs/tmp-$name
  mkdir -p "$tmp"
  start=$(date +%s)
  rc=0
  TMPDIR=$tmp timeout -k 10 "$limit" bash "$t" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
  took=$(($(date +%s) - start))
  reap "$tmp"
  if [ "$rc" = 0 ]; then
    echo "PASS: integration/$name (${took}s)"
    passed=$((passed + 1))
    continue
  fi
  case "$rc" in
    124 | 137) why="timed out after ${limit}s" ;;
    77) why="skipped (tests must not skip)" ;;
    *) why=$(grep -m 1 '^FAIL: ' "$logs/$name.log" | sed 's/^FAIL: [^:]*: //') ;;
  esac
  echo "FAIL: integration/$name (${took}s): ${why:-exit $rc}"
  tail -n 15 "$logs/$name.log" | sed 's/^/    /'
  failed=$((failed + 1))
done
echo "integration: $passed passed, $failed failed (logs in $logs)"
[ "$failed" -eq 0 ]
