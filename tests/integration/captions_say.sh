#!/usr/bin/env bash
# captions_say — closed captions read back by FFmpeg's own 608 decoder
# (ccaption_dec through `movie=F[out0+subcc]`), judged against the WebVTT
# talkcast writes for the same speech (tests/captions_check.py):
#  1. `say TEXT -o out.mp4 --subtitles out.vtt` with non-ASCII text (Ça,
#     €, señor, and 日本語 that 608 cannot carry at all): the VTT parses with
#     the webvtt package; every word shows in the 608 captions in order,
#     each cue's first word within -50..+300 ms of its spoken start; the
#     accents arrive exactly; --subtitles out.srt writes SRT.
#     The same with an HTTP TTS provider (local fake), whose words are
#     estimated from the audio.
#  2. a live `run` to a file: a long message interrupted mid-sentence —
#     the captions are erased within 300 ms of the cut frame and nothing is
#     shown until the next message; the next message's captions are erased
#     0.3-2 s after its speech ends (the hold; the idle loop after); each
#     sentence has a `caption` event with its text. Captions are also burned
#     in (--captions-burn): the bottom band shows text while speaking and is
#     back to the idle picture after the hold. A viewer of the same run's
#     RTMP output through nginx-rtmp decodes the captions too.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=captions_say
need ffmpeg ffprobe python3 nginx
tc_tmpdir
TC=$(tc_bin)
"$PYSYS" -c 'import webvtt' 2>/dev/null || fail $NAME "python3-webvtt is not installed (scripts/deps.sh)"

decode() { # FILE -> FILE.rt.srt (real-time mode) and FILE.buf.srt (buffered)
  ffmpeg -nostdin -v error -real_time 1 -f lavfi -i "movie=$1[out0+subcc]" -map 0:s -y "$1.rt.srt" \
    || fail $NAME "ffmpeg could not decode the captions of $1"
  ffmpeg -nostdin -v error -f lavfi -i "movie=$1[out0+subcc]" -map 0:s -y "$1.buf.srt" \
    || fail $NAME "ffmpeg could not decode the captions of $1"
}

text="Hello there, this is a caption test. Ça coûte 5 €, señor! 日本語 okay? The quick brown fox jumps over the lazy dog, again and again, until the end of the line. Tom & Jerry."
"$TC" say "$text" -o "$T/say.mp4" --subtitles "$T/say.vtt" --width 640 --height 360 2>"$T/say.log" \
  || fail $NAME "say failed: $(tail -2 "$T/say.log")"
grep -q "Ça coûte 5 €, señor!" "$T/say.vtt" || fail $NAME "the VTT lost the non-ASCII text"
grep -q "日本語 okay?" "$T/say.vtt" || fail $NAME "the VTT lost the text 608 cannot carry"
grep -q "Tom &amp; Jerry." "$T/say.vtt" || fail $NAME "& is not escaped in the VTT"
decode "$T/say.mp4"
res=$("$PYSYS" "$TC_ROOT/tests/captions_check.py" say "$T/say.vtt" "$T/say.mp4.rt.srt" "$T/say.mp4.buf.srt" 2>&1) \
  || fail $NAME "say: $res"
note "say: $res"
grep -q "Ça coûte 5 EUR, señor!" "$T/say.mp4.buf.srt" || fail $NAME "608 captions lack 'Ça coûte 5 EUR, señor!'"
if grep -q "日本" "$T/say.mp4.buf.srt"; then fail $NAME "608 captions carry characters 608 has not"; fi

"$TC" say "Short one. Two sentences." -o "$T/w.wav" --subtitles "$T/w.srt" 2>"$T/w.log" \
  || fail $NAME "say --subtitles F.srt failed: $(tail -2 "$T/w.log")"
head -2 "$T/w.srt" | grep -qE '^00:00:00,[0-9]{3} --> 00:00:0[0-9],[0-9]{3}$' || fail $NAME "SRT timing line: $(head -2 "$T/w.srt")"
grep -q "Two sentences." "$T/w.srt" || fail $NAME "SRT text missing"
if "$TC" say "x" -o "$T/x.wav" --subtitles "$T/x.txt" 2>/dev/null; then fail $NAME "--subtitles x.txt accepted"; fi
if "$TC" say "no captions" -o "$T/nc.mp4" --no-captions --width 320 --height 180 2>"$T/nc.log"; then
  decode "$T/nc.mp4"
  [ ! -s "$T/nc.mp4.buf.srt" ] || fail $NAME "--no-captions still wrote captions"
else fail $NAME "say --no-captions failed: $(tail -2 "$T/nc.log")"; fi

