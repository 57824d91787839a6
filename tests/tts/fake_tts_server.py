#!/usr/bin/env python3
"""fake_tts_server.py LOGFILE — a local stand-in for paid TTS APIs.

Speaks the OpenAI (/v1/audio/speech) and ElevenLabs
(/v1/text-to-speech/<voice>) request shapes on 127.0.0.1 (a free port,
printed on stdout as PORT=N) and misbehaves on request: the "model" / "model_id" of
the JSON body picks the behaviour:

  ok-wav, ok-pcm, ok-mp3, ok-opus   200 with that audio (1 s of 440 Hz)
  wrong-ctype                       200, WAV body labelled text/plain
  status-500                        500 every time
  status-400                        400 with a JSON error body
  429-once                          429 with Retry-After: 1, then 200 WAV
  fail-twice                        503, 503, then 200 WAV (per process)
  hang                              accepts and never answers (5 s)
  truncated                         promises 100000 bytes, sends 1000, closes
  garbage                           200 with random bytes labelled audio/wav
  echo-key                          500 whose body repeats the auth header

Every request is appended to LOGFILE as a JSON line: time, path, model,
and the auth headers it carried, so tests can count retries, measure
back-off and check authentication."""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]
lock = threading.Lock()
counters = {}


def sine_pcm(rate=24000, secs=1.0):
    n = int(rate * secs)
    return b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))


PCM = sine_pcm()


def wav(pcm, rate=24000):
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" +
            struct.pack("<I", len(pcm)) + pcm)


WAV = wav(PCM)
tmp = tempfile.mkdtemp()
src = os.path.join(tmp, "s.wav")
open(src, "wb").write(WAV)
ENC = {}
for ext, args in (("mp3", ["-c:a", "libmp3lame"]), ("opus", ["-c:a", "libopus"])):
    out = os.path.join(tmp, "s." + ext)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src] + args + [out], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    ENC[ext] = open(out, "rb").read()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="audio/wav", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            req = {}
        model = req.get("model") or req.get("model_id") or ""
        with lock:
            counters[model] = counters.get(model, 0) + 1
            count = counters[model]
            with open(LOG, "a") as f:
                f.write(json.dumps({"t": time.time(), "path": self.path, "model": model,
                                    "auth": self.headers.get("Authorization"),
                                    "xi": self.headers.get("xi-api-key"),
                                    "text": req.get("input") or req.get("text")}) + "\n")
        if not (self.path == "/v1/audio/speech" or self.path.startswith("/v1/text-to-speech/")):
            return self.send(404, b'{"error":"no such endpoint"}', "application/json")
        if model == "ok-wav" or model == "":
            return self.send(200, WAV)
        if model == "ok-pcm":
            return self.send(200, PCM, "audio/pcm")
        if model in ("ok-mp3", "ok-opus"):
            return self.send(200, ENC[model[3:]], "audio/mpeg" if model == "ok-mp3" else "audio/ogg")
        if model == "wrong-ctype":
            return self.send(200, WAV, "text/plain")
        if model == "status-500":
            return self.send(500, b'{"error":"internal"}', "application/json")
        if model == "status-400":
            return self.send(400, b'{"error":{"message":"voice not found"}}', "application/json")
        if model == "429-once":
            if count == 1:
                return self.send(429, b'{"error":"slow down"}', "application/json", {"Retry-After": "1"})
            return self.send(200, WAV)
        if model == "fail-twice":
            if count <= 2:
                return self.send(503, b"busy", "text/plain")
            return self.send(200, WAV)
        if model == "hang":
            time.sleep(5)
            return
        if model == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(WAV[:1000])
            self.wfile.flush()
            self.close_connection = True
            return
        if model == "garbage":
            return self.send(200, os.urandom(5000), "audio/wav")
        if model == "echo-key":
            return self.send(500, ("you sent " + str(self.headers.get("Authorization"))).encode(), "text/plain")
        return self.send(400, b'{"error":"unknown test model"}', "application/json")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print("PORT=%d" % srv.server_address[1], flush=True)
srv.serve_forever()
