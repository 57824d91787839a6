#!/usr/bin/env bash
# broker_kill9 — the broker is killed with SIGKILL (no clean close, no
# connection.close) while a message is on air, twice, and started again on
# the same port after a second each time. run_broker_restart does one clean
# restart; this goes further: a crash, mid-speech, repeatedly, with four
# messages held (prefetch) when it happens.
#   - stream: a viewer of the RTMP output records from before the first
#     crash to after the last message: no pts gap over one frame (the
#     stream never stops, it does not even "resume");
#   - recovery: talkcast is consuming again within 3 s of the broker
#     answering (back-off capped at 1 s here), measured from the broker's
#     await_startup to the "reconnected to" line;
#   - messages: all four are spoken, each exactly once (one process: ids
#     dedupe redeliveries) — counted from the `finished` events that reached
#     a durable queue on the broker; the queue ends with nothing ready and
#     nothing unacked;
#   - no crash: exit 0 on SIGTERM, no sanitizer report;
#   - log: "lost the broker connection" and "reconnected to" per crash.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=broker_kill9
KILLS=2
fault_setup k
tc_on_air --reconnect-min 0.2 --reconnect-max 1
sleep 1
publish_numbered 4 "begins here. It goes on for a while, so that the broker can die under it."

for k in $(seq 1 $KILLS); do
  wait_talking "$T/talkcast.log" 20 || fail $NAME "crash $k: nothing on air to crash under"
  sleep 0.5
  "$RMQ" kill "$T/rabbitmq"
  note "crash $k: broker killed (-9) mid-speech"
  sleep 1
  tc_alive "with the broker"
  before=$(grep -c 'reconnected to' "$T/talkcast.log" || true)
  rmq_restart || fail $NAME "the broker did not come back"
  t0=$(now)
  for _ in $(seq 1 100); do
    [ "$(grep -c 'reconnected to' "$T/talkcast.log" || true)" -gt "$before" ] && break
    sleep 0.05
  done
  dt=$(since "$t0")
  [ "$(grep -c 'reconnected to' "$T/talkcast.log" || true)" -gt "$before" ] \
    || fail $NAME "crash $k: not reconnected 5 s after the broker came back"
  note "crash $k: consuming again ${dt} s after the broker answered"
  fcheck "$dt <= 3.0" || fail $NAME "crash $k: reconnected after ${dt} s (limit 3 s)"
done

wait_drained k 90 || fail $NAME "queue not drained: ready/unacked $(rmq_counts k)"
for _ in $(seq 1 100); do grep -q 'id=m4 spoken\|id=m4 .*already spoken' "$T/talkcast.log" && break; sleep 0.1; done
sleep 1.5 # the last events reach the broker; the viewer sees the idle after them
viewer_stop
tc_stop_clean

spoken_once m1 m2 m3 m4
none_dead_lettered

why=$(gap_check "$T/view.flv") || fail $NAME "viewer: $why"
note "viewer ($(video_seconds "$T/view.flv") s): $why"
lost=$(grep -c 'level=warn.*lost the broker connection' "$T/talkcast.log" || true)
[ "$lost" -ge $KILLS ] || fail $NAME "$lost 'lost the broker connection' warnings for $KILLS crashes"
note "log: $(grep -m 1 'lost the broker connection' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
