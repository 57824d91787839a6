#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT SECONDS — play systemd's side of sd_notify:
bind a datagram socket at SOCKET and write each message received as one
JSON line {"t": seconds since start, "msg": text} to OUT, for SECONDS."""
import json
import os
import socket
import sys
import time

path, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
s.settimeout(0.1)
t0 = time.time()
print("ready", flush=True)
with open(out, "a", buffering=1) as f:
    while time.time() - t0 < seconds:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        f.write(json.dumps({"t": round(time.time() - t0, 3), "msg": data.decode("utf-8", "replace")}) + "\n")
