#!/usr/bin/env bash
# run_sigterm — stopping in the middle of speech loses nothing:
#   1. --on-stop sentence (default): SIGTERM while the first of three
#      sentences plays → exit 0 within a few seconds, the message is back in
#      the queue (ready 1, unacked 0), the file is complete;
#   2. --on-stop message: the message is said to the end, acked (`finished`),
#      queue empty;
#   3. two signals: exit at once; the message is back in the queue.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_sigterm
need ffprobe
tc_tmpdir
TC=$(tc_bin)
rmq_start
msg='{"type":"text","id":"three","text":"The first sentence is here. The second one follows it. And the third one ends it."}'

# run_case TAG ON_STOP SIGNALS: start talkcast, publish, signal once speech is on air.
run_case() {
  local tag=$1 on_stop=$2 sigs=$3
  bg "$TC" run -o "$T/$tag.mkv" --amqp-url "$AMQP_URL" --queue s --width 320 --height 180 \
    --on-stop "$on_stop" 2>"$T/$tag.log"
  local pid=$LAST_PID
  wait_queue s || fail $NAME "$tag: talkcast did not declare its queue"
  [ "$tag" = sentence ] && broker publish "$AMQP_URL" s "$msg"
  for _ in $(seq 1 100); do grep -q 'consuming messages' "$T/$tag.log" && break; sleep 0.1; done
  for _ in $(seq 1 100); do [ "$(rmq_counts s)" = "0 1" ] && break; sleep 0.05; done
  sleep 0.6 # into the first sentence
  local t0
  t0=$(now)
  kill -TERM "$pid"
  [ "$sigs" = 2 ] && { sleep 0.1; kill -TERM "$pid"; }
  wait_rc "$pid"
  [ "$RC" = 0 ] || fail $NAME "$tag: talkcast exited $RC"
  STOP_S=$(since "$t0")
  note "$tag: exited 0 after $STOP_S s; queue ready/unacked: $(rmq_counts s)"
}

run_case sentence sentence 1
[ "$(rmq_counts s)" = "1 0" ] || fail $NAME "sentence: message not back in the queue: $(rmq_counts s)"
grep -q 'id=three requeued' "$T/sentence.log" || fail $NAME "sentence: not logged as requeued"
fcheck "$STOP_S < 6" || fail $NAME "sentence: took $STOP_S s to stop"
probe_check "$T/sentence.mkv" --frames "$(ffprobe_count_frames "$T/sentence.mkv")" --tol 1 --no-count >/dev/null \
  || fail $NAME "sentence: file incomplete"

run_case message message 1
[ "$(rmq_counts s)" = "0 0" ] || fail $NAME "message: not acked after being finished: $(rmq_counts s)"
grep -q 'id=three spoken' "$T/message.log" || fail $NAME "message: not spoken to the end"

broker publish "$AMQP_URL" s "$msg"
run_case twice sentence 2
fcheck "$STOP_S < 2" || fail $NAME "two signals: took $STOP_S s"
for _ in $(seq 1 50); do [ "$(rmq_counts s)" = "1 0" ] && break; sleep 0.1; done
[ "$(rmq_counts s)" = "1 0" ] || fail $NAME "two signals: message not back in the queue: $(rmq_counts s)"
pass $NAME
