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
