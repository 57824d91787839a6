#!/usr/bin/env bash
# rtmp_stream — talkcast publishes to a private nginx-rtmp and a viewer
# (ffmpeg, -c copy) records 10 s of what it is served, starting ~2 s after
# talkcast. Checks that what a viewer gets is the promised stream:
#   - H.264 1280x720 at r/avg frame rate 30/1, AAC 48 kHz stereo;
#   - 300 frames within 1 %, both decoded (-count_frames) and from the pts
#     span ((last - first) / frame duration + 1): a paced engine that runs
#     slow or fast, or drops frames, shows up here;
#   - no pts gap over one frame duration, nothing going backwards;
#   - audio as long as video within one frame (33.4 ms): no A/V drift;
#   - talkcast exits 0 at the end of --duration and logs no error.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=rtmp_stream
need ffmpeg ffprobe nginx python3
tc_tmpdir
TC=$(tc_bin)

port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/t
t0=$(now)
bg "$TC" run --out "$url" --duration 16 2>"$T/talkcast.log"
tc=$LAST_PID
wait_published t 10 || fail $NAME "no stream published within 10 s"
note "published after $(since "$t0") s"
while fcheck "$(now) - $t0 < 2"; do sleep 0.1; done

record_rtmp "$url" 10 "$T/view.mkv" 2>"$T/viewer.log" || fail $NAME "viewer could not record: $(tail -n 2 "$T/viewer.log")"
why=$(probe_check "$T/view.mkv" --frames 300 --tol 1 --size 1280x720 --fps 30/1 --audio 48000:2) \
  || fail $NAME "$why"
note "$why"

wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
if grep -q 'level=error' "$T/talkcast.log"; then
  fail $NAME "errors in the log: $(grep 'level=error' "$T/talkcast.log" | head -n 3)"
fi
pass $NAME
