#!/usr/bin/env bash
# broker_memory_alarm — the broker raises a memory alarm
# (set_vm_memory_high_watermark absolute 1) while three messages are held:
# RabbitMQ then stops reading from every connection that publishes. talkcast
# publishes events on a connection of its own, so:
#   - stream: a viewer of the RTMP output records throughout — no pts gap;
#   - consuming and acking go on during the alarm: the three messages are
#     spoken and the broker shows the queue drained (ready 0, unacked 0)
#     while the alarm is still on;
#   - events wait: the durable event queue gains nothing during the alarm
#     (the fault really bit) and talkcast_events_pending is above 0;
#   - recovery: within 3 s of the alarm clearing every held event is on the
#     broker (each message has its `finished` event, once) and a message
#     published afterwards is spoken too;
#   - log: a warning naming the block ("broker blocks publishing (low on
#     memory)") and the unblock; exit 0 on SIGTERM, no sanitizer report.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=broker_memory_alarm
fault_setup a
tc_on_air --reconnect-min 0.2 --reconnect-max 1
sleep 1
publish_numbered 3 "is said while the broker is short of memory."
wait_talking "$T/talkcast.log" 10 || fail $NAME "nothing on air"
memory_alarm raise
note "memory alarm raised"
wait_for_log "$T/talkcast.log" 'broker blocks publishing' 10 \
  || fail $NAME "no log line says the broker blocks publishing"
note "log: $(grep -m 1 'broker blocks publishing' "$T/talkcast.log" | sed 's/.*msg=//')"
ev_blocked=$(rmq_counts ev | cut -d' ' -f1)

wait_drained a 30 || fail $NAME "messages not spoken and acked during the alarm: ready/unacked $(rmq_counts a)"
note "during the alarm: queue drained (all three acked)"
[ "$(grep -c 'id=m[123] spoken' "$T/talkcast.log")" = 3 ] || fail $NAME "not all three spoken during the alarm"
sleep 1
pending=$(metrics_body "$T/talkcast.log" | metric /dev/stdin 'talkcast_events_pending{stream="talkcast"}')
ev_now=$(rmq_counts ev | cut -d' ' -f1)
note "during the alarm: events pending in talkcast $pending, events on the broker $ev_blocked -> $ev_now"
[ "${pending:-0}" -gt 0 ] || fail $NAME "no events pending during the alarm: the alarm did not bite"
[ "$ev_now" = "$ev_blocked" ] || fail $NAME "events reached the broker during the alarm ($ev_blocked -> $ev_now)"
tc_alive "during the alarm"

memory_alarm clear
t0=$(now)
for _ in $(seq 1 100); do
  p=$(metrics_body "$T/talkcast.log" | metric /dev/stdin 'talkcast_events_pending{stream="talkcast"}')
  [ "$p" = 0 ] && break
  sleep 0.05
done
dt=$(since "$t0")
[ "$p" = 0 ] || fail $NAME "events still pending 5 s after the alarm cleared: $p"
note "alarm cleared: every held event confirmed after ${dt} s"
fcheck "$dt <= 3.0" || fail $NAME "events flowed again only after ${dt} s (limit 3 s)"
wait_for_log "$T/talkcast.log" 'broker unblocked publishing' 5 || fail $NAME "no log line says the block ended"

broker publish "$AMQP_URL" a '{"type":"text","id":"after","text":"After the alarm."}'
wait_for_log "$T/talkcast.log" 'id=after spoken' 20 || fail $NAME "the message after the alarm was not spoken"
await_drained 10
sleep 1
viewer_stop
tc_stop_clean
spoken_once m1 m2 m3 after
no_gap view.flv viewer
pass $NAME
