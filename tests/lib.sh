# shellcheck shell=bash
# lib.sh — shared helpers for the integration tests (sourced, not run).
#
# A test script does:
#   source "$(dirname "$0")/../lib.sh"
#   tc_tmpdir                      # sets $T; everything started is stopped on exit
#   port=$(nginx_start)            # private nginx-rtmp in $T/nginx
#   bg "$(tc_bin)" run --out "rtmp://127.0.0.1:$port/live/t" --duration 16 2>"$T/talkcast.log"
#   ...checks... || fail NAME "why"
#   pass NAME
#
# The tests judge what a viewer receives (ffmpeg/ffprobe against a real
# nginx-rtmp on loopback), not the daemon's own claims. Missing tools are
# failures, never skips: a test that cannot run has not passed.
set -euo pipefail

TC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NGINX_RTMP=$TC_ROOT/tests/env/nginx-rtmp.sh
PROBE=$TC_ROOT/tests/probe.py
T=""
BG_PIDS=()
# The interpreter itself, not a version-manager shim that costs ~0.1 s a call.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)
# Debian's own Python: the one python3-pika (scripts/deps.sh) is installed for,
# whatever python3 a version manager puts first on PATH.
PYSYS=/usr/bin/python3
# Any free port for /metrics: tests may run beside a talkcast on the default.
export TALKCAST_METRICS_LISTEN=${TALKCAST_METRICS_LISTEN-127.0.0.1:0}

# pass NAME / fail NAME REASON: the verdict lines the runner collects.
# fail ends the test with exit 1.
pass() { echo "PASS: $1"; }
fail() {
  echo "FAIL: $1: ${2:-no reason given}" >&2
  exit 1
}
# note MSG: a measurement or progress line (stderr, kept in the test's log).
note() { echo "  $*" >&2; }

# need TOOL...: every tool must be installed (a missing one fails the test).
need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || fail "$(basename "$0" .sh)" "$t is not installed (run scripts/deps.sh)"
  done
}

# tc_bin: the talkcast under test ($TALKCAST_BIN, else build/talkcast).
tc_bin() {
  local b=${TALKCAST_BIN:-$TC_ROOT/build/talkcast}
  [ -x "$b" ] || fail "$(basename "$0" .sh)" "talkcast binary $b not found (build it, or set TALKCAST_BIN)"
  echo "$b"
}

# tc_plain_bin: the talkcast to run under valgrind — $TALKCAST_BIN, or,
# when that is a sanitizer build (which cannot run under valgrind), the
# plain one at $TC_PLAIN_BIN (default build/talkcast). Sets $TC; call it
# directly, not in $(...), so a failure ends the test.
tc_plain_bin() {
  local name
  name=$(basename "$0" .sh)
  TC=$(tc_bin)
  if nm -an "$TC" 2>/dev/null | grep __asan_init >/dev/null; then
    TC=${TC_PLAIN_BIN:-$TC_ROOT/build/talkcast}
    [ -x "$TC" ] || fail "$name" "$TALKCAST_BIN is a sanitizer build and no plain build is at $TC (set TC_PLAIN_BIN)"
    note "sanitizer build under test; valgrind runs the plain one, $TC"
  fi
}

# tc_photo: the public-domain test portrait from ../shared/avatars (or
# $TC_PHOTO) as $PHOTO; fails the test when it is missing.
tc_photo() {
  PHOTO=${TC_PHOTO:-$TC_ROOT/../shared/avatars/astronaut.png}
  [ -f "$PHOTO" ] || fail "$(basename "$0" .sh)" "no test photo at $PHOTO"
}

# tc_small_tmpfs DIR SIZE: a tmpfs of SIZE (e.g. 1m) mounted on DIR (made
# here), for tests of a full disk; needs root. It is unmounted before the
# cleanup removes $T (the EXIT trap is chained in front of it, keeping the
# test's exit status). Call it directly, after tc_tmpdir.
tc_small_tmpfs() {
  local name
  name=$(basename "$0" .sh)
  [ "$(id -u)" = 0 ] || fail "$name" "needs root to mount a tmpfs"
  _TC_TMPFS=$1
  mkdir -p "$1"
  trap _tc_unmount_then_cleanup EXIT
  mount -t tmpfs -o size="$2" tmpfs "$1" || fail "$name" "cannot mount a tmpfs on $1"
}
_tc_unmount_then_cleanup() {
  local rc=$?
  umount -l "$_TC_TMPFS" 2>/dev/null
  _tc_cleanup "$rc"
}

