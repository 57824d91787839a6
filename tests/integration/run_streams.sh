#!/usr/bin/env bash
# run_streams — several streams in one process (--streams DIR), against a
# private RabbitMQ and nginx-rtmp. Four streams, each with its own queue,
# voice or avatar and outputs ("{stream}" in the URL), plus a fifth that is
# broken on purpose (its HTTP TTS refuses connections, its RTMP app does not
# exist). Checks:
#   - nginx shows all four good streams published;
#   - each speaks its own two messages, in order (events <stream>.finished),
#     and its recording holds exactly those two stretches of speech;
#   - the broken one's message is dead-lettered to its own DLQ with a reason
#     and the other four are not disturbed (no late frames, all spoken);
#   - /metrics reports 5 streams and each one's counts; log lines carry
#     stream=NAME;
#   - SIGTERM: exit 0.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_streams
need ffprobe curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
dead=$(free_port)
S=$T/streams.d
mkdir -p "$S"
printf 'TALKCAST_VOICE=en-us\n' >"$S/alpha.env"
printf 'TALKCAST_AVATAR=%s\n' "$(cd "$TC_ROOT/../shared/avatars" && pwd)/astronaut.png" >"$S/bravo.env"
printf 'TALKCAST_VOICE=en-gb\nTALKCAST_TTS_RATE=200\n' >"$S/charlie.env"
printf '# defaults only\n' >"$S/delta.env"
cat >"$S/broken.env" <<EOT
TALKCAST_TTS=openai
TALKCAST_TTS_URL=http://127.0.0.1:$dead
TALKCAST_TTS_RETRIES=0
TALKCAST_OUTPUTS=rtmp://127.0.0.1:$port/nosuchapp/broken
EOT

bg "$TC" run --streams "$S" --amqp-url "$AMQP_URL" --width 320 --height 180 --reconnect-max 2 \
  --out "rtmp://127.0.0.1:$port/live/{stream}" --out "$T/{stream}.mkv" 2>"$T/talkcast.log"
tc=$LAST_PID
mport=$(metrics_port "$T/talkcast.log") || fail $NAME "no 'metrics on' line in the log"
good=(alpha bravo charlie delta)
for s in "${good[@]}" broken; do wait_queue "$s" || fail $NAME "queue $s not declared"; done
for s in "${good[@]}"; do wait_published "$s" 15 || fail $NAME "nginx does not show stream $s published"; done
events_listen || fail $NAME "could not listen to events"

: >"$T/msgs"
for s in "${good[@]}"; do
  printf '%s1\t{"type":"text","text":"%s one."}\n%s2\t{"type":"text","text":"%s two."}\n' "$s" "$s" "$s" "$s" >"$T/$s.msgs"
  broker publish-lines "$AMQP_URL" "$s" "$T/$s.msgs" || fail $NAME "could not publish to $s"
done
broker publish "$AMQP_URL" broken '{"type":"text","text":"Nobody hears this."}' x1
broker wait-events "$T/events.jsonl" finished 8 40 || fail $NAME "not all eight messages were spoken"
broker wait-events "$T/events.jsonl" failed 1 20 || fail $NAME "the broken stream's message did not fail"

"$PY" - "$T/events.jsonl" "${good[@]}" <<'PYEOF' >"$T/order.out" 2>&1 || fail $NAME "$(tail -n 1 "$T/order.out")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
for s in sys.argv[2:]:
    fin = [e["message_id"] for e in ev if e["event"] == "finished" and e["_routing_key"] == s + ".finished"]
    assert fin == [s + "1", s + "2"], f"stream {s} finished {fin}"
fails = [e for e in ev if e["event"] == "failed"]
assert [e["_routing_key"] for e in fails] == ["broken.failed"], fails
print("events in order per stream; broken.failed:", fails[0]["detail"]["reason"][:80])
PYEOF
note "$(cat "$T/order.out")"

dl=$(broker drain "$AMQP_URL" broken.dlq)
echo "$dl" | grep -q '"message_id": "x1"' || fail $NAME "x1 not in broken.dlq: $dl"
echo "$dl" | grep -q 'x-talkcast-error' || fail $NAME "no reason on the dead-lettered message"
for s in "${good[@]}"; do
  [ "$(rmq_counts "$s")" = "0 0" ] || fail $NAME "queue $s not empty: $(rmq_counts "$s")"
done

curl -s -m 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt"
[ "$(metric "$T/metrics.txt" talkcast_streams)" = 5 ] || fail $NAME "talkcast_streams is not 5"
for s in "${good[@]}"; do
  v=$(metric "$T/metrics.txt" "talkcast_messages_total{stream=\"$s\",outcome=\"spoken\"}")
  [ "$v" = 2 ] || fail $NAME "stream $s: spoken = '$v' in /metrics"
  v=$(metric "$T/metrics.txt" "talkcast_frames_late_total{stream=\"$s\"}")
  [ "$v" = 0 ] || fail $NAME "stream $s: $v late frames"
done
v=$(metric "$T/metrics.txt" 'talkcast_messages_total{stream="broken",outcome="failed"}')
[ "$v" = 1 ] || fail $NAME "broken: failed = '$v' in /metrics"
[ "$(http_status "http://127.0.0.1:$mport/readyz")" = 503 ] || fail $NAME "/readyz is not 503 with a stream down"
grep -q 'stream broken: NOT READY' "$T/http.body" || fail $NAME "/readyz does not name the broken stream"
grep -q 'stream alpha: ready' "$T/http.body" || fail $NAME "/readyz: alpha not ready"
grep -q 'stream=charlie' "$T/talkcast.log" || fail $NAME "log lines carry no stream=NAME"

kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"
for s in "${good[@]}"; do
  "$PY" "$TC_ROOT/tests/speech_check.py" stretches "$T/$s.mkv" "$T/events.jsonl" "${s}1" "${s}2" >"$T/check-$s.out" 2>&1 \
    || fail $NAME "stream $s: $(tail -n 1 "$T/check-$s.out")"
  note "$s: $(tail -n 1 "$T/check-$s.out")"
done
pass $NAME
