#!/usr/bin/env bash
# run_messages — the main job end to end: a private RabbitMQ, `talkcast run`
# recording to a file, five text messages published with pika. Checks:
#   - five `finished` events, in publishing order, routing keys <stream>.<event>;
#   - the queue ends empty with nothing unacked;
#   - the recording holds five stretches of speech in that order, each where
#     its events say, with silence between (tests/speech_check.py);
#   - a ping is answered by a `pong` event;
#   - SIGTERM: exit 0, the file is complete.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_messages
need ffmpeg ffprobe
tc_tmpdir
TC=$(tc_bin)
rmq_start
note "broker on $AMQP_PORT"

bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue talk --stream-name st1 \
  --width 640 --height 360 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue talk || fail $NAME "talkcast did not declare its queue"
events_listen || fail $NAME "could not listen to events"

words=(Alpha Bravo Charlie Delta Echo)
: >"$T/msgs"
for i in 0 1 2 3 4; do
  printf 'w%d\t{"v":1,"type":"text","text":"%s.","metadata":{"n":%d}}\n' "$i" "${words[$i]}" "$i" >>"$T/msgs"
done
broker publish-lines "$AMQP_URL" talk "$T/msgs" || fail $NAME "could not publish"
broker wait-events "$T/events.jsonl" finished 5 30 || fail $NAME "not all five were spoken"
broker publish "$AMQP_URL" talk.control '{"type":"control","command":"ping","id":"pg1"}'
broker wait-events "$T/events.jsonl" pong 1 10 || fail $NAME "ping not answered"

order=$("$PYSYS" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fin = [e["message_id"] for e in ev if e["event"] == "finished"]
keys = {e["_routing_key"] for e in ev}
assert all(k.startswith("st1.") for k in keys), keys
assert all(e["metadata"]["n"] == int(e["message_id"][1]) for e in ev if e["event"] == "finished")
print(" ".join(fin))' "$T/events.jsonl") || fail $NAME "events malformed"
[ "$order" = "w0 w1 w2 w3 w4" ] || fail $NAME "finished in order '$order'"
sleep 0.5
counts=$(rmq_counts talk)
[ "$counts" = "0 0" ] || fail $NAME "queue not empty: ready/unacked = $counts"

kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"
"$PY" "$TC_ROOT/tests/speech_check.py" stretches "$T/out.mkv" "$T/events.jsonl" w0 w1 w2 w3 w4 >"$T/check.out" 2>&1 \
  || fail $NAME "$(tail -n 1 "$T/check.out")"
note "$(tail -n 1 "$T/check.out")"
if grep -q 'level=error' "$T/talkcast.log"; then
  fail $NAME "errors in the log: $(grep 'level=error' "$T/talkcast.log" | head -n 3)"
fi
pass $NAME