# tc_tmpdir: create the test's private dir as $T (call it directly, not in
# $(...), so the trap lands in the test's shell). On exit: background
# processes get SIGTERM (SIGKILL after 3 s), every nginx under $T stops, and
# $T is removed unless KEEP_TMP=1. On failure the tails of $T/*.log are shown.
tc_tmpdir() {
  T=$(mktemp -d "${TMPDIR:-/tmp}/tc-it-XXXXXX")
  # The test's own stdout/stderr, kept for the cleanup: a signal's trap runs
  # inside whatever redirection was active (e.g. `record_rtmp ... 2>file`).
  exec {TC_OUT}>&1 {TC_ERR}>&2
  trap '_tc_cleanup $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

_tc_cleanup() {
  local rc=$1 p d f
  set +e
  exec 1>&"$TC_OUT" 2>&"$TC_ERR"
  [ -n "$T" ] && [ -d "$T" ] || exit "$rc"
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  for d in "$T"/*/; do
    [ -f "$d/nginx.pid" ] && "$NGINX_RTMP" stop "$d" >/dev/null 2>&1
    [ -f "$d/broker" ] && "$TC_ROOT/tests/env/rabbitmq.sh" stop "$d" >/dev/null 2>&1
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.log; do
      [ -f "$f" ] || continue
      echo "--- last lines of $(basename "$f") (debug lines left out):" >&2
      grep -v 'level=debug' "$f" | tail -n 8 >&2
    done
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
  exit "$rc"
}

# bg CMD...: run CMD in the background; its pid is in $LAST_PID and it is
# stopped at exit if still running.
bg() {
  "$@" &
  LAST_PID=$!
  BG_PIDS+=("$LAST_PID")
}

# wait_rc PID: wait for a background process; its exit status in $RC
# (without tripping set -e; not in $(...): a subshell cannot wait for it).
# shellcheck disable=SC2034 # RC is for the caller
wait_rc() {
  RC=0
  wait "$1" || RC=$?
}

# nginx_start: a private nginx-rtmp in $T/nginx; prints the RTMP port.
# nginx_stop / nginx_restart (same port) / nginx_kill (SIGKILL) act on it.
# (The daemon must not inherit the saved stdout/stderr: it would hold a
# caller's pipe open.)
nginx_start() { "$NGINX_RTMP" start "$T/nginx" {TC_OUT}>&- {TC_ERR}>&-; }
nginx_stop() { "$NGINX_RTMP" stop "$T/nginx"; }
nginx_restart() { "$NGINX_RTMP" restart "$T/nginx" {TC_OUT}>&- {TC_ERR}>&-; }
nginx_kill() { "$NGINX_RTMP" kill "$T/nginx"; }

# rmq_start: a private RabbitMQ in $T/rabbitmq (stopped at exit); sets
# AMQP_PORT and AMQP_URL. rmq_restart keeps its port and data; rmq_ctl runs
# rabbitmqctl against it; rmq_counts QUEUE prints "ready unacked".
RMQ=$TC_ROOT/tests/env/rabbitmq.sh
BROKER_PY=$TC_ROOT/tests/broker.py
rmq_start() {
  AMQP_PORT=$("$RMQ" start "$T/rabbitmq" {TC_OUT}>&- {TC_ERR}>&-) || fail "$(basename "$0" .sh)" "the broker did not start"
  AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2F
}
rmq_restart() { "$RMQ" restart "$T/rabbitmq" {TC_OUT}>&- {TC_ERR}>&- >/dev/null; }
rmq_ctl() { "$RMQ" ctl "$T/rabbitmq" "$@"; }
rmq_counts() {
  rmq_ctl list_queues -q name messages_ready messages_unacknowledged 2>/dev/null | awk -v q="$1" '$1 == q { print $2, $3 }'
}
# broker SUBCOMMAND ARGS: tests/broker.py (pika) with Debian's Python.
broker() { "$PYSYS" "$BROKER_PY" "$@"; }
# wait_queue Q: wait (10 s at most) until talkcast has declared queue Q.
wait_queue() {
  for _ in $(seq 1 100); do [ "$(rmq_counts "$1")" != "" ] && return 0; sleep 0.1; done
  return 1
}
# events_listen: record every event of talkcast.events to $T/events.jsonl
# (in the background, bound before it returns).
events_listen() {
  : >"$T/events.jsonl"
  bg broker events "$AMQP_URL" talkcast.events "$T/events.jsonl" 300 >"$T/listener.out"
  for _ in $(seq 1 50); do grep -q ready "$T/listener.out" && return 0; sleep 0.1; done
  return 1
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (right now).
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# now: seconds since the epoch, with fractions. since T0: seconds since T0.
now() { date +%s.%N; }
since() { "$PY" -c "import sys; print(f'{$(now) - $1:.2f}')"; }
# fcheck EXPR: true when the Python expression EXPR holds (float compares).
fcheck() { "$PY" -c "import sys; sys.exit(0 if ($1) else 1)"; }

# wait_for_log FILE REGEX TIMEOUT: true once a line of FILE matches REGEX.
wait_for_log() {
  for _ in $(seq 1 $(($3 * 10))); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wait_published NAME TIMEOUT: true once the nginx's stat page
# shows stream NAME with a publisher whose video and audio it knows about.
# Independent of what talkcast logs.
wait_published() {
  local url
  url=http://127.0.0.1:$(cat "$T/nginx/http_port")/stat
  for _ in $(seq 1 $(($2 * 10))); do
    if "$PY" - "$url" "$1" <<'PY'; then return 0; fi
import sys, urllib.request, xml.etree.ElementTree as ET
try:
    root = ET.fromstring(urllib.request.urlopen(sys.argv[1], timeout=1).read())
except Exception:
    sys.exit(1)
for st in root.iter("stream"):
    if st.findtext("name") == sys.argv[2] and st.find("./client/publishing") is not None \
            and st.find("./meta/video") is not None:
        sys.exit(0)
sys.exit(1)
PY
    sleep 0.1
  done
  return 1
}

# record_rtmp URL SECONDS OUT: a viewer copying SECONDS of the stream to OUT
# (container from OUT's extension). Fails if the stream cannot be read.
record_rtmp() {
  timeout --foreground $(($2 + 20)) ffmpeg -nostdin -v error -rw_timeout 5000000 -i "$1" \
    -t "$2" -map 0:v:0 -map 0:a:0? -c copy -y "$3"
}

# first_frame_after URL DEADLINE_S: a viewer that reads one video packet,
# retried until DEADLINE_S passes; prints the seconds it took, false on
# timeout. Each try may wait for the rest of the deadline: nginx-rtmp keeps
# a player of a not-yet-published stream waiting and serves it from the
# publisher's first keyframe, so a viewer that gave up early could miss it.
# Stream analysis is off: it would add ~1.4 s of the viewer's own buffering.
first_frame_after() {
  local t0 left
  t0=$(now)
  while fcheck "$(now) - $t0 < $2"; do
    left=$("$PY" -c "print(max(1, int($2 - ($(now) - $t0)) + 1))")
    if timeout --foreground "$left" ffprobe -v error -rw_timeout $((left * 1000000)) \
      -fflags nobuffer -analyzeduration 0 -probesize 32 -select_streams v:0 \
      -read_intervals '%+#1' -show_entries packet=pts -of csv "$1" 2>/dev/null | grep -q '^packet'; then
      since "$t0"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# ffprobe_count_frames FILE: decoded video frames (ffprobe -count_frames).
# (MPEG-TS lists each stream twice, in its program and on its own: head.)
ffprobe_count_frames() {
  local out
  out=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1")
  head -n 1 <<<"$out"
}

# ffprobe_duration FILE STREAM: a stream's duration in seconds as the
# container states it (STREAM like v:0 or a:0); Matroska keeps it in a
# DURATION tag. Empty when the container states none.
ffprobe_duration() {
  local d
  d=$(ffprobe -v error -select_streams "$2" -show_entries stream=duration -of csv=p=0 "$1" | head -n 1)
  if [ -z "$d" ] || [ "$d" = N/A ]; then
    d=$(ffprobe -v error -select_streams "$2" -show_entries stream_tags=DURATION -of csv=p=0 "$1" | head -n 1)
    [ -n "$d" ] && d=$("$PY" -c "h,m,s='$d'.split(':'); print(int(h)*3600+int(m)*60+float(s))")
  fi
  echo "$d"
}

# probe_info FILE [--count]: JSON about what FILE holds (tests/probe.py).
probe_info() { "$PY" "$PROBE" info "$@"; }
# probe_check FILE --frames N [--tol PCT] [--size WxH] [--fps R] [--audio RATE:CH]:
# prints a summary; false (with every reason) when a check fails.
probe_check() { "$PY" "$PROBE" check "$@"; }
# jget JSON EXPR: a Python expression over the parsed JSON `j`.
jget() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# expect RC LABEL REGEX CMD...: CMD exits RC and its stderr matches REGEX
# (stdout in $T/out, stderr in $T/err); the test's $NAME fails otherwise.
expect() {
  local want=$1 label=$2 re=$3 rc=0
  shift 3
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$NAME" "$label: exit $rc, want $want (stderr: $(head -c 300 "$T/err"))"
  grep -qE -- "$re" "$T/err" || fail "$NAME" "$label: stderr does not match /$re/: $(head -c 300 "$T/err")"
  note "$label: exit $rc: $(head -n 1 "$T/err")"
}

# metrics_port LOG: the port talkcast's /metrics server took (it logs
# "metrics on http://HOST:PORT/metrics"); waits 10 s at most.
metrics_port() {
  local i p
  for i in $(seq 1 100); do
    p=$(sed -n 's|.*metrics on http://[^ ]*:\([0-9]*\)/metrics.*|\1|p' "$1" 2>/dev/null | head -n 1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}
# http_status URL: the HTTP status of a GET (000 when nothing answers);
# the body is in $T/http.body.
http_status() { curl -s -m 5 -o "$T/http.body" -w '%{http_code}' "$1" || true; }
# wait_status URL CODE SECONDS: until GET URL answers CODE.
wait_status() {
  local end
  end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -le "$end" ]; do
    [ "$(http_status "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
# metric FILE EXPR: the value of the sample whose line starts with EXPR
# (name and labels exactly as written), or nothing.
metric() { awk -v k="$2" 'index($0, k " ") == 1 { print $NF }' "$1"; }
