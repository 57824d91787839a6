#!/usr/bin/env bash
# soak.sh [DURATION] — one live stream for DURATION (30s, 10m, 1h; default
# 1h) on a private RabbitMQ and nginx-rtmp, with a text message every
# SOAK_EVERY seconds (default 5), while a viewer records the stream.
#
# Every SOAK_SAMPLE seconds (default 10) it writes one row of samples.csv:
# the daemon's RSS, open fds, threads and CPU ticks (from /proc), its frame,
# late-frame and message counters (from /metrics) and how much media the
# viewer has received (ffmpeg -progress) against the wall clock.
# At the end it stops talkcast with SIGTERM, reads every packet of the
# recording and runs tests/soak/summary.py, which says whether anything
# grows (RSS, fds, threads), whether a message was lost, whether frames
# were late, and how far audio and video drift apart and from the wall
# clock. Exit 0 only if none of those checks fails.
#
# The run's files stay in SOAK_DIR (default /tmp/tc-soak-DATE): samples.csv,
# packets.csv, talkcast.log, summary.txt, summary.json.
# env: TALKCAST_BIN (default build/talkcast), SOAK_EVERY, SOAK_SAMPLE,
#      SOAK_DIR, SOAK_SIZE (default 1280x720), SOAK_NICE (default 0; as root
#      e.g. -5 keeps the daemon ahead of other work on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TC=${TALKCAST_BIN:-build/talkcast}
case "$TC" in /*) ;; *) TC=$ROOT/$TC ;; esac
[ -x "$TC" ] || { echo "soak: $TC not built (make build)" >&2; exit 1; }

# seconds DURATION: 90 | 90s | 10m | 1h → seconds
seconds() {
  case "$1" in
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *[!0-9]* | '') echo "soak: bad duration '$1' (use 90s, 10m, 1h)" >&2; exit 1 ;;
    *) echo "$1" ;;
  esac
}
SECS=$(seconds "${1:-1h}")
EVERY=${SOAK_EVERY:-5}
SAMPLE=${SOAK_SAMPLE:-10}
SIZE=${SOAK_SIZE:-1280x720}
DIR=${SOAK_DIR:-/tmp/tc-soak-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$DIR"
for t in ffmpeg ffprobe curl rabbitmq-server nginx; do
  command -v "$t" >/dev/null || { echo "soak: $t missing (scripts/deps.sh)" >&2; exit 1; }
done

RMQ=tests/env/rabbitmq.sh
NGX=tests/env/nginx-rtmp.sh
PYSYS=/usr/bin/python3
W=$(mktemp -d /tmp/tc-soak-env-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$RMQ" stop "$W/rabbitmq" >/dev/null 2>&1 || true
  "$NGX" stop "$W/nginx" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
die() { echo "soak: $*" >&2; exit 1; }

amqp=amqp://guest:guest@127.0.0.1:$("$RMQ" start "$W/rabbitmq")/%2F
port=$("$NGX" start "$W/nginx")
url=rtmp://127.0.0.1:$port/live/soak
echo "soak: ${SECS}s, a message every ${EVERY}s, $SIZE, files in $DIR" >&2

nice -n "${SOAK_NICE:-0}" "$TC" run --out "$url" --amqp-url "$amqp" --queue soak --stream-name soak --width "${SIZE%x*}" --height "${SIZE#*x}" \
  --metrics-listen 127.0.0.1:0 2>"$DIR/talkcast.log" &
tc=$!
pids+=("$tc")
mport=""
for _ in $(seq 1 100); do
  mport=$(sed -n 's|.*metrics on http://[^ ]*:\([0-9]*\)/metrics.*|\1|p' "$DIR/talkcast.log" | head -n 1)
  [ -n "$mport" ] && break
  sleep 0.1
done
[ -n "$mport" ] || die "talkcast did not start: $(tail -n 3 "$DIR/talkcast.log")"
for _ in $(seq 1 100); do "$PYSYS" tests/broker.py count "$amqp" soak >/dev/null 2>&1 && break; sleep 0.1; done

# The viewer: the whole stream, packets copied, into Matroska (readable
# even if cut short); -progress says how much media has arrived.
ffmpeg -nostdin -v error -rw_timeout 10000000 -i "$url" -map 0:v:0 -map 0:a:0 -c copy \
  -progress "$DIR/progress.txt" -y "$DIR/recording.mkv" 2>"$DIR/viewer.log" &
viewer=$!
pids+=("$viewer")

metric() { awk -v k="$1" 'index($0, k) == 1 { s += $NF } END { print s + 0 }' "$DIR/metrics.txt"; }
media_s() { awk -F= '$1 == "out_time_us" { v = $2 } END { printf "%.3f", (v + 0) / 1e6 }' "$DIR/progress.txt" 2>/dev/null || echo 0; }
texts=("Hello, this is a soak test." "The quick brown fox jumps over the lazy dog."
  "Every message is spoken once, in order, and acknowledged only after it has been said."
  "Short one." "Numbers like 42 and 1999 are read out as words, and so is the date, 28 November.")

echo "t,rss_kb,fds,threads,cpu_ticks,frames,late,spoken,failed,received,media_s" >"$DIR/samples.csv"
start=$(date +%s.%N)
published=0
next_msg=0
next_sample=0
while :; do
  el=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }')
  [ "$el" -ge "$SECS" ] && break
  kill -0 "$tc" 2>/dev/null || die "talkcast exited during the soak: $(tail -n 3 "$DIR/talkcast.log")"
  if [ "$el" -ge "$next_msg" ]; then
    body=$(printf '{"type":"text","id":"soak-%d","text":"%s"}' "$published" "${texts[$((published % ${#texts[@]}))]}")
    "$PYSYS" tests/broker.py publish "$amqp" soak "$body" >/dev/null || die "publish failed"
    published=$((published + 1))
    next_msg=$((next_msg + EVERY))
  fi
  if [ "$el" -ge "$next_sample" ]; then
    curl -sf "http://127.0.0.1:$mport/metrics" >"$DIR/metrics.txt" || : >"$DIR/metrics.txt"
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$el" \
      "$(awk '/^VmRSS/ {print $2}' "/proc/$tc/status")" "$(ls "/proc/$tc/fd" | wc -l)" \
      "$(awk '/^Threads/ {print $2}' "/proc/$tc/status")" "$(awk '{print $14 + $15}' "/proc/$tc/stat")" \
      "$(metric talkcast_frames_total)" "$(metric talkcast_frames_late_total)" \
      "$(metric 'talkcast_messages_total{stream="soak",outcome="spoken"}')" \
      "$(metric 'talkcast_messages_total{stream="soak",outcome="failed"}')" \
      "$(metric 'talkcast_messages_total{stream="soak",outcome="received"}')" "$(media_s)" >>"$DIR/samples.csv"
    next_sample=$((next_sample + SAMPLE))
  fi
  sleep 0.5
done

# Let the last messages be spoken, then stop the way systemd would.
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$mport/metrics" >"$DIR/metrics.txt" || break
  [ "$(metric 'talkcast_messages_total{stream="soak",outcome="spoken"}')" -ge "$published" ] && break
  sleep 0.5
done
kill -TERM "$tc"
rc=0
wait "$tc" || rc=$?
sleep 1
kill -INT "$viewer" 2>/dev/null || true
wait "$viewer" 2>/dev/null || true
left=$("$PYSYS" tests/broker.py count "$amqp" soak 2>/dev/null || echo "?")
spoken=$(metric 'talkcast_messages_total{stream="soak",outcome="spoken"}')
ffprobe -v error -show_entries packet=stream_index,pts_time,duration_time -of csv=p=0 \
  "$DIR/recording.mkv" >"$DIR/packets.csv" || die "the recording cannot be read"
rate=$(ffprobe -v error -select_streams a:0 -show_entries stream=sample_rate -of csv=p=0 "$DIR/recording.mkv")
fps=$(ffprobe -v error -select_streams v:0 -show_entries stream=r_frame_rate -of csv=p=0 "$DIR/recording.mkv")
python3 tests/soak/summary.py "$DIR" --seconds "$SECS" --published "$published" --spoken "$spoken" \
  --left "$left" --exit "$rc" --size "$SIZE" --rate "$rate" --fps "$(python3 -c "print(float($fps))")"
