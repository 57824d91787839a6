#!/usr/bin/env bash
# slow_consumer — one output is a TCP peer that accepts and never reads (a
# stuck ingest), beside a live nginx-rtmp output, while messages are
# spoken. slow_output covers an idle 12 s file run; this goes further:
# talking, a live RTMP viewer beside it, 30 s (several 5 s write time-outs
# and reconnects to the stuck peer), and a SIGTERM while the stuck output is
# blocked in a write.
#   - stream: the RTMP viewer's recording has no pts gap; the engine is
#     never late (the stuck output costs the others nothing);
#   - the stuck output: drops its own packets (counted), times out and
#     reconnects (the listener sees more than one connection), and its
#     warnings name it;
#   - messages: all three spoken once, queue drained;
#   - stop: SIGTERM ends talkcast within 8 s (5 s write time-out + margin)
#     with exit 0, no sanitizer report.
# long
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=slow_consumer
fault_begin

# A listener that accepts every connection, never reads, counts them.
"$PY" "$TC_ROOT/tests/stuck_listener.py" "$T/port" 120 "$T/accepted" &
BG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$T/port" ] && break; sleep 0.1; done
stuck=$(cat "$T/port")
fault_env s

# Noise keeps x264 at its full bitrate, so the stuck peer's socket fills.
noise_avatar
bg "$TC" run --avatar "$T/noise.mp4" --width 640 --height 360 --video-bitrate 6M --x264-preset ultrafast \
  --out-queue 64 --out "[f=flv]tcp://127.0.0.1:$stuck" -o "$url" \
  --amqp-url "$AMQP_URL" --queue s 2>"$T/talkcast.log"
tc=$LAST_PID
await_stream
viewer_start "$url" "$T/view.flv"
publish_numbered 3 "is said while one ingest has stopped reading. It has two sentences."
sleep 30
tc_alive
await_drained 30
viewer_stop
tc_stop_timed
tc_exited_ok
note "SIGTERM with the stuck output blocked: exit 0 after $stop_s s"
fcheck "$stop_s <= 8" || fail $NAME "stopping took $stop_s s (limit 8 s)"
log_clean

no_gap view.flv "RTMP viewer"
never_late
line=$(grep 'msg="out0 state=' "$T/talkcast.log")
note "stuck output: ${line#*msg=}"
dropped=$(sed -E 's/.* dropped=([0-9]+).*/\1/' <<<"$line")
[ "${dropped:-0}" -gt 0 ] || fail $NAME "the stuck output dropped nothing: $line"
acc=$(cat "$T/accepted" 2>/dev/null || echo 0)
note "the stuck peer accepted $acc connection(s)"
[ "$acc" -ge 2 ] || fail $NAME "no reconnect to the stuck peer in 30 s ($acc connection(s))"
grep -qE "level=warn.*tcp://127.0.0.1:$stuck" "$T/talkcast.log" || fail $NAME "no warning names the stuck output"
note "log: $(grep -m 1 -E "level=warn.*tcp://127.0.0.1:$stuck" "$T/talkcast.log" | sed 's/.*msg=//')"
rtmp_dropped_none out1
spoken_once m1 m2 m3
pass $NAME
