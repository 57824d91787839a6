#!/usr/bin/env bash
# live.sh — what a live stream costs while it talks and over time, on a
# private RabbitMQ and nginx-rtmp (issue 8's rows):
#   talking   cores used by `talkcast run` 720p30 while it speaks without
#             pause (a queue of long messages), from 5 s in for 15 s, with
#             x264 superfast (the default) and veryfast side by side;
#   startup   process start → first video frame decoded by a viewer that
#             was already waiting on nginx-rtmp (median of 5), for a player
#             with live settings (no probing) and for ffmpeg's defaults
#             (which first probe the stream for about a second);
#   rss       peak RSS and RSS growth of one stream over BENCH_RSS_SECONDS
#             (default 600) with a message every 4 s: the mean of the last
#             minute minus the mean of the first minute after 30 s.
# Merges "live" into bench/results.json. env: TALKCAST_BIN, BENCH_RSS_SECONDS,
# BENCH_RESULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
# /metrics on any free port: several talkcasts run here at once
export TALKCAST_METRICS_LISTEN=${TALKCAST_METRICS_LISTEN-127.0.0.1:0}
TC=${TALKCAST_BIN:-build/talkcast}
RESULTS=${BENCH_RESULTS:-bench/results.json}
RSS_SECS=${BENCH_RSS_SECONDS:-600}
PYSYS=/usr/bin/python3
W=$(mktemp -d /tmp/tc-bench-live-XXXXXX)
RMQ=tests/env/rabbitmq.sh
NGX=tests/env/nginx-rtmp.sh
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$RMQ" stop "$W/rabbitmq" >/dev/null 2>&1 || true
  "$NGX" stop "$W/nginx" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
