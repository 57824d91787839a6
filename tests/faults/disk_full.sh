#!/usr/bin/env bash
# disk_full — a file output on a 2 MiB tmpfs fills it (ENOSPC) while
# messages are spoken, beside an RTMP output. (Needs root for the mount;
# the tmpfs is unmounted at exit whatever happens.)
#   - the file output stops, alone: its error names the file and "No space
#     left on device", once — no retry loop that rewrites the full disk;
#   - stream: the RTMP viewer's recording, from before the disk filled to
#     well after, has no pts gap; the engine is never late;
#   - messages: all three spoken once, queue drained, nothing dead-lettered;
#   - the file is left as far as it got: it holds a readable start;
#   - no crash: talkcast runs on after the failure and exits on SIGTERM
#     with 1 — the documented status for "a file output could not be
#     written" (not a signal, not a hang), no sanitizer report.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=disk_full
need ffmpeg ffprobe nginx curl mount umount
[ "$(id -u)" = 0 ] || fail $NAME "needs root to mount a tmpfs"
tc_tmpdir
# Unmount before lib.sh's cleanup removes $T (chained in front of it,
# keeping the test's exit status).
unmount_then_cleanup() {
  local rc=$?
  umount -l "$T/small" 2>/dev/null
  _tc_cleanup "$rc"
}
trap unmount_then_cleanup EXIT
mkdir "$T/small"
mount -t tmpfs -o size=2m tmpfs "$T/small" || fail $NAME "cannot mount a tmpfs"
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/d
broker bind "$AMQP_URL" talkcast.events ev

# 2 Mbit/s of noise fills 2 MiB in about 8 s.
ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=320x180:r=30,geq=random(1)*255:128:128" -t 2 \
  -c:v libx264 -preset ultrafast -qp 10 -y "$T/noise.mp4" || fail $NAME "cannot make the noise avatar"
bg "$TC" run --avatar "$T/noise.mp4" --width 640 --height 360 --video-bitrate 2M --x264-preset ultrafast \
  -o "$url" -o "$T/small/full.mkv" --amqp-url "$AMQP_URL" --queue d 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue d || fail $NAME "talkcast did not declare its queue"
wait_published d 10 || fail $NAME "no stream published within 10 s"
viewer_start "$url" "$T/view.flv"
for i in 1 2 3; do
  broker publish "$AMQP_URL" d "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i is said while the disk fills up. It has two sentences.\"}"
done
t0=$(now)
wait_for_log "$T/talkcast.log" 'level=error.*full.mkv' 30 || fail $NAME "no error about the full disk within 30 s ($(df -h "$T/small" | tail -n 1))"
note "disk full after $(since "$t0") s: $(grep -m 1 'level=error.*full.mkv' "$T/talkcast.log" | sed 's/.*msg=//')"
grep -q 'level=error.*full.mkv.*No space left on device' "$T/talkcast.log" || fail $NAME "the error does not say the disk is full"
sleep 6 # the stream goes on without the file
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died with its file output"
wait_drained d 30 || fail $NAME "queue not drained: $(rmq_counts d)"
sleep 1
viewer_stop
kill -TERM "$tc"
wait_rc "$tc"
note "talkcast exited $RC"
[ "$RC" = 1 ] || fail $NAME "talkcast exited $RC, want 1 (a file output failed)"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"
[ "$(grep -c 'level=error.*full.mkv' "$T/talkcast.log")" = 1 ] || fail $NAME "the failure is not logged exactly once: $(grep -c 'level=error.*full.mkv' "$T/talkcast.log")"
grep -qE 'msg="frames=[0-9]+ late=0 ' "$T/talkcast.log" \
  || fail $NAME "the engine was held up: $(grep 'msg="frames=' "$T/talkcast.log")"
grep -qE 'msg="out0 state=closed .* dropped=0 ' "$T/talkcast.log" \
  || fail $NAME "the RTMP output lost packets: $(grep 'msg="out0 state=' "$T/talkcast.log")"
why=$(gap_check "$T/view.flv") || fail $NAME "viewer: $why"
note "viewer: $why"
fs=$(video_seconds "$T/small/full.mkv" 2>/dev/null) || fail $NAME "the file on the full disk is unreadable"
note "the file on the full disk holds $fs s"
[ "$(rmq_counts d.dlq)" = "0 0" ] || fail $NAME "dead-lettered: $(rmq_counts d.dlq)"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
pass $NAME
