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
fault_setup x

tc_start run1.log "$url"
await_queue
publish_numbered --id 3 "may be cut off by a crash. Then it is said again from the start."
for k in 1 2; do
  if [ "$k" -gt 1 ]; then
    tc_start "run$k.log" "$url"
    frame_within "run $k" 4.0
  fi
  wait_talking "$T/run$k.log" 20 || fail $NAME "run $k: nothing on air to crash"
  sleep 1
  kill -KILL "$tc"
  wait_rc "$tc"
  t0=$(now)
  log_clean "run$k.log" "run $k: sanitizer report in the log"
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

tc_start run3.log "$url"
frame_within "run 3" 4.0
record_5s "last run"
await_drained 60
sleep 1
tc_stop
tc_exited_ok "the last run"
log_clean run3.log "run 3: sanitizer report in the log"
none_dead_lettered
drain_events
rep=$(spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken (at least once each): $rep"
grep -q 'redelivery from the broker.*message_id=m' "$T/run2.log" || fail $NAME "run 2 does not log the redeliveries"
note "log: $(grep -m 1 'redelivery from the broker' "$T/run2.log" | sed 's/.*msg=//')"
pass $NAME
