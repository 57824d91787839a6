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
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)

# A listener that accepts every connection, never reads, counts them.
"$PY" - "$T/port" "$T/accepted" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try:
        c, _ = s.accept()
        held.append(c)
        open(sys.argv[2], "w").write(str(len(held)))
    except socket.timeout:
        pass
PY
BG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$T/port" ] && break; sleep 0.1; done
stuck=$(cat "$T/port")
rmq_start
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/s
broker bind "$AMQP_URL" talkcast.events ev

# Noise keeps x264 at its full bitrate, so the stuck peer's socket fills.
ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=320x180:r=30,geq=random(1)*255:128:128" -t 2 \
  -c:v libx264 -preset ultrafast -qp 10 -y "$T/noise.mp4" || fail $NAME "cannot make the noise avatar"
bg "$TC" run --avatar "$T/noise.mp4" --width 640 --height 360 --video-bitrate 6M --x264-preset ultrafast \
  --out-queue 64 --out "[f=flv]tcp://127.0.0.1:$stuck" -o "$url" \
  --amqp-url "$AMQP_URL" --queue s 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue s || fail $NAME "talkcast did not declare its queue"
wait_published s 10 || fail $NAME "no stream published within 10 s"
viewer_start "$url" "$T/view.flv"
for i in 1 2 3; do
  broker publish "$AMQP_URL" s "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i is said while one ingest has stopped reading. It has two sentences.\"}"
done
sleep 30
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died"
wait_drained s 30 || fail $NAME "queue not drained: $(rmq_counts s)"
viewer_stop
t0=$(now)
kill -TERM "$tc"
wait_rc "$tc"
stop_s=$(since "$t0")
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
note "SIGTERM with the stuck output blocked: exit 0 after $stop_s s"
fcheck "$stop_s <= 8" || fail $NAME "stopping took $stop_s s (limit 8 s)"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"

why=$(gap_check "$T/view.flv") || fail $NAME "RTMP viewer: $why"
note "RTMP viewer: $why"
grep -qE 'msg="frames=[0-9]+ late=0 ' "$T/talkcast.log" \
  || fail $NAME "the engine was held up: $(grep 'msg="frames=' "$T/talkcast.log")"
line=$(grep 'msg="out0 state=' "$T/talkcast.log")
note "stuck output: ${line#*msg=}"
dropped=$(sed -E 's/.* dropped=([0-9]+).*/\1/' <<<"$line")
[ "${dropped:-0}" -gt 0 ] || fail $NAME "the stuck output dropped nothing: $line"
acc=$(cat "$T/accepted" 2>/dev/null || echo 0)
note "the stuck peer accepted $acc connection(s)"
[ "$acc" -ge 2 ] || fail $NAME "no reconnect to the stuck peer in 30 s ($acc connection(s))"
grep -qE "level=warn.*tcp://127.0.0.1:$stuck" "$T/talkcast.log" || fail $NAME "no warning names the stuck output"
note "log: $(grep -m 1 -E "level=warn.*tcp://127.0.0.1:$stuck" "$T/talkcast.log" | sed 's/.*msg=//')"
grep -qE 'msg="out1 state=closed .* dropped=0 ' "$T/talkcast.log" \
  || fail $NAME "the RTMP output lost packets: $(grep 'msg="out1 state=' "$T/talkcast.log")"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
pass $NAME
