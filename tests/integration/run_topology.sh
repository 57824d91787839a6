#!/usr/bin/env bash
# run_topology — what talkcast does with queues that exist, or do not:
#   1. --amqp-passive and no queue: a clear error naming the queue, nothing
#      consumed; once the operator declares the topology, talkcast picks it
#      up by itself (back-off) and speaks;
#   2. a queue that exists with other arguments (no dead-letter exchange):
#      a clear PRECONDITION_FAILED error that suggests the fixes, and the
#      stream keeps going.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_topology
tc_tmpdir
TC=$(tc_bin)
rmq_start

bg "$TC" run -o "$T/a.mkv" --amqp-url "$AMQP_URL" --amqp-passive --queue pq --reconnect-max 0.5 \
  --width 320 --height 180 2>"$T/passive.log"
pid=$LAST_PID
sleep 2
grep -q "level=error.*checking queue 'pq'.*passive mode: it must exist" "$T/passive.log" \
  || fail $NAME "no clear passive-mode error: $(grep -m1 'module=amqp' "$T/passive.log")"
[ "$(rmq_counts pq)" = "" ] || fail $NAME "passive mode declared the queue"
broker topology "$AMQP_URL" pq
events_listen || fail $NAME "could not listen to events"
broker publish "$AMQP_URL" pq '{"type":"text","id":"p1","text":"Passive works."}'
broker wait-events "$T/events.jsonl" finished 1 15 || fail $NAME "not spoken once the topology existed"
kill -TERM "$pid"
wait_rc "$pid"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"

broker plain-queue "$AMQP_URL" other
bg "$TC" run -o "$T/b.mkv" --amqp-url "$AMQP_URL" --queue other --width 320 --height 180 2>"$T/mismatch.log"
pid=$LAST_PID
sleep 2
grep -q "level=error.*PRECONDITION_FAILED.*--amqp-passive" "$T/mismatch.log" \
  || fail $NAME "no clear error for a queue with other arguments: $(grep -m1 'module=amqp' "$T/mismatch.log")"
kill -0 "$pid" || fail $NAME "talkcast gave up instead of streaming on"
kill -TERM "$pid"
wait_rc "$pid"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
probe_check "$T/b.mkv" --frames "$(ffprobe_count_frames "$T/b.mkv")" --tol 1 --no-count >/dev/null \
  || fail $NAME "the stream did not go on"
pass $NAME
