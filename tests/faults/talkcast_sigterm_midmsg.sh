#!/usr/bin/env bash
# talkcast_sigterm_midmsg — SIGTERM arrives mid-message while four messages
# are held (one on air, one synthesized ahead, two waiting), and a new
# talkcast takes over. run_sigterm stops with one message held and checks
# the queue; this goes further: several held, the RTMP stream and a file
# output running, and a restart that must say every message exactly once.
#   - stop: exit 0 within 6 s (the sentence on air ends first), the file
#     output is complete (no pts gap, audio as long as video, trailer);
#   - the broker has all four back (ready 4, unacked 0) — the one on air
#     requeued after its sentence (--on-stop sentence), none finished;
#   - resumes: the next talkcast's stream is at a viewer within 4 s of its
#     start (measured); it speaks all four, each exactly once over both runs
#     (distinct `finished` events), queue drained, nothing dead-lettered;
#   - log: "SIGTERM: stopping gracefully" and one requeue per held message
#     (consuming stops before they go back, so none comes straight back
#     to the stopping process); both runs exit 0, no sanitizer report.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=talkcast_sigterm_midmsg
fault_setup m

tc_start run1.log "$url" -o "$T/run1.mkv"
await_queue
publish_numbered 4 "has a first sentence that takes a while to say. And a second one after it."
for _ in $(seq 1 50); do [ "$(rmq_counts m)" = "0 4" ] && break; sleep 0.1; done
[ "$(rmq_counts m)" = "0 4" ] || fail $NAME "talkcast does not hold all four: $(rmq_counts m)"
wait_talking "$T/run1.log" 10 || fail $NAME "nothing on air"
sleep 0.3 # into the first sentence (about 2.5 s long)
tc_stop_timed
tc_exited_ok "run 1"
note "SIGTERM mid-message with four held: exit 0 after $stop_s s; broker ready/unacked $(rmq_counts m)"
fcheck "$stop_s <= 6" || fail $NAME "stopping took $stop_s s (limit 6 s)"
[ "$(rmq_counts m)" = "4 0" ] || fail $NAME "not all four back in the queue: $(rmq_counts m)"
grep -q 'SIGTERM: stopping gracefully' "$T/run1.log" || fail $NAME "the stop is not logged"
grep -q 'id=m1 requeued' "$T/run1.log" || fail $NAME "the requeue of the message on air is not logged"
grep -q 'id=m[1-4] spoken' "$T/run1.log" && fail $NAME "a message was finished before the stop: the test did not stop mid-message"
for i in 1 2 3 4; do
  n=$(grep -c "id=m$i requeued" "$T/run1.log" || true)
  [ "$n" = 1 ] || fail $NAME "m$i was requeued $n times by the stopping talkcast (a requeue while still consuming comes straight back)"
done
log_clean run1.log "run 1: sanitizer report in the log"
why=$(probe_check "$T/run1.mkv" --frames "$(ffprobe_count_frames "$T/run1.mkv")" --tol 1 --no-count) \
  || fail $NAME "run 1's file output: $why"
note "run 1's file output: $why"
note "log: $(grep -m 1 'id=m1 requeued' "$T/run1.log" | sed 's/.*msg=//')"

tc_start run2.log "$url"
frame_within "run 2" 4.0
viewer_start "$url" "$T/view.flv"
await_drained 60
sleep 1
viewer_stop
tc_stop_clean run2.log "run 2"
no_gap view.flv "run 2 viewer"
none_dead_lettered
drain_events
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3 m4) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken over both runs: $rep; order in run 2: $(grep -o 'id=m[1-4] spoken' "$T/run2.log" | cut -c4-5 | tr '\n' ' ')"
pass $NAME
