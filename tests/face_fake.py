#!/usr/bin/env python3
"""face_fake.py — a face provider that misbehaves on purpose, for
tests/integration/face_remote.sh. It speaks the contract of
docs/face-provider.md (health, avatars, generate as multipart JPEG frames)
but serves one fixed picture (--jpeg) and, with --mode:

  ok         every frame, at once
  slow       each frame after --delay seconds (beyond any deadline)
  die        --after frames, then the connection is cut mid-part
  auth       like ok, but every request needs 'Authorization: Bearer right'
  garbage    every other part is not a JPEG at all

Listens on 127.0.0.1:PORT only. Counts what it served in --stats (JSON)."""
import argparse, hashlib, json, os, socket, struct, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--jpeg", required=True)
ap.add_argument("--mode", default="ok")
ap.add_argument("--delay", type=float, default=1.0)
ap.add_argument("--after", type=int, default=10)
ap.add_argument("--stats", default=None)
a = ap.parse_args()
JPEG = open(a.jpeg, "rb").read()
avatars = set()
stats = {"generate": 0, "frames": 0, "unauthorized": 0, "uploads": 0}
lock = threading.Lock()


def bump(k, n=1):
    with lock:
        stats[k] += n
        if a.stats:
            with open(a.stats + ".tmp", "w") as f:
                json.dump(stats, f)
            os.replace(a.stats + ".tmp", a.stats)


def wav_samples(body):
    if body[:4] != b"RIFF" or body[8:12] != b"WAVE":
        return None, None
    p, rate = 12, None
    while p + 8 <= len(body):
        cid, cl = body[p:p + 4], struct.unpack("<I", body[p + 4:p + 8])[0]
        if cid == b"fmt ":
            rate = struct.unpack("<I", body[p + 12:p + 16])[0]
        if cid == b"data":
            return min(cl, len(body) - p - 8) // 2, rate
        p += 8 + cl + (cl & 1)
    return None, None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b)

    def authorized(self):
        if a.mode != "auth":
            return True
        if self.headers.get("Authorization") == "Bearer right":
            return True
        bump("unauthorized")
        self.send_json(401, {"error": "unauthorized", "message": "wrong key"})
        return False

    def do_GET(self):
        if not self.authorized():
            return
        if self.path == "/v1/health":
            return self.send_json(200, {"status": "ok"})
        self.send_json(404, {"error": "not_found"})

    def do_HEAD(self):
        if not self.authorized():
            return
        aid = self.path.rsplit("/", 1)[-1]
        self.send_json(200 if aid in avatars else 404, {})

    def do_PUT(self):
        b = self.body()
        if not self.authorized():
            return
        aid = self.path.rsplit("/", 1)[-1]
        if hashlib.sha256(b).hexdigest() != aid:
            return self.send_json(400, {"error": "bad_request", "message": "id is not the body's sha256"})
        avatars.add(aid)
        bump("uploads")
        self.send_json(201, {"stored": True})

    def do_POST(self):
        b = self.body()
        if not self.authorized():
            return
        u = urlparse(self.path)
        q = parse_qs(u.query)
        if u.path != "/v1/generate":
            return self.send_json(404, {"error": "not_found"})
        if q.get("avatar", [""])[0] not in avatars:
            return self.send_json(404, {"error": "unknown_avatar"})
        n, rate = wav_samples(b)
        if n is None:
            return self.send_json(400, {"error": "bad_audio"})
        num, _, den = q.get("fps", ["30"])[0].partition("/")
        fps = int(num) / int(den or 1)
        frames = int(q.get("frames", ["0"])[0]) or int(-(-n * fps // rate))
        bump("generate")
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=fk")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b"--fk")
            for i in range(frames):
                if a.mode == "slow":
                    time.sleep(a.delay)
                data = JPEG if not (a.mode == "garbage" and i % 2) else b"this is not a jpeg" * 10
                part = (b"\r\nContent-Type: image/jpeg\r\nX-Frame-Index: %d\r\nContent-Length: %d\r\n\r\n" % (i, len(data))
                        + data + b"\r\n--fk")
                if a.mode == "die" and i == a.after:
                    self.wfile.write(part[:len(part) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(part)
                self.wfile.flush()
                bump("frames")
            self.wfile.write(b"--\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
srv.daemon_threads = True
print("listening", a.port, a.mode, flush=True)
srv.serve_forever()
