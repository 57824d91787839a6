#!/usr/bin/env python3
"""summary.py DIR --seconds S --published N --spoken N --left N --exit RC --size WxH
                  [--fps R] [--rate HZ]

The verdict of a soak run (tests/soak/soak.sh) from the files in DIR:
samples.csv (one row per sample: RSS, fds, threads, CPU ticks, counters and
the viewer's received media time) and packets.csv (every packet of the
recording: stream index, pts, duration).

Growth is judged after a warm-up (the first 10 % of the run, at least 60 s):
start-up allocates pools and builds the idle loop, which is not growth. A
resource grows if the mean of the last tenth of the run exceeds the mean of
the first tenth after the warm-up by more than its bound (RSS 1 MiB; fds and
threads: any). The slope of a least-squares line is printed beside it.

Writes DIR/summary.txt (what is printed) and DIR/summary.json; exits 1 if
any check fails.
"""
import argparse
import csv
import json
import os
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def mean(v):
    return sum(v) / len(v) if v else 0.0


def windows(rows, warm, secs):
    """(first, last): the rows of the first and last tenth after the warm-up."""
    span = max(secs - warm, 1)
    tenth = max(span / 10, 1)
    after = [r for r in rows if r["t"] >= warm]
    first = [r for r in after if r["t"] < warm + tenth] or after[:1]
    last = [r for r in after if r["t"] >= secs - tenth] or after[-1:]
    return after, first, last


def packets(path):
    v, a = [], []
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) < 3 or parts[1] in ("", "N/A"):
                continue
            pts = float(parts[1])
            dur = float(parts[2]) if parts[2] not in ("", "N/A") else 0.0
            (v if parts[0] == "0" else a).append((pts, dur))
    v.sort()
    a.sort()
    return v, a


def gaps(pk, nominal):
    """Holes in a packet sequence: (count, largest in seconds) of steps
    longer than 1.5 nominal packet durations."""
    n, worst = 0, 0.0
    for (p0, d0), (p1, _) in zip(pk, pk[1:]):
        step = p1 - p0
        if step > 1.5 * (d0 or nominal):
            n += 1
            worst = max(worst, step - (d0 or nominal))
    return n, worst


