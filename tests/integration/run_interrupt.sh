#!/usr/bin/env bash
# run_interrupt — an interrupt on the control queue while a long message is
# spoken. On the recorded file's timeline, from the frame where talkcast
# took the interrupt (its `interrupted` event), the sound must be silent and
# the mouth closed (same as the idle frame) within 150 ms, after it was
# visibly talking; the message is acked (interrupted) and the next message
# is spoken. A text message with "interrupt": true cuts in the same way.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_interrupt
tc_tmpdir
TC=$(tc_bin)
rmq_start

bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue q --width 640 --height 360 --seed 7 \
  2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue q || fail $NAME "talkcast did not declare its queue"
events_listen || fail $NAME "could not listen to events"

long='{"type":"text","id":"long","text":"This is a long message about nothing in particular that goes on and on without any pause at all."}'
broker publish "$AMQP_URL" q "$long"
broker wait-events "$T/events.jsonl" started 1 10 || fail $NAME "the message did not start"
sleep 1.2
broker publish "$AMQP_URL" q.control '{"type":"control","command":"interrupt","id":"stop"}'
broker wait-events "$T/events.jsonl" interrupted 1 5 || fail $NAME "no interrupted event"
sleep 1
# a cut-in: a long message on air, a queued one, and one that cuts in
broker publish "$AMQP_URL" q '{"type":"text","id":"l2","text":"Another long message that will be cut short by a message that cuts in."}'
broker publish "$AMQP_URL" q '{"type":"text","id":"queued","text":"Queued."}'
broker wait-events "$T/events.jsonl" started 2 10 || fail $NAME "second message did not start"
sleep 0.8
broker publish "$AMQP_URL" q.control '{"type":"text","id":"cut","text":"Breaking news.","interrupt":true}' || true
broker publish "$AMQP_URL" q '{"type":"text","id":"cut2","text":"Breaking news.","interrupt":true}'
broker wait-events "$T/events.jsonl" finished 2 15 || fail $NAME "cut-in and queued message not both spoken"
sleep 0.5
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"

"$PY" "$TC_ROOT/tests/speech_check.py" cut "$T/out.mkv" "$T/events.jsonl" long 285 185 70 50 >"$T/check.out" 2>&1 \
  || fail $NAME "$(tail -n 1 "$T/check.out")"
note "$(head -n 1 "$T/check.out")"
order=$("$PYSYS" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(" ".join(e["event"] + ":" + (e["message_id"] or "") for e in ev
               if e["event"] in ("started", "finished", "interrupted", "failed")))' "$T/events.jsonl")
note "$order"
want="started:long interrupted:long started:l2 failed:cut interrupted:l2 started:cut2 finished:cut2 started:queued finished:queued"
[ "$order" = "$want" ] || fail $NAME "events '$order', expected '$want'"
[ "$(rmq_counts q)" = "0 0" ] || fail $NAME "queue not empty: $(rmq_counts q)"
pass $NAME
