#!/usr/bin/env bash
# demo.sh [TALKCAST [RUN OPTIONS...]] — the `make demo` body: see the avatar
# stream as a viewer would, with nothing but this machine.
#
#   1. a private nginx-rtmp on a free 127.0.0.1 port, everything in demo/run/
#      (never a system-wide nginx);
#   2. talkcast run --out rtmp://127.0.0.1:PORT/live/demo --duration 25
#      (extra RUN OPTIONS are passed on, e.g. --avatar me.png);
#   3. ~2 s after talkcast starts, a viewer (ffmpeg) records what it is
#      served for DEMO_SECONDS (default 20) to demo/out.mp4, and a still at
#      ~5 s goes to demo/still.png;
#   4. everything stops at the end, on error and on Ctrl-C.
# While it runs, `ffplay rtmp://127.0.0.1:PORT/live/demo` shows it live.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TC=${1:-${TALKCAST_BIN:-build/talkcast}}
[ $# -gt 0 ] && shift
REC=${DEMO_SECONDS:-20}
run=$ROOT/demo/run
out=$ROOT/demo/out.mp4
still=$ROOT/demo/still.png

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$TC" ] || die "talkcast binary $TC not found (make build)"
for t in ffmpeg ffprobe nginx python3; do command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh)"; done

mkdir -p "$run"
tc_pid="" viewer_pid=""
cleanup() {
  local p
  for p in $viewer_pid $tc_pid; do kill "$p" 2>/dev/null || true; done
  for p in $viewer_pid $tc_pid; do wait "$p" 2>/dev/null || true; done
  tests/env/nginx-rtmp.sh stop "$run/nginx" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping" >&2; exit 130' INT TERM

port=$(tests/env/nginx-rtmp.sh start "$run/nginx")
url=rtmp://127.0.0.1:$port/live/demo
stat=http://127.0.0.1:$(cat "$run/nginx/http_port")/stat
echo "demo: private nginx-rtmp on 127.0.0.1:$port (stat page $stat)"

t0=$(date +%s%N)
"$TC" run --out "$url" --duration $((REC + 5)) "$@" 2>"$run/talkcast.log" &
tc_pid=$!

# Wait until nginx has the stream (its stat page shows a publisher with video).
published=0
for _ in $(seq 1 100); do
  kill -0 "$tc_pid" 2>/dev/null || die "talkcast exited early: $(tail -n 3 "$run/talkcast.log")"
  if curl -s "$stat" 2>/dev/null | tr -d '\n' | grep -q '<name>demo</name>.*<publishing/>'; then published=1; break; fi
  sleep 0.1
done
[ "$published" = 1 ] || die "talkcast did not publish within 10 s: $(tail -n 3 "$run/talkcast.log")"
echo "demo: streaming; watch it live now with:  ffplay $url"
while [ $(($(date +%s%N) - t0)) -lt 2000000000 ]; do sleep 0.1; done

echo "demo: recording ${REC} s of what a viewer sees to demo/out.mp4 ..."
ffmpeg -nostdin -v error -rw_timeout 5000000 -i "$url" -t "$REC" -c copy -movflags +faststart -y "$out" &
viewer_pid=$!
wait "$viewer_pid" || die "the viewer could not record the stream"
viewer_pid=""
ffmpeg -nostdin -v error -ss 5 -i "$out" -frames:v 1 -update 1 -y "$still" || die "could not extract a still"
rc=0
wait "$tc_pid" || rc=$?
tc_pid=""
[ "$rc" = 0 ] || die "talkcast exited $rc: $(tail -n 3 "$run/talkcast.log")"

echo
echo "demo: talkcast's counters:"
grep -E 'module=main msg="(frames|out[0-9])' "$run/talkcast.log" | sed 's/^/  /' || true
echo "demo: what the viewer recorded:"
ffprobe -v error -show_entries stream=codec_name,width,height,r_frame_rate,sample_rate,channels \
  -show_entries format=duration -of compact "$out" | sed 's/^/  /'
# Each avatar saying a line, rendered offline, and stills of its mouth
# closed (idle lead-in) and open (mid-word) for a person to look at.
line="Papa made a map. Hello there, how are you today?"
shared=${TC_SHARED_DIR:-$ROOT/../shared}
"$TC" say "$line" -o "$ROOT/demo/say-vector.mp4" 2>>"$run/say.log" || die "say (vector) failed"
avatars="vector"
if [ -f "$shared/avatars/astronaut.png" ]; then
  "$TC" say "$line" -o "$ROOT/demo/say-photo.mp4" --avatar "$shared/avatars/astronaut.png" \
    --landmarks "$ROOT/assets/avatars/astronaut.landmarks.json" 2>>"$run/say.log" || die "say (photo) failed"
  avatars="vector photo"
fi
for a in $avatars; do
  ffmpeg -nostdin -v error -i "$ROOT/demo/say-$a.mp4" -vf "select=eq(n\,5)" -frames:v 1 -update 1 -y "$ROOT/demo/$a-closed.png"
  ffmpeg -nostdin -v error -i "$ROOT/demo/say-$a.mp4" -vf "select=eq(n\,18)" -frames:v 1 -update 1 -y "$ROOT/demo/$a-open.png"
done

echo
echo "demo: recording  $out"
echo "demo: still      $still"
for a in $avatars; do
  echo "demo: $a avatar  $ROOT/demo/say-$a.mp4  (stills: demo/$a-closed.png, demo/$a-open.png)"
done
echo "demo: log        $run/talkcast.log"
echo "demo: play it with  ffplay $out"
