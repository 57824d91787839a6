#!/usr/bin/env bash
# demo.sh [TALKCAST [RUN OPTIONS...]] — the `make demo` body: the whole
# story with nothing but this machine.
#
#   1. a private nginx-rtmp and a private RabbitMQ on free 127.0.0.1 ports,
#      everything in demo/run/ (never system-wide services);
#   2. talkcast run --out rtmp://127.0.0.1:PORT/live/demo --amqp-url …
#      (extra RUN OPTIONS are passed on, e.g. --avatar me.png);
#   3. a viewer (ffmpeg) records what it is served for DEMO_SECONDS (default
#      30) to demo/out.mp4 while messages are published with amqp-publish:
#      a greeting, a long message cut short by an interrupt, and a last one;
#   4. events are recorded to demo/events.jsonl and summed up; stills of the
#      stream idle and talking go to demo/, and the closed captions a viewer
#      gets, read back with FFmpeg's 608 decoder, to demo/captions.srt;
#   5. everything stops at the end, on error and on Ctrl-C.
# While it runs, `ffplay rtmp://127.0.0.1:PORT/live/demo` shows it live.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TC=${1:-${TALKCAST_BIN:-build/talkcast}}
[ $# -gt 0 ] && shift
REC=${DEMO_SECONDS:-30}
run=$ROOT/demo/run
out=$ROOT/demo/out.mp4
still=$ROOT/demo/still.png

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$TC" ] || die "talkcast binary $TC not found (make build)"
for t in ffmpeg ffprobe nginx python3 amqp-publish; do command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh)"; done

