#!/usr/bin/env bash
# nginx-rtmp.sh start|stop|kill|restart DIR — a private nginx with the RTMP
# module on a free 127.0.0.1 port, everything (config, pid, logs, temp) in
# DIR. Never touches a system-wide nginx. `start` prints the port (also in
# DIR/port); `restart` reuses the same port (for reconnect tests).
set -euo pipefail

cmd=${1:?usage: nginx-rtmp.sh start|stop|kill|restart DIR}
dir=${2:?usage: nginx-rtmp.sh start|stop|kill|restart DIR}
module=/usr/lib/nginx/modules/ngx_rtmp_module.so

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port_open() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    sys.exit(0)
except OSError:
    sys.exit(1)
PY
}

write_conf() {
  local port=$1
  mkdir -p "$dir/conf" "$dir/logs" "$dir/tmp"
  local user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root;"
  cat >"$dir/conf/nginx.conf" <<CONF
load_module $module;
$user_line
daemon on;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:$port;
    chunk_size 4096;
    application live {
      live on;
      record off;
      wait_key on;
      wait_video on;
      allow publish 127.0.0.1;
      deny publish all;
      allow play 127.0.0.1;
      deny play all;
    }
  }
}
CONF
}

start_on() {
  local port=$1
  [ -f "$module" ] || { echo "nginx-rtmp: $module missing (install libnginx-mod-rtmp)" >&2; exit 1; }
  write_conf "$port"
  echo "$port" >"$dir/port"
  nginx -p "$dir" -c "$dir/conf/nginx.conf" -e "$dir/logs/error.log" 2>>"$dir/logs/start.log" || {
    echo "nginx-rtmp: nginx failed to start:" >&2
    tail -5 "$dir/logs/start.log" "$dir/logs/error.log" >&2 2>/dev/null || true
    exit 1
  }
  for _ in $(seq 1 100); do
    if port_open "$port"; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "nginx-rtmp: port $port not accepting after 10 s; error log:" >&2
  tail -5 "$dir/logs/error.log" >&2 2>/dev/null || true
  exit 1
}

wait_gone() {
  local pid=$1
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

stop_sig() {
  local sig=$1
  [ -f "$dir/nginx.pid" ] || return 0
  local pid
  pid=$(cat "$dir/nginx.pid")
  # SIGKILL of the master leaves the worker: kill the whole process group's children too.
  local children
  children=$(pgrep -P "$pid" 2>/dev/null || true)
  kill "-$sig" "$pid" 2>/dev/null || true
  [ "$sig" = KILL ] && [ -n "$children" ] && kill -9 $children 2>/dev/null || true
  wait_gone "$pid"
  for c in $children; do wait_gone "$c"; done
  rm -f "$dir/nginx.pid"
}

case "$cmd" in
  start) mkdir -p "$dir"; start_on "$(free_port)" ;;
  restart) start_on "$(cat "$dir/port")" ;;
  stop) stop_sig TERM ;;
  kill) stop_sig KILL ;;
  *) echo "usage: nginx-rtmp.sh start|stop|kill|restart DIR" >&2; exit 2 ;;
esac
