#!/usr/bin/env bash
# run-integration.sh [FILTER] — run every tests/integration/*.sh (or those
# whose name contains FILTER), each with a time limit; print PASS/FAIL per
# test and "integration: N passed, N failed"; exit 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=${TC_IT_LOGS:-$(mktemp -d /tmp/tc-it-logs-XXXXXX)}
pass=0 failn=0
for t in tests/integration/*.sh; do
  name=$(basename "$t" .sh)
  [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]] && continue
  start=$(date +%s)
  if timeout 180 bash "$t" >"$logs/$name.log" 2>&1; then
    echo "PASS: integration/$name ($(( $(date +%s) - start ))s)"
    pass=$((pass + 1))
  else
    echo "FAIL: integration/$name ($(( $(date +%s) - start ))s)"
    sed 's/^/    /' "$logs/$name.log" | tail -15
    failn=$((failn + 1))
  fi
done
echo "integration: $pass passed, $failn failed (logs in $logs)"
[ "$failn" -eq 0 ]
