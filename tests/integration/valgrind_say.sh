#!/usr/bin/env bash
# valgrind_say — `talkcast say` under valgrind memcheck, once per kind of
# output and avatar: a WAV with phonemes (speech alone), the vector face to
# MP4, a photo with landmarks (mesh warp, blinks), a looping video and a
# sprite pack (made here with ffmpeg). Each must exit 0 with zero memcheck
# errors and zero definite leaks (--errors-for-leak-kinds=definite, so a
# definite leak alone fails the run); "possibly lost" and "still reachable"
# blocks are foreign libraries' own (espeak-ng keeps its thread's TLS) and
# are only counted. tests/valgrind.supp holds suppressions for documented
# third-party false positives only.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=valgrind_say
need valgrind ffmpeg
tc_tmpdir
tc_plain_bin
tc_photo

ffmpeg -nostdin -v error -f lavfi -i "testsrc=s=320x180:r=25" -t 1 -pix_fmt yuv420p -y "$T/loop.mp4"
mkdir "$T/pack"
ffmpeg -nostdin -v error -f lavfi -i "color=c=blue:s=160x120" -frames:v 1 -y "$T/pack/base.png"
ffmpeg -nostdin -v error -f lavfi -i "color=c=red:s=40x20,format=rgba" -frames:v 1 -y "$T/pack/aa.png"
ffmpeg -nostdin -v error -f lavfi -i "color=c=black:s=40x8,format=rgba" -frames:v 1 -y "$T/pack/rest.png"
cat >"$T/pack/sprites.json" <<'EOF'
{"base": "base.png", "blink": "rest.png",
 "mouths": {"rest": {"file": "rest.png", "offset": [60, 90]}, "aa": {"file": "aa.png", "offset": [60, 84]}}}
EOF

VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --num-callers=30
  --suppressions="$TC_ROOT/tests/valgrind.supp")
errors=0
definite=0
# vg LABEL ARGS...: talkcast ARGS under memcheck; its report in $T/LABEL.vg
vg() {
  local label=$1 rc=0 t0 e d p
  shift
  t0=$(now)
  "${VG[@]}" --log-file="$T/$label.vg" "$TC" "$@" >"$T/$label.out" 2>&1 || rc=$?
  e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/$label.vg")
  d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$T/$label.vg" | tr -d ,)
  p=$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$T/$label.vg" | tr -d ,)
  [ -n "$e" ] || fail $NAME "$label: no valgrind summary (exit $rc): $(tail -n 3 "$T/$label.vg")"
  errors=$((errors + e))
  definite=$((definite + ${d:-0}))
  note "$label: exit $rc, $e errors, definitely lost ${d:-0} B, possibly lost ${p:-0} B, $(since "$t0") s"
  if [ "$rc" != 0 ] || [ "$e" != 0 ] || [ "${d:-0}" != 0 ]; then
    grep -A 25 -m 1 -E 'Invalid|uninitialised|definitely lost in|Mismatched|overlap|Syscall param' "$T/$label.vg" >&2 || true
    fail $NAME "$label: exit $rc, $e memcheck errors, ${d:-0} bytes definitely lost (report: $T/$label.vg, KEEP_TMP=1 keeps it)"
  fi
}

text="Hello there. Nice to see you, how are you today?"
vg wav say "$text" -o "$T/s.wav" --phonemes "$T/s.tsv"
vg vector say "$text" -o "$T/v.mp4" --width 320 --height 180
vg photo say "$text" -o "$T/p.mp4" --width 320 --height 180 --avatar "$PHOTO" \
  --landmarks "$TC_ROOT/assets/avatars/astronaut.landmarks.json"
vg video say "Hello there." -o "$T/l.mkv" --width 320 --height 180 --avatar "$T/loop.mp4"
vg sprite say "Hello there." -o "$T/k.mp4" --width 320 --height 180 --avatar "$T/pack"
# the outputs are real: each has its frames
for f in v.mp4 p.mp4 l.mkv k.mp4; do
  n=$(ffprobe_count_frames "$T/$f")
  [ "${n:-0}" -gt 10 ] || fail $NAME "$f has ${n:-no} frames"
done
note "total: $errors memcheck errors, $definite bytes definitely lost"
pass $NAME
