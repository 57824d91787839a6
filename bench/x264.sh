#!/usr/bin/env bash
# x264.sh — which x264 settings suit a talking head (a mostly static
# picture with a moving mouth), measured side by side on the same input:
# the same `talkcast say` (fixed text, fixed blink seed, the photo avatar,
# 1280x720@30, 2500 kb/s) encoded with each setting, for
#   cores     CPU seconds per second of video: what the setting costs a
#             live stream that is talking (render and TTS included, the
#             same for every row, so differences are x264's);
#   PSNR/SSIM against the same video encoded losslessly (qp=0), so that
#             a cheaper setting that costs picture quality shows it;
#   kb/s      the video bitrate it actually used.
# Each setting runs BENCH_X264_RUNS times (default 3); the median CPU is kept.
# BENCH_X264_BITRATE (default 2500k) sets the rate for every row.
# Merges "x264" into bench/results.json. env: TALKCAST_BIN, BENCH_RESULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
TC=${TALKCAST_BIN:-build/talkcast}
RESULTS=${BENCH_RESULTS:-bench/results.json}
RUNS=${BENCH_X264_RUNS:-3}
W=$(mktemp -d /tmp/tc-bench-x264-XXXXXX)
trap 'rm -rf "$W"' EXIT
text="A talking head is a mostly static picture: the background and the body stay where they are, \
and only the mouth, the eyes and a little breathing move. This sentence is long enough to keep the \
avatar talking for a while, so that every setting encodes the same frames of speech."
# the photo avatar: a real portrait's texture is what x264 has to keep
SHARED=${TC_SHARED:-$(cd .. && pwd)/shared}
[ -f "$SHARED/avatars/astronaut.png" ] || { echo "x264.sh: $SHARED/avatars/astronaut.png not found (set TC_SHARED)" >&2; exit 1; }
RATE=${BENCH_X264_BITRATE:-2500k}
common=(--seed 7 --width 1280 --height 720 --fps 30 --video-bitrate "$RATE"
  --avatar "$SHARED/avatars/astronaut.png" --landmarks assets/avatars/astronaut.landmarks.json)

# name|preset|x264-params — the default first: superfast with subme=0
# (full-pel motion only, which also spares x264 its half-pel planes: about
# 6 MB less at 720p). "static" drops what a still background does not
# need: motion search beyond a diamond, sub-pel refinement past the first
# level, weighted prediction (no fades) and adaptive quantisation (flat
# regions stay flat; note that turning AQ off raises PSNR by itself, as AQ
# spends bits where the eye, not PSNR, wants them).
settings=(
  "superfast, subme=0 (default)|superfast|subme=0"
  "superfast|superfast|"
  "veryfast|veryfast|"
  "ultrafast|ultrafast|"
  "veryfast, me=dia subme=1|veryfast|me=dia:subme=1"
  "veryfast, static|veryfast|me=dia:subme=1:weightp=0:aq-mode=0"
  "superfast, static|superfast|weightp=0:aq-mode=0"
)

"$TC" say "$text" -o "$W/ref.mkv" "${common[@]}" --x264-preset ultrafast --x264-params qp=0 2>/dev/null ||
  { echo "x264.sh: the lossless reference failed" >&2; exit 1; }
media=$(ffprobe -v error -select_streams v:0 -show_entries stream=duration -of csv=p=0 "$W/ref.mkv")
[ -n "$media" ] && [ "$media" != N/A ] ||
  media=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$W/ref.mkv")

: >"$W/rows.txt"
i=0
for s in "${settings[@]}"; do
  IFS='|' read -r name preset params <<<"$s"
  cpus=()
  for r in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%U %S" -o "$W/time" "$TC" say "$text" -o "$W/$i.mkv" "${common[@]}" \
      --x264-preset "$preset" --x264-params "$params" 2>/dev/null
    cpus+=("$(awk '{print $1 + $2}' "$W/time")")
  done
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
  psnr=$(ffmpeg -nostdin -v info -i "$W/$i.mkv" -i "$W/ref.mkv" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 |
    sed -n 's/.*PSNR .* average:\([0-9.inf]*\).*/\1/p' | tail -n 1)
  ssim=$(ffmpeg -nostdin -v info -i "$W/$i.mkv" -i "$W/ref.mkv" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 |
    sed -n 's/.*SSIM .* All:\([0-9.]*\).*/\1/p' | tail -n 1)
  vbytes=$(ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 "$W/$i.mkv" | awk '{s += $1} END {print s}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$preset" "$params" "$cpu" "${psnr:-0}" "${ssim:-0}" "$vbytes" >>"$W/rows.txt"
  i=$((i + 1))
done

python3 - "$W/rows.txt" "$media" "$RESULTS" "$RATE" <<'PY'
import datetime, json, os, sys
media = float(sys.argv[2])
rows = []
for line in open(sys.argv[1]):
    name, preset, params, cpu, psnr, ssim, vbytes = line.rstrip("\n").split("\t")
    rows.append({"setting": name, "preset": preset, "x264_params": params,
                 "cores": round(float(cpu) / media, 3), "psnr_db": round(float(psnr), 2),
                 "ssim": round(float(ssim), 4), "video_kbps": round(int(vbytes) * 8 / media / 1000)})
base = rows[0]
print(f"x264 settings for a talking head, 1280x720@30, {sys.argv[4]}b/s, {media:.1f} s of video "
      "(cores = CPU s per video s, render and TTS included):")
print(f"  {'setting':<28} {'cores':>6} {'vs default':>10} {'PSNR dB':>8} {'SSIM':>7} {'kb/s':>6}")
for x in rows:
    x["cores_ratio"] = round(x["cores"] / base["cores"], 2) if base["cores"] else None
    print(f"  {x['setting']:<28} {x['cores']:>6.3f} {x['cores_ratio']:>9.2f}x {x['psnr_db']:>8.2f} "
          f"{x['ssim']:>7.4f} {x['video_kbps']:>6}")
path = sys.argv[3]
res = json.load(open(path)) if os.path.exists(path) else {}
res["x264"] = {
    "what": "talkcast say of the same text (seed 7) at 1280x720@30 2500 kb/s with each x264 setting; cores = "
            "CPU seconds per video second (median of runs); PSNR/SSIM against the same video encoded losslessly",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "video_seconds": round(media, 2), "video_bitrate": sys.argv[4], "settings": rows,
}
json.dump(res, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
