#!/usr/bin/env bash
# broker_env — the private RabbitMQ the consumer's tests run against:
# starts on free loopback ports as the rabbitmq user, takes a durable queue
# and a persistent message, survives kill -9 and a restart with the message
# still there (what "nothing is lost on a broker restart" rests on), and
# stops leaving no broker or epmd behind.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=broker_env
need amqp-publish amqp-get amqp-declare-queue python3
tc_tmpdir
RMQ=$TC_ROOT/tests/env/rabbitmq.sh
dir=$T/rabbitmq
t0=$(now)
port=$("$RMQ" start "$dir") || fail $NAME "broker did not start"
note "broker up on 127.0.0.1:$port in $(since "$t0") s"
trap '"$RMQ" stop "$dir" >/dev/null 2>&1 || true' EXIT
url=amqp://guest:guest@127.0.0.1:$port
amqp-declare-queue -u "$url" -q tc.test -d >/dev/null || fail $NAME "cannot declare a durable queue"
amqp-publish -u "$url" -r tc.test -p -b "spoken later" || fail $NAME "cannot publish"
sleep 1 # persistent messages reach the disk asynchronously; the consumer will use confirms
"$RMQ" kill "$dir"
amqp-get -u "$url" -q tc.test >/dev/null 2>&1 && fail $NAME "broker still answers after kill -9"
t0=$(now)
"$RMQ" restart "$dir" >/dev/null || fail $NAME "broker did not restart"
note "restarted in $(since "$t0") s"
got=$(amqp-get -u "$url" -q tc.test) || fail $NAME "message lost across kill -9 and restart"
[ "$got" = "spoken later" ] || fail $NAME "got '$got'"
"$RMQ" stop "$dir"
trap - EXIT
sleep 0.5
pgrep -f "$(cat "$dir/broker")/" >/dev/null && fail $NAME "broker processes left behind"
ss -ltn | grep -q ":$port " && fail $NAME "port $port still open"
pass $NAME
