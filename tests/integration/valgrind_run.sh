#!/usr/bin/env bash
# valgrind_run — 60 s of `talkcast run` under valgrind memcheck against a
# private RabbitMQ and nginx-rtmp, with messages: text messages, a bad one
# (dead-lettered), ping, set_voice, set_avatar to a photo with landmarks
# from --avatar-dir and back to the vector face, a long message cut by an
# interrupt, /metrics /healthz /readyz scrapes. At 320x180, 25 fps, so that
# valgrind (~20x slower) keeps the stream nearly real-time on 2 cores; a
# late frame is fine here, the stream must only stay on the air. Checks:
# every message settled as expected (events), the stream published, exit 0
# at --duration, zero memcheck errors and zero definite leaks over the whole
# run including teardown (--errors-for-leak-kinds=definite).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=valgrind_run
need valgrind curl
tc_tmpdir
tc_plain_bin
tc_photo
mkdir "$T/avatars"
cp "$PHOTO" "$T/avatars/astro.png"
cp "$TC_ROOT/assets/avatars/astronaut.landmarks.json" "$T/avatars/astro.landmarks.json"
rmq_start
port=$(nginx_start)

t0=$(now)
bg valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --num-callers=30 \
  --suppressions="$TC_ROOT/tests/valgrind.supp" --log-file="$T/valgrind.vg" \
  "$TC" run --out "rtmp://127.0.0.1:$port/live/vg" --amqp-url "$AMQP_URL" --queue vq \
  --width 320 --height 180 --fps 25 --duration 60 --avatar-dir "$T/avatars" --metrics-listen 127.0.0.1:0 \
  2>"$T/talkcast.log"
tc=$LAST_PID
mport=$(metrics_port "$T/talkcast.log") || fail $NAME "no 'metrics on' line in the log"
base=http://127.0.0.1:$mport
wait_queue vq || fail $NAME "talkcast did not declare its queue"
# the events exchange is declared by the other connection, a moment later under valgrind
ok=0
for _ in $(seq 1 40); do events_listen 2>/dev/null && { ok=1; break; }; sleep 0.25; done
[ $ok = 1 ] || fail $NAME "could not listen to events"
note "consuming after $(since "$t0") s"
wait_published vg 20 || fail $NAME "the stream was not published"

pub() { broker publish "$AMQP_URL" "$@"; }
pub vq '{"type":"text","id":"m1","text":"Hello under valgrind."}'
pub vq '{"type":"text","id":"m2","text":"Second message.","metadata":{"n":2}}'
pub vq 'not json at all'
pub vq.control '{"type":"control","command":"ping","id":"p1"}'
pub vq.control '{"type":"control","command":"set_voice","id":"sv","args":{"voice":"en-gb"}}'
pub vq '{"type":"text","id":"m3","text":"A British voice."}'
broker wait-events "$T/events.jsonl" finished 3 40 || fail $NAME "m1-m3 not spoken"
pub vq.control '{"type":"control","command":"set_avatar","id":"sa","args":{"avatar":"astro"}}'
pub vq '{"type":"text","id":"m4","text":"The astronaut speaks."}'
broker wait-events "$T/events.jsonl" finished 4 30 || fail $NAME "m4 not spoken"
pub vq '{"type":"text","id":"long","text":"This one goes on and on, sentence after sentence. It will not end on its own. There is always more to say. And more again."}'
broker wait-events "$T/events.jsonl" started 5 20 || fail $NAME "the long message did not start"
pub vq.control '{"type":"control","command":"interrupt","id":"cut"}'
broker wait-events "$T/events.jsonl" interrupted 1 20 || fail $NAME "the interrupt was not carried out"
pub vq.control '{"type":"control","command":"set_avatar","id":"sb","args":{"avatar":"vector"}}'
pub vq '{"type":"text","id":"m5","text":"Back to the vector face."}'
broker wait-events "$T/events.jsonl" finished 5 30 || fail $NAME "m5 not spoken"
broker wait-events "$T/events.jsonl" failed 1 5 || fail $NAME "the bad message got no failed event"
broker wait-events "$T/events.jsonl" pong 1 5 || fail $NAME "no pong"
for p in metrics healthz readyz; do
  s=$(http_status "$base/$p")
  [ "$s" = 200 ] || fail $NAME "/$p answered $s under valgrind: $(head -c 200 "$T/http.body")"
done
note "every message settled after $(since "$t0") s"

wait_rc "$tc" # --duration 60 ends it
note "exit $RC after $(since "$t0") s; $(grep -o 'frames=[0-9]* late=[0-9]* dropped=[0-9]*' "$T/talkcast.log" | tail -n 1)"
e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/valgrind.vg")
d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$T/valgrind.vg" | tr -d ,)
p=$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$T/valgrind.vg" | tr -d ,)
[ -n "$e" ] || fail $NAME "no valgrind summary (exit $RC): $(tail -n 3 "$T/valgrind.vg")"
note "memcheck: $e errors, definitely lost ${d:-0} B, possibly lost ${p:-0} B"
if [ "$RC" != 0 ] || [ "$e" != 0 ] || [ "${d:-0}" != 0 ]; then
  grep -A 25 -m 1 -E 'Invalid|uninitialised|definitely lost in|Mismatched|overlap|Syscall param' "$T/valgrind.vg" >&2 || true
  fail $NAME "exit $RC, $e memcheck errors, ${d:-0} bytes definitely lost (report: valgrind.vg, KEEP_TMP=1 keeps it)"
fi
counts=$(rmq_counts vq)
[ "$counts" = "0 0" ] || fail $NAME "queue not empty: ready/unacked = $counts"
pass $NAME
