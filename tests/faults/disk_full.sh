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
fault_begin mount umount
tc_small_tmpfs "$T/small" 2m
fault_env d

# 2 Mbit/s of noise fills 2 MiB in about 8 s.
noise_avatar
bg "$TC" run --avatar "$T/noise.mp4" --width 640 --height 360 --video-bitrate 2M --x264-preset ultrafast \
  -o "$url" -o "$T/small/full.mkv" --amqp-url "$AMQP_URL" --queue d 2>"$T/talkcast.log"
tc=$LAST_PID
await_stream
viewer_start "$url" "$T/view.flv"
publish_numbered 3 "is said while the disk fills up. It has two sentences."
t0=$(now)
wait_for_log "$T/talkcast.log" 'level=error.*full.mkv' 30 || fail $NAME "no error about the full disk within 30 s ($(df -h "$T/small" | tail -n 1))"
note "disk full after $(since "$t0") s: $(grep -m 1 'level=error.*full.mkv' "$T/talkcast.log" | sed 's/.*msg=//')"
grep -q 'level=error.*full.mkv.*No space left on device' "$T/talkcast.log" || fail $NAME "the error does not say the disk is full"
sleep 6 # the stream goes on without the file
tc_alive "with its file output"
await_drained 30
sleep 1
viewer_stop
tc_stop
note "talkcast exited $RC"
[ "$RC" = 1 ] || fail $NAME "talkcast exited $RC, want 1 (a file output failed)"
log_clean
[ "$(grep -c 'level=error.*full.mkv' "$T/talkcast.log")" = 1 ] || fail $NAME "the failure is not logged exactly once: $(grep -c 'level=error.*full.mkv' "$T/talkcast.log")"
never_late
rtmp_dropped_none out0
no_gap view.flv viewer
fs=$(video_seconds "$T/small/full.mkv" 2>/dev/null) || fail $NAME "the file on the full disk is unreadable"
note "the file on the full disk holds $fs s"
none_dead_lettered
spoken_once m1 m2 m3
pass $NAME
