#!/usr/bin/env bash
# ops_http — what an operator's tools see of a running talkcast, against a
# private RabbitMQ and nginx-rtmp:
#   - /metrics parses with Prometheus's own parser (promtool check metrics)
#     and counts what happened: frames, output up, broker connected, two
#     messages spoken, their latency histogram;
#   - /healthz is 200 while the clock ticks;
#   - /readyz flips to 503 when the broker goes away and back to 200 when it
#     returns, and the same for the RTMP server — while /healthz stays 200;
#   - the broker password appears in no log line and no metric;
#   - --log-format json: every line on stderr is a JSON object.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=ops_http
need curl promtool ffprobe
tc_tmpdir
TC=$(tc_bin)
rmq_start
port=$(nginx_start)
SECRET='pw-7Zq9-not-in-logs'
rmq_ctl add_user opsuser "$SECRET" >/dev/null
rmq_ctl set_permissions -p / opsuser '.*' '.*' '.*' >/dev/null
url="amqp://opsuser:$SECRET@127.0.0.1:$AMQP_PORT/%2F"

bg "$TC" run --out "rtmp://127.0.0.1:$port/live/ops" --amqp-url "$url" --queue opsq --stream-name ops \
  --width 640 --height 360 --reconnect-max 1 --log-format json --metrics-listen 127.0.0.1:0 2>"$T/talkcast.log"
tc=$LAST_PID
mport=$(metrics_port "$T/talkcast.log") || fail $NAME "no 'metrics on' line in the log"
base=http://127.0.0.1:$mport
wait_queue opsq || fail $NAME "talkcast did not declare its queue"
wait_status "$base/readyz" 200 15 || fail $NAME "/readyz never 200: $(cat "$T/http.body")"
[ "$(http_status "$base/healthz")" = 200 ] || fail $NAME "/healthz not 200"

events_listen || fail $NAME "could not listen to events"
broker publish "$url" opsq '{"type":"text","text":"One."}' m1
broker publish "$url" opsq '{"type":"text","text":"Two."}' m2
broker wait-events "$T/events.jsonl" finished 2 30 || fail $NAME "the two messages were not spoken"
sleep 0.3

curl -s -m 5 -D "$T/metrics.hdr" "$base/metrics" >"$T/metrics.txt" || fail $NAME "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/metrics.hdr" || fail $NAME "wrong content type: $(grep -i content-type "$T/metrics.hdr")"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 || fail $NAME "promtool: $(head -n 3 "$T/promtool.out")"
[ ! -s "$T/promtool.out" ] || fail $NAME "promtool complains: $(head -n 3 "$T/promtool.out")"
M=$T/metrics.txt
check() { # check EXPR WANT-PREDICATE (in the scrape $M)
  local v
  v=$(metric "$M" "$1")
  [ -n "$v" ] || fail $NAME "no sample $1 in /metrics"
  fcheck "$v $2" || fail $NAME "$1 = $v, want $2"
  note "$1 = $v"
}
check 'talkcast_messages_total{stream="ops",outcome="spoken"}' '== 2'
check 'talkcast_messages_total{stream="ops",outcome="failed"}' '== 0'
check 'talkcast_speech_latency_seconds_count{stream="ops"}' '== 2'
check 'talkcast_speech_latency_seconds_bucket{stream="ops",le="+Inf"}' '== 2'
check 'talkcast_speech_latency_seconds_sum{stream="ops"}' '< 1.0'
check 'talkcast_output_up{stream="ops",output="out0"}' '== 1'
check 'talkcast_broker_connected{stream="ops"}' '== 1'
check 'talkcast_frames_total{stream="ops"}' '> 30'
check 'talkcast_output_bytes_total{stream="ops",output="out0"}' '> 10000'
check 'talkcast_queue_depth{stream="ops"}' '== 0'
check 'talkcast_state{stream="ops",state="IDLE"}' '== 1'
check 'talkcast_tts_up{stream="ops",provider="espeak",role="primary"}' '== 1'
check 'process_resident_memory_bytes' '> 1e6'

# the broker goes away: not ready, still healthy; back: ready again
rmq_ctl stop_app >/dev/null
wait_status "$base/readyz" 503 20 || fail $NAME "/readyz stayed $(http_status "$base/readyz") with the broker down"
grep -q 'broker DISCONNECTED' "$T/http.body" || fail $NAME "/readyz does not say why: $(cat "$T/http.body")"
[ "$(http_status "$base/healthz")" = 200 ] || fail $NAME "/healthz not 200 while the broker is down"
rmq_ctl start_app >/dev/null
wait_status "$base/readyz" 200 30 || fail $NAME "/readyz not back to 200 after the broker returned: $(cat "$T/http.body")"
note "broker down and back: /readyz 503 then 200"

# the RTMP server goes away: not ready; back: ready again
nginx_stop >/dev/null
wait_status "$base/readyz" 503 20 || fail $NAME "/readyz stayed 200 with the RTMP server down"
grep -q '0/1 outputs up' "$T/http.body" || fail $NAME "/readyz does not say why: $(cat "$T/http.body")"
[ "$(http_status "$base/healthz")" = 200 ] || fail $NAME "/healthz not 200 while the output is down"
nginx_restart >/dev/null
wait_status "$base/readyz" 200 30 || fail $NAME "/readyz not back to 200 after nginx returned: $(cat "$T/http.body")"
note "RTMP server down and back: /readyz 503 then 200"

[ "$(http_status "$base/nope")" = 404 ] || fail $NAME "unknown path not 404"
curl -s -m 5 "$base/metrics" >"$T/metrics2.txt"
M=$T/metrics2.txt
check 'talkcast_broker_reconnects_total{stream="ops"}' '>= 1'
check 'talkcast_output_reconnects_total{stream="ops",output="out0"}' '>= 1'

kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"

if grep -q -- "$SECRET" "$T/talkcast.log" "$T/metrics.txt" "$T/metrics2.txt"; then
  fail $NAME "the broker password appears in the log or the metrics"
fi
"$PY" - "$T/talkcast.log" <<'PYEOF' || fail $NAME "a log line is not a JSON object"
import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert {"ts", "level", "module", "msg"} <= o.keys(), o
    n += 1
assert n > 5, n
print(f"  {n} log lines, all JSON", file=sys.stderr)
PYEOF
pass $NAME
