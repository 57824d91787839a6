#!/usr/bin/env bash
# demo.sh [TALKCAST] — the first demo: a private nginx-rtmp on 127.0.0.1,
# talkcast streaming the built-in avatar for ~25 s, and a viewer recording
# what it sees to demo/out.mp4 plus a still, demo/still.png.
set -euo pipefail
cd "$(dirname "$0")/.."
TC=${1:-build/talkcast}
SECONDS_REC=${DEMO_SECONDS:-20}
run=$PWD/demo/run
mkdir -p demo "$run"

cleanup() {
  [ -n "${tc_pid:-}" ] && kill "$tc_pid" 2>/dev/null || true
  tests/env/nginx-rtmp.sh stop "$run/nginx" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

port=$(tests/env/nginx-rtmp.sh start "$run/nginx")
url=rtmp://127.0.0.1:$port/live/demo
echo "demo: nginx-rtmp on 127.0.0.1:$port"
"$TC" run --out "$url" --duration $((SECONDS_REC + 5)) 2>"$run/talkcast.log" &
tc_pid=$!
for _ in $(seq 1 50); do grep -q 'connected to' "$run/talkcast.log" && break; sleep 0.1; done
echo "demo: streaming; watch it live with:  ffplay $url"
sleep 1
echo "demo: recording ${SECONDS_REC}s of what a viewer sees…"
ffmpeg -nostdin -v error -rw_timeout 5000000 -i "$url" -t "$SECONDS_REC" -c copy -movflags +faststart -y demo/out.mp4
ffmpeg -nostdin -v error -ss 5 -i demo/out.mp4 -frames:v 1 -y demo/still.png
wait "$tc_pid"
tc_pid=
echo
grep -E 'module=main msg="(frames|out0)' "$run/talkcast.log" | sed 's/^/  /'
ffprobe -v error -show_entries stream=codec_name,width,height,r_frame_rate,sample_rate,channels \
  -show_entries format=duration -of compact demo/out.mp4 | sed 's/^/  /'
echo
echo "demo: recording  $(pwd)/demo/out.mp4"
echo "demo: still      $(pwd)/demo/still.png"
echo "demo: log        $run/talkcast.log"
