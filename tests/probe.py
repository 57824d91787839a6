#!/usr/bin/env python3
"""probe.py — what a viewer got, measured with ffprobe (for the integration tests).

  probe.py info FILE [--count]
      JSON per stream (first video, first audio): codec, size / rate,
      packet count, decoded frame count (--count: ffprobe -count_frames),
      first/last pts, end (last pts + its duration), duration, the largest
      gap between consecutive video frames, timestamps that went backwards.

  probe.py check FILE --frames N [--tol PCT] [--size WxH] [--fps NUM/DEN]
                      [--audio RATE:CHANNELS] [--no-count]
      Exit 0 and print one summary line when the file holds H.264 + AAC and
        - decoded video frames (-count_frames) are N within PCT %,
        - the pts span, (last - first) / frame duration + 1, is N within PCT %,
        - no gap between consecutive video frames exceeds one frame duration
          (plus 2 ms: FLV and Matroska round timestamps to milliseconds),
        - no timestamp goes backwards (dts, per stream),
        - audio lasts as long as video within one frame duration;
      otherwise exit 1 and print every reason on one line.

Durations: video lasts from its first pts to its last plus one frame.
Audio is measured from max(first audio pts, 0, first video pts) to its end:
negative timestamps are AAC priming that players drop (MP4 edit list), and
Matroska and MPEG-TS put the priming at 0 and the first picture after it.
A stream's own duration (or Matroska's DURATION tag) is "stream_duration".
"""
import argparse
import json
import subprocess
import sys
from fractions import Fraction


def ffprobe(args):
    res = subprocess.run(["ffprobe", "-v", "error", "-of", "json"] + args,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"ffprobe {' '.join(args)} failed: {res.stderr.strip()}")
    return json.loads(res.stdout)


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def tag_duration(st):
    """Matroska keeps a stream's length in a DURATION tag (HH:MM:SS.nnn)."""
    t = (st.get("tags") or {}).get("DURATION")
    if not t:
        return None
    h, m, s = t.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def info(path, count):
    meta = ffprobe(["-show_streams", "-show_format", path])
    pk = ffprobe(["-show_entries", "packet=stream_index,pts_time,dts_time,duration_time", path])
    res = {"format": meta["format"].get("format_name")}
    for st in meta["streams"]:
        kind = st.get("codec_type")
        if kind not in ("video", "audio") or kind in res:
            continue
        d = {"codec": st.get("codec_name"), "index": st["index"]}
        if kind == "video":
            d.update(width=st.get("width"), height=st.get("height"),
                     r_frame_rate=st.get("r_frame_rate"), avg_frame_rate=st.get("avg_frame_rate"))
        else:
            d.update(sample_rate=int(st.get("sample_rate", 0)), channels=st.get("channels"))
        d["stream_duration"] = num(st.get("duration")) or tag_duration(st)
        pkts = [p for p in pk["packets"] if p["stream_index"] == st["index"]]
        pts = [num(p.get("pts_time")) for p in pkts]
        pts = [x for x in pts if x is not None]
        dts = [num(p.get("dts_time")) for p in pkts]
        dts = [x for x in dts if x is not None]
        d["packets"] = len(pkts)
        d["backwards"] = sum(1 for a, b in zip(dts, dts[1:]) if b < a)
        if pts:
            last_i = max(range(len(pkts)), key=lambda i: num(pkts[i].get("pts_time")) or -1e9)
            d["first"] = min(pts)
            d["last"] = max(pts)
            d["end"] = d["last"] + (num(pkts[last_i].get("duration_time")) or 0.0)
        if kind == "video" and pts:
            rate = Fraction(st.get("r_frame_rate") or "30/1")
            fd = float(1 / rate) if rate else 1 / 30
            s = sorted(pts)
            d["frame_dur"] = fd
            d["max_gap"] = max((b - a for a, b in zip(s, s[1:])), default=0.0)
            d["span_frames"] = round((s[-1] - s[0]) / fd) + 1
            d["duration"] = s[-1] - s[0] + fd
        if kind == "video" and count:
            c = ffprobe(["-count_frames", "-select_streams", "v:0",
                         "-show_entries", "stream=nb_read_frames", path])
            d["decoded_frames"] = int(c["streams"][0]["nb_read_frames"])
        res[kind] = d
    a, v = res.get("audio"), res.get("video")
    if a and "first" in a:
        # Audio counts from where it can be heard with the picture: negative
        # timestamps are AAC priming that players drop (MP4 edit list), and
        # Matroska/MPEG-TS put the priming at 0 and start the video after it.
        start = max(a["first"], 0.0, v["first"] if v and "first" in v else 0.0)
        a["duration"] = a["end"] - start
    return res


