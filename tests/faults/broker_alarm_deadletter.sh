#!/usr/bin/env bash
# broker_alarm_deadletter — a memory alarm while a bad message has to be
# dead-lettered. The copy to QUEUE.dlq is published on the consuming
# connection, so the broker blocks that connection too: its acks wait with
# the copy until the alarm clears. (broker_memory_alarm covers the alarm
# with good messages only: there acks go on.) With --prefetch 2 the bad
# message arrives only after the alarm is raised.
#   - stream: a viewer of the RTMP output records throughout — no pts gap;
#   - log: "broker blocks this connection (low on memory)" from the
#     consumer and "broker blocks publishing" from the events side;
#   - recovery: within 10 s of the alarm clearing the queue is drained,
#     the bad message is in QUEUE.dlq once with its reason, and every good
#     message is finished exactly once;
#   - no crash: exit 0 on SIGTERM, no sanitizer report.
# long
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=broker_alarm_deadletter
fault_setup b
tc_on_air --prefetch 2 --reconnect-min 0.2 --reconnect-max 1
printf '%s\t%s\n' \
  m1 '{"type":"text","id":"m1","text":"Message 1 is said while memory runs short."}' \
  m2 '{"type":"text","id":"m2","text":"Message 2 is said while memory runs short."}' \
  bad '{"type":"text","id":"bad","text":' \
  m3 '{"type":"text","id":"m3","text":"Message 3 comes after the bad one."}' >"$T/msgs.tsv"
broker publish-lines "$AMQP_URL" b "$T/msgs.tsv"
wait_talking "$T/talkcast.log" 10 || fail $NAME "nothing on air"
memory_alarm raise
note "memory alarm raised with m1 on air"
wait_for_log "$T/talkcast.log" 'broker blocks this connection' 20 \
  || fail $NAME "the consumer does not log that its connection is blocked (queue $(rmq_counts b))"
note "log: $(grep -m 1 'broker blocks this connection' "$T/talkcast.log" | sed 's/.*msg=//')"
wait_for_log "$T/talkcast.log" 'broker blocks publishing' 5 || fail $NAME "the events side does not log the block"
sleep 3
tc_alive "during the alarm"
note "during the alarm: queue ready/unacked $(rmq_counts b), dlq $(rmq_counts b.dlq)"

memory_alarm clear
t0=$(now)
wait_drained b 30 || fail $NAME "queue not drained 30 s after the alarm: $(rmq_counts b)"
wait_for_log "$T/talkcast.log" 'id=m3 spoken' 30 || fail $NAME "m3 not spoken after the alarm"
dt=$(since "$t0")
note "alarm cleared: queue drained and m3 spoken after $dt s"
fcheck "$dt <= 10" || fail $NAME "recovery took $dt s (limit 10 s)"
wait_for_log "$T/talkcast.log" 'broker unblocked this connection' 5 || fail $NAME "the end of the block is not logged"
[ "$(rmq_counts b.dlq)" = "1 0" ] || fail $NAME "dead-letter queue holds $(rmq_counts b.dlq), want the bad message once"
sleep 1
viewer_stop
tc_stop_clean
broker drain "$AMQP_URL" b.dlq >"$T/dlq.jsonl"
grep -q 'x-talkcast-error' "$T/dlq.jsonl" || fail $NAME "the dead-lettered copy has no reason"
spoken_once m1 m2 m3
no_gap view.flv viewer
pass $NAME
