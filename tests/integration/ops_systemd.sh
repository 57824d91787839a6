#!/usr/bin/env bash
# ops_systemd — talkcast under systemd's notify protocol, with this test
# playing systemd (a datagram socket in NOTIFY_SOCKET, WATCHDOG_USEC set):
#   - READY=1 once streaming, with a STATUS;
#   - WATCHDOG=1 at half the watchdog period while the clock ticks;
#   - STOPPING=1 on SIGTERM, then exit 0;
#   - without NOTIFY_SOCKET nothing is sent and nothing fails;
#   - contrib/talkcast.service passes `systemd-analyze verify`.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=ops_systemd
need systemd-analyze
tc_tmpdir
TC=$(tc_bin)

"$PY" "$TC_ROOT/tests/notify_listen.py" "$T/notify.sock" "$T/notify.jsonl" 20 >"$T/listen.out" &
BG_PIDS+=("$!")
for _ in $(seq 1 50); do grep -q ready "$T/listen.out" 2>/dev/null && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 bg "$TC" run -o "$T/out.mkv" --width 320 --height 180 \
  2>"$T/talkcast.log"
tc=$LAST_PID
sleep 3.2
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"
sleep 0.3
"$PY" - "$T/notify.jsonl" 2>"$T/check.out" <<'PYEOF' || fail $NAME "$(tail -n 1 "$T/check.out")"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
def first(prefix):
    return next((m for m in msgs if any(l.startswith(prefix) for l in m["msg"].split("\n"))), None)
ready, stopping = first("READY=1"), first("STOPPING=1")
assert ready, f"no READY=1 in {msgs}"
assert "STATUS=" in ready["msg"], ready
assert stopping, f"no STOPPING=1 in {msgs}"
pings = [m["t"] for m in msgs if m["msg"] == "WATCHDOG=1"]
# 1 s watchdog: a ping every 0.5 s from READY until STOPPING (~3.2 s)
assert len(pings) >= 5, f"{len(pings)} watchdog pings: {pings}"
gaps = [b - a for a, b in zip(pings, pings[1:])]
assert max(gaps) < 0.9, f"watchdog gap {max(gaps):.2f} s >= the 1 s period minus margin"
assert ready["t"] <= pings[0] and stopping["t"] >= pings[-1]
print(f"  READY at {ready['t']} s, {len(pings)} watchdog pings (largest gap {max(gaps):.2f} s), "
      f"STOPPING at {stopping['t']} s", file=sys.stderr)
PYEOF
note "$(cat "$T/check.out")"

# outside systemd: no socket, no complaint
bg "$TC" run -o "$T/out2.mkv" --width 320 --height 180 --duration 1 2>"$T/plain.log"
wait_rc "$LAST_PID"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC without NOTIFY_SOCKET"
if grep -q 'inst=systemd' "$T/plain.log"; then fail $NAME "notify warnings outside systemd: $(grep 'inst=systemd' "$T/plain.log")"; fi

sed "s|^ExecStart=.*|ExecStart=$TC run|" "$TC_ROOT/contrib/talkcast.service" >"$T/talkcast.service"
systemd-analyze verify "$T/talkcast.service" >"$T/verify.out" 2>&1 || fail $NAME "systemd-analyze verify: $(head -n 3 "$T/verify.out")"
[ ! -s "$T/verify.out" ] || fail $NAME "systemd-analyze warns: $(head -n 3 "$T/verify.out")"
pass $NAME
