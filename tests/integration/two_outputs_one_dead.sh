#!/usr/bin/env bash
# two_outputs_one_dead — one output is a live nginx-rtmp, the other a port
# where nothing listens. Outputs are independent (each its own queue and
# thread, reconnecting alone), so the dead one must cost the live one
# nothing: a viewer of the live one gets the same 10 s as in rtmp_stream
# (300 frames within 1 %, no pts gap, audio as long as video), talkcast
# says in its log that the dead one cannot connect, and exits 0 at the end
# of --duration (a dead output does not hang the shutdown).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=two_outputs_one_dead
need ffmpeg ffprobe nginx python3
tc_tmpdir
TC=$(tc_bin)

port=$(nginx_start)
dead=$(free_port)
url=rtmp://127.0.0.1:$port/live/t
t0=$(now)
bg "$TC" run --out "$url" --out "rtmp://127.0.0.1:$dead/live/x" --duration 16 2>"$T/talkcast.log"
tc=$LAST_PID
wait_published t 10 || fail $NAME "the live output was not published within 10 s"
note "published after $(since "$t0") s"
while fcheck "$(now) - $t0 < 2"; do sleep 0.1; done

record_rtmp "$url" 10 "$T/view.mkv" 2>"$T/viewer.log" || fail $NAME "viewer could not record the live output"
why=$(probe_check "$T/view.mkv" --frames 300 --tol 1 --size 1280x720 --fps 30/1 --audio 48000:2) \
  || fail $NAME "live output: $why"
note "live output: $why"

wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
note "talkcast ran $(since "$t0") s for --duration 16"
grep -qE "level=(warn|error).*127\.0\.0\.1:$dead" "$T/talkcast.log" \
  || fail $NAME "the log does not say that the output to port $dead fails"
pass $NAME
