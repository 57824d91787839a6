#!/usr/bin/env bash
# rtmp_reconnect — the RTMP server goes away mid-stream and comes back:
# talkcast must heal the stream on its own, without restarting.
#   1. talkcast streams to a private nginx-rtmp (--duration 30, debug log);
#      a viewer confirms frames;
#   2. nginx is restarted: stopped (fast shutdown drops the connection;
#      the stop itself takes ~1.2 s), 0.5 s pause, started on the same
#      port. talkcast retries at once, then after 0.5, 1, 2, 4 … s (±20 %):
#      after this ~2 s outage its next attempt is under 2 s away;
#   3. within 3 s of the restart a new viewer reads frames again (the time
#      is measured and printed);
#   4. talkcast was alive throughout and exits 0 at the end;
#   5. its log has exactly one warning (the loss; failed retries are quiet)
#      and a line about reconnecting;
#   6. 5 s recorded after the restart have monotonic pts without a gap.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=rtmp_reconnect
need ffmpeg ffprobe nginx python3
tc_tmpdir
TC=$(tc_bin)

port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/t
bg "$TC" run --out "$url" --duration 30 --log-level debug 2>"$T/talkcast.log"
tc=$LAST_PID
wait_published t 10 || fail $NAME "no stream published within 10 s"
record_rtmp "$url" 3 "$T/before.mkv" 2>"$T/viewer.log" || fail $NAME "viewer could not record before the restart"
n=$(ffprobe_count_frames "$T/before.mkv")
[ "${n:-0}" -gt 0 ] || fail $NAME "no frames before the restart"
note "before the restart: $n frames in 3 s"

nginx_stop
note "nginx stopped; starting it again in 0.5 s"
sleep 0.5
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast exited while the server was down"
nginx_restart >/dev/null
restarted=$(date -u +%H:%M:%S.%N | cut -c1-12)
dt=$(first_frame_after "$url" 10) || fail $NAME "no frames within 10 s of the restart"
note "nginx restarted at $restarted; a viewer got frames ${dt} s later; talkcast's side:"
grep -E 'lost|connect' "$T/talkcast.log" | sed 's/^/    /' >&2 || true
fcheck "$dt <= 3.0" || fail $NAME "frames came back after ${dt} s (limit 3 s)"

record_rtmp "$url" 5 "$T/after.mkv" 2>>"$T/viewer.log" || fail $NAME "viewer could not record after the restart"
why=$(probe_check "$T/after.mkv" --frames 150 --tol 1 --size 1280x720 --fps 30/1) || fail $NAME "after the restart: $why"
note "after the restart: $why"

kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast exited before --duration"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
warns=$(grep -c 'level=warn' "$T/talkcast.log" || true)
[ "$warns" = 1 ] || fail $NAME "$warns warnings in the log, want exactly 1 for the loss: $(grep 'level=warn' "$T/talkcast.log" | head -n 5)"
grep -qi 'reconnect' "$T/talkcast.log" || fail $NAME "no reconnect line in the log"
note "log: $(grep 'level=warn' "$T/talkcast.log")"
note "log: $(grep -iE 'reconnected' "$T/talkcast.log" | head -n 1)"
pass $NAME
