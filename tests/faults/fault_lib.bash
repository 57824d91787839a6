# shellcheck shell=bash
# fault_lib.bash — helpers the fault-injection tests share (sourced after
# tests/lib.sh; not a test itself, so not named *.sh).
#
# The verdicts come from outside talkcast: a viewer's recording of the RTMP
# stream (gaps measured with tests/probe.py), the broker's own counts
# (rabbitmqctl) and the events that reached a durable queue on the broker.

# viewer_start URL OUT: a viewer copying the stream to OUT until
# viewer_stop (at most 10 minutes); its pid in $VIEWER.
viewer_start() {
  bg ffmpeg -nostdin -v error -rw_timeout 10000000 -i "$1" -t 600 -map 0:v:0 -map 0:a:0? -c copy -y "$2" \
    2>>"$T/viewer.log"
  VIEWER=$LAST_PID
}
# viewer_stop: end the recording cleanly (ffmpeg writes its trailer on SIGINT).
viewer_stop() {
  kill -INT "$VIEWER" 2>/dev/null || true
  wait_rc "$VIEWER"
}

# gap_check FILE: what a viewer got has no hole: the largest step between
# consecutive video pts is at most one frame (+2 ms of FLV rounding) and
# between audio packets at most one AAC frame (+2 ms), nothing goes
# backwards; prints the seconds, frames and largest gaps. (A recording cut
# off mid-stream ends audio and video at slightly different points, so
# their lengths are not compared.)
gap_check() {
  "$PY" - "$1" <<'PY'
import json, subprocess, sys
out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_entries",
                      "packet=stream_index,pts_time,duration_time:stream=index,codec_type,r_frame_rate",
                      sys.argv[1]], capture_output=True, text=True, check=True).stdout
j = json.loads(out)
kind = {s["index"]: s for s in j["streams"]}
errs, summary = [], []
for want in ("video", "audio"):
    st = [s for s in j["streams"] if s.get("codec_type") == want]
    if not st:
        errs.append(f"no {want}")
        continue
    idx = st[0]["index"]
    pts = [float(p["pts_time"]) for p in j["packets"] if p["stream_index"] == idx and p.get("pts_time") not in (None, "N/A")]
    if len(pts) < 2:
        errs.append(f"no {want} packets")
        continue
    back = sum(1 for a, b in zip(pts, pts[1:]) if b < a - 0.0005)
    s = sorted(pts)
    gap = max(b - a for a, b in zip(s, s[1:]))
    if want == "video":
        num, den = st[0].get("r_frame_rate", "30/1").split("/")
        step = int(den) / int(num) if int(num) else 1 / 30
    else:
        step = 1024 / 48000
    if gap > step + 0.002:
        errs.append(f"{want} gap of {gap * 1000:.0f} ms at {s[[b - a for a, b in zip(s, s[1:])].index(gap)]:.2f} s")
    if back:
        errs.append(f"{want} pts backwards {back} times")
    summary.append(f"{want} {s[-1] - s[0]:.2f} s in {len(s)} packets, largest gap {gap * 1000:.1f} ms")
print("; ".join(errs + summary))
sys.exit(1 if errs else 0)
PY
}
# video_seconds FILE: seconds of video the file spans.
video_seconds() { "$PY" "$PROBE" info "$1" | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["video"]["duration"], 2))'; }

# sanitizer_clean LOG: no AddressSanitizer, LeakSanitizer or UBSan report.
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$1"; }

