#!/usr/bin/python3
"""broker.py — the tests' own RabbitMQ client (pika, Debian's python3-pika).

  broker.py publish URL QUEUE BODY [ID]         one persistent message (confirmed)
  broker.py publish-lines URL QUEUE FILE        one message per line of FILE ("ID<TAB>BODY")
  broker.py events URL EXCHANGE OUT [SECONDS]   record every event (routing key '#') as
                                                JSON lines into OUT until killed or SECONDS
  broker.py drain URL QUEUE                     take every message of QUEUE, print one JSON
                                                line each: body, headers, message_id
  broker.py bind URL EXCHANGE QUEUE             a durable QUEUE bound to EXCHANGE with '#'
                                                (events that survive a broker restart)
  broker.py topology URL QUEUE                  declare what `talkcast run` would (for --amqp-passive)
  broker.py plain-queue URL QUEUE               a durable QUEUE with no arguments at all
  broker.py count URL QUEUE                     messages ready in QUEUE (passive declare)
  broker.py wait-events OUT EVENT N [SECONDS]   wait until OUT holds N events named EVENT

Exit status 0 on success, 1 with a message on stderr otherwise.
"""
import json
import sys
import time

import pika


def connect(url):
    params = pika.URLParameters(url)
    params.socket_timeout = 5
    params.blocked_connection_timeout = 5
    return pika.BlockingConnection(params)


def publish(url, queue, items):
    conn = connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    for mid, body in items:
        props = pika.BasicProperties(delivery_mode=2, content_type="application/json", message_id=mid or None)
        ch.basic_publish("", queue, body.encode() if isinstance(body, str) else body, props, mandatory=True)
    conn.close()


def events(url, exchange, out, seconds):
    conn = connect(url)
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, exchange, routing_key="#")
    end = time.time() + seconds
    with open(out, "a", buffering=1) as f:
        print("ready", flush=True)
        while time.time() < end:
            method, props, body = ch.basic_get(q, auto_ack=True)
            if method is None:
                conn.sleep(0.02)
                continue
            ev = json.loads(body)
            ev["_routing_key"] = method.routing_key
            f.write(json.dumps(ev) + "\n")
    conn.close()


def drain(url, queue):
    conn = connect(url)
    ch = conn.channel()
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        print(json.dumps({"body": body.decode("utf-8", "replace"), "headers": props.headers or {},
                          "message_id": props.message_id, "routing_key": method.routing_key},
                         default=lambda b: b.decode("utf-8", "replace")))
    conn.close()


def bind(url, exchange, queue):
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(exchange, "topic", durable=True)
    ch.queue_declare(queue, durable=True)
    ch.queue_bind(queue, exchange, routing_key="#")
    conn.close()


def topology(url, queue):
    conn = connect(url)
    ch = conn.channel()
    ch.exchange_declare(queue + ".dlx", "direct", durable=True)
    ch.queue_declare(queue + ".dlq", durable=True)
    ch.queue_bind(queue + ".dlq", queue + ".dlx", routing_key=queue)
    args = {"x-dead-letter-exchange": queue + ".dlx", "x-dead-letter-routing-key": queue}
    ch.queue_declare(queue, durable=True, arguments=args)
    ch.queue_declare(queue + ".control", durable=True, arguments=args)
    ch.exchange_declare("talkcast.events", "topic", durable=True)
    conn.close()


def plain_queue(url, queue):
    conn = connect(url)
    conn.channel().queue_declare(queue, durable=True)
    conn.close()


def count(url, queue):
    conn = connect(url)
    ch = conn.channel()
    n = ch.queue_declare(queue, passive=True).method.message_count
    conn.close()
    print(n)


def wait_events(out, name, n, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            with open(out) as f:
                got = sum(1 for line in f if json.loads(line).get("event") == name)
        except FileNotFoundError:
            got = 0
        if got >= n:
            return 0
        time.sleep(0.05)
    sys.stderr.write(f"broker.py: only {got} '{name}' event(s) of {n} within {seconds} s\n")
    return 1


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 1
    cmd = argv[1]
    try:
        if cmd == "publish":
            publish(argv[2], argv[3], [(argv[5] if len(argv) > 5 else None, argv[4])])
        elif cmd == "publish-lines":
            items = []
            with open(argv[4], encoding="utf-8", errors="surrogateescape") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if not line:
                        continue
                    mid, _, body = line.partition("\t")
                    items.append((mid, body.encode("utf-8", "surrogateescape")))
            publish(argv[2], argv[3], items)
        elif cmd == "events":
            events(argv[2], argv[3], argv[4], float(argv[5]) if len(argv) > 5 else 3600)
        elif cmd == "drain":
            drain(argv[2], argv[3])
        elif cmd == "bind":
            bind(argv[2], argv[3], argv[4])
        elif cmd == "topology":
            topology(argv[2], argv[3])
        elif cmd == "plain-queue":
            plain_queue(argv[2], argv[3])
        elif cmd == "count":
            count(argv[2], argv[3])
        elif cmd == "wait-events":
            return wait_events(argv[2], argv[3], int(argv[4]), float(argv[5]) if len(argv) > 5 else 30)
        else:
            sys.stderr.write(f"broker.py: unknown command {cmd}\n")
            return 1
    except (pika.exceptions.AMQPError, OSError) as e:
        sys.stderr.write(f"broker.py {cmd}: {type(e).__name__}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
