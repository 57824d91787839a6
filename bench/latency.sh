#!/usr/bin/env bash
# latency.sh — from publish to speech on air: 50 text messages published one
# at a time to a private RabbitMQ while `talkcast run` streams 720p to a
# file; for each, the time from the publisher's basic.publish to the
# `started` event's timestamp (the first speech sample put on the timeline
# and handed to the encoder). Each message is published when the avatar is
# idle again (after the previous one and the pause after it). Baseline, side by side on the same broker: a
# bare pika consumer's publish → delivery time (what the broker alone costs).
# Prints p50/p99 and merges "amqp_latency" into bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
TC=${TALKCAST_BIN:-build/talkcast}
RESULTS=${BENCH_RESULTS:-bench/results.json}
T=$(mktemp -d /tmp/tc-bench-XXXXXX)
RMQ=tests/env/rabbitmq.sh
cleanup() {
  [ -n "${tc_pid:-}" ] && kill -TERM "$tc_pid" 2>/dev/null && wait "$tc_pid" 2>/dev/null
  "$RMQ" stop "$T/rabbitmq" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
port=$("$RMQ" start "$T/rabbitmq")
url=amqp://guest:guest@127.0.0.1:$port/%2F
"$TC" run -o "$T/out.mkv" --amqp-url "$url" --queue bench 2>"$T/talkcast.log" &
tc_pid=$!
/usr/bin/python3 - "$url" "$RESULTS" "$TC" <<'PY'
import datetime, json, os, sys, time
import pika

url, results, tc = sys.argv[1], sys.argv[2], sys.argv[3]
N = 50
conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
for _ in range(100):  # talkcast declares its topology on connect
    try:
        ch.queue_declare("bench", passive=True)
        break
    except pika.exceptions.ChannelClosedByBroker:
        ch = conn.channel()
        time.sleep(0.1)
evq = ch.queue_declare("", exclusive=True).method.queue
ch.queue_bind(evq, "talkcast.events", routing_key="#")
ch.queue_declare("baseline", exclusive=True)


def wait_event(name, mid, timeout=20, to=None):
    end = time.time() + timeout
    while time.time() < end:
        m, _, body = ch.basic_get(evq, auto_ack=True)
        if m is None:
            conn.sleep(0.002)
            continue
        e = json.loads(body)
        if e["event"] == name and e["message_id"] == mid and (to is None or e["detail"].get("to") == to):
            return e
    raise SystemExit(f"bench: no {name} event for {mid}")


def ts(e):
    return datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()


lat, inside, base = [], [], []
time.sleep(1)
for i in range(N):
    mid = f"b{i}"
    body = json.dumps({"type": "text", "id": mid, "text": f"Message {i}."})
    t0 = time.time()
    ch.basic_publish("", "bench", body, pika.BasicProperties(delivery_mode=2))
    e = wait_event("started", mid)
    lat.append((ts(e) - t0) * 1000)
    inside.append(e["detail"]["latency_ms"])
    wait_event("finished", mid)
    wait_event("state", None, to="IDLE")  # the pause after it is over: idle again
    # baseline: the same publish, taken by a bare consumer
    t0 = time.time()
    ch.basic_publish("", "baseline", body, pika.BasicProperties(delivery_mode=2))
    while True:
        m, _, _ = ch.basic_get("baseline", auto_ack=True)
        if m:
            break
    base.append((time.time() - t0) * 1000)
conn.close()


def pct(v, p):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p / 100 * len(v)))], 1)


tc_r = {"publish_to_air_ms_p50": pct(lat, 50), "publish_to_air_ms_p99": pct(lat, 99),
        "receipt_to_air_ms_p50": pct(inside, 50), "receipt_to_air_ms_p99": pct(inside, 99), "messages": N}
base_r = {"publish_to_delivery_ms_p50": pct(base, 50), "publish_to_delivery_ms_p99": pct(base, 99)}
row = lambda a, b, c, d: print(f"| {a:<40} | {b:>10} | {c:>12} | {d:>8} |")
print("| publish -> speech on air (espeak, 720p)  |   talkcast | bare consumer|  target  |")
print("|------------------------------------------|------------|--------------|----------|")
row("p50 ms", tc_r["publish_to_air_ms_p50"], base_r["publish_to_delivery_ms_p50"], "150")
row("p99 ms", tc_r["publish_to_air_ms_p99"], base_r["publish_to_delivery_ms_p99"], "300")
row("of which receipt -> air, p50 ms", tc_r["receipt_to_air_ms_p50"], "", "")
ok = tc_r["publish_to_air_ms_p50"] <= 150 and tc_r["publish_to_air_ms_p99"] <= 300
print(f"target: p50 <= 150 ms and p99 <= 300 ms -> {'met' if ok else 'NOT met'}")
data = json.load(open(results)) if os.path.exists(results) else {}
data["amqp_latency"] = {"talkcast": tc_r, "bare_consumer": base_r,
                        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
json.dump(data, open(results, "w"), indent=2)
PY
