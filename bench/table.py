#!/usr/bin/env python3
"""table.py [RESULTS] — the one table of `make bench`: every figure the
benchmarks of this run merged into bench/results.json, beside its baseline
(measured side by side in the same script) with the ratio and the target.
A row whose benchmark has not run says so; nothing is filled in."""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "bench/results.json"
r = json.load(open(path))


def get(*keys):
    v = r
    for k in keys:
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v


def fmt(v, unit=""):
    return "—" if v is None else f"{v:g}{unit}"


rows = []


def row(what, tc, base, ratio, target, met):
    rows.append((what, tc, base, ratio, target, "—" if met is None else ("met" if met else "NOT met")))


s, f = get("idle_vs_ffmpeg", "talkcast", "steady_cores"), get("idle_vs_ffmpeg", "ffmpeg", "steady_cores")
q = get("idle_vs_ffmpeg", "steady_ratio")
row("idle 720p30 CPU (cores, steady)", fmt(s), f"ffmpeg {fmt(f)}", fmt(q, "x"), "<= 0.10x", None if q is None else q <= 0.10)
lv = get("idle_vs_ffmpeg", "talkcast_live", "steady_cores")
row("  same, every frame live", fmt(lv), f"ffmpeg {fmt(f)}", fmt(get("idle_vs_ffmpeg", "steady_ratio_live"), "x"), "", None)
t = get("live", "talking_cores")
row("talking 720p30 CPU (cores)", fmt(t), f"idle {fmt(s)}", "", "<= 0.5 core", None if t is None else t <= 0.5)
row("  same, x264 veryfast", fmt(get("live", "talking_cores_veryfast")), "", "", "", None)
for x in get("x264", "settings") or []:
    row(f"  x264 {x['setting']}: cores, PSNR dB (say)", f"{x['cores']:g}, {x['psnr_db']:g} dB",
        "", f"{x['cores_ratio']:g}x", "", None)
p50, p99 = get("amqp_latency", "talkcast", "publish_to_air_ms_p50"), get("amqp_latency", "talkcast", "publish_to_air_ms_p99")
b50, b99 = get("amqp_latency", "bare_consumer", "publish_to_delivery_ms_p50"), get("amqp_latency", "bare_consumer", "publish_to_delivery_ms_p99")
row("publish -> first speech sample p50/p99 (ms)", f"{fmt(p50)} / {fmt(p99)}", f"broker alone {fmt(b50)} / {fmt(b99)}", "",
    "<= 150 / 300", None if p50 is None else p50 <= 150 and p99 <= 300)
ip, im = get("interrupt", "p50_ms"), get("interrupt", "max_ms")
row("interrupt -> silence on the output p50/max (ms)", f"{fmt(ip)} / {fmt(im)}", "", "", "<= 150",
    None if im is None else im <= 150)
st = get("live", "startup_ms_median")
row("process start -> first frame at a viewer (ms)", fmt(st), f"ffmpeg probing {fmt(get('live', 'startup_ms_median_default_probe'))}",
    "", "<= 500", None if st is None else st <= 500)
sp, spu = get("faces", "say_x_realtime_superfast_default"), get("faces", "say_x_realtime_ultrafast")
row("offline `say` 720p (x realtime)", fmt(sp), f"ultrafast {fmt(spu)}", "", ">= 10x", None if sp is None else sp >= 10)
pk, ffm = get("live", "rss_peak_mb"), get("idle_vs_ffmpeg", "ffmpeg", "peak_rss_mb")
row("peak RSS, one stream (MB)", fmt(pk), f"ffmpeg {fmt(ffm)}", fmt(None if pk is None or not ffm else round(pk / ffm, 2), "x"),
    "<= 60 MB", None if pk is None else pk <= 60)
g, gs = get("live", "rss_growth_mb"), get("live", "rss_seconds")
row(f"RSS growth over {fmt(gs)} s (MB)", fmt(g), "", "", "flat (< 1 MB)", None if g is None else abs(g) < 1)
ms = get("idle_streams", "max_streams")
row(f"idle 720p30 streams, no late frame ({fmt(get('idle_streams', 'cores'))} cores)", fmt(ms),
    f"settled 60 s: {fmt(get('idle_streams_settled', 'max_streams'))}", "", "", None)

w = [max(len(str(x[i])) for x in rows + [("what", "talkcast", "baseline", "ratio", "target", "")]) for i in range(6)]
head = ("what", "talkcast", "baseline", "ratio", "target", "")
print(" | ".join(h.ljust(w[i]) for i, h in enumerate(head)))
print("-+-".join("-" * w[i] for i in range(6)))
for x in rows:
    print(" | ".join(str(c).ljust(w[i]) for i, c in enumerate(x)))
