#!/usr/bin/env bash
# idle_replay — the pre-encoded idle loop as a viewer sees it. `talkcast run`
# speaks three messages, each after the stream has gone back to replaying
# its idle loop, so the recording holds idle → speech → idle three times
# (and the switches between replayed packets and live encoding). Checks:
#   - zero decode errors, every frame there with continuous timestamps,
#     audio as long as video;
#   - the loop really played (frames replayed before and between messages)
#     and the three messages are heard where their events say;
#   - no glitch: the largest frame-to-frame change in each band of the
#     picture is no larger than in the same run rendered all live
#     (--no-idle-replay), within a small margin.
# The replay run closes x264 after half a second on the loop (--idle-close),
# so each message also opens it again: same headers, an IDR first, no gap.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=idle_replay
need ffmpeg ffprobe curl
tc_tmpdir
TC=$(tc_bin)
rmq_start

replayed() { metric <(curl -s -m 5 "http://127.0.0.1:$1/metrics") "talkcast_frames_replayed_total{stream=\"$2\"}"; }
suspends() { metric <(curl -s -m 5 "http://127.0.0.1:$1/metrics") "talkcast_encoder_suspends_total{stream=\"$2\"}"; }

# run MODE BASE FLAGS...: one recording with three messages, each sent once the stream
# replays its loop again (or, live, after the same pauses)
run() {
  local mode=$1 base=$2 q=q$1 tc port r0 i
  shift 2
  bg "$TC" run -o "$T/$mode.mkv" --amqp-url "$AMQP_URL" --queue "$q" --stream-name "$mode" --width 1280 --height 720 \
    --seed 7 "$@" --log-level debug 2>"$T/$mode.log"
  tc=$LAST_PID
  port=$(metrics_port "$T/$mode.log") || fail $NAME "$mode: no metrics port"
  wait_queue "$q" || fail $NAME "$mode: queue not declared"
  [ "$base" != 0 ] || events_listen || fail $NAME "could not listen to events"
  for i in 1 2 3; do
    r0=$(replayed "$port" "$mode")
    if [ "$mode" = replay ]; then # back on the loop (within a breath, 4.2 s, after speech)
      for _ in $(seq 1 100); do
        [ "$(replayed "$port" "$mode")" != "$r0" ] && break
        sleep 0.1
      done
      [ "$(replayed "$port" "$mode")" != "$r0" ] || fail $NAME "the loop did not play again before message $i"
      sleep 0.7 # x264 is closed after 0.5 s on the loop
    else
      sleep 3
    fi
    sleep 0.5
    broker publish "$AMQP_URL" "$q" "{\"type\":\"text\",\"text\":\"Message number $i, spoken now.\"}" "$mode$i"
    broker wait-events "$T/events.jsonl" finished $((base + i)) 30 || fail $NAME "$mode: message $i not spoken"
  done
  sleep 5
  REPLAYED=$(replayed "$port" "$mode")
  SUSPENDS=$(suspends "$port" "$mode")
  kill -TERM "$tc"
  wait_rc "$tc"
  [ "$RC" = 0 ] || fail $NAME "$mode: talkcast exited $RC"
}

run replay 0 --idle-replay --idle-close 0.5
n_replayed=$REPLAYED
[ "$SUSPENDS" -ge 3 ] || fail $NAME "x264 was closed $SUSPENDS times on the loop, want one before each message"
reopened=$(grep -c 'x264 opened again' "$T/replay.log" || true)
[ "$reopened" -ge 3 ] || fail $NAME "x264 was opened again $reopened times, want one for each message"
note "x264 closed $SUSPENDS times on the loop, opened again $reopened times: $(grep -o 'opened again for frame [0-9]* in [0-9.]* ms' "$T/replay.log" | sed 's/.* in //' | tr '\n' ' ')"
run live 3 --no-idle-replay
[ "$REPLAYED" = 0 ] || fail $NAME "--no-idle-replay replayed $REPLAYED frames"

frames=$(grep -o 'frames=[0-9]*' "$T/replay.log" | tail -n 1 | cut -d= -f2)
fcheck "$n_replayed > 0.15 * $frames" || fail $NAME "only $n_replayed of $frames frames replayed"
note "replay run: $n_replayed of $frames frames from the loop"
why=$(probe_check "$T/replay.mkv" --frames "$frames" --tol 0 --size 1280x720 --fps 30/1) || fail $NAME "replay.mkv: $why"
note "replay.mkv: $why"
"$PY" "$TC_ROOT/tests/speech_check.py" stretches "$T/replay.mkv" "$T/events.jsonl" replay1 replay2 replay3 \
  >"$T/speech.out" 2>&1 || fail $NAME "$(tail -n 1 "$T/speech.out")"

a=$("$PY" "$TC_ROOT/tests/replay_check.py" "$T/replay.mkv")
b=$("$PY" "$TC_ROOT/tests/replay_check.py" "$T/live.mkv")
note "replay: $a"
note "live:   $b"
"$PY" - "$a" "$b" <<'PYEOF' || fail $NAME "the replayed stream jumps more than the live one: $a vs $b"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["errors"] == 0, a["first_error"]
for band in ("top", "eyes", "body"):
    assert a[band] <= 1.25 * b[band] + 2.0, (band, a[band], b[band])
PYEOF
pass $NAME
