#!/usr/bin/env python3
"""avatar_http_server.py DIR LOGFILE — a local file server on 127.0.0.1 (a
free port, printed as PORT=N) that behaves like the servers avatars are
downloaded from, failures included. GET /MODE/NAME serves DIR/NAME:

  ok            Range honoured (206) when If-Range matches the ETag, else 200
  norange       Range ignored: always 200 with the whole file
  drop          the first request for this path sends half the body and
                closes the connection; later ones behave like ok
  drop-norange  the first drops half-way; later ones ignore Range (200)
  etag-change   the first drops half-way with ETag "a"; later ones have
                ETag "b" (the file changed) and honour If-Range (so: 200)
  bad-ifrange   the first drops half-way with ETag "a"; later ones answer
                a Range with 206 and ETag "b", ignoring If-Range (a broken
                server: the client must notice and start over)
  nolength      no Content-Length; the body ends when the connection closes
  slow          like ok, but the body trickles: 32 KiB every 50 ms
  404           404 Not Found

Every request is appended to LOGFILE as a JSON line: path, Range,
If-Range and the status sent, so tests can see resumes happen."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, LOG = sys.argv[1], sys.argv[2]
lock = threading.Lock()
seen = {}


def log(entry):
    with lock:
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, etag, extra=None, length=True, cut=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Sat, 01 Jan 2022 00:00:00 GMT")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        data = body if cut is None else body[:cut]
        if self.path.startswith("/slow/"):
            for i in range(0, len(data), 32768):
                self.wfile.write(data[i:i + 32768])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.wfile.write(data)
            self.wfile.flush()
        if cut is not None or not length:
            self.close_connection = True

    def do_GET(self):
        parts = self.path.split("?")[0].split("/", 2)
        mode, name = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        rng, ifr = self.headers.get("Range"), self.headers.get("If-Range")
        with lock:
            n = seen.get(self.path, 0)
            seen[self.path] = n + 1
        entry = {"path": self.path, "range": rng, "if_range": ifr, "n": n}
        fpath = os.path.join(ROOT, os.path.basename(name))
        if mode == "404" or not os.path.isfile(fpath):
            entry["status"] = 404
            log(entry)
            self.send(404, b"not found\n", None)
            return
        body = open(fpath, "rb").read()
        etag = '"v1"'
        honour_ifrange = True
        if mode in ("drop", "drop-norange", "etag-change", "bad-ifrange") and n == 0:
            entry["status"] = 200
            entry["dropped"] = True
            log(entry)
            self.send(200, body, '"a"' if mode in ("etag-change", "bad-ifrange") else etag, cut=len(body) // 2)
            return
        if mode in ("etag-change", "bad-ifrange"):
            etag = '"b"'
        if mode == "bad-ifrange":
            honour_ifrange = False
        use_range = rng and rng.startswith("bytes=") and mode not in ("norange", "drop-norange", "nolength")
        if use_range and honour_ifrange and ifr is not None and ifr != etag:
            use_range = False  # the representation changed: the whole file
        if use_range:
            start = int(rng[6:].split("-")[0])
            if start >= len(body):
                entry["status"] = 416
                log(entry)
                self.send(416, b"", etag, {"Content-Range": "bytes */%d" % len(body)})
                return
            entry["status"] = 206
            log(entry)
            self.send(206, body[start:], etag, {"Content-Range": "bytes %d-%d/%d" % (start, len(body) - 1, len(body))})
            return
        entry["status"] = 200
        log(entry)
        self.send(200, body, etag, length=mode != "nolength")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print("PORT=%d" % srv.server_address[1], flush=True)
srv.serve_forever()
