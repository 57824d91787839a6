#!/usr/bin/env python3
"""speech_check.py — where the speech is in a recording, as a viewer hears it.

  speech_check.py stretches FILE EVENTS ID...
      Finds the stretches of sound in FILE's audio (frames of 1/30 s whose
      RMS is above the noise, joined across gaps shorter than 0.2 s) and
      checks there is exactly one per ID, in that order, each inside the
      frames that ID's `started`/`finished` events name (±3 frames), with
      silence between them.

  speech_check.py cut FILE EVENTS ID X Y W H
      For an interrupted ID: from its `interrupted` event's requested frame,
      the audio must be silent and the mouth region (X,Y,W,H) back to the
      closed shape of the idle frame before the message within 150 ms, while
      it was visibly open before the cut.

Frames are counted from the first video frame (30 fps, 48 kHz audio).
Prints the figures; exit 1 with the reason otherwise."""
import json
import math
import subprocess
import sys

FPS = 30
SPF = 48000 // FPS
SILENT = 60.0    # RMS in 16-bit levels: espeak speech is ~1000-5000, AAC-coded silence ~0
MOUTH_TOL = 2.5  # mean abs difference in grey levels that is only coding noise


def raw(path, args):
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path] + args + ["-"],
                          capture_output=True, check=True).stdout


def rms_per_frame(path):
    audio = raw(path, ["-map", "0:a", "-ac", "1", "-ar", "48000", "-f", "s16le"])
    n = len(audio) // 2
    s = memoryview(audio).cast("h")
    out = []
    for k in range(n // SPF):
        seg = s[k * SPF:(k + 1) * SPF]
        out.append(math.sqrt(sum(v * v for v in seg) / len(seg)))
    return out


def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def find(evs, name, mid):
    for e in evs:
        if e.get("event") == name and e.get("message_id") == mid:
            return e
    sys.exit(f"FAIL: no '{name}' event for {mid}")


def stretches(rms):
    loud = [r > SILENT for r in rms]
    out, k = [], 0
    while k < len(loud):
        if not loud[k]:
            k += 1
            continue
        start, last = k, k
        while k < len(loud) and (loud[k] or any(loud[k:k + 6])):
            if loud[k]:
                last = k
            k += 1
        out.append((start, last + 1))
    return out


def cmd_stretches(path, evpath, ids):
    rms = rms_per_frame(path)
    evs = events(evpath)
    got = stretches(rms)
    print("stretches (frames):", got)
    if len(got) != len(ids):
        sys.exit(f"FAIL: {len(got)} stretches of speech, expected {len(ids)}")
    for (a, b), mid in zip(got, ids):
        s = find(evs, "started", mid)["detail"]["start_frame"]
        e = find(evs, "finished", mid)["detail"]["end_frame"]
        if a < s - 3 or b > e + 3:
            sys.exit(f"FAIL: speech {a}..{b} is outside {mid}'s frames {s}..{e}")
        print(f"{mid}: heard {a}..{b}, events {s}..{e}")
    print("ok: %d messages heard in order" % len(ids))


def cmd_cut(path, evpath, mid, x, y, w, h):
    evs = events(evpath)
    d = find(evs, "interrupted", mid)["detail"]
    start = find(evs, "started", mid)["detail"]["start_frame"]
    req, cut = d["requested_frame"], d["cut_frame"]
    rms = rms_per_frame(path)
    mouth = raw(path, ["-vf", f"crop={w}:{h}:{x}:{y},format=gray", "-f", "rawvideo"])
    fsz = w * h
    nf = len(mouth) // fsz
    ref_k = max(0, start - 3)  # idle, mouth closed, just before the message
    ref = mouth[ref_k * fsz:(ref_k + 1) * fsz]

    def diff(k):
        fr = mouth[k * fsz:(k + 1) * fsz]
        return sum(abs(a - b) for a, b in zip(fr, ref)) / fsz

    limit = req + math.ceil(0.150 * FPS)  # 150 ms after the control message arrived
    speaking_open = max(diff(k) for k in range(start, min(req, nf)))
    loud_before = max(rms[start:req]) if req > start else 0
    after_rms = max(rms[limit:min(limit + 15, len(rms))])
    after_mouth = max(diff(k) for k in range(limit, min(limit + 15, nf)))
    print(f"requested at frame {req}, cut at {cut} ({(cut - req) * 1000 / FPS:.0f} ms); "
          f"before: rms {loud_before:.0f}, mouth {speaking_open:.1f}; "
          f"from +150 ms: rms {after_rms:.1f}, mouth {after_mouth:.2f}")
    if loud_before <= SILENT * 5 or speaking_open <= MOUTH_TOL * 2:
        sys.exit("FAIL: it was not visibly talking before the interrupt")
    if after_rms > SILENT:
        sys.exit(f"FAIL: sound {after_rms:.0f} after the interrupt + 150 ms")
    if after_mouth > MOUTH_TOL:
        sys.exit(f"FAIL: mouth not closed 150 ms after the interrupt (difference {after_mouth:.2f})")
    print("ok: silent and closed within 150 ms")


def main(argv):
    if len(argv) >= 5 and argv[1] == "stretches":
        cmd_stretches(argv[2], argv[3], argv[4:])
    elif len(argv) == 9 and argv[1] == "cut":
        cmd_cut(argv[2], argv[3], argv[4], *map(int, argv[5:9]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
