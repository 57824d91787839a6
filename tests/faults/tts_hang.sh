#!/usr/bin/env bash
# tts_hang — the HTTP TTS accepts requests and never answers (the fake
# server's "hang" model), with --tts-timeout 2, one retry and espeak as the
# fallback. Then a SIGTERM arrives while a request hangs, and a new talkcast
# takes over.
#   - stream: a viewer of the RTMP output records throughout the hangs — no
#     pts gap (synthesis is off the clock's thread);
#   - messages: each of the first two is spoken by the fallback within
#     timeout x 2 attempts + back-off (<= 8 s after it is taken; measured
#     from the request log), nothing dead-lettered;
#   - SIGTERM while the third message's request hangs: exit 0 within 5 s,
#     the message back in the queue (not acked, not dead-lettered); the next
#     talkcast speaks it (at-least-once across a restart);
#   - log: "Timeout was reached" per attempt and "falling back to espeak";
#     no sanitizer report.
# long
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=tts_hang
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
tts_start || fail $NAME "the fake TTS server did not start"
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/h
broker bind "$AMQP_URL" talkcast.events ev

bg "$TC" run -o "$url" --amqp-url "$AMQP_URL" --queue h --width 320 --height 180 \
  --tts openai --tts-url "$TTS_URL" --tts-api-key k --tts-model hang --tts-timeout 2 --tts-retries 1 \
  --tts-fallback espeak 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue h || fail $NAME "talkcast did not declare its queue"
wait_published h 10 || fail $NAME "no stream published within 10 s"
viewer_start "$url" "$T/view.flv"
sleep 1
t0=$(now)
for i in 1 2; do
  broker publish "$AMQP_URL" h "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i waits for a server that never answers.\"}"
done
wait_for_log "$T/talkcast.log" 'id=m2 spoken' 30 || fail $NAME "the two messages were not spoken within 30 s"
note "both spoken by the fallback $(since "$t0") s after publishing"
"$PY" - "$T/tts.jsonl" "$T/talkcast.log" <<'PY' || fail $NAME "a message took too long"
import datetime, json, re, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
for i in (1, 2):
    first = min(r["t"] for r in reqs if f"Message {i} " in (r["text"] or ""))
    line = next(l for l in open(sys.argv[2]) if f"id=m{i} spoken" in l)
    ts = datetime.datetime.strptime(re.search(r"ts=(\S+)Z", line).group(1), "%Y-%m-%dT%H:%M:%S.%f")
    dt = ts.replace(tzinfo=datetime.timezone.utc).timestamp() - first
    # spoken = first request + 2 attempts x 2 s + back-off + the sentence itself (~2 s)
    print(f"  m{i}: spoken {dt:.1f} s after its first request", file=sys.stderr)
    sys.exit(1) if dt > 10 else None
PY
n=$(tts_requests 'Message 1 ')
[ "$n" = 2 ] || fail $NAME "m1: $n requests, want 2 (one retry)"

broker publish "$AMQP_URL" h '{"type":"text","id":"m3","text":"Message 3 is cut short by a stop."}'
for _ in $(seq 1 100); do [ "$(tts_requests 'Message 3 ')" -ge 1 ] && break; sleep 0.05; done
[ "$(tts_requests 'Message 3 ')" -ge 1 ] || fail $NAME "m3 was not asked of the TTS"
sleep 0.5
viewer_stop
t0=$(now)
kill -TERM "$tc"
wait_rc "$tc"
stop_s=$(since "$t0")
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
note "SIGTERM while a request hung: exit 0 after $stop_s s; queue ready/unacked $(rmq_counts h)"
fcheck "$stop_s <= 5" || fail $NAME "stopping took $stop_s s (limit 5 s)"
[ "$(rmq_counts h)" = "1 0" ] || fail $NAME "m3 not back in the queue after the stop: $(rmq_counts h)"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"

bg "$TC" run -o "$T/second.mkv" --amqp-url "$AMQP_URL" --queue h --width 320 --height 180 2>"$T/second.log"
tc=$LAST_PID
wait_for_log "$T/second.log" 'id=m3 spoken' 20 || fail $NAME "m3 was not spoken after the restart"
wait_drained h 10 || fail $NAME "queue not drained: $(rmq_counts h)"
sleep 1
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "the second talkcast exited $RC"
sanitizer_clean "$T/second.log" || fail $NAME "sanitizer report in the second log"
[ "$(rmq_counts h.dlq)" = "0 0" ] || fail $NAME "dead-lettered: $(rmq_counts h.dlq)"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
why=$(gap_check "$T/view.flv") || fail $NAME "viewer: $why"
note "viewer: $why"
[ "$(grep -c 'level=warn.*Timeout was reached' "$T/talkcast.log")" -ge 4 ] || fail $NAME "not every timed-out attempt is logged"
grep -q 'falling back to espeak' "$T/talkcast.log" || fail $NAME "the fallback is not logged"
note "log: $(grep -m 1 'Timeout was reached' "$T/talkcast.log" | sed 's/.*msg=//') / $(grep -m 1 'falling back' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
