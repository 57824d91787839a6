#!/usr/bin/env bash
# run_tls — amqps:// to a private RabbitMQ with a TLS listener and a
# certificate from a fresh test CA: with --amqp-ca the broker is verified
# (host name included) and a message is spoken; without it (the system's
# CAs) the connection is refused with a clear error and nothing is consumed;
# --no-amqp-verify connects anyway (for test setups).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=run_tls
need openssl
tc_tmpdir
TC=$(tc_bin)
export RMQ_TLS=1
rmq_start
tls=amqps://guest:guest@localhost:$(cat "$T/rabbitmq/tls_port")/%2F

# 1. verified against the test CA
bg "$TC" run -o "$T/a.mkv" --amqp-url "$tls" --amqp-ca "$T/rabbitmq/ca.pem" --queue tq --width 320 --height 180 \
  2>"$T/verified.log"
pid=$LAST_PID
wait_queue tq || fail $NAME "no queue declared over TLS: $(grep -m1 'level=warn\|level=error' "$T/verified.log")"
events_listen || fail $NAME "could not listen to events"
broker publish "$AMQP_URL" tq '{"type":"text","id":"tls1","text":"Over TLS."}'
broker wait-events "$T/events.jsonl" finished 1 15 || fail $NAME "message not spoken over TLS"
kill -TERM "$pid"
wait_rc "$pid"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"

# 2. the system's CAs do not know the test CA: refused, clearly
bg "$TC" run -o "$T/b.mkv" --amqp-url "$tls" --queue tq2 --width 320 --height 180 2>"$T/unverified.log"
pid=$LAST_PID
sleep 3
grep -q 'cannot connect to amqps://guest:\*\*\*@localhost' "$T/unverified.log" \
  || fail $NAME "no clear connection error without the CA: $(tail -n 2 "$T/unverified.log")"
[ "$(rmq_counts tq2)" = "" ] || fail $NAME "declared a queue over an unverified connection"
kill -TERM "$pid"
wait_rc "$pid"

# 3. verification off: connects
bg "$TC" run -o "$T/c.mkv" --amqp-url "$tls" --no-amqp-verify --queue tq3 --width 320 --height 180 2>"$T/noverify.log"
pid=$LAST_PID
wait_queue tq3 || fail $NAME "--no-amqp-verify did not connect"
kill -TERM "$pid"
wait_rc "$pid"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
pass $NAME
