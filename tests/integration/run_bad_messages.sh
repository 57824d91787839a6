#!/usr/bin/env bash
# run_bad_messages — 23 kinds of bad input (a path as an avatar name among
# them), then a good message. Checks that
# every bad one lands in the dead-letter queue with its original body and a
# one-line reason in header x-talkcast-error, each gets a `failed` event,
# talkcast keeps running (no crash, nothing unacked), and the good message
# after them is spoken.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_bad_messages
tc_tmpdir
TC=$(tc_bin)
rmq_start

bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue bad --width 320 --height 180 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue bad.dlq || fail $NAME "talkcast did not declare the dead-letter queue"
events_listen || fail $NAME "could not listen to events"

# ID<TAB>BODY per line; bodies with raw bytes are written by Python
"$PYSYS" - "$T/bad" <<'PY'
import sys
bad = [
    b'not json at all',
    b'{"type":"text","text":"cut short"',
    b'{"type":"text","text":"\xff\xfe broken utf-8"}',
    b'[1, 2, 3]',
    b'{"type":"text"}',
    b'{"type":"text","text":""}',
    b'{"type":"text","text":"   \\n\\t  "}',
    b'{"type":"text","text":42}',
    b'{"type":"video","text":"x"}',
    b'{"type":"control","command":"explode"}',
    b'{"type":"control"}',
    b'{"type":"text","text":"x","priority":42}',
    b'{"type":"text","text":"x","priority":"high"}',
    b'{"v":2,"type":"text","text":"x"}',
    b'{"type":"text","text":"' + b'word ' * 1200 + b'"}',
    b'{"type":"text","text":"' + b'x' * 70000 + b'"}',
    b'{"type":"text","text":"x","metadata":' + b'{"a":' * 40 + b'1' + b'}' * 41,
    b'{"type":"text","text":"x","interrupt":"yes"}',
    b'{"type":"control","command":"set_avatar"}',
    b'{"type":"text","text":"nul\\u0000inside"}',
    b'{"type":"text","text":"x","id":"' + b'i' * 200 + b'"}',
    b'{"type":"control","command":"set_voice","args":{"voice":"klingon"}}',
    b'{"type":"control","command":"set_avatar","args":{"avatar":"../../etc/passwd"}}',
]
with open(sys.argv[1], "wb") as f:
    for i, b in enumerate(bad):
        f.write(b"bad%02d\t" % i + b + b"\n")
PY
n_bad=$(wc -l <"$T/bad")
broker publish-lines "$AMQP_URL" bad "$T/bad" || fail $NAME "could not publish"
broker publish "$AMQP_URL" bad '{"type":"text","text":"Still here.","id":"good"}'
broker wait-events "$T/events.jsonl" finished 1 30 || fail $NAME "the good message was not spoken"
broker wait-events "$T/events.jsonl" failed "$n_bad" 10 || fail $NAME "not every bad message got a failed event"
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died"
sleep 0.5
counts=$(rmq_counts bad)
[ "$counts" = "0 0" ] || fail $NAME "main queue ready/unacked = $counts"

broker drain "$AMQP_URL" bad.dlq >"$T/dlq.jsonl"
"$PYSYS" - "$T/dlq.jsonl" "$T/bad" <<'PY' >"$T/dlq.out" 2>&1 || fail $NAME "$(tail -n 1 "$T/dlq.out")"
import json, sys
dl = [json.loads(l) for l in open(sys.argv[1])]
sent = {}
for line in open(sys.argv[2], "rb"):
    mid, _, body = line.rstrip(b"\n").partition(b"\t")
    sent[mid.decode()] = body
if len(dl) != len(sent):
    sys.exit(f"FAIL: {len(dl)} messages in the DLQ, {len(sent)} sent")
for d in dl:
    reason = d["headers"].get("x-talkcast-error")
    if isinstance(reason, bytes):
        reason = reason.decode()
    if not reason or "\n" in reason or len(reason) > 512:
        sys.exit(f"FAIL: {d['message_id']}: bad reason {reason!r}")
    want = sent[d["message_id"]].decode("utf-8", "replace")
    if d["body"] != want:
        sys.exit(f"FAIL: {d['message_id']}: body changed on the way to the DLQ")
    print(f"{d['message_id']}: {reason}")
print(f"ok: {len(dl)} in the DLQ, each with its reason")
PY
note "$(tail -n 1 "$T/dlq.out")"
sed 's/^/    /' "$T/dlq.out" | head -n 30 >&2
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"
pass $NAME
