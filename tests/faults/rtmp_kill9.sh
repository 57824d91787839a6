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
fault_setup r
tc_start talkcast.log "$url" -o "$T/all.mkv"
await_stream
publish_numbered 3 "is on air while the video server crashes. It has two sentences."

for k in $(seq 1 $KILLS); do
  wait_talking "$T/talkcast.log" 20 || fail $NAME "crash $k: nothing on air"
  sleep 0.3
  nginx_kill
  note "crash $k: nginx killed (-9) mid-speech"
  sleep 1
  tc_alive "with the RTMP server"
  nginx_restart >/dev/null || fail $NAME "nginx did not restart"
  frame_within "crash $k" 3.0
done
record_5s "after the last restart"

await_drained 60
sleep 1
tc_stop_clean
no_gap all.mkv "file output beside"
spoken_once m1 m2 m3
lost=$(grep -c "level=warn.*lost rtmp://127.0.0.1:$port" "$T/talkcast.log" || true)
[ "$lost" = $KILLS ] || fail $NAME "$lost 'lost rtmp://' warnings for $KILLS crashes"
[ "$(grep -c 'reconnected to rtmp' "$T/talkcast.log" || true)" -ge $KILLS ] || fail $NAME "fewer 'reconnected to' lines than crashes"
note "log: $(grep -m 1 'lost rtmp://' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
