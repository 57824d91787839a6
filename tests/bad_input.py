#!/usr/bin/python3
"""bad_input.py — bad input at volume for tests/integration/bad_input_volume.sh.

  bad_input.py gen SEED N_BAD N_GOOD OUT     write N_BAD malformed messages (seeded, so the
                                             same seed gives the same bytes) with N_GOOD short
                                             good ones spread evenly among them, to OUT
  bad_input.py publish URL QUEUE OUT         publish OUT's messages in order (one channel,
                                             one connection: the broker keeps the order)
  bad_input.py sample URL PID OUT            every 0.25 s while PID lives: "t rss_kb dead"
                                             (VmRSS of PID, talkcast_amqp_dead_lettered_total
                                             from the /metrics URL) appended to OUT
  bad_input.py check-dlq URL DLQ OUT         take every message of DLQ (basic.get) and check
                                             each against OUT: one copy of every bad message,
                                             body unchanged, a one-line x-talkcast-error that
                                             fits its kind; prints counts per kind
  bad_input.py check-order EVENTS OUT        every good message has a `finished` event, in
                                             publishing order; no bad one has one

OUT is a binary file of records: kind, AMQP message_id, body (length-prefixed), so
bodies may hold any byte. Bad ids are bNNNNN, good ones gNN. Exit 0 on success, 1
with a reason on stderr.
"""
import hashlib
import json
import os
import random
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MAX_BODY = 64 * 1024
MIB = 1024 * 1024

# What the reason of each kind must say (src/msg/msg.c's wording): a wrong
# reason is a bug as much as a missing one.
REASONS = {
    "random": r"empty body|NUL byte|not valid UTF-8|not JSON|JSON ends early|trailing data|must be a JSON object",
    "deep": r"nested deeper than 32 levels",
    "long_text": r"text has \d+ characters; at most 5000",
    "over_64k": r"over the 65536-byte limit",
    "mib": r"body of 1048576 bytes is over the 65536-byte limit",
    "long_field": r'id is longer than 128 bytes|field "(voice|type|command|timestamp)" is longer than (64|32) characters',
    "utf8": r"body is not valid UTF-8 \(byte \d+\)",
    "nul_raw": r"body contains a NUL byte",
    "nul_esc": r'field "(text|id|voice|type|command)" contains a NUL character',
    "wrong_type": r'must be (a string|a whole number|true or false|an object)|must be a JSON object|needs "args"',
    "unknown_cmd": r'unknown command "',
    "unknown_type": r'unknown type "',
    "range": r"must be \d+ to \d+|schema version \d+ is not supported|text is empty|not RFC 3339|"
             r'metadata is over 8192 bytes|missing field "(type|text|command)"',
    "syntax": r"trailing data after the JSON value|JSON ends early|not JSON",
    "control": r"set_avatar: '.*' is not known|set_voice: unknown voice|args\.(avatar|voice) is empty",
}


def letters(r, n):
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(n)).strip() or "x"


def jdump(o):
    return json.dumps(o, ensure_ascii=False).encode()


def text_msg(r, **extra):
    m = {"type": "text", "text": letters(r, r.randint(3, 40))}
    m.update(extra)
    return m


def gen_random(r):
    n = r.choice([0, 1, 2, 16, 100, 1000, 2000])
    b = bytes(r.getrandbits(8) for _ in range(n))
    # a random body must not by chance be a JSON object: no '{' first
    s = b.lstrip(b" \t\r\n")
    if s[:1] == b"{":
        b = b"#" + b
    return b


def gen_deep(r):
    while True:
        body = deep_body(r.choice([33, 40, 100, 1000, 10000, 20000]), r.randrange(4))
        if len(body) <= MAX_BODY:  # else it is refused for its size, not its depth
            return body


