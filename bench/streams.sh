#!/usr/bin/env bash
# streams.sh — how many idle 1280x720@30 streams one talkcast process
# sustains on this machine without late frames (issue 7's figure).
#
# For N streams (--streams DIR with N files, vector avatar, x264 veryfast
# zerolatency 2500k + AAC, each to its own MPEG-TS file in /dev/shm) the
# process runs WARM+MEASURE seconds; /metrics is scraped after WARM and at
# the end: N passes when no frame was late in between and every stream put
# 30 frames a second on its timeline. N doubles from 2 until a run fails,
# then a binary search finds the largest N that passes. As a baseline the
# same run prints the CPU cores the process used per stream.
#
# The warm-up covers start-up, when every stream encodes idle frames live
# and builds its idle loop (about 0.8 s of CPU each) at the same time.
#
# env: TALKCAST_BIN, BENCH_WARM (20), BENCH_MEASURE (15), BENCH_MAX (64),
#      BENCH_RESULTS (bench/results.json)
set -euo pipefail
cd "$(dirname "$0")/.."
TC=${TALKCAST_BIN:-build/talkcast}
WARM=${BENCH_WARM:-20}
MEASURE=${BENCH_MEASURE:-15}
MAX=${BENCH_MAX:-64}
RESULTS=${BENCH_RESULTS:-bench/results.json}
PY=$(python3 -c 'import sys; print(sys.executable)')
[ -x "$TC" ] || { echo "streams.sh: $TC not found (make build)" >&2; exit 1; }
command -v curl >/dev/null || { echo "streams.sh: curl missing (scripts/deps.sh)" >&2; exit 1; }
W=$(mktemp -d /dev/shm/tc-bench-streams-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$W"' EXIT

# try N: prints "pass|fail late frames_ratio cores_per_stream rss_mb"
try() {
  local n=$1 i pid port
  rm -rf "$W/s" "$W"/*.ts
  mkdir -p "$W/s"
  for i in $(seq 1 "$n"); do printf 'TALKCAST_SEED=%d\n' "$i" >"$W/s/s$i.env"; done
  "$TC" run --streams "$W/s" --out "[f=mpegts]$W/{stream}.ts" --metrics-listen 127.0.0.1:0 \
    --duration $((WARM + MEASURE + 2)) 2>"$W/log" &
  pid=$!
  for i in $(seq 1 100); do
    port=$(sed -n 's|.*metrics on http://[^ ]*:\([0-9]*\)/metrics.*|\1|p' "$W/log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  sleep "$WARM"
  curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$W/m0"; date +%s.%N >"$W/t0"
  sleep "$MEASURE"
  curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$W/m1"; date +%s.%N >"$W/t1"
  wait "$pid" || true
  "$PY" - "$W" "$n" <<'PY'
import sys
w, n = sys.argv[1], int(sys.argv[2])
def load(p):
    m = {}
    for line in open(p):
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
    return m
m0, m1 = load(f"{w}/m0"), load(f"{w}/m1")
dt = float(open(f"{w}/t1").read()) - float(open(f"{w}/t0").read())
def total(m, name):
    return sum(v for k, v in m.items() if k.startswith(name + "{"))
late = total(m1, "talkcast_frames_late_total") - total(m0, "talkcast_frames_late_total")
frames = total(m1, "talkcast_frames_total") - total(m0, "talkcast_frames_total")
ratio = frames / (30 * dt * n)
cores = (m1["process_cpu_seconds_total"] - m0["process_cpu_seconds_total"]) / dt
ok = late == 0 and ratio > 0.98 and m1.get("talkcast_streams") == n
print("pass" if ok else "fail", int(late), f"{ratio:.3f}", f"{cores / n:.3f}",
      f"{m1['process_resident_memory_bytes'] / 2**20:.0f}")
PY
}

declare -A R
run() {
  local out
  out=$(try "$1")
  R[$1]=$out
  printf '  %3d streams: %s\n' "$1" "$out" >&2
  [ "${out%% *}" = pass ]
}

echo "idle 720p30 streams in one process (${WARM}s warm-up, ${MEASURE}s measured):" >&2
echo "    N  verdict late frames/expected cores/stream RSS-MB" >&2
good=0 bad=0 n=2
while [ "$n" -le "$MAX" ]; do
  if run "$n"; then good=$n; n=$((n * 2)); else bad=$n; break; fi
done
[ "$bad" = 0 ] && bad=$((MAX + 1))
[ "$good" = 0 ] && { run 1 && good=1; }
while [ $((bad - good)) -gt 1 ]; do
  mid=$(((good + bad) / 2))
  if run "$mid"; then good=$mid; else bad=$mid; fi
done
echo "max idle 720p30 streams without late frames: $good (on $(nproc) cores)" >&2
one=${R[2]:-${R[1]:-}}
"$PY" - "$RESULTS" "$good" "$(nproc)" "$one" "${R[$good]:-}" <<'PY'
import datetime, json, os, sys
path, good, cores, first, best = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5].split()
res = json.load(open(path)) if os.path.exists(path) else {}
res["idle_streams"] = {
    "what": "idle 1280x720@30 vector avatar streams in one talkcast process (x264 veryfast zerolatency "
            "2500k + AAC 128k, MPEG-TS files in /dev/shm) without a late frame",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "cores": cores, "max_streams": good,
    "cores_per_stream_at_2": float(first[3]) if len(first) > 3 else None,
    "cores_per_stream_at_max": float(best[3]) if len(best) > 3 else None,
    "rss_mb_at_max": float(best[4]) if len(best) > 4 else None,
}
json.dump(res, open(path, "w"), indent=2)
open(path, "a").write("\n")
print(f"written to {path}")
PY
