#!/usr/bin/env bash
# tts_500 — the HTTP TTS answers 500 to every request (the fake server's
# "status-500" model), with two retries and no fallback; then the
# dead-lettered messages are put back (as an operator would after the
# outage) for a talkcast whose TTS works.
#   - stream: a viewer of the RTMP output records throughout — no pts gap;
#   - retries: each message is asked 3 times (1 + --tts-retries 2), with
#     back-off between the attempts (>= 0.2 s), never more;
#   - no message lost: both land in QUEUE.dlq within 10 s, body intact,
#     with a reason in x-talkcast-error ("openai: HTTP 500 after 3
#     attempts: …") and a `failed` event each; the main
#     queue ends empty; put back, both are spoken (once each);
#   - log: "HTTP 500" per attempt and "failed" per message; exit 0, no
#     sanitizer report.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=tts_500
fault_setup f --tts
tc_on_air --tts openai --tts-url "$TTS_URL" --tts-api-key k --tts-model status-500 --tts-retries 2
sleep 1
publish_numbered 2 "meets a server error."
t0=$(now)
for _ in $(seq 1 100); do [ "$(rmq_counts f.dlq)" = "2 0" ] && break; sleep 0.1; done
[ "$(rmq_counts f.dlq)" = "2 0" ] || fail $NAME "not both dead-lettered within 10 s: dlq $(rmq_counts f.dlq)"
note "both dead-lettered $(since "$t0") s after publishing"
wait_drained f 5 || fail $NAME "main queue not drained: $(rmq_counts f)"
sleep 3 # the stream idles on after the failures
viewer_stop
tc_stop_clean
"$PY" - "$T/tts.jsonl" <<'PY' || fail $NAME "retries wrong"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
for i in (1, 2):
    t = sorted(r["t"] for r in reqs if f"Message {i} " in (r["text"] or ""))
    gaps = [b - a for a, b in zip(t, t[1:])]
    print(f"  m{i}: {len(t)} requests, back-off {' '.join(f'{g:.2f}' for g in gaps)} s", file=sys.stderr)
    if len(t) != 3 or min(gaps) < 0.2:
        sys.exit(1)
PY
[ "$(grep -c 'level=warn module=tts.*HTTP 500' "$T/talkcast.log")" = 6 ] || fail $NAME "not every 500 is logged"
grep -q 'id=m1 failed' "$T/talkcast.log" || fail $NAME "the failure of m1 is not logged"
note "log: $(grep -m 1 'HTTP 500' "$T/talkcast.log" | sed 's/.*msg=//') / $(grep -m 1 'id=m1 failed' "$T/talkcast.log" | sed 's/.*msg=//')"
no_gap view.flv viewer

broker drain "$AMQP_URL" f.dlq >"$T/dlq.jsonl"
"$PYSYS" - "$T/dlq.jsonl" "$T/replay.tsv" <<'PY' || fail $NAME "dead-lettered copies wrong"
import json, sys
out = open(sys.argv[2], "w")
for l in open(sys.argv[1]):
    d = json.loads(l)
    why = d["headers"].get("x-talkcast-error")
    print(f"  dlq: {json.loads(d['body'])['id']}: x-talkcast-error={why!r}", file=sys.stderr)
    # the reason names the provider, the status and the attempts, not
    # just "network error"
    if not why or "Message" not in d["body"] or "openai: HTTP 500 after 3 attempts" not in why:
        sys.exit(1)
    out.write(f"\t{d['body']}\n")
PY
broker publish-lines "$AMQP_URL" f "$T/replay.tsv"
tc_start second.log "$T/second.mkv"
wait_for_log "$T/second.log" 'id=m2 spoken' 30 || fail $NAME "the messages put back were not spoken"
await_drained 10
sleep 1
tc_stop
tc_exited_ok "the second talkcast"
drain_events
nfail=$(grep -c '\\"event\\": *\\"failed\\"' "$T/events.jsonl" || true)
[ "$nfail" -ge 2 ] || fail $NAME "$nfail failed events, want 2"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2) || fail $NAME "spoken after the replay: $rep"
note "spoken after the replay: $rep"
pass $NAME
