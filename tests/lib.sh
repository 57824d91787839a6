# lib.sh — shared helpers for the integration tests (sourced, not run).
# Each test gets a private temp dir; everything it started (talkcast,
# nginx, viewers) is stopped when it exits, pass or fail.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TC_BIN=${TALKCAST_BIN:-$ROOT/build/talkcast}
NGINX=$ROOT/tests/env/nginx-rtmp.sh
PROBE=$ROOT/tests/probe.py
T=$(mktemp -d /tmp/tc-it-XXXXXX)
BG_PIDS=()

cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -d "$T/nginx" ] && "$NGINX" stop "$T/nginx" >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

# fail MSG: print a clear reason and end the test.
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "  $*" >&2; }

start_nginx() { "$NGINX" start "$T/nginx"; }

# bg CMD…: run in the background, remember the pid in $LAST_PID.
bg() { "$@" & LAST_PID=$!; BG_PIDS+=("$LAST_PID"); }

# probe FILE [--count] → JSON; jq-like access with pyget.
probe() { python3 "$PROBE" "$@"; }
# pyget JSON EXPR: evaluate a Python expression over the parsed JSON `j`.
pyget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# record URL SECONDS OUT: a viewer reading the stream, copying what it gets.
record() {
  timeout $(( $2 + 20 )) ffmpeg -nostdin -v error -rw_timeout 5000000 -i "$1" -t "$2" -c copy -y "$3"
}

# wait_for_file_line FILE REGEX SECONDS
wait_for_line() {
  local i
  for i in $(seq 1 $(( $3 * 10 ))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# check_av JSON FRAMES TOLERANCE_PCT: H.264 + AAC, frame count within the
# tolerance, no gap or backwards step, audio as long as video within a frame.
check_av() {
  local j=$1 want=$2 tol=$3
  python3 - "$j" "$want" "$tol" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); want = int(sys.argv[2]); tol = float(sys.argv[3])
v, a = j.get("video"), j.get("audio")
errs = []
if not v or not a: errs.append("missing video or audio stream")
else:
    if v["codec"] != "h264": errs.append(f"video codec {v['codec']}")
    if a["codec"] != "aac": errs.append(f"audio codec {a['codec']}")
    n = v["packets"]
    if abs(n - want) > want * tol / 100: errs.append(f"{n} frames, want {want} ±{tol}%")
    if v.get("max_gap_frames", 1) != 1: errs.append(f"video pts gap of {v['max_gap_frames']} frames")
    if v.get("backwards"): errs.append(f"{v['backwards']} video pts went backwards")
    if a.get("backwards"): errs.append(f"{a['backwards']} audio pts went backwards")
    vdur = v["last"] + v["frame_dur"] - v["first"]
    # Audio counts from where the picture starts: an mp4's AAC priming
    # packet sits before 0 and is trimmed by its edit list.
    adur = a["end"] - max(a["first"], v["first"])
    if abs(vdur - adur) > v["frame_dur"] + 0.001:
        errs.append(f"audio {adur:.3f}s vs video {vdur:.3f}s")
    print(f"  frames={n} video={vdur:.3f}s audio={adur:.3f}s max_gap={v.get('max_gap_frames')}", file=sys.stderr)
if errs:
    print("; ".join(errs)); sys.exit(1)
PY
}
