#!/usr/bin/env bash
# two_outputs_one_dead — one live RTMP output and one to a port where
# nothing listens: the live one still delivers 300 frames ±1 % in 10 s
# without gaps, and talkcast exits 0.
source "$(dirname "$0")/../lib.sh"
port=$(start_nginx)
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=rtmp://127.0.0.1:$port/live/t
bg "$TC_BIN" run --out "$url" --out "rtmp://127.0.0.1:$dead/live/x" --duration 16 2>"$T/tc.log"
tc=$LAST_PID
wait_for_line "$T/tc.log" "connected to rtmp://127.0.0.1:$port" 10 || fail "live output never connected"
sleep 1
record "$url" 10 "$T/view.mkv" || fail "viewer could not read the live output"
why=$(check_av "$(probe "$T/view.mkv")" 300 1) || fail "$why"
wait "$tc" || fail "talkcast exited $?"
grep -qE "out1 state=closed bytes=0 packets=0 .* failures=[1-9]" "$T/tc.log" || fail "dead output not reported as failing: $(grep "out1 state" "$T/tc.log")"
grep -qE "out0 state=closed .* dropped=0 " "$T/tc.log" || fail "live output dropped packets: $(grep 'out0 state' "$T/tc.log")"
echo "PASS: two_outputs_one_dead"