# HTTP TTS (no word timing; tests/tts/fake_tts_server.py answers 1 s of tone a
# sentence): the words are spread over the voiced audio, and the 608 captions
# follow them as for espeak
bg "$PY" "$TC_ROOT/tests/tts/fake_tts_server.py" "$T/fake.log" >"$T/fake.out"
for _ in $(seq 1 50); do grep -q PORT= "$T/fake.out" && break; sleep 0.1; done
port=$(grep -o 'PORT=[0-9]*' "$T/fake.out" | cut -d= -f2)
[ -n "$port" ] || fail $NAME "the fake TTS server did not start"
"$TC" say "One two three. Four five six seven." -o "$T/http.mp4" --tts openai --tts-url "http://127.0.0.1:$port" \
  --tts-model ok-wav --tts-api-key k --subtitles "$T/http.vtt" --width 320 --height 180 2>"$T/http.log" \
  || fail $NAME "say with HTTP TTS failed: $(tail -2 "$T/http.log")"
grep -q "^00:00:01.500 --> .*" "$T/http.vtt" || fail $NAME "HTTP TTS: the second sentence's cue does not start with its audio: $(cat "$T/http.vtt")"
decode "$T/http.mp4"
res=$("$PYSYS" "$TC_ROOT/tests/captions_check.py" say "$T/http.vtt" "$T/http.mp4.rt.srt" "$T/http.mp4.buf.srt" 2>&1) \
  || fail $NAME "HTTP TTS: $res"
note "HTTP TTS: $res"

# per stream: two streams may not share one captions file; {stream} separates them
mkdir -p "$T/streams"
printf 'TALKCAST_OUTPUTS=%s\nTALKCAST_CAPTIONS_FILE=%s\n' "$T/a.mkv" "$T/same.vtt" >"$T/streams/one.env"
printf 'TALKCAST_OUTPUTS=%s\nTALKCAST_CAPTIONS_FILE=%s\nTALKCAST_CAPTIONS_BURN=true\n' "$T/b.mkv" "$T/same.vtt" >"$T/streams/two.env"
if "$TC" config check --streams "$T/streams" >/dev/null 2>"$T/streams.log"; then fail $NAME "two streams share a captions file"; fi
grep -q "both write captions file" "$T/streams.log" || fail $NAME "shared captions file: $(cat "$T/streams.log")"
sed -i 's|same.vtt|{stream}.vtt|' "$T/streams/one.env" "$T/streams/two.env"
"$TC" config check --streams "$T/streams" >/dev/null 2>"$T/streams.log" || fail $NAME "{stream} captions files: $(cat "$T/streams.log")"

# ---- live: interrupt clears them; RTMP carries them ----
rmq_start
rport=$(nginx_start)
rurl=rtmp://127.0.0.1:$rport/live/cap
if "$TC" config check --captions-file "$T/x.txt" 2>"$T/check.log"; then fail $NAME "config check took --captions-file x.txt"; fi
grep -q "captions-file" "$T/check.log" || fail $NAME "config check did not name captions-file: $(cat "$T/check.log")"
bg "$TC" run -o "$T/live.mkv" -o "$rurl" --amqp-url "$AMQP_URL" --queue q --width 640 --height 360 --captions-burn \
  --captions-file "$T/{stream}.vtt" \
  2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue q || fail $NAME "talkcast did not declare its queue"
