#!/usr/bin/env bash
# idle_vs_ffmpeg.sh — what an idle talkcast costs next to the plainest
# ffmpeg that streams the same still picture.
#
# All run AT THE SAME TIME for BENCH_SECONDS (default 30) on one private
# nginx-rtmp, so they share the machine's load and any noise equally:
#   talkcast run --avatar img.png --out rtmp://…/live/tc --duration N
#   the same with --no-idle-replay (every idle frame rendered and encoded)
#   ffmpeg -re -loop 1 -framerate 30 -i img.png + anullsrc, libx264 veryfast zerolatency
#          -g 60 2500k yuv420p, AAC 128k, -t N -f flv rtmp://…/live/ff
# (the same encoder settings as talkcast's defaults). img.png is the shared
# astronaut photo padded to 1280x720 (a testsrc2 frame if it is missing).
# Each process is measured whole by GNU time: CPU seconds (user + sys),
# peak RSS and wall time; and in a steady window (from 10 s after the start
# to 2 s before the end, read from /proc) — start-up work such as encoding
# the idle loop is not what an idle stream costs by the hour. All must
# publish and exit 0, or the numbers are meaningless and the script fails.
#
# Prints a table and merges the result into bench/results.json under
# "idle_vs_ffmpeg" (other keys are kept).
#
# Usage: bench/idle_vs_ffmpeg.sh
#   env: TALKCAST_BIN, BENCH_SECONDS, BENCH_RESULTS (the JSON file),
#        BENCH_AVATAR (the picture), KEEP_TMP=1
set -euo pipefail
cd "$(dirname "$0")/.."
# /metrics on any free port: several talkcasts run here at once
export TALKCAST_METRICS_LISTEN=${TALKCAST_METRICS_LISTEN-127.0.0.1:0}
ROOT=$PWD
TC=${TALKCAST_BIN:-$ROOT/build/talkcast}
SECS=${BENCH_SECONDS:-30}
NGINX_RTMP=$ROOT/tests/env/nginx-rtmp.sh
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results.json}
AVATAR=${BENCH_AVATAR:-$ROOT/../shared/avatars/astronaut.png}

die() { echo "idle_vs_ffmpeg: $*" >&2; exit 1; }
[ -x "$TC" ] || die "talkcast binary $TC not found (make build, or set TALKCAST_BIN)"
for t in ffmpeg ffprobe nginx python3; do command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh)"; done
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is not installed (apt-get install time)"

