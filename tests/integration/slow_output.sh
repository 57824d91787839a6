#!/usr/bin/env bash
# slow_output — one output is a TCP peer that accepts the connection and
# never reads (a stuck ingest), the other a file. The stuck one fills its
# socket and its own bounded queue, drops its own packets (counted) and
# reconnects after the write time-out; the file beside it still gets every
# frame of the timeline and the engine is never late: a slow output cannot
# stall the stream or another output.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=slow_output
need ffmpeg ffprobe python3
tc_tmpdir
TC=$(tc_bin)

# A listener that accepts every connection and never reads from it.
"$PY" "$TC_ROOT/tests/stuck_listener.py" "$T/port" 60 &
BG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")

# Noise keeps x264 at its full bitrate, so the stuck peer's socket fills.
ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=320x180:r=30,geq=random(1)*255:128:128" -t 2 \
  -c:v libx264 -preset ultrafast -qp 10 -y "$T/noise.mp4" || fail $NAME "cannot make the noise avatar"
"$TC" run --duration 12 --avatar "$T/noise.mp4" --video-bitrate 6M --x264-preset ultrafast --out-queue 64 \
  --out "[f=flv]tcp://127.0.0.1:$port" -o "$T/x.mp4" 2>"$T/talkcast.log" \
  || fail $NAME "talkcast exited $?"
why=$(probe_check "$T/x.mp4" --frames 360 --tol 0 --size 1280x720 --fps 30/1) || fail $NAME "file output: $why"
note "file output: $why"
grep -q 'msg="frames=360 late=0 dropped=0 ' "$T/talkcast.log" \
  || fail $NAME "the engine was held up: $(grep 'msg="frames=' "$T/talkcast.log")"
line=$(grep 'msg="out0 state=' "$T/talkcast.log")
note "stuck output: ${line#*msg=}"
dropped=$(sed -E 's/.* dropped=([0-9]+).*/\1/' <<<"$line")
[ "${dropped:-0}" -gt 0 ] || fail $NAME "the stuck output dropped nothing: $line"
grep -qE 'msg="out1 state=closed .* dropped=0 ' "$T/talkcast.log" \
  || fail $NAME "the file output lost packets: $(grep 'msg="out1 state=' "$T/talkcast.log")"
pass $NAME
