#!/usr/bin/env bash
# run_broker_restart — the broker restarts while a message is being spoken.
# The stream keeps going (the file has no gap), talkcast reconnects by
# itself, the message is spoken (again, or deduplicated: `finished` once),
# a message published after the restart is spoken too, and the queue ends
# empty with nothing unacked: zero messages lost. Events go to a durable
# queue so that those published around the outage can be counted after it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_broker_restart
need ffprobe
tc_tmpdir
TC=$(tc_bin)
rmq_start

bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue r --width 320 --height 180 \
  --reconnect-min 0.2 --reconnect-max 1 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue r || fail $NAME "talkcast did not declare its queue"
broker bind "$AMQP_URL" talkcast.events ev
broker publish "$AMQP_URL" r '{"type":"text","id":"during","text":"This sentence is being spoken while the broker goes away and comes back again."}'
for _ in $(seq 1 100); do grep -q 'id=during' "$T/talkcast.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
t0=$(now)
rmq_restart || fail $NAME "broker did not restart"
note "broker back after $(since "$t0") s"
broker publish "$AMQP_URL" r '{"type":"text","id":"after","text":"After the restart."}'
for _ in $(seq 1 200); do
  [ "$(rmq_counts r)" = "0 0" ] && grep -q 'id=after spoken' "$T/talkcast.log" && break
  sleep 0.1
done
[ "$(rmq_counts r)" = "0 0" ] || fail $NAME "queue not empty after the restart: $(rmq_counts r)"
grep -q 'id=after spoken' "$T/talkcast.log" || fail $NAME "the message published after the restart was not spoken"
sleep 1
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
fin=$("$PYSYS" -c '
import json, sys
ev = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
print(" ".join(e["message_id"] for e in ev if e["event"] == "finished"))' "$T/events.jsonl")
note "finished: $fin"
case "$fin" in
  "during after") ;;
  *) fail $NAME "finished events '$fin', expected 'during after'" ;;
esac
grep -q 'reconnect\|connected' "$T/talkcast.log" || fail $NAME "no reconnect in the log"
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
why=$(probe_check "$T/out.mkv" --frames "$(ffprobe_count_frames "$T/out.mkv")" --tol 1 --no-count) || fail $NAME "$why"
note "$why"
pass $NAME