# metrics_body LOG: talkcast's /metrics text (port from its log) on stdout.
metrics_body() {
  local p
  p=$(metrics_port "$1") || return 1
  curl -s -m 2 "http://127.0.0.1:$p/metrics"
}
# wait_talking LOG SECONDS: until talkcast's pipeline says TALKING.
wait_talking() {
  local end=$(($(date +%s) + $2))
  while [ "$(date +%s)" -le "$end" ]; do
    metrics_body "$1" 2>/dev/null | grep -qE '^talkcast_state\{[^}]*state="TALKING"[^}]*\} 1' && return 0
    sleep 0.1
  done
  return 1
}
# wait_drained QUEUE SECONDS: until the broker holds nothing of QUEUE
# (ready 0, unacked 0).
wait_drained() {
  local end=$(($(date +%s) + $2))
  while [ "$(date +%s)" -le "$end" ]; do
    [ "$(rmq_counts "$1")" = "0 0" ] && return 0
    sleep 0.2
  done
  return 1
}

# spoken_report EVENTS IDS...: from the events drained off the broker (one
# `broker.py drain` line each), how often each id was spoken — distinct
# `finished` events, since an event re-sent after a reconnect arrives twice
# with the same body. Prints "id=N ..." and fails unless every id is there
# at least once and, with SPOKEN_MAX set, at most SPOKEN_MAX times.
spoken_report() {
  "$PYSYS" - "$@" <<'PY'
import json, os, sys
bodies = set()
for line in open(sys.argv[1]):
    bodies.add(json.loads(line)["body"])
count = {}
for b in bodies:
    e = json.loads(b)
    if e.get("event") == "finished":
        count[e["message_id"]] = count.get(e["message_id"], 0) + 1
want = sys.argv[2:]
most = int(os.environ.get("SPOKEN_MAX", "0"))
print(" ".join(f"{i}={count.get(i, 0)}" for i in want))
bad = [i for i in want if count.get(i, 0) < 1 or (most and count.get(i, 0) > most)]
sys.exit(1 if bad else 0)
PY
}

