#!/usr/bin/env bash
# rtmp_reconnect — stop the RTMP server mid-stream for 1 s and start it
# again: within 3 s of the restart a viewer reads frames again, talkcast
# never exits early, logs the loss once and the reconnect, and what the new
# viewer records has continuous timestamps.
source "$(dirname "$0")/../lib.sh"
port=$(start_nginx)
url=rtmp://127.0.0.1:$port/live/t
bg "$TC_BIN" run --out "$url" --duration 30 --log-level debug 2>"$T/tc.log"
tc=$LAST_PID
wait_for_line "$T/tc.log" 'connected to' 10 || fail "never connected"
sleep 1
record "$url" 3 "$T/before.mkv" || fail "no frames before the restart"
"$NGINX" stop "$T/nginx"
sleep 1
"$NGINX" restart "$T/nginx" >/dev/null
t0=$(date +%s.%N)
ok=0
for _ in $(seq 1 40); do
  if timeout 6 ffprobe -v error -rw_timeout 2000000 -read_intervals '%+#1' -select_streams v \
       -show_entries packet=pts -of csv "$url" 2>/dev/null | grep -q packet; then ok=1; break; fi
  sleep 0.1
done
dt=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
[ $ok = 1 ] || fail "no frames after the restart"
note "viewer got frames ${dt}s after the restart"
python3 -c "import sys; sys.exit(0 if $dt <= 3.0 else 1)" || fail "frames came back after ${dt}s (> 3 s)"
record "$url" 5 "$T/after.mkv" || fail "viewer could not record after the restart"
why=$(check_av "$(probe "$T/after.mkv")" 150 2) || fail "after restart: $why"
kill -0 "$tc" 2>/dev/null || fail "talkcast died"
[ "$(grep -c 'level=warn.*lost rtmp' "$T/tc.log")" = 1 ] || fail "loss not logged exactly once"
grep -q 'reconnected to' "$T/tc.log" || fail "no reconnect in the log"
wait "$tc" || fail "talkcast exited $?"
grep -qE 'out0 state=closed .* reconnects=1 ' "$T/tc.log" || fail "reconnect not counted: $(grep 'out0 state' "$T/tc.log")"
echo "PASS: rtmp_reconnect"
