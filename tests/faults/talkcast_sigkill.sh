#!/usr/bin/env bash
# talkcast_sigkill — talkcast itself is killed with SIGKILL while speaking
# (no drain, no acks, no FLV close), twice, and started again each time;
# a third run finishes the work. At-least-once: a message cut off by a
# crash is heard again in full after the restart.
#   - the broker takes everything back: within 2 s of each kill every
#     message not yet finished is ready again, nothing unacked (rabbitmqctl);
#   - resumes: after each restart a viewer reads a frame within 4 s of the
#     process starting (measured), and 5 s recorded from the last run have
#     no pts gap;
#   - messages: every one is finished at least once (distinct `finished`
#     events on a durable queue); the queue ends drained, nothing
#     dead-lettered;
#   - log: the restarted process says which deliveries are redeliveries
#     ("redelivery from the broker … message_id=…");
#   - the last run exits 0 on SIGTERM, no sanitizer report in any run.
# long
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=talkcast_sigkill
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/x
broker bind "$AMQP_URL" talkcast.events ev
run_tc() { # run_tc N: start run N; its pid in $tc
  bg "$TC" run -o "$url" --amqp-url "$AMQP_URL" --queue x --width 320 --height 180 2>"$T/run$1.log"
  tc=$LAST_PID
}

run_tc 1
wait_queue x || fail $NAME "talkcast did not declare its queue"
for i in 1 2 3; do
  broker publish "$AMQP_URL" x "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i may be cut off by a crash. Then it is said again from the start.\"}" "m$i"
done
for k in 1 2; do
  if [ "$k" -gt 1 ]; then
    run_tc "$k"
    dt=$(first_frame_after "$url" 10) || fail $NAME "run $k: no frame at a viewer within 10 s"
    note "run $k: a viewer got a frame ${dt} s after the restart"
    fcheck "$dt <= 4.0" || fail $NAME "run $k: first frame after ${dt} s (limit 4 s)"
  fi
  wait_talking "$T/run$k.log" 20 || fail $NAME "run $k: nothing on air to crash"
  sleep 1
  kill -KILL "$tc"
  wait_rc "$tc"
  t0=$(now)
  sanitizer_clean "$T/run$k.log" || fail $NAME "run $k: sanitizer report in the log"
  left=$(grep -c 'id=m[123] spoken' "$T/run$k.log" || true)
  for _ in $(seq 1 40); do
    c=$(rmq_counts x)
    [ "${c#* }" = 0 ] && break
    sleep 0.05
  done
  note "crash $k (mid-speech, SIGKILL): the broker holds ready/unacked $(rmq_counts x) after $(since "$t0") s ($left finished before)"
  [ "$(rmq_counts x)" != "0 0" ] || fail $NAME "crash $k: nothing came back to the queue"
  [ "${c#* }" = 0 ] || fail $NAME "crash $k: still unacked 2 s after the kill: $(rmq_counts x)"
done

run_tc 3
dt=$(first_frame_after "$url" 10) || fail $NAME "run 3: no frame at a viewer within 10 s"
note "run 3: a viewer got a frame ${dt} s after the restart"
fcheck "$dt <= 4.0" || fail $NAME "run 3: first frame after ${dt} s (limit 4 s)"
record_rtmp "$url" 5 "$T/after.flv" 2>>"$T/viewer.log" || fail $NAME "viewer could not record the last run"
why=$(gap_check "$T/after.flv") || fail $NAME "last run: $why"
note "last run: $why"
wait_drained x 60 || fail $NAME "queue not drained: $(rmq_counts x)"
sleep 1
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "the last run exited $RC"
sanitizer_clean "$T/run3.log" || fail $NAME "run 3: sanitizer report in the log"
[ "$(rmq_counts x.dlq)" = "0 0" ] || fail $NAME "dead-lettered: $(rmq_counts x.dlq)"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken (at least once each): $rep"
grep -q 'redelivery from the broker.*message_id=m' "$T/run2.log" || fail $NAME "run 2 does not log the redeliveries"
note "log: $(grep -m 1 'redelivery from the broker' "$T/run2.log" | sed 's/.*msg=//')"
pass $NAME