die() { echo "live.sh: $*" >&2; exit 1; }
amqp=amqp://guest:guest@127.0.0.1:$("$RMQ" start "$W/rabbitmq")/%2F
port=$("$NGX" start "$W/nginx")
publish() { "$PYSYS" tests/broker.py publish "$amqp" "$1" "$2" >/dev/null; }
wait_q() { for _ in $(seq 1 100); do "$PYSYS" tests/broker.py count "$amqp" "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
long="This is a long message that keeps the avatar talking without a pause, sentence after sentence, so that what we measure is the cost of speech: rendering the moving mouth and encoding every frame live."

# --- talking ---------------------------------------------------------------
# talk PRESET: cores while talking without pause with that x264 preset
talk() {
  local q=talk$1 tc a b t0 t1
  "$TC" run --out "rtmp://127.0.0.1:$port/live/$q" --amqp-url "$amqp" --queue "$q" --pause-after 0 \
    --x264-preset "$1" --duration 25 2>"$W/$q.log" &
  tc=$!; pids+=("$tc")
  wait_q "$q" || die "talkcast did not declare its queue"
  for i in $(seq 1 12); do publish "$q" "{\"type\":\"text\",\"text\":\"$long\",\"id\":\"$q$i\"}"; done
  sleep 5
  a=$(ticks "$tc"); t0=$(date +%s.%N)
  sleep 15
  b=$(ticks "$tc"); t1=$(date +%s.%N)
  wait "$tc" || die "talkcast (talking, $1) failed: $(tail -n 3 "$W/$q.log")"
  TALK=$(python3 -c "print(round(($b - $a) / $(getconf CLK_TCK) / ($t1 - $t0), 3))")
  LATE=$(grep -o 'late=[0-9]*' "$W/$q.log" | tail -n 1 | cut -d= -f2)
  echo "talking 720p30, x264 $1: $TALK cores (late frames: $LATE)" >&2
}
talk superfast
talking=$TALK late=$LATE
talk veryfast
talking_veryfast=$TALK

# --- start → first frame at a viewer ----------------------------------------
# first_frame OPTS...: ms from talkcast's start to a waiting viewer's first
# decoded frame, median of 5 (sets STARTS and STARTUP)
first_frame() {
  local i viewer tc t0 t1
  STARTS=()
  for i in 1 2 3 4 5; do
    ffmpeg -nostdin -v error -rw_timeout 10000000 "$@" -i "rtmp://127.0.0.1:$port/live/s$i" -frames:v 1 -f null - \
      2>"$W/viewer$i.log" &
    viewer=$!
    sleep 0.5 # the viewer is waiting on nginx before talkcast starts
    t0=$(date +%s.%N)
    "$TC" run --out "rtmp://127.0.0.1:$port/live/s$i" --duration 4 2>"$W/start$i.log" &
    tc=$!
    wait "$viewer" || die "viewer $i got no frame: $(cat "$W/viewer$i.log")"
    t1=$(date +%s.%N)
    STARTS+=("$(python3 -c "print(round(($t1 - $t0) * 1000))")")
    wait "$tc" || true
  done
  STARTUP=$(printf '%s\n' "${STARTS[@]}" | sort -n | sed -n 3p)
}
# a live player's settings (no multi-second stream probe), then ffmpeg's defaults
first_frame -fflags nobuffer -analyzeduration 0 -probesize 32768
startup=$STARTUP starts=("${STARTS[@]}")
echo "start -> first frame at a low-latency viewer: ${starts[*]} ms (median $startup)" >&2
first_frame
startup_default=$STARTUP
echo "start -> first frame at ffmpeg with its default probing: ${STARTS[*]} ms (median $startup_default)" >&2

# --- RSS over time -------------------------------------------------------------
"$TC" run --out "rtmp://127.0.0.1:$port/live/rss" --amqp-url "$amqp" --queue rss --duration "$RSS_SECS" \
  2>"$W/rss.log" &
tc=$!; pids+=("$tc")
wait_q rss || die "talkcast did not declare its rss queue"
: >"$W/rss.txt"
start=$(date +%s)
n=0
while kill -0 "$tc" 2>/dev/null; do
  el=$(( $(date +%s) - start ))
  [ "$el" -ge "$((RSS_SECS - 2))" ] && break
  if [ $((n % 4)) = 0 ]; then publish rss "{\"type\":\"text\",\"text\":\"Message $n, a short line.\"}"; fi
  [ $((n % 10)) = 0 ] && echo "$el $(rss_kb "$tc")" >>"$W/rss.txt"
  n=$((n + 1))
  sleep 1
done
wait "$tc" || die "talkcast (rss) failed: $(tail -n 3 "$W/rss.log")"
spoken=$(grep -o 'spoken=[0-9]*' "$W/rss.log" | tail -n 1 | cut -d= -f2)

python3 - "$W/rss.txt" "$RESULTS" "$talking" "${late:-0}" "$startup" "${starts[*]}" "$RSS_SECS" "${spoken:-0}" \
  "$talking_veryfast" "$startup_default" <<'PY'
import datetime, json, os, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
path, talking, late, startup, starts, secs, spoken = sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5]), [int(x) for x in sys.argv[6].split()], int(sys.argv[7]), int(sys.argv[8])
talking_vf, startup_default = float(sys.argv[9]), int(sys.argv[10])
first = [kb for t, kb in rows if 30 <= t < 90] or [rows[0][1]]
last = [kb for t, kb in rows if t >= secs - 62] or [rows[-1][1]]
peak = max(kb for _, kb in rows)
growth = (sum(last) / len(last) - sum(first) / len(first)) / 1024
print(f"RSS: peak {peak / 1024:.1f} MB, growth {growth:+.2f} MB over {secs} s ({len(rows)} samples, "
      f"{spoken} messages spoken)")
res = json.load(open(path)) if os.path.exists(path) else {}
res["live"] = {
    "what": "talkcast run 1280x720@30 to nginx-rtmp: cores while talking without pause; process start to the "
            "first frame a waiting viewer decodes (median of 5); RSS over a run with a message every 4 s",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "talking_cores": talking, "talking_late_frames": late, "talking_cores_veryfast": talking_vf,
    "startup_ms_median": startup, "startup_ms": starts, "startup_ms_median_default_probe": startup_default,
    "rss_seconds": secs, "rss_peak_mb": round(peak / 1024, 1), "rss_growth_mb": round(growth, 2),
    "rss_messages_spoken": spoken,
}
json.dump(res, open(path, "w"), indent=2)
open(path, "a").write("\n")
print(f"written to {path}")
PY