# tts_start: tests/tts/fake_tts_server.py on a free loopback port, its
# requests logged to $T/tts.jsonl; sets TTS_URL.
tts_start() {
  bg "$PY" "$TC_ROOT/tests/tts/fake_tts_server.py" "$T/tts.jsonl" >"$T/tts.out"
  for _ in $(seq 1 100); do grep -q PORT= "$T/tts.out" 2>/dev/null && break; sleep 0.1; done
  TTS_URL=http://127.0.0.1:$(sed -n 's/PORT=//p' "$T/tts.out")
  [ "$TTS_URL" != http://127.0.0.1: ]
}
# tts_requests [TEXT]: requests the fake server got (those whose text
# contains TEXT).
tts_requests() { grep -c -- "${1:-}" "$T/tts.jsonl" 2>/dev/null || true; }

# --- the setting every fault test shares ---------------------------------
# A test does (NAME set first: the helpers fail with it):
#   fault_setup k                      # $T, $TC, broker, nginx, $url, `ev`
#   tc_on_air --reconnect-max 1        # talkcast on $url, a viewer recording
#   publish_numbered 3 "is said while …"
#   …the fault, its checks…
#   sleep 1; viewer_stop; tc_stop_clean
#   spoken_once m1 m2 m3; no_gap view.flv viewer
# The variables they set ($TC, $QUEUE, $port, $url, $tc, $stop_s) are the
# test's own, used by it as well.

# fault_begin [TOOL...]: ffmpeg, ffprobe, nginx, curl and each TOOL must be
# installed; the test's private dir $T (tc_tmpdir: this must be called
# directly, not in $(...), so that the cleanup trap lands in the test's
# shell); the talkcast under test in $TC.
# shellcheck disable=SC2120 # the arguments are optional
fault_begin() {
  need ffmpeg ffprobe nginx curl "$@"
  tc_tmpdir
  TC=$(tc_bin)
}
# fault_env QUEUE [--tts]: what talkcast works against: a private broker
# ($AMQP_URL), with --tts the fake TTS server ($TTS_URL), a private
# nginx-rtmp ($port) with the stream's address in $url
# (rtmp://127.0.0.1:$port/live/QUEUE), and the durable queue `ev` bound to
# talkcast.events, which keeps every event for spoken_report. QUEUE, the
# queue talkcast consumes and the stream's name, is in $QUEUE.
# shellcheck disable=SC2034 # QUEUE, port and url are for the caller
fault_env() {
  QUEUE=$1
  rmq_start
  if [ "${2:-}" = --tts ]; then
    tts_start || fail "$NAME" "the fake TTS server did not start"
  fi
  port=$(nginx_start)
  url=rtmp://127.0.0.1:$port/live/$QUEUE
  broker bind "$AMQP_URL" talkcast.events ev
}
# fault_setup QUEUE [--tts]: fault_begin, then fault_env QUEUE [--tts].
fault_setup() {
  fault_begin
  fault_env "$@"
}

# tc_start LOG OUT [ARG...]: talkcast in the background consuming $QUEUE,
# 320x180, output OUT, then each ARG; its stderr in $T/LOG, its pid in $tc.
tc_start() {
  local log=$1 out=$2
  shift 2
  bg "$TC" run -o "$out" --amqp-url "$AMQP_URL" --queue "$QUEUE" --width 320 --height 180 "$@" 2>"$T/$log"
  tc=$LAST_PID
}
# await_queue: until talkcast has declared $QUEUE (10 s at most).
await_queue() { wait_queue "$QUEUE" || fail "$NAME" "talkcast did not declare its queue"; }
# await_stream: await_queue, then until nginx shows the stream published
# (10 s at most).
await_stream() {
  await_queue
  wait_published "$QUEUE" 10 || fail "$NAME" "no stream published within 10 s"
}
# tc_on_air [ARG...]: tc_start talkcast.log "$url" ARG..., await_stream,
# then a viewer records the stream to $T/view.flv (viewer_start).
tc_on_air() {
  tc_start talkcast.log "$url" "$@"
  await_stream
  viewer_start "$url" "$T/view.flv"
}
# noise_avatar: $T/noise.mp4, 2 s of random pictures (320x180, 30 fps):
# an avatar that keeps x264 at its full bitrate.
noise_avatar() {
  ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=320x180:r=30,geq=random(1)*255:128:128" -t 2 \
    -c:v libx264 -preset ultrafast -qp 10 -y "$T/noise.mp4" || fail "$NAME" "cannot make the noise avatar"
}
# publish_numbered [--id] N TEXT: N text messages to $QUEUE, one at a time:
# m1 … mN saying "Message I TEXT"; with --id, I is also the AMQP message id.
publish_numbered() {
  local i id=0
  [ "$1" = --id ] && { id=1; shift; }
  for i in $(seq 1 "$1"); do
    if [ $id = 1 ]; then
      broker publish "$AMQP_URL" "$QUEUE" "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i $2\"}" "m$i"
    else
      broker publish "$AMQP_URL" "$QUEUE" "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i $2\"}"
    fi
  done
}

# tc_alive [WHEN]: talkcast ($tc) still runs, else the test fails with
# "talkcast died WHEN".
# shellcheck disable=SC2120 # the arguments are optional
tc_alive() { kill -0 "$tc" 2>/dev/null || fail "$NAME" "talkcast died${1:+ $1}"; }
# tc_stop: SIGTERM to talkcast ($tc), and wait for it: its status in $RC.
tc_stop() {
  kill -TERM "$tc"
  wait_rc "$tc"
}
# tc_stop_timed: tc_stop; the seconds from the signal to the exit in $stop_s.
# shellcheck disable=SC2034 # stop_s is for the caller
tc_stop_timed() {
  local t0
  t0=$(now)
  tc_stop
  stop_s=$(since "$t0")
}
# tc_exited_ok [WHO]: $RC is 0, else "WHO (talkcast) exited RC".
tc_exited_ok() { [ "$RC" = 0 ] || fail "$NAME" "${1:-talkcast} exited $RC"; }
# log_clean [LOG [WHY]]: no sanitizer report in $T/LOG (talkcast.log), else
# the test fails with WHY ("sanitizer report in the log").
log_clean() { sanitizer_clean "$T/${1:-talkcast.log}" || fail "$NAME" "${2:-sanitizer report in the log}"; }
# tc_stop_clean [LOG [WHO]]: tc_stop, tc_exited_ok WHO, log_clean LOG (the
# failure named "WHO: sanitizer report in the log" with WHO).
# shellcheck disable=SC2120 # the arguments are optional
tc_stop_clean() {
  tc_stop
  tc_exited_ok "${2:-}"
  log_clean "${1:-talkcast.log}" "${2:+$2: }sanitizer report in the log"
}

# memory_alarm raise|clear: the broker's memory alarm on (a high watermark
# of 1 byte: RabbitMQ stops reading from every connection that publishes)
# or off again (the default watermark, 0.4).
memory_alarm() {
  case $1 in
    raise) rmq_ctl set_vm_memory_high_watermark absolute 1 >/dev/null || fail "$NAME" "cannot raise the memory alarm" ;;
    clear) rmq_ctl set_vm_memory_high_watermark 0.4 >/dev/null || fail "$NAME" "cannot clear the alarm" ;;
    *) fail "$NAME" "memory_alarm $1: raise or clear" ;;
  esac
}

