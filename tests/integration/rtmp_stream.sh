#!/usr/bin/env bash
# rtmp_stream — talkcast streams to a private nginx-rtmp; a viewer (ffmpeg)
# reads 10 s: H.264 1280x720 30 fps + AAC 48 kHz stereo, 300 frames ±1 %,
# no pts gap, audio as long as video within one frame.
source "$(dirname "$0")/../lib.sh"
port=$(start_nginx)
url=rtmp://127.0.0.1:$port/live/t
bg "$TC_BIN" run --out "$url" --duration 16 2>"$T/tc.log"
tc=$LAST_PID
wait_for_line "$T/tc.log" 'connected to' 10 || fail "talkcast never connected: $(tail -3 "$T/tc.log")"
sleep 1
record "$url" 10 "$T/view.mkv" || fail "viewer could not read the stream"
j=$(probe "$T/view.mkv") || fail "ffprobe failed"
[ "$(pyget "$j" 'j["video"]["width"], j["video"]["height"], j["video"]["r_frame_rate"]')" = "(1280, 720, '30/1')" ] \
  || fail "video is not 1280x720 30/1: $j"
[ "$(pyget "$j" 'j["audio"]["sample_rate"], j["audio"]["channels"]')" = "(48000, 2)" ] || fail "audio is not 48 kHz stereo"
why=$(check_av "$j" 300 1) || fail "$why"
wait "$tc" || fail "talkcast exited $?"
grep -q 'level=error' "$T/tc.log" && fail "errors in the log: $(grep level=error "$T/tc.log" | head -3)"
echo "PASS: rtmp_stream"
