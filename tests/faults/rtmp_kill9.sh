#!/usr/bin/env bash
# rtmp_kill9 — the RTMP server (nginx-rtmp, master and worker) is killed
# with SIGKILL mid-speech, three times, and started again on the same port
# a second later. rtmp_reconnect does one clean stop of an idle stream; this
# goes further: a crash (RST, no FLV close), while talking, repeatedly.
#   - resumes: after each restart a new viewer reads a frame within 3 s
#     (measured; back-off 0.5 s doubling, reset after each success);
#   - the timeline never broke: a file output beside the RTMP one holds the
#     whole run with no pts gap, and 5 s recorded after the last restart
#     have no gap either;
#   - messages: the three published are each spoken exactly once (RTMP
#     loss has nothing to do with the queue), queue drained;
#   - no crash: exit 0 on SIGTERM, no sanitizer report;
#   - log: one "lost rtmp://…" warning per crash and "reconnected to".
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=rtmp_kill9
KILLS=3
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/r
broker bind "$AMQP_URL" talkcast.events ev

bg "$TC" run -o "$url" -o "$T/all.mkv" --amqp-url "$AMQP_URL" --queue r --width 320 --height 180 \
  2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue r || fail $NAME "talkcast did not declare its queue"
wait_published r 10 || fail $NAME "no stream published within 10 s"
for i in 1 2 3; do
  broker publish "$AMQP_URL" r "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i is on air while the video server crashes. It has two sentences.\"}"
done

for k in $(seq 1 $KILLS); do
  wait_talking "$T/talkcast.log" 20 || fail $NAME "crash $k: nothing on air"
  sleep 0.3
  nginx_kill
  note "crash $k: nginx killed (-9) mid-speech"
  sleep 1
  kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died with the RTMP server"
  nginx_restart >/dev/null || fail $NAME "nginx did not restart"
  dt=$(first_frame_after "$url" 10) || fail $NAME "crash $k: no frame at a viewer within 10 s of the restart"
  note "crash $k: a viewer got a frame ${dt} s after the restart"
  fcheck "$dt <= 3.0" || fail $NAME "crash $k: frames came back after ${dt} s (limit 3 s)"
done
record_rtmp "$url" 5 "$T/after.flv" 2>>"$T/viewer.log" || fail $NAME "viewer could not record after the last restart"
why=$(gap_check "$T/after.flv") || fail $NAME "after the last restart: $why"
note "after the last restart: $why"

wait_drained r 60 || fail $NAME "queue not drained: $(rmq_counts r)"
sleep 1
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"
why=$(gap_check "$T/all.mkv") || fail $NAME "file output beside: $why"
note "file output beside: $why"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
lost=$(grep -c "level=warn.*lost rtmp://127.0.0.1:$port" "$T/talkcast.log" || true)
[ "$lost" = $KILLS ] || fail $NAME "$lost 'lost rtmp://' warnings for $KILLS crashes"
[ "$(grep -c 'reconnected to rtmp' "$T/talkcast.log" || true)" -ge $KILLS ] || fail $NAME "fewer 'reconnected to' lines than crashes"
note "log: $(grep -m 1 'lost rtmp://' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
