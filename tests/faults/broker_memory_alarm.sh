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
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/a
broker bind "$AMQP_URL" talkcast.events ev

bg "$TC" run -o "$url" --amqp-url "$AMQP_URL" --queue a --width 320 --height 180 \
  --reconnect-min 0.2 --reconnect-max 1 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue a || fail $NAME "talkcast did not declare its queue"
wait_published a 10 || fail $NAME "no stream published within 10 s"
viewer_start "$url" "$T/view.flv"
sleep 1
for i in 1 2 3; do
  broker publish "$AMQP_URL" a "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i is said while the broker is short of memory.\"}"
done
wait_talking "$T/talkcast.log" 10 || fail $NAME "nothing on air"
rmq_ctl set_vm_memory_high_watermark absolute 1 >/dev/null || fail $NAME "cannot raise the memory alarm"
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
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died during the alarm"

rmq_ctl set_vm_memory_high_watermark 0.4 >/dev/null || fail $NAME "cannot clear the alarm"
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
wait_drained a 10 || fail $NAME "queue not drained: $(rmq_counts a)"
sleep 1
viewer_stop
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3 after) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
why=$(gap_check "$T/view.flv") || fail $NAME "viewer: $why"
note "viewer: $why"
pass $NAME
