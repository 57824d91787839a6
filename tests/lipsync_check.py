#!/usr/bin/env python3
"""lipsync_check.py VIDEO X Y W H — is the mouth in sync with the sound?

Decodes VIDEO with ffmpeg (the viewer), measures per frame how far the
mouth region (X,Y,W,H) differs from the first frame (the idle, closed
mouth) and the audio RMS of that frame's samples, and cross-correlates the
two over lags of ±5 frames. Passes when the peak is at lag 0 ± 1 frame with
r ≥ 0.5, and when a control — the audio shifted by 1 s — gives r < 0.2.
Also checks that a band above the face (rows 0..Y/3) never changes by more
than coding noise (mean absolute difference ≤ 1.5 levels per frame).
Prints the figures; exit 1 with the reason otherwise."""
import math
import subprocess
import sys

path, X, Y, W, H = sys.argv[1], *map(int, sys.argv[2:6])
fps = 30


def raw(args):
    return subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path] + args + ["-"],
                          capture_output=True, check=True).stdout


mouth = raw(["-vf", f"crop={W}:{H}:{X}:{Y},format=gray", "-f", "rawvideo"])
band_h = max(2, Y // 3)
band = raw(["-vf", f"crop=iw:{band_h}:0:0,format=gray", "-f", "rawvideo"])
audio = raw(["-map", "0:a", "-ac", "1", "-ar", "48000", "-f", "s16le"])
fsz = W * H
nf = len(mouth) // fsz
ref = mouth[:fsz]
change = [sum(abs(a - b) for a, b in zip(mouth[k * fsz:(k + 1) * fsz], ref)) / fsz for k in range(nf)]
bsz = len(band) // nf
band_ref = band[:bsz]
# lossy coding moves pixels by a level or two; smearing moves them by far more
band_diff = [sum(abs(a - b) for a, b in zip(band[k * bsz:(k + 1) * bsz], band_ref)) / bsz for k in range(nf)]
moved = sum(1 for d in band_diff if d > 1.5)

samples = [int.from_bytes(audio[i:i + 2], "little", signed=True) for i in range(0, len(audio) - 1, 2)]
spf = 48000 // fps
rms = []
for k in range(nf):
    seg = samples[k * spf:(k + 1) * spf] or [0]
    rms.append(math.sqrt(sum(s * s for s in seg) / len(seg)))


def corr(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else 0.0


def lagged(lag):  # mouth at frame k against audio at frame k + lag
    if lag >= 0:
        return corr(change[:nf - lag], rms[lag:])
    return corr(change[-lag:], rms[:nf + lag])


lags = {lag: lagged(lag) for lag in range(-5, 6)}
best = max(lags, key=lambda l: lags[l])
shift = fps  # 1 s
control = corr(change[:nf - shift], rms[shift:])
print(f"frames={nf} peak r={lags[best]:.2f} at lag {best} (r at 0: {lags[0]:.2f}); "
      f"control (audio +1 s) r={control:.2f}; band above the face: max mean diff {max(band_diff):.2f}")
errs = []
if abs(best) > 1:
    errs.append(f"peak at lag {best}")
if lags[best] < 0.5:
    errs.append(f"peak r {lags[best]:.2f} < 0.5")
if control >= 0.2:
    errs.append(f"control r {control:.2f} >= 0.2")
if moved:
    errs.append(f"picture above the face changed in {moved} frames")
if errs:
    print("; ".join(errs))
    sys.exit(1)
