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
fault_setup h --tts
tc_on_air --tts openai --tts-url "$TTS_URL" --tts-api-key k --tts-model hang --tts-timeout 2 --tts-retries 1 \
  --tts-fallback espeak
sleep 1
t0=$(now)
publish_numbered 2 "waits for a server that never answers."
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
tc_stop_timed
tc_exited_ok
note "SIGTERM while a request hung: exit 0 after $stop_s s; queue ready/unacked $(rmq_counts h)"
fcheck "$stop_s <= 5" || fail $NAME "stopping took $stop_s s (limit 5 s)"
[ "$(rmq_counts h)" = "1 0" ] || fail $NAME "m3 not back in the queue after the stop: $(rmq_counts h)"
log_clean

tc_start second.log "$T/second.mkv"
wait_for_log "$T/second.log" 'id=m3 spoken' 20 || fail $NAME "m3 was not spoken after the restart"
await_drained 10
sleep 1
tc_stop
tc_exited_ok "the second talkcast"
log_clean second.log "sanitizer report in the second log"
none_dead_lettered
spoken_once m1 m2 m3
no_gap view.flv viewer
[ "$(grep -c 'level=warn.*Timeout was reached' "$T/talkcast.log")" -ge 4 ] || fail $NAME "not every timed-out attempt is logged"
grep -q 'falling back to espeak' "$T/talkcast.log" || fail $NAME "the fallback is not logged"
note "log: $(grep -m 1 'Timeout was reached' "$T/talkcast.log" | sed 's/.*msg=//') / $(grep -m 1 'falling back' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
