#!/usr/bin/env bash
# rabbitmq.sh start|stop|kill|restart|ctl DIR [ARGS…] — a private RabbitMQ
# broker on free 127.0.0.1 ports, never the system service: its own node
# name, AMQP, distribution and epmd ports, Erlang cookie, mnesia and log
# directories, all in DIR and owned by the `rabbitmq` user (the server runs
# as that user; as root we switch to it, otherwise we must already be it).
# `start` waits for `rabbitmqctl await_startup` and prints the AMQP port
# (also in DIR/port); `restart` keeps the ports and the data (durable
# queues and unacked messages survive, as with a real broker restart);
# `ctl DIR list_queues …` runs rabbitmqctl against this node. With
# RMQ_TLS=1, `start` also opens a TLS listener (port in DIR/tls_port) with a
# certificate for localhost/127.0.0.1 signed by a fresh CA (DIR/ca.pem). The broker's
# files live in a directory of their own under /tmp (named in DIR/broker),
# because DIR's parents are often private to the caller and the broker runs
# as another user; `stop` removes it.
set -euo pipefail

cmd=${1:?usage: rabbitmq.sh start|stop|kill|restart|ctl DIR}
dir=${2:?usage: rabbitmq.sh start|stop|kill|restart|ctl DIR}
shift 2
bin=/usr/lib/rabbitmq/bin
die() { echo "rabbitmq: $*" >&2; exit 1; }
[ -x "$bin/rabbitmq-server" ] || die "rabbitmq-server is not installed (scripts/deps.sh)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

as_broker() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u rabbitmq -- "$@"; else "$@"; fi
}

# The environment of this node; the CLI gets it without the distribution
# port (it would try to bind the node's own port).
node_env() {
  local amqp dist epmd
  read -r amqp dist epmd <"$b/ports"
  printf '%s\n' "HOME=$b/home" "RABBITMQ_NODENAME=tc$amqp@localhost" "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
    "RABBITMQ_NODE_PORT=$amqp" "ERL_EPMD_ADDRESS=127.0.0.1" "ERL_EPMD_PORT=$epmd" \
    "RABBITMQ_MNESIA_BASE=$b/mnesia" "RABBITMQ_LOG_BASE=$b/log" "RABBITMQ_CONFIG_FILE=$b/rabbitmq.conf" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$b/enabled_plugins" "RABBITMQ_PID_FILE=$b/pid"
  [ "${1:-}" = server ] && echo "RABBITMQ_DIST_PORT=$dist"
  return 0
}

ctl() {
  local envs
  mapfile -t envs < <(node_env)
  as_broker env -i PATH="$PATH" "${envs[@]}" "$bin/rabbitmqctl" "$@"
}

start() {
  local envs
  mapfile -t envs < <(node_env server)
  as_broker env -i PATH="$PATH" "${envs[@]}" "$bin/rabbitmq-server" -detached >>"$b/log/start.log" 2>&1 \
    || die "rabbitmq-server failed: $(tail -3 "$b/log/start.log")"
  # await_startup gives up at once on a node that has not registered with
  # epmd yet, so ask again until it answers (60 s at most)
  local ok=0
  for _ in $(seq 1 120); do
    if ctl -t 60 await_startup >>"$b/log/start.log" 2>&1; then ok=1; break; fi
    sleep 0.5
  done
  if [ $ok = 0 ]; then
    echo "rabbitmq: the broker did not start; its log:" >&2
    tail -15 "$b"/log/*.log >&2 2>/dev/null || true
    exit 1
  fi
  cp "$b/ports" "$dir/ports"
  cut -d' ' -f1 "$b/ports"
}

stop_broker() {
  ctl stop >/dev/null 2>&1 || true
  # the node's own epmd (on its own port) stays behind otherwise
  local epmd
  epmd=$(cut -d' ' -f3 "$b/ports")
  as_broker env -i PATH="$PATH" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do
    pgrep -f "$b/" >/dev/null || break
    sleep 0.1
  done
}

# tls_setup: a CA and a server certificate for localhost and 127.0.0.1,
# and the broker's TLS listener on a free port.
tls_setup() {
  local t=$b/tls port
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=talkcast-test-ca \
    -keyout "$t/ca.key" -out "$t/ca.pem" >/dev/null 2>&1 || die "openssl: cannot make the test CA"
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$t/server.key" -out "$t/server.csr" \
    >/dev/null 2>&1 || die "openssl: cannot make the server key"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$t/ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 2 \
    -extfile "$t/ext" -out "$t/server.pem" >/dev/null 2>&1 || die "openssl: cannot sign the server certificate"
  port=$(free_port)
  echo "$port" >"$dir/tls_port"
  printf '%s\n' "listeners.ssl.default = 127.0.0.1:$port" "ssl_options.cacertfile = $t/ca.pem" \
    "ssl_options.certfile = $t/server.pem" "ssl_options.keyfile = $t/server.key" \
    "ssl_options.verify = verify_none" "ssl_options.fail_if_no_peer_cert = false" >>"$b/rabbitmq.conf"
}

mkdir -p "$dir"
if [ "$cmd" = start ]; then
  b=$(mktemp -d /tmp/tc-rabbitmq-XXXXXX)
  echo "$b" >"$dir/broker"
else
  b=$(cat "$dir/broker" 2>/dev/null) || die "no broker was started in $dir"
fi

case "$cmd" in
  start)
    mkdir -p "$b/mnesia" "$b/log" "$b/home"
    echo "$(free_port) $(free_port) $(free_port)" >"$b/ports"
    echo "[]." >"$b/enabled_plugins"
    # guest may connect over loopback (the only address this broker has)
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$(cut -d' ' -f1 "$b/ports")" \
      >"$b/rabbitmq.conf"
    if [ "${RMQ_TLS:-0}" = 1 ]; then
      tls_setup
      cp "$b/tls/ca.pem" "$dir/ca.pem"
    fi
    [ "$(id -u)" -eq 0 ] && chown -R rabbitmq:rabbitmq "$b"
    start
    ;;
  restart) start ;;
  stop)
    stop_broker
    rm -rf "$b"
    ;;
  kill)
    pid=$(cat "$b/pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ;;
  ctl) ctl "$@" ;;
  *) die "usage: rabbitmq.sh start|stop|kill|restart|ctl DIR" ;;
esac
