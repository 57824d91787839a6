#!/usr/bin/env python3
"""probe.py FILE — what a viewer got, as JSON, measured with ffprobe.

Per stream: codec, size or sample rate/channels, packet count, first/last
pts and end (pts + duration) in seconds, the largest gap between
consecutive video frames in frame durations, and how many timestamps went
backwards. Decoded frame count with --count (slower)."""
import json
import subprocess
import sys


def ffprobe(args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json"] + args,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    path = sys.argv[1]
    count = "--count" in sys.argv
    info = ffprobe(["-show_streams", "-show_format", path])
    pk = ffprobe(["-show_entries", "packet=stream_index,pts_time,duration_time,flags", path])
    res = {"format": info["format"].get("format_name")}
    for st in info["streams"]:
        kind = st["codec_type"]
        if kind not in ("video", "audio") or kind in res:
            continue
        d = {"codec": st.get("codec_name"), "index": st["index"]}
        if kind == "video":
            d.update(width=st.get("width"), height=st.get("height"),
                     r_frame_rate=st.get("r_frame_rate"), avg_frame_rate=st.get("avg_frame_rate"))
        else:
            d.update(sample_rate=int(st.get("sample_rate", 0)), channels=st.get("channels"))
        pts = [float(p["pts_time"]) for p in pk["packets"]
               if p["stream_index"] == st["index"] and p.get("pts_time") not in (None, "N/A")]
        durs = [float(p.get("duration_time") or 0) for p in pk["packets"]
                if p["stream_index"] == st["index"] and p.get("pts_time") not in (None, "N/A")]
        d["packets"] = len(pts)
        if pts:
            d["first"] = min(pts)
            d["last"] = max(pts)
            d["end"] = pts[-1] + durs[-1]
            d["backwards"] = sum(1 for a, b in zip(pts, pts[1:]) if b <= a)
        if kind == "video" and len(pts) > 1:
            num, den = (int(x) for x in st.get("r_frame_rate", "30/1").split("/"))
            fd = den / num
            d["frame_dur"] = fd
            d["max_gap_frames"] = max(round((b - a) / fd) for a, b in zip(pts, pts[1:]))
            d["span_frames"] = round((max(pts) - min(pts)) / fd) + 1
        if kind == "video" and count:
            c = ffprobe(["-count_frames", "-select_streams", "v:0",
                         "-show_entries", "stream=nb_read_frames", path])
            d["decoded_frames"] = int(c["streams"][0]["nb_read_frames"])
        res[kind] = d
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
