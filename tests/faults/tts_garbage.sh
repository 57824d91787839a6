#!/usr/bin/env bash
# tts_garbage — the HTTP TTS answers 200 with random bytes labelled
# audio/wav (the fake server's "garbage" model), with espeak as the
# fallback. The decoder (libavformat probing, then the decode) must refuse
# them without crashing, hanging or putting noise on air.
#   - stream: a viewer of the RTMP output records throughout — no pts gap;
#   - messages: all three spoken by the fallback, once each, within 10 s of
#     being published, nothing dead-lettered, queue drained; garbage is not
#     retried (one request per message: a 200 is an answer);
#   - log: an error naming the bad body ("… that are not audio") and the
#     fallback; exit 0, no sanitizer report (the ASan build matters here:
#     random bytes go through the WAV/MP3 probes).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/fault_lib.bash
source "$(dirname "$0")/fault_lib.bash"
NAME=tts_garbage
need ffmpeg ffprobe nginx curl
tc_tmpdir
TC=$(tc_bin)
rmq_start
tts_start || fail $NAME "the fake TTS server did not start"
port=$(nginx_start)
url=rtmp://127.0.0.1:$port/live/g
broker bind "$AMQP_URL" talkcast.events ev

bg "$TC" run -o "$url" --amqp-url "$AMQP_URL" --queue g --width 320 --height 180 \
  --tts openai --tts-url "$TTS_URL" --tts-api-key k --tts-model garbage --tts-fallback espeak 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue g || fail $NAME "talkcast did not declare its queue"
wait_published g 10 || fail $NAME "no stream published within 10 s"
viewer_start "$url" "$T/view.flv"
sleep 1
t0=$(now)
for i in 1 2 3; do
  broker publish "$AMQP_URL" g "{\"type\":\"text\",\"id\":\"m$i\",\"text\":\"Message $i comes back as noise.\"}"
done
wait_for_log "$T/talkcast.log" 'id=m3 spoken' 10 || fail $NAME "not all three spoken within 10 s"
note "all three spoken by the fallback $(since "$t0") s after publishing"
wait_drained g 5 || fail $NAME "queue not drained: $(rmq_counts g)"
sleep 1.5
viewer_stop
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
sanitizer_clean "$T/talkcast.log" || fail $NAME "sanitizer report in the log"
[ "$(rmq_counts g.dlq)" = "0 0" ] || fail $NAME "dead-lettered: $(rmq_counts g.dlq)"
n=$(tts_requests "")
[ "$n" = 3 ] || fail $NAME "$n requests for 3 messages (garbage must not be retried)"
broker drain "$AMQP_URL" ev >"$T/events.jsonl"
rep=$(SPOKEN_MAX=1 spoken_report "$T/events.jsonl" m1 m2 m3) || fail $NAME "spoken (distinct finished events): $rep"
note "spoken: $rep"
why=$(gap_check "$T/view.flv") || fail $NAME "viewer: $why"
note "viewer: $why"
[ "$(grep -c 'level=error.*that are not audio' "$T/talkcast.log")" = 3 ] || fail $NAME "the bad bodies are not logged as such"
[ "$(grep -c 'falling back to espeak' "$T/talkcast.log")" = 3 ] || fail $NAME "the fallback is not logged per message"
note "log: $(grep -m 1 'that are not audio' "$T/talkcast.log" | sed 's/.*msg=//' | cut -c1-90)… / $(grep -m 1 'falling back' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