W=$(mktemp -d /tmp/tc-bench-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$NGINX_RTMP" stop "$W/nginx" >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

# The picture: 1280x720, the same file for both.
img=$W/avatar.png
if [ -f "$AVATAR" ]; then
  ffmpeg -nostdin -v error -i "$AVATAR" -frames:v 1 \
    -vf "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2" -y "$img"
else
  echo "idle_vs_ffmpeg: $AVATAR missing; using a testsrc2 frame" >&2
  ffmpeg -nostdin -v error -f lavfi -i testsrc2=s=1280x720 -frames:v 1 -y "$img"
fi

port=$("$NGINX_RTMP" start "$W/nginx")
base=rtmp://127.0.0.1:$port/live
fmt='%e %U %S %M'
echo "idle_vs_ffmpeg: ${SECS} s side by side on $base (talkcast: $TC)" >&2

/usr/bin/time -f "$fmt" -o "$W/tc.time" \
  "$TC" run --avatar "$img" --out "$base/tc" --duration "$SECS" 2>"$W/tc.log" &
pids+=($!)
/usr/bin/time -f "$fmt" -o "$W/tclive.time" \
  "$TC" run --avatar "$img" --out "$base/tclive" --duration "$SECS" --no-idle-replay 2>"$W/tclive.log" &
pids+=($!)
/usr/bin/time -f "$fmt" -o "$W/ff.time" \
  ffmpeg -nostdin -v error -re -loop 1 -framerate 30 -i "$img" -f lavfi -i anullsrc=r=48000:cl=stereo \
  -c:v libx264 -preset veryfast -tune zerolatency -g 60 -b:v 2500k -pix_fmt yuv420p \
  -c:a aac -b:a 128k -t "$SECS" -f flv "$base/ff" 2>"$W/ff.log" &
pids+=($!)

# CPU ticks of each measured process (the child of its GNU time)
ticks() { awk '{print $14 + $15}' "/proc/$(pgrep -P "$1" | head -n 1)/stat"; }
WARM=10
sleep "$WARM"
t0=$(date +%s.%N)
w0=("$(ticks "${pids[0]}")" "$(ticks "${pids[1]}")" "$(ticks "${pids[2]}")")
# All must really be streaming: ask nginx.
sleep $((SECS / 2 - WARM > 0 ? SECS / 2 - WARM : 0))
stat=$(python3 - "http://127.0.0.1:$(cat "$W/nginx/http_port")/stat" <<'PY'
import sys, urllib.request, xml.etree.ElementTree as ET
root = ET.fromstring(urllib.request.urlopen(sys.argv[1], timeout=2).read())
live = [s.findtext("name") for s in root.iter("stream") if s.find("./client/publishing") is not None]
print(" ".join(sorted(live)))
PY
)
# the steady window ends 2 s before --duration
sleep $((SECS - SECS / 2 - 2 > 0 ? SECS - SECS / 2 - 2 : 0))
t1=$(date +%s.%N)
w1=("$(ticks "${pids[0]}")" "$(ticks "${pids[1]}")" "$(ticks "${pids[2]}")")
names=(talkcast "talkcast --no-idle-replay" ffmpeg)
logs=(tc tclive ff)
for i in 0 1 2; do
  rc=0
  wait "${pids[$i]}" || rc=$?
  [ "$rc" = 0 ] || die "${names[$i]} exited $rc: $(tail -n 3 "$W/${logs[$i]}.log")"
done
pids=()
[ "$stat" = "ff tc tclive" ] || die "halfway through, nginx saw publishers '$stat', want 'ff tc tclive'"

version=$("$TC" --version | head -n 1)
python3 - "$W" "$SECS" "$RESULTS" "$version" "$t0" "$t1" "${w0[*]}" "${w1[*]}" "$(getconf CLK_TCK)" <<'PY'
import datetime, json, os, platform, sys

w, secs, path, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
w0, w1, hz = [int(x) for x in sys.argv[7].split()], [int(x) for x in sys.argv[8].split()], int(sys.argv[9])

def measure(name, i):
    # GNU time appends its line last (after anything the command printed).
    e, u, s, m = open(f"{w}/{name}.time").read().split()[-4:]
    return {"wall_s": float(e), "user_s": float(u), "sys_s": float(s),
            "cpu_s": round(float(u) + float(s), 2), "peak_rss_mb": round(int(m) / 1024, 1),
            "steady_cores": round((w1[i] - w0[i]) / hz / (t1 - t0), 4)}

tc, live, ff = measure("tc", 0), measure("tclive", 1), measure("ff", 2)
ratio = round(tc["cpu_s"] / ff["cpu_s"], 3) if ff["cpu_s"] else None
steady = round(tc["steady_cores"] / ff["steady_cores"], 3) if ff["steady_cores"] else None
steady_live = round(live["steady_cores"] / ff["steady_cores"], 3) if ff["steady_cores"] else None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
print(f"{'':26}{'talkcast':>12}{'tc live':>12}{'ffmpeg':>12}")
print(f"{'CPU s (user+sys), whole':26}{tc['cpu_s']:>12.2f}{live['cpu_s']:>12.2f}{ff['cpu_s']:>12.2f}")
print(f"{'cores, steady window':26}{tc['steady_cores']:>12.4f}{live['steady_cores']:>12.4f}{ff['steady_cores']:>12.4f}")
print(f"{'peak RSS MB':26}{tc['peak_rss_mb']:>12.1f}{live['peak_rss_mb']:>12.1f}{ff['peak_rss_mb']:>12.1f}")
print(f"CPU ratio talkcast/ffmpeg: steady {steady} (target <= 0.10), whole run {ratio}; "
      f"all-live talkcast {steady_live}")
results = {}
if os.path.exists(path):
    with open(path) as f:
        results = json.load(f)
results["idle_vs_ffmpeg"] = {
    "what": "idle still-image avatar, 1280x720@30 x264 veryfast zerolatency 2500k + AAC 128k to "
            "nginx-rtmp; talkcast (idle loop replayed), talkcast --no-idle-replay and the ffmpeg "
            "baseline run side by side; steady = cores from 10 s after start to 2 s before the end",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "seconds": secs, "talkcast_version": version,
    "machine": {"cpu": cpu, "cores": os.cpu_count()},
    "talkcast": tc, "talkcast_live": live, "ffmpeg": ff, "cpu_ratio": ratio,
    "steady_ratio": steady, "steady_ratio_live": steady_live,
}
with open(path, "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
print(f"written to {path}")
PY