wait_published cap 10 || fail $NAME "no RTMP stream published within 10 s"
bg record_rtmp "$rurl" 60 "$T/view.mkv" 2>"$T/viewer.log" # ends with the stream
viewer=$LAST_PID
# nginx-rtmp starts a viewer at the next keyframe (the idle loop's, up to a
# loop away); the message goes out once the viewer is writing frames
for _ in $(seq 1 150); do [ -s "$T/view.mkv" ] && break; sleep 0.1; done
[ -s "$T/view.mkv" ] || fail $NAME "the RTMP viewer got no frames in 15 s: $(tail -2 "$T/viewer.log")"
events_listen || fail $NAME "could not listen to events"
broker publish "$AMQP_URL" q '{"type":"text","id":"long","text":"This is a long message about nothing in particular that goes on and on without any pause at all, and it keeps going."}'
broker wait-events "$T/events.jsonl" started 1 10 || fail $NAME "the message did not start"
sleep 1.5
broker publish "$AMQP_URL" q.control '{"type":"control","command":"interrupt","id":"stop"}'
broker wait-events "$T/events.jsonl" interrupted 1 5 || fail $NAME "no interrupted event"
sleep 1.5
broker publish "$AMQP_URL" q '{"type":"text","id":"next","text":"Next one."}'
broker wait-events "$T/events.jsonl" finished 1 10 || fail $NAME "the next message was not spoken"
sleep 2.5
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
decode "$T/live.mkv"
read -r cut nxt nxt_end ncap < <("$PYSYS" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
cut = [e for e in ev if e["event"] == "interrupted"][0]["detail"]["cut_frame"] / 30
nxt = [e for e in ev if e["event"] == "started" and e["message_id"] == "next"][0]["detail"]["start_ms"] / 1000
fin = [e for e in ev if e["event"] == "finished" and e["message_id"] == "next"][0]
caps = [e for e in ev if e["event"] == "caption"]
ok = [e for e in caps if e["message_id"] == "long" and e["detail"]["text"].startswith("This is a long message")]
print(cut, nxt, fin["detail"]["end_frame"] / 30, len(ok))' "$T/events.jsonl")
[ "$ncap" = 1 ] || fail $NAME "no caption event with the long message's text"
res=$("$PYSYS" "$TC_ROOT/tests/captions_check.py" cleared "$T/live.mkv.rt.srt" "$T/live.mkv.buf.srt" "$cut" "$nxt" "Next one." 2>&1) || fail $NAME "live: $res"
note "live: $res"
# the next message: shown, and erased 0.5-2 s after its speech ended
"$PYSYS" -c '
import sys
sys.path.insert(0, sys.argv[1])
from captions_check import srt
subs = [s for s in srt(sys.argv[2]) if "Next one." in s[2]]
if not subs: sys.exit("the next message never showed in the captions")
end, spoke = subs[-1][1], float(sys.argv[3])
if end is None or not 0.3 <= end - spoke <= 2.0:
    sys.exit(f"captions of the next message erased at {end}, speech ended at {spoke:.3f}")
print(f"next message erased {end - spoke:.2f} s after its speech ended")' "$TC_ROOT/tests" "$T/live.mkv.buf.srt" "$nxt_end" \
  >"$T/next.out" 2>&1 || fail $NAME "live: $(tail -1 "$T/next.out")"
note "live: $(cat "$T/next.out")"
# the rolling file: valid WebVTT, the interrupted sentence cut at the cut frame, the next one after
[ -f "$T/talkcast.vtt" ] || fail $NAME "no rolling captions file $T/talkcast.vtt ({stream} = the stream name)"
"$PYSYS" -c '
import sys, webvtt
cues = list(webvtt.read(sys.argv[1]))
cut, nxt = float(sys.argv[2]), float(sys.argv[3])
texts = [" ".join(c.text.split()) for c in cues]
if not texts or not texts[0].startswith("This is a long message"): sys.exit(f"first cue {texts[:1]}")
if not texts[-1] == "Next one.": sys.exit(f"last cue {texts[-1:]}")
old = [c for c in cues if "Next one." not in c.text]
if max(c.end_in_seconds for c in old) > cut + 0.05: sys.exit(f"cues of the interrupted message past the cut at {cut}: {[(c.start, c.end) for c in old]}")
if abs(cues[-1].start_in_seconds - nxt) > 0.05: sys.exit(f"next cue at {cues[-1].start}, spoken at {nxt}")
print(f"rolling file: {len(cues)} cues, the interrupted one ends at the cut")' "$T/talkcast.vtt" "$cut" "$nxt" >"$T/roll.out" 2>&1 \
  || fail $NAME "live: $(tail -1 "$T/roll.out")"
note "live: $(cat "$T/roll.out")"
# what a viewer of the RTMP stream (nginx-rtmp) got: the same captions
wait_rc "$viewer"
[ "$RC" = 0 ] || fail $NAME "the RTMP viewer failed: $(tail -2 "$T/viewer.log")"
decode "$T/view.mkv"
grep -q "This is a long message" "$T/view.mkv.buf.srt" || fail $NAME "no captions through RTMP: $(head -c 600 "$T/view.mkv.buf.srt" | tr "\n" " ")"
note "live: RTMP viewer decoded $(grep -c -- '-->' "$T/view.mkv.buf.srt") caption events via nginx-rtmp"
# burned in: the band while the long message speaks, gone 1.5 s after the last
res=$("$PYSYS" "$TC_ROOT/tests/captions_check.py" band "$T/live.mkv" 640 360 0.1 "$(echo "$cut - 0.2" | bc)" \
  "$(echo "$nxt_end + 2" | bc)" 2>&1) || fail $NAME "live: $res"
note "live: $res"
pass $NAME
