#!/usr/bin/env bash
# interrupt.sh — from an interrupt's arrival to silence on the output
# timeline: 10 times, a long message is spoken (720p30 to a file) and an
# interrupt is published on the control queue 1-2 s into it. For each, the
# `interrupted` event names the frame on the timeline when the control
# message was received (requested_frame); the recording is decoded and the
# first frame from there whose audio is silent is found. Prints p50/max in
# ms and merges "interrupt" into bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# /metrics on any free port: several talkcasts run here at once
export TALKCAST_METRICS_LISTEN=${TALKCAST_METRICS_LISTEN-127.0.0.1:0}
TC=${TALKCAST_BIN:-build/talkcast}
RESULTS=${BENCH_RESULTS:-bench/results.json}
PYSYS=/usr/bin/python3
W=$(mktemp -d /tmp/tc-bench-int-XXXXXX)
RMQ=tests/env/rabbitmq.sh
tc=""
cleanup() {
  [ -n "$tc" ] && kill "$tc" 2>/dev/null || true
  "$RMQ" stop "$W/rabbitmq" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
amqp=amqp://guest:guest@127.0.0.1:$("$RMQ" start "$W/rabbitmq")/%2F
"$TC" run -o "$W/out.mkv" --amqp-url "$amqp" --queue iq 2>"$W/talkcast.log" &
tc=$!
for _ in $(seq 1 100); do "$PYSYS" tests/broker.py count "$amqp" iq >/dev/null 2>&1 && break; sleep 0.1; done
"$PYSYS" tests/broker.py events "$amqp" talkcast.events "$W/events.jsonl" 300 >"$W/listener.out" &
lst=$!
for _ in $(seq 1 50); do grep -q ready "$W/listener.out" 2>/dev/null && break; sleep 0.1; done
long="This is a long message about nothing in particular that goes on and on without any pause at all, to be cut."
for i in $(seq 1 10); do
  "$PYSYS" tests/broker.py publish "$amqp" iq "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"$long\"}" >/dev/null
  "$PYSYS" tests/broker.py wait-events "$W/events.jsonl" started "$i" 20
  sleep "1.$((RANDOM % 10))"
  "$PYSYS" tests/broker.py publish "$amqp" iq.control '{"type":"control","command":"interrupt"}' >/dev/null
  "$PYSYS" tests/broker.py wait-events "$W/events.jsonl" interrupted "$i" 10
  sleep 1
done
kill -TERM "$tc"
wait "$tc" || true
tc=""
kill "$lst" 2>/dev/null || true
python3 - "$W/out.mkv" "$W/events.jsonl" "$RESULTS" <<'PY'
import datetime, json, os, sys
sys.path.insert(0, "tests")
import speech_check as sc
path, evpath, results = sys.argv[1:4]
rms = sc.rms_per_frame(path)
evs = [json.loads(l) for l in open(evpath)]
ms = []
for e in evs:
    if e["event"] != "interrupted":
        continue
    req = e["detail"]["requested_frame"]
    k = req
    while k < len(rms) and rms[k] > sc.SILENT:
        k += 1
    ms.append((k - req) * 1000 / sc.FPS)
ms.sort()
p50, worst = ms[len(ms) // 2], ms[-1]
print(f"interrupt -> silence on the timeline: p50 {p50:.0f} ms, max {worst:.0f} ms over {len(ms)} interrupts "
      f"(frame resolution {1000 / sc.FPS:.0f} ms)")
res = json.load(open(results)) if os.path.exists(results) else {}
res["interrupt"] = {
    "what": "interrupt published on QUEUE.control 1-2 s into a long message (720p30 to a file): from the frame on "
            "the output timeline when it was received to the first silent frame, decoded from the recording",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "n": len(ms), "ms": ms, "p50_ms": p50, "max_ms": worst,
}
json.dump(res, open(results, "w"), indent=2)
open(results, "a").write("\n")
PY
