#!/usr/bin/env bash
# file_output — files get exactly what --duration asks for, and are closed
# properly (a player can read them to the end):
#   - `--duration 5 -o x.mp4`, live pace: exactly 150 decoded frames, pts
#     without gaps, audio 5.00 s ±0.01 (the AAC stream's duration as the MP4
#     states it: the edit list hides the encoder's priming samples, so this
#     is what a player plays); takes about 5 s (paced), exits 0;
#   - the same with --pace offline, which must be much faster (< 2.5 s; the
#     time is printed): one engine, two clocks, same output;
#   - .mkv and .ts: exactly 150 frames each; the .mkv carries its duration
#     (written by the trailer, so it proves the file was finished);
#   - SIGINT during an open-ended run: exit 0 and an MP4 that plays (moov
#     written), not a truncated file.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=file_output
need ffmpeg ffprobe python3
tc_tmpdir
TC=$(tc_bin)

for pace in live offline; do
  out=$T/$pace.mp4
  t0=$(now)
  "$TC" run --duration 5 --pace "$pace" -o "$out" 2>"$T/$pace.log" || fail $NAME "--pace $pace exited $?"
  took=$(since "$t0")
  note "--pace $pace: 5 s of stream took $took s"
  n=$(ffprobe_count_frames "$out")
  [ "$n" = 150 ] || fail $NAME "--pace $pace: $n video frames, want exactly 150"
  adur=$(ffprobe_duration "$out" a:0)
  fcheck "abs(${adur:-0} - 5.0) <= 0.01" || fail $NAME "--pace $pace: audio lasts ${adur:-?} s, want 5.00 ±0.01"
  why=$(probe_check "$out" --frames 150 --tol 0 --size 1280x720 --fps 30/1 --audio 48000:2) \
    || fail $NAME "--pace $pace: $why"
  note "--pace $pace: audio stream duration ${adur} s; $why"
  if [ "$pace" = live ]; then
    fcheck "4.8 <= $took <= 7.5" || fail $NAME "--pace live took $took s for --duration 5 (not paced in real time)"
  else
    fcheck "$took < 2.5" || fail $NAME "--pace offline took $took s for 5 s of stream (want < 2.5 s)"
  fi
done

for ext in mkv ts; do
  out=$T/x.$ext
  "$TC" run --duration 5 --pace offline -o "$out" 2>"$T/$ext.log" || fail $NAME ".$ext: exited $?"
  n=$(ffprobe_count_frames "$out")
  [ "$n" = 150 ] || fail $NAME ".$ext: $n video frames, want exactly 150"
  why=$(probe_check "$out" --frames 150 --tol 0 --size 1280x720 --fps 30/1 --audio 48000:2 --no-count) \
    || fail $NAME ".$ext: $why"
  note ".$ext: $n frames; $why"
done
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/x.mkv")
fcheck "abs(${d:-0} - 5.0) < 0.1" || fail $NAME ".mkv states a duration of ${d:-none} s (trailer not written?)"

# Open-ended run stopped by SIGINT: graceful, exit 0, a finished file.
bg "$TC" run -o "$T/sig.mp4" 2>"$T/sigint.log"
tc=$LAST_PID
sleep 3
kill -INT "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "SIGINT: talkcast exited $RC, want 0"
n=$(ffprobe_count_frames "$T/sig.mp4" 2>/dev/null) || fail $NAME "SIGINT: the MP4 is unreadable (not finished)"
fcheck "${n:-0} >= 60" || fail $NAME "SIGINT: only ${n:-0} frames in the MP4 after ~3 s"
note "SIGINT after 3 s: exit 0, $n frames"
pass $NAME