def av_drift(v, a, vdur, adur, every=60.0):
    """Audio minus video at each minute of the recording, in ms, measured
    in content: a stream's first pts plus its packets before that minute
    times their length (1/fps a frame, 1024 samples an AAC packet; exact,
    where a container's per-packet durations are rounded to its time base):
    what a player has actually been given to play.
    Audio is the master clock and video follows it frame by frame, so this
    stays within about a frame plus an AAC packet, unless one side's
    timestamps run ahead of its samples or frames go missing on one side."""
    out = []
    vi = ai = 0
    vsum = asum = 0.0
    t = v[0][0] + every if v and a else 0
    last = min(v[-1][0], a[-1][0]) if v and a else 0
    while t <= last:
        while vi < len(v) and v[vi][0] < t:
            vsum += vdur
            vi += 1
        while ai < len(a) and a[ai][0] < t:
            asum += adur
            ai += 1
        out.append((t, ((a[0][0] + asum) - (v[0][0] + vsum)) * 1000))
        t += every
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--published", type=int, required=True)
    ap.add_argument("--spoken", type=int, required=True)
    ap.add_argument("--left", default="?")
    ap.add_argument("--exit", type=int, default=0)
    ap.add_argument("--size", default="")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=48000, help="audio sample rate (AAC: 1024 samples a packet)")
    o = ap.parse_args()

    rows = []
    with open(os.path.join(o.dir, "samples.csv")) as f:
        for r in csv.DictReader(f):
            try:
                rows.append({k: float(v) for k, v in r.items()})
            except ValueError:
                continue  # a row cut short when the process went away
    if len(rows) < 3:
        print("soak: too few samples to judge", file=sys.stderr)
        return 1
    secs = o.seconds
    warm = max(60.0, secs / 10)
    if warm >= secs:
        warm = secs / 3
    after, first, last = windows(rows, warm, secs)
    lines, failed, res = [], [], {"seconds": secs, "size": o.size, "warmup_s": warm, "samples": len(rows)}

    def check(name, ok, text):
        lines.append(f"{'ok  ' if ok else 'FAIL'} {name:<12} {text}")
        if not ok:
            failed.append(name)

    # resources
    hours = max((after[-1]["t"] - after[0]["t"]) / 3600, 1e-9) if after else 1e-9
    for key, label, unit, scale, bound in (("rss_kb", "rss", "MiB", 1 / 1024, 1.0),
                                           ("fds", "fds", "", 1, 0), ("threads", "threads", "", 1, 0)):
        f0, l0 = mean([r[key] for r in first]) * scale, mean([r[key] for r in last]) * scale
        sl = slope([r["t"] / 3600 for r in after], [r[key] * scale for r in after])
        lo, hi = min(r[key] for r in after) * scale, max(r[key] for r in after) * scale
        peak = max(r[key] for r in rows) * scale
        growth = l0 - f0
        res[label] = {"first": round(f0, 2), "last": round(l0, 2), "growth": round(growth, 2),
                      "slope_per_hour": round(sl, 2), "min": round(lo, 2), "max": round(hi, 2),
                      "peak": round(peak, 2)}
        check(label, growth <= bound,
              f"{f0:.1f} → {l0:.1f} {unit} (growth {growth:+.2f}, slope {sl:+.2f}/h, range {lo:.1f}–{hi:.1f}, "
              f"peak {peak:.1f}; bound {bound})")

    # CPU: the mean, and whether the last tenth costs more than the first
    def cores(rs):
        if len(rs) < 2 or rs[-1]["t"] <= rs[0]["t"]:
            return 0.0
        return (rs[-1]["cpu_ticks"] - rs[0]["cpu_ticks"]) / CLK_TCK / (rs[-1]["t"] - rs[0]["t"])

    c_all, c_first, c_last = cores(after), cores(first), cores(last)
    res["cpu_cores"] = {"mean": round(c_all, 4), "first": round(c_first, 4), "last": round(c_last, 4)}
    lines.append(f"     {'cpu':<12} {c_all:.3f} cores on average after warm-up "
                 f"(first tenth {c_first:.3f}, last tenth {c_last:.3f})")

    # frames: late ones after the warm-up; the engine clock against the wall
    late_total = rows[-1]["late"]
    late_after = rows[-1]["late"] - after[0]["late"] if after else late_total
    res["late_frames"] = {"total": late_total, "after_warmup": late_after}
    check("late", late_after == 0, f"{late_after:.0f} late frames after warm-up ({late_total:.0f} in all)")
    if len(after) >= 2:
        a0, a1 = after[0], after[-1]
        clock = ((a1["frames"] - a0["frames"]) / o.fps - (a1["t"] - a0["t"])) * 1000
        viewer = ((a1["media_s"] - a0["media_s"]) - (a1["t"] - a0["t"])) * 1000
    else:
        clock = viewer = 0.0
    res["clock_drift_ms"] = round(clock, 1)
    res["viewer_drift_ms"] = round(viewer, 1)
    # the samples are taken up to half a second late (the loop's sleep)
    check("clock", abs(clock) <= 1000, f"timeline vs wall clock {clock:+.0f} ms over {hours * 60:.0f} min")
    check("viewer", abs(viewer) <= 2000, f"media received vs wall clock {viewer:+.0f} ms over {hours * 60:.0f} min")

    # the recording: holes and audio/video drift
    v, a = packets(os.path.join(o.dir, "packets.csv"))
    rec_s = (v[-1][0] - v[0][0]) if v else 0
    vg, vw = gaps(v, 1 / o.fps)
    ag, aw = gaps(a, 1024 / o.rate)
    drift = av_drift(v, a, 1 / o.fps, 1024 / o.rate)
    worst = max((abs(d) for _, d in drift), default=0.0)
    d0 = drift[0][1] if drift else 0.0
    d1 = drift[-1][1] if drift else 0.0
    res["recording"] = {"seconds": round(rec_s, 1), "video_packets": len(v), "audio_packets": len(a),
                        "video_gaps": vg, "video_worst_gap_s": round(vw, 3), "audio_gaps": ag,
                        "audio_worst_gap_s": round(aw, 3), "av_drift_ms_first": round(d0, 1),
                        "av_drift_ms_last": round(d1, 1), "av_drift_ms_worst": round(worst, 1)}
    check("recording", rec_s >= 0.9 * (secs - 5), f"{rec_s:.0f} s recorded, {len(v)} video and {len(a)} audio packets")
    check("gaps", vg == 0 and ag == 0, f"video {vg} (worst {vw * 1000:.0f} ms), audio {ag} (worst {aw * 1000:.0f} ms)")
    check("a/v drift", worst <= 100, f"audio − video, by content played: {d0:+.0f} ms at the first minute, {d1:+.0f} ms at the "
          f"last, worst {worst:.0f} ms over {len(drift)} minutes")

    # messages and the exit
    res["messages"] = {"published": o.published, "spoken": o.spoken, "left_in_queue": o.left}
    check("messages", o.spoken >= o.published and str(o.left) == "0",
          f"{o.published} published, {o.spoken} spoken, {o.left} left in the queue")
    res["exit"] = o.exit
    check("exit", o.exit == 0, f"talkcast exited {o.exit} on SIGTERM")

    res["failed"] = failed
    text = f"soak summary: {secs} s {o.size}, {len(rows)} samples, warm-up {warm:.0f} s\n" + "\n".join(lines)
    text += f"\n{'nothing grows, nothing lost' if not failed else 'FAILED: ' + ', '.join(failed)}\n"
    print(text, end="")
    with open(os.path.join(o.dir, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(o.dir, "summary.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
