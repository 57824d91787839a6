#!/usr/bin/env python3
"""replay_check.py FILE — how much the picture jumps from one frame to the
next, as a viewer decodes FILE: the largest mean absolute difference in
luma between consecutive frames (scaled to 320 columns, rows kept),
in each of three bands of the picture
(top 35 %: hair; 35-47 %: the eyes; bottom 32 %: neck, shoulders and
their breathing — the mouth's band in between is left out), over
16x16 blocks (the largest block, so a small jump is not averaged away).
Also counts decode errors (ffmpeg -v error lines).

Prints one JSON line: {"frames": N, "errors": N, "top": X, "eyes": X, "body": X}.
A pre-encoded idle loop must not make these larger than a run that
renders every frame live; the test compares the two."""
import json
import subprocess
import sys

W = 320  # columns; rows stay at the file's height, so a shift of a pixel shows


def main(path):
    H = int(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=height",
                            "-of", "csv=p=0", path], capture_output=True, text=True).stdout.strip())
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-vf", f"scale={W}:{H}:flags=area",
                        "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True)
    errors = [l for l in p.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    data = p.stdout
    n = len(data) // (W * H)
    bands = {"top": (0, int(H * 0.35)), "eyes": (int(H * 0.35), int(H * 0.47)), "body": (int(H * 0.68), H)}
    worst = {k: 0.0 for k in bands}
    prev = None
    for i in range(n):
        cur = data[i * W * H:(i + 1) * W * H]
        if prev is not None:
            for name, (y0, y1) in bands.items():
                for by in range(y0, y1 - 15, 16):
                    for bx in range(0, W - 15, 16):
                        s = 0
                        for y in range(by, by + 16):
                            o = y * W + bx
                            a, b = cur[o:o + 16], prev[o:o + 16]
                            s += sum(abs(a[j] - b[j]) for j in range(16))
                        d = s / 256
                        if d > worst[name]:
                            worst[name] = d
        prev = cur
    print(json.dumps({"frames": n, "errors": len(errors), "first_error": errors[0] if errors else "",
                      **{k: round(v, 2) for k, v in worst.items()}}))


main(sys.argv[1])