def deep_body(depth, how):
    if how == 0:  # arrays at the root
        return b"[" * depth + b"]" * depth
    if how == 1:  # objects inside metadata
        return b'{"type":"text","text":"x","metadata":' + b'{"a":' * depth + b"1" + b"}" * (depth + 1)
    if how == 2:  # unclosed: the depth, not the end, must be what is reported
        return b'{"type":"text","text":"x","metadata":{"a":' + b"[" * depth
    return b'{"type":"control","command":"ping","metadata":{"x":' + b'[{"y":' * (depth // 2) + b"0" + b"}]" * (depth // 2) + b"}}"


def gen_long_text(r):
    return jdump(text_msg(r, text="w" * r.randint(5001, 60000)))


def gen_over_64k(r):
    n = r.randint(MAX_BODY + 1, 2 * MAX_BODY)
    body = jdump(text_msg(r, text="y" * n))
    return body


def gen_mib(r):
    head, tail = b'{"type":"text","text":"', b'"}'
    return head + b"z" * (MIB - len(head) - len(tail)) + tail


def gen_long_field(r):
    k = r.randrange(5)
    if k == 0:
        return jdump(text_msg(r, id="i" * r.randint(129, 2000)))
    if k == 1:
        return jdump(text_msg(r, voice="v" * r.randint(65, 500)))
    if k == 2:
        return jdump({"type": "t" * r.randint(33, 300), "text": "x"})
    if k == 3:
        return jdump({"type": "control", "command": "c" * r.randint(33, 300)})
    return jdump(text_msg(r, timestamp="2026-11-25T10:00:00" + "9" * r.randint(60, 200) + "Z"))


UTF8_BAD = [b"\xff", b"\xfe", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
            b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xbf", b"\xe2\x82", b"\xf0\x9f\x98"]


def gen_utf8(r):
    body = jdump(text_msg(r, text="hello " + letters(r, 20)))
    at = r.randint(1, len(body) - 2)
    return body[:at] + r.choice(UTF8_BAD) + body[at:]


def gen_nul_raw(r):
    body = jdump(text_msg(r))
    at = r.randint(0, len(body))
    return body[:at] + b"\x00" * r.randint(1, 3) + body[at:]


def gen_nul_esc(r):
    k = r.randrange(5)
    nul = "a\u0000b"
    if k == 0:
        return jdump(text_msg(r, text="nul " + nul))
    if k == 1:
        return jdump(text_msg(r, id=nul))
    if k == 2:
        return jdump(text_msg(r, voice=nul))
    if k == 3:
        return jdump({"type": "te\u0000xt", "text": "x"})
    return jdump({"type": "control", "command": "ping\u0000"})


WRONG = [42, 1.5, -3, True, False, [], [1, "a"], {}, {"k": "v"}, "str"]


def gen_wrong_type(r):
    field = r.choice(["text", "priority", "rate", "pitch", "interrupt", "metadata", "id", "type", "v",
                      "timestamp", "voice", "root", "args"])
    if field == "root":
        return jdump(r.choice([[1, 2], "text", 7, 2.5, True, None, [{"type": "text", "text": "x"}]]))
    if field == "args":
        return jdump({"type": "control", "command": r.choice(["set_avatar", "set_voice"]),
                      "args": r.choice([[1], "vector", 3, True])})
    ok = {"text": str, "id": str, "type": str, "timestamp": str, "voice": str,
          "priority": int, "rate": int, "pitch": int, "v": int, "interrupt": bool, "metadata": dict}[field]

    def wrong(v):
        if ok is int:  # bool is an int in Python, not in JSON
            return isinstance(v, bool) or not isinstance(v, int)
        if ok is bool:
            return not isinstance(v, bool)
        return not isinstance(v, ok)
    v = r.choice([w for w in WRONG if wrong(w)])
    m = text_msg(r)
    if field == "type":
        m = {"type": v, "text": "x"}
    else:
        m[field] = v
    return jdump(m)


def gen_unknown_cmd(r):
    return jdump({"type": "control", "command": "x" + letters(r, r.randint(1, 20)).replace(" ", "_")})


def gen_unknown_type(r):
    return jdump({"type": r.choice(["video", "audio", "Text", "TEXT", "ctrl", "", "x" + letters(r, 8)]), "text": "x"})


def gen_range(r):
    k = r.randrange(9)
    if k == 0:
        return jdump(text_msg(r, priority=r.choice([-1, 10, 99, 2 ** 40])))
    if k == 1:
        return jdump(text_msg(r, rate=r.choice([0, 79, 451, 10000])))
    if k == 2:
        return jdump(text_msg(r, pitch=r.choice([-2, 101, 500])))
    if k == 3:
        return jdump(text_msg(r, v=r.choice([0, 2, 3, 1000, 1001])))
    if k == 4:
        return jdump(text_msg(r, text=r.choice(["", " ", "\n\t ", "     "])))
    if k == 5:
        return jdump(text_msg(r, timestamp=r.choice(["yesterday", "2026-13-01T00:00:00Z", "2026-11-25", "1700000000"])))
    if k == 6:
        return jdump(text_msg(r, metadata={"blob": "m" * r.randint(8200, 20000)}))
    if k == 7:
        return jdump({"type": "text"})
    return jdump({"type": "control"})


def gen_syntax(r):
    body = jdump(text_msg(r))
    k = r.randrange(4)
    if k == 0:
        return body[:r.randint(1, len(body) - 1)]
    if k == 1:
        return body + b" " + r.choice([b"x", b"{}", b"1", b"]"])
    if k == 2:
        return body.replace(b'"type"', b"type", 1)
    return body.replace(b":", b"=", 1)


def gen_control(r):
    k = r.randrange(3)
    if k == 0:
        return jdump({"type": "control", "command": "set_avatar",
                      "args": {"avatar": r.choice(["../../etc/passwd", "/etc/passwd", "a/b", "..", "nope" + letters(r, 5)])}})
    if k == 1:
        return jdump({"type": "control", "command": "set_voice", "args": {"voice": "klingon-" + letters(r, 4)}})
    cmd = r.choice(["set_avatar", "set_voice"])
    return jdump({"type": "control", "command": cmd, "args": {cmd[4:]: ""}})


# kind → (generator, weight); the 1 MiB bodies ("mib") are placed apart from these.
KINDS = {
    "random": (gen_random, 20), "deep": (gen_deep, 8), "long_text": (gen_long_text, 3), "over_64k": (gen_over_64k, 1),
    "long_field": (gen_long_field, 6), "utf8": (gen_utf8, 12), "nul_raw": (gen_nul_raw, 8),
    "nul_esc": (gen_nul_esc, 6), "wrong_type": (gen_wrong_type, 14), "unknown_cmd": (gen_unknown_cmd, 5),
    "unknown_type": (gen_unknown_type, 3), "range": (gen_range, 10), "syntax": (gen_syntax, 8),
    "control": (gen_control, 2),
}
N_MIB = 20  # 1 MiB bodies, spread evenly


def gen(seed, n_bad, n_good, out):
    r = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][1] for k in names]
    kinds = r.choices(names, weights, k=n_bad)
    for i in range(N_MIB):
        kinds[(i * n_bad) // N_MIB + n_bad // (2 * N_MIB)] = "mib"
    gens = {k: v[0] for k, v in KINDS.items()}
    gens["mib"] = gen_mib
    goods = {(i + 1) * n_bad // (n_good + 1): i for i in range(n_good)}
    total = 0
    with open(out, "wb") as f:
        for i, k in enumerate(kinds):
            if i in goods:
                g = goods[i]
                write(f, "good", "g%02d" % g, jdump({"type": "text", "id": "g%02d" % g, "text": "Go %d." % g}))
            body = gens[k](r)
            total += len(body)
            write(f, k, "b%05d" % i, body)
    print(f"{n_bad} bad ({total / MIB:.1f} MiB) and {n_good} good messages in {out}")


def write(f, kind, mid, body):
    k, m = kind.encode(), mid.encode()
    f.write(struct.pack("<BBI", len(k), len(m), len(body)) + k + m + body)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        lk, lm, lb = struct.unpack_from("<BBI", data, at)
        at += 6
        kind = data[at:at + lk].decode()
        at += lk
        mid = data[at:at + lm].decode()
        at += lm
        yield kind, mid, data[at:at + lb]
        at += lb


def publish(url, queue, path):
    import pika
    from broker import connect
    conn = connect(url)
    ch = conn.channel()
    n = 0
    for _kind, mid, body in read(path):
        props = pika.BasicProperties(delivery_mode=2, message_id=mid, content_type="application/json")
        ch.basic_publish("", queue, body, props)
        n += 1
    # one confirmed message's round trip after the others: everything before it arrived
    ch.confirm_delivery()
    conn.close()
    print(f"published {n}")


def sample(url, pid, out):
    import urllib.request
    t0 = time.time()
    with open(out, "a", buffering=1) as f:
        while os.path.exists(f"/proc/{pid}"):
            rss = dead = ""
            try:
                with open(f"/proc/{pid}/status") as s:
                    rss = next(l.split()[1] for l in s if l.startswith("VmRSS:"))
                text = urllib.request.urlopen(url, timeout=2).read().decode()
                dead = next(l.split()[-1] for l in text.splitlines()
                            if l.startswith("talkcast_amqp_dead_lettered_total"))
            except (OSError, StopIteration):
                pass
            if rss and dead:
                f.write(f"{time.time() - t0:.2f} {rss} {int(float(dead))}\n")
            time.sleep(0.25)


def check_dlq(url, queue, path):
    from broker import connect
    sent = {mid: (kind, hashlib.sha256(body).hexdigest(), len(body)) for kind, mid, body in read(path)}
    n_bad = sum(1 for k, _, _ in sent.values() if k != "good")
    conn = connect(url)
    ch = conn.channel()
    seen, per_kind, errors = set(), {}, []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        mid = props.message_id
        reason = (props.headers or {}).get("x-talkcast-error")
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if mid not in sent:
            errors.append(f"{mid!r}: not a message we sent")
            continue
        kind, digest, size = sent[mid]
        if kind == "good":
            errors.append(f"{mid}: a good message was dead-lettered: {reason!r}")
        elif mid in seen:
            errors.append(f"{mid}: dead-lettered twice")
        elif hashlib.sha256(body).hexdigest() != digest:
            errors.append(f"{mid} ({kind}): body changed on the way ({len(body)} bytes, sent {size})")
        elif not reason or "\n" in reason or len(reason) > 512:
            errors.append(f"{mid} ({kind}): bad reason {reason!r}")
        elif not re.search(REASONS[kind], reason):
            errors.append(f"{mid} ({kind}): reason {reason!r} does not fit /{REASONS[kind]}/")
        seen.add(mid)
        per_kind.setdefault(kind, [0, reason])[0] += 1
    conn.close()
    for kind, (n, example) in sorted(per_kind.items()):
        print(f"  {kind:12} {n:5}  e.g. {example[:90]!r}")
    missing = [m for m, (k, _, _) in sent.items() if k != "good" and m not in seen]
    if missing:
        errors.append(f"{len(missing)} bad messages not in the DLQ, e.g. {missing[:5]} "
                      f"({', '.join(sent[m][0] for m in missing[:5])})")
    if errors:
        for e in errors[:10]:
            sys.stderr.write(e + "\n")
        sys.stderr.write(f"FAIL: {len(errors)} problem(s); {len(seen)} of {n_bad} bad messages in the DLQ\n")
        return 1
    print(f"ok: all {n_bad} bad messages in the DLQ, bodies intact, each with a fitting reason")
    return 0


def check_order(events, path):
    goods = [mid for kind, mid, _ in read(path) if kind == "good"]
    fin = []
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") == "finished":
                fin.append(e.get("message_id"))
    if fin != goods:
        sys.stderr.write(f"FAIL: finished {fin}, published {goods}\n")
        return 1
    print(f"ok: {len(goods)} good messages finished in publishing order")
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "gen":
        gen(int(argv[2]), int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "publish":
        publish(argv[2], argv[3], argv[4])
    elif cmd == "sample":
        sample(argv[2], int(argv[3]), argv[4])
    elif cmd == "check-dlq":
        return check_dlq(argv[2], argv[3], argv[4])
    elif cmd == "check-order":
        return check_order(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