# await_drained SECONDS: wait_drained $QUEUE SECONDS, else the test fails.
await_drained() { wait_drained "$QUEUE" "$1" || fail "$NAME" "queue not drained: $(rmq_counts "$QUEUE")"; }
# none_dead_lettered: $QUEUE.dlq holds nothing (ready 0, unacked 0).
none_dead_lettered() {
  [ "$(rmq_counts "$QUEUE.dlq")" = "0 0" ] || fail "$NAME" "dead-lettered: $(rmq_counts "$QUEUE.dlq")"
}
# drain_events: the events `ev` kept, to $T/events.jsonl.
drain_events() { broker drain "$AMQP_URL" ev >"$T/events.jsonl"; }
# spoken_once ID...: drain_events; each ID was spoken exactly once
# (spoken_report with SPOKEN_MAX=1); notes the counts.
spoken_once() {
  local rep
  drain_events
  rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" "$@") || fail "$NAME" "spoken (distinct finished events): $rep"
  note "spoken: $rep"
}
# no_gap FILE LABEL: gap_check $T/FILE, failing as "LABEL: why"; notes it.
no_gap() {
  local why
  why=$(gap_check "$T/$1") || fail "$NAME" "$2: $why"
  note "$2: $why"
}
# frame_within LABEL LIMIT: a new viewer of $url reads a frame within 10 s
# (first_frame_after) and within LIMIT s (e.g. 3.0); notes the time.
frame_within() {
  local dt
  dt=$(first_frame_after "$url" 10) || fail "$NAME" "$1: no frame at a viewer within 10 s of the restart"
  note "$1: a viewer got a frame ${dt} s after the restart"
  fcheck "$dt <= $2" || fail "$NAME" "$1: first frame after ${dt} s (limit ${2%.0} s)"
}
# record_5s LABEL: a viewer records 5 s of $url to $T/after.flv, with no gap
# (no_gap after.flv LABEL).
record_5s() {
  record_rtmp "$url" 5 "$T/after.flv" 2>>"$T/viewer.log" || fail "$NAME" "$1: the viewer could not record"
  no_gap after.flv "$1"
}
# never_late: talkcast's closing stats say the engine was never late.
never_late() {
  grep -qE 'msg="frames=[0-9]+ late=0 ' "$T/talkcast.log" \
    || fail "$NAME" "the engine was held up: $(grep 'msg="frames=' "$T/talkcast.log")"
}
# rtmp_dropped_none OUTn: the RTMP output OUTn (out0, out1 …) closed
# without dropping a packet.
rtmp_dropped_none() {
  grep -qE "msg=\"$1 state=closed .* dropped=0 " "$T/talkcast.log" \
    || fail "$NAME" "the RTMP output lost packets: $(grep "msg=\"$1 state=" "$T/talkcast.log")"
}
