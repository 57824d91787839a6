#!/usr/bin/env bash
# config_streams — `--streams DIR` as an operator writes it: `config check`
# prints every stream's effective configuration (name and queue from the
# file name, "{stream}" expanded, the stream file over CLI over env over
# .env); every mistake is refused with exit 2 and a message naming the file
# and the problem: two streams on one output or queue, a process-wide key
# in a stream file, a bad stream name, an unknown key, a missing or empty
# directory; a bad --metrics-listen.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=config_streams
tc_tmpdir
TC=$(tc_bin)
cd "$T"
unset TALKCAST_METRICS_LISTEN


mkdir s
printf 'TALKCAST_VOICE=de\n' >s/news.env
printf 'TALKCAST_STREAM_NAME=wx\nTALKCAST_WIDTH=640\n' >s/weather.env
printf 'TALKCAST_QUEUE=custom-q\n' >s/sport.env
printf 'not a stream\n' >s/README   # ignored: not NAME.env
printf 'TALKCAST_HEIGHT=480\nTALKCAST_WIDTH=800\n' >.env
TALKCAST_WIDTH=1024 "$TC" config check --streams s --amqp-url amqp://u:pw@h/ --width 960 \
  --out 'rtmp://cdn/live/{stream}' >"$T/check.out" 2>"$T/err" || fail $NAME "config check failed: $(cat "$T/err")"
tail -n 1 "$T/check.out" | grep -q 'configuration OK: 3 streams' || fail $NAME "no summary: $(tail -n 1 "$T/check.out")"
"$PY" - "$T/check.out" <<'PYEOF' || fail $NAME "effective configuration wrong"
import sys
sections, cur = {}, "process"
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# ---- stream '"):
        cur = line.split("'")[1]
    elif "=" in line and not line.startswith("#"):
        k, v = line.split("=", 1)
        sections.setdefault(cur, {})[k] = v
want = {
    "news": {"TALKCAST_QUEUE": "news", "TALKCAST_VOICE": "de", "TALKCAST_WIDTH": "960", "TALKCAST_HEIGHT": "480",
             "TALKCAST_OUTPUTS": "rtmp://cdn/live/***"},
    "wx": {"TALKCAST_QUEUE": "wx", "TALKCAST_WIDTH": "640", "TALKCAST_STREAM_NAME": "wx"},
    "sport": {"TALKCAST_QUEUE": "custom-q", "TALKCAST_STREAM_NAME": "sport", "TALKCAST_WIDTH": "960"},
}
for s, kv in want.items():
    assert s in sections, f"no section for stream {s}: {list(sections)}"
    for k, v in kv.items():
        assert sections[s].get(k) == v, f"{s}: {k}={sections[s].get(k)!r}, want {v!r}"
    assert sections[s]["TALKCAST_AMQP_URL"] == "***", "secret shown"
print("  3 streams, each with the expected effective values", file=sys.stderr)
PYEOF
grep -q 'pw' "$T/check.out" && fail $NAME "the password is printed"
rm .env

expect 2 "shared output" "both write output 1.*\{stream\}" "$TC" config check --streams s --out rtmp://cdn/live/same
printf 'TALKCAST_QUEUE=news\n' >s/sport.env
expect 2 "shared queue" "both consume queue 'news'" "$TC" config check --streams s --amqp-url amqp://h/ \
  --out 'x-{stream}.mp4'
printf 'TALKCAST_METRICS_LISTEN=127.0.0.1:9999\n' >s/sport.env
expect 2 "process-wide key" "sport.env: TALKCAST_METRICS_LISTEN belongs to the whole process" \
  "$TC" config check --streams s --out 'x-{stream}.mp4'
printf 'TALKCAST_STREAM_NAME=a.b\n' >s/sport.env
expect 2 "bad stream name" "sport.env: stream name 'a.b'" "$TC" config check --streams s --out 'x-{stream}.mp4'
printf 'TALKCAST_WDITH=640\n' >s/sport.env
expect 2 "unknown key" "sport.env: line 1: unknown key TALKCAST_WDITH \(did you mean TALKCAST_WIDTH\?\)" \
  "$TC" config check --streams s --out 'x-{stream}.mp4'
rm s/sport.env
expect 2 "missing dir" "--streams nope: cannot read" "$TC" config check --streams nope
mkdir empty
expect 2 "empty dir" "no NAME.env files" "$TC" config check --streams empty
expect 2 "bad metrics address" "metrics-listen" "$TC" config check --metrics-listen 127.0.0.1:99999
expect 2 "run: stream without output" "stream 'news' .* has no output" "$TC" run --streams s --duration 1
pass $NAME