def check(a):
    j = info(a.file, not a.no_count)
    v, au = j.get("video"), j.get("audio")
    errs = []
    if not v or not v.get("packets"):
        return j, ["no video"]
    if not au or not au.get("packets"):
        errs.append("no audio")
    if v["codec"] != "h264":
        errs.append(f"video codec {v['codec']}, want h264")
    if a.size and f"{v['width']}x{v['height']}" != a.size:
        errs.append(f"video {v['width']}x{v['height']}, want {a.size}")
    if a.fps:
        for key in ("r_frame_rate", "avg_frame_rate"):
            if Fraction(v[key] or "0/1") != Fraction(a.fps):
                errs.append(f"{key} {v[key]}, want {a.fps}")
    tol = a.frames * a.tol / 100
    if "decoded_frames" in v and abs(v["decoded_frames"] - a.frames) > tol:
        errs.append(f"{v['decoded_frames']} frames decoded, want {a.frames} ±{a.tol}%")
    if abs(v["span_frames"] - a.frames) > tol:
        errs.append(f"pts span of {v['span_frames']} frames, want {a.frames} ±{a.tol}%")
    if v["max_gap"] > v["frame_dur"] + 0.002:
        errs.append(f"video pts gap of {v['max_gap'] * 1000:.1f} ms (a frame is {v['frame_dur'] * 1000:.1f} ms)")
    if v["backwards"]:
        errs.append(f"video dts went backwards {v['backwards']} times")
    if au and au.get("packets"):
        if au["codec"] != "aac":
            errs.append(f"audio codec {au['codec']}, want aac")
        if a.audio and f"{au['sample_rate']}:{au['channels']}" != a.audio:
            errs.append(f"audio {au['sample_rate']} Hz x{au['channels']}, want {a.audio}")
        if au["backwards"]:
            errs.append(f"audio dts went backwards {au['backwards']} times")
        if abs(au["duration"] - v["duration"]) > v["frame_dur"] + 0.0001:
            errs.append(f"audio lasts {au['duration']:.3f} s, video {v['duration']:.3f} s")
    return j, errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("info")
    pi.add_argument("file")
    pi.add_argument("--count", action="store_true")
    pc = sub.add_parser("check")
    pc.add_argument("file")
    pc.add_argument("--frames", type=int, required=True)
    pc.add_argument("--tol", type=float, default=1.0)
    pc.add_argument("--size")
    pc.add_argument("--fps")
    pc.add_argument("--audio")
    pc.add_argument("--no-count", action="store_true")
    a = ap.parse_args()
    if a.cmd == "info":
        json.dump(info(a.file, a.count), sys.stdout, indent=1)
        print()
        return 0
    j, errs = check(a)
    v, au = j.get("video") or {}, j.get("audio") or {}
    summary = (f"frames={v.get('decoded_frames', '-')} span={v.get('span_frames')} "
               f"max_gap={v.get('max_gap', 0) * 1000:.1f}ms video={v.get('duration', 0):.3f}s "
               f"audio={au.get('duration', 0):.3f}s "
               f"video_first={v.get('first')} audio_first={au.get('first')}")
    if errs:
        print("; ".join(errs) + f" ({summary})")
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
