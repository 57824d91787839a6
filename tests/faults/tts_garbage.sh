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
fault_setup g --tts
tc_on_air --tts openai --tts-url "$TTS_URL" --tts-api-key k --tts-model garbage --tts-fallback espeak
sleep 1
t0=$(now)
publish_numbered 3 "comes back as noise."
wait_for_log "$T/talkcast.log" 'id=m3 spoken' 10 || fail $NAME "not all three spoken within 10 s"
note "all three spoken by the fallback $(since "$t0") s after publishing"
await_drained 5
sleep 1.5
viewer_stop
tc_stop_clean
none_dead_lettered
n=$(tts_requests "")
[ "$n" = 3 ] || fail $NAME "$n requests for 3 messages (garbage must not be retried)"
spoken_once m1 m2 m3
no_gap view.flv viewer
[ "$(grep -c 'level=error.*that are not audio' "$T/talkcast.log")" = 3 ] || fail $NAME "the bad bodies are not logged as such"
[ "$(grep -c 'falling back to espeak' "$T/talkcast.log")" = 3 ] || fail $NAME "the fallback is not logged per message"
note "log: $(grep -m 1 'that are not audio' "$T/talkcast.log" | sed 's/.*msg=//' | cut -c1-90)… / $(grep -m 1 'falling back' "$T/talkcast.log" | sed 's/.*msg=//')"
pass $NAME
