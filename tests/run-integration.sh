#!/usr/bin/env bash
# run-integration.sh [FILTER] — run every tests/integration/*.sh (or those
# whose name contains FILTER), one after the other: they measure real-time
# streams, so running them side by side would skew each other's timing.
#
# TC_IT_DIR names another directory of such tests (e.g. tests/faults); the
# verdict lines then say "faults/NAME". A test whose header has a line
# "# long" is slow: TC_IT_SET=short (the default) skips it, TC_IT_SET=long
# runs only those, TC_IT_SET=all runs both. A header line "# timeout S"
# raises the time limit of that one test.
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
dir=${TC_IT_DIR:-tests/integration}
dir=${dir%/}
case "$dir" in "$root"/*) dir=${dir#"$root"/} ;; esac
label=$(basename "$dir")
set_=${TC_IT_SET:-short}
case "$set_" in short | long | all) ;; *) echo "TC_IT_SET must be short, long or all" >&2; exit 2 ;; esac
limit=${TC_IT_TIMEOUT:-120}
logs=${TC_IT_LOGS:-$(mktemp -d /tmp/tc-it-logs-XXXXXX)}
mkdir -p "$logs"

# header_has T REGEX: a line of T's leading comment block matches REGEX.
header_has() { sed -n '1,/^[^#]/p' "$1" | grep -qE -- "$2"; }

# reap DIR: undo what a killed test left behind under DIR (its own cleanup
# did not run) — mounts, nginx, brokers — then remove DIR.
reap() {
  local f
  while IFS= read -r f; do umount -l "$f" 2>/dev/null || true; done < <(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  while IFS= read -r f; do
    tests/env/nginx-rtmp.sh stop "$(dirname "$f")" >/dev/null 2>&1 || true
  done < <(find "$1" -name nginx.pid 2>/dev/null)
  while IFS= read -r f; do
    tests/env/rabbitmq.sh stop "$(dirname "$f")" >/dev/null 2>&1 || true
  done < <(find "$1" -name broker 2>/dev/null)
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$1"
}

passed=0
failed=0
for t in "$dir"/*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]]; then continue; fi
  long=0
  header_has "$t" '^# long$' && long=1
  [ "$set_" = short ] && [ $long = 1 ] && continue
  [ "$set_" = long ] && [ $long = 0 ] && continue
  tlimit=$limit
  if header_has "$t" '^# timeout [0-9]+$'; then
    tlimit=$(sed -n '1,/^[^#]/p' "$t" | sed -n 's/^# timeout \([0-9]*\)$/\1/p' | head -n 1)
  fi
  tmp=$logs/tmp-$name
  mkdir -p "$tmp"
  start=$(date +%s)
  rc=0
  TMPDIR=$tmp timeout -k 10 "$tlimit" bash "$t" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
  took=$(($(date +%s) - start))
  reap "$tmp"
  if [ "$rc" = 0 ]; then
    echo "PASS: $label/$name (${took}s)"
    passed=$((passed + 1))
    continue
  fi
  case "$rc" in
    124 | 137) why="timed out after ${tlimit}s" ;;
    77) why="skipped (tests must not skip)" ;;
    *) why=$(grep -m 1 '^FAIL: ' "$logs/$name.log" | sed 's/^FAIL: [^:]*: //') ;;
  esac
  echo "FAIL: $label/$name (${took}s): ${why:-exit $rc}"
  tail -n 15 "$logs/$name.log" | sed 's/^/    /'
  failed=$((failed + 1))
done
echo "$label: $passed passed, $failed failed (logs in $logs)"
[ "$failed" -eq 0 ]
