#!/usr/bin/env bash
# file_output — `--duration 5 -o x.mp4` gives exactly 150 frames and 5.00 s
# of audio, live-paced and offline; .mkv and .ts too; offline is fast.
source "$(dirname "$0")/../lib.sh"
for pace in live offline; do
  t0=$(date +%s.%N)
  "$TC_BIN" run --duration 5 --pace "$pace" -o "$T/x.mp4" 2>"$T/$pace.log" || fail "$pace run failed: $(tail -3 "$T/$pace.log")"
  took=$(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))")
  j=$(probe "$T/x.mp4" --count)
  note "$pace: took ${took}s"
  [ "$(pyget "$j" 'j["video"]["decoded_frames"]')" = 150 ] || fail "$pace: $(pyget "$j" 'j["video"]["decoded_frames"]') frames, want 150"
  why=$(check_av "$j" 150 0) || fail "$pace: $why"
  adur=$(pyget "$j" 'round(j["audio"]["end"] - max(j["audio"]["first"], 0), 3)')
  [ "$adur" = 5.0 ] || fail "$pace: audio lasts ${adur}s, want 5.000"
  if [ "$pace" = offline ]; then
    python3 -c "import sys; sys.exit(0 if $took < 4.0 else 1)" || fail "offline took ${took}s for 5 s of stream"
  fi
  rm -f "$T/x.mp4"
done
for ext in mkv ts; do
  "$TC_BIN" run --duration 5 --pace offline -o "$T/x.$ext" 2>"$T/$ext.log" || fail "$ext run failed"
  n=$(pyget "$(probe "$T/x.$ext" --count)" 'j["video"]["decoded_frames"]')
  [ "$n" = 150 ] || fail "$ext: $n frames, want 150"
done
echo "PASS: file_output"