mkdir -p "$run"
tc_pid="" viewer_pid="" events_pid=""
cleanup() {
  local p
  for p in $viewer_pid $tc_pid $events_pid; do kill "$p" 2>/dev/null || true; done
  for p in $viewer_pid $tc_pid $events_pid; do wait "$p" 2>/dev/null || true; done
  tests/env/nginx-rtmp.sh stop "$run/nginx" >/dev/null 2>&1 || true
  tests/env/rabbitmq.sh stop "$run/rabbitmq" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping" >&2; exit 130' INT TERM

port=$(tests/env/nginx-rtmp.sh start "$run/nginx")
url=rtmp://127.0.0.1:$port/live/demo
stat=http://127.0.0.1:$(cat "$run/nginx/http_port")/stat
echo "demo: private nginx-rtmp on 127.0.0.1:$port (stat page $stat)"

echo "demo: starting a private RabbitMQ (takes a few seconds) ..."
aport=$(tests/env/rabbitmq.sh start "$run/rabbitmq")
amqp=amqp://guest:guest@127.0.0.1:$aport/%2F
echo "demo: private RabbitMQ on 127.0.0.1:$aport"

t0=$(date +%s%N)
"$TC" run --out "$url" --amqp-url "$amqp" --queue demo "$@" 2>"$run/talkcast.log" &
tc_pid=$!
for _ in $(seq 1 100); do grep -q 'consuming messages' "$run/talkcast.log" 2>/dev/null && break; sleep 0.1; done
events=$ROOT/demo/events.jsonl
: >"$events"
/usr/bin/python3 tests/broker.py events "$amqp" talkcast.events "$events" $((REC + 20)) >"$run/events.out" 2>&1 &
events_pid=$!
for _ in $(seq 1 50); do grep -q ready "$run/events.out" && break; sleep 0.1; done

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

# say PUBLISH-ARGS: publish one message the way any client would
say() { amqp-publish -u "$amqp" -C application/json "$@"; }
sleep 3
echo "demo: publishing messages (amqp-publish -r demo -b '{\"type\":\"text\",\"text\":…}')"
say -r demo -b '{"type":"text","id":"hello","text":"Hello! I am talkcast, a live avatar that reads your messages out loud."}'
say -r demo -b '{"type":"text","id":"queue","text":"Every message on the queue is spoken in order, lip-synced, and acknowledged once it was said."}'
say -r demo -b '{"type":"text","id":"long","text":"This is a long message that will not be finished, because an interrupt message is about to arrive and cut me short in the middle of this sentence."}'
for _ in $(seq 1 300); do grep -q '"started".*"long"\|"long".*"started"' "$events" && break; sleep 0.1; done
sleep 2
say -r demo.control -b '{"type":"control","id":"stop","command":"interrupt"}'
sleep 1
say -r demo -b '{"type":"text","id":"bye","text":"That was an interrupt. Thanks for watching!","metadata":{"from":"demo"}}'
wait "$viewer_pid" || die "the viewer could not record the stream"
viewer_pid=""
ffmpeg -nostdin -v error -ss 1 -i "$out" -frames:v 1 -update 1 -y "$still" || die "could not extract a still"
kill -TERM "$tc_pid"
rc=0
wait "$tc_pid" || rc=$?
tc_pid=""
[ "$rc" = 0 ] || die "talkcast exited $rc: $(tail -n 3 "$run/talkcast.log")"
sleep 0.5
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
events_pid=""

echo
echo "demo: talkcast's counters:"
grep -E 'module=run msg="(frames|out[0-9]|messages)' "$run/talkcast.log" | sed 's/^/  /' || true
echo "demo: events (demo/events.jsonl):"
/usr/bin/python3 - "$events" <<'PY' | sed 's/^/  /'
import collections, json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("counts:", dict(collections.Counter(e["event"] for e in ev)))
for e in ev:
    if e["event"] in ("started", "finished", "interrupted", "failed"):
        d = e.get("detail", {})
        extra = f" latency {d['latency_ms']:.0f} ms" if "latency_ms" in d else ""
        extra += f" cut {d['delay_ms']:.0f} ms after the interrupt" if "delay_ms" in d else ""
        print(f"{e['ts']}  {e['event']:<11} {e['message_id']}{extra}")
PY
# a still of the avatar talking (mid-"hello") from the recording
talk_s=$(/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "started":
        print(max(0.0, e["detail"]["start_ms"] / 1000 - 2 + 0.6)); break' "$events")
[ -n "$talk_s" ] && ffmpeg -nostdin -v error -ss "$talk_s" -i "$out" -frames:v 1 -update 1 -y "$ROOT/demo/talking.png" || true
echo "demo: what the viewer recorded:"
ffprobe -v error -show_entries stream=codec_name,width,height,r_frame_rate,sample_rate,channels \
  -show_entries format=duration -of compact "$out" | sed 's/^/  /'
# The closed captions in the recording, read back by FFmpeg's own 608
# decoder: what a viewer with CC on sees, and when.
if ffmpeg -nostdin -v error -f lavfi -i "movie=$out[out0+subcc]" -map 0:s -y "$ROOT/demo/captions.srt" 2>>"$run/say.log"; then
  echo "demo: closed captions in the recording (demo/captions.srt, first lines):"
  # (the decoder's SRT carries font and position tags; shown without them)
  grep -v '^[0-9]*$' "$ROOT/demo/captions.srt" | grep -v -- '-->' | sed -e 's/<[^>]*>//g' -e 's/{[^}]*}//g' |
    grep . | head -4 | sed 's/^/  /'
fi
# Each avatar saying a line, rendered offline, and stills of its mouth
# closed (idle lead-in) and open (mid-word) for a person to look at.
line="Papa made a map. Hello there, how are you today?"
shared=${TC_SHARED_DIR:-$ROOT/../shared}
"$TC" say "$line" -o "$ROOT/demo/say-vector.mp4" --subtitles "$ROOT/demo/say-vector.vtt" 2>>"$run/say.log" ||
  die "say (vector) failed"
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
echo "demo: still      $still (idle), demo/talking.png"
echo "demo: events     $events"
echo "demo: captions   demo/captions.srt (from the recording), demo/say-vector.vtt (say --subtitles)"
for a in $avatars; do
  echo "demo: $a avatar  $ROOT/demo/say-$a.mp4  (stills: demo/$a-closed.png, demo/$a-open.png)"
done
echo "demo: log        $run/talkcast.log"
echo "demo: play it with  ffplay $out"
