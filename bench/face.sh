#!/usr/bin/env bash
# face.sh — what talking costs per avatar at 720p: render time of a talking
# frame beside an idle one (bench_face), and `talkcast say` offline speed
# (× realtime, target ≥ 10) with the default x264 preset and with
# ultrafast, side by side. Merges "faces" into bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RESULTS=${BENCH_RESULTS:-bench/results.json}
SHARED=${TC_SHARED_DIR:-../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a small sprite pack made on the spot
mkdir -p "$tmp/pack"
ffmpeg -nostdin -v error -f lavfi -i color=c=gray:s=640x360 -frames:v 1 "$tmp/pack/base.png"
for s in rest:2 aa:40; do
  n=${s%%:*} h=${s##*:}
  ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=640x360,format=rgba,geq=r=90:g=20:b=20:a='if(between(X\,290\,350)*between(Y\,250\,250+$h)\,255\,0)'" -frames:v 1 "$tmp/pack/$n.png"
done
echo '{"base":"base.png","mouths":{"rest":"rest.png","aa":"aa.png"}}' >"$tmp/pack/sprites.json"

rows=()
rows+=("$("$BUILD/bench/bench_face" vector)")
rows+=("$("$BUILD/bench/bench_face" "$SHARED/avatars/astronaut.png" assets/avatars/astronaut.landmarks.json)")
rows+=("$("$BUILD/bench/bench_face" "$tmp/pack")")

text="Papa made a map. Hello there, how are you today? This is a longer sentence to measure the speed of rendering."
say_speed() {
  "$BUILD/talkcast" say "$text" -o "$tmp/s.mp4" "$@" 2>&1 | sed -nE 's/.*: ([0-9.]+)x realtime.*/\1/p'
}
veryfast=$(say_speed --x264-preset veryfast)
superfast=$(say_speed)
ultrafast=$(say_speed --x264-preset ultrafast)

python3 - "$RESULTS" "$veryfast" "$ultrafast" "$superfast" "${rows[@]}" <<'PY'
import json, os, sys, time
results, vf, uf, sf = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [json.loads(r) for r in sys.argv[5:]]
print("| avatar at 720p | talking frame ms | idle frame ms | ratio | target |")
print("|----------------|------------------|---------------|-------|--------|")
for r in rows:
    ratio = r["talking_frame_ms"] / max(r["idle_frame_ms"], 1e-6)
    print(f"| {r['renderer']:<14} | {r['talking_frame_ms']:>16.3f} | {r['idle_frame_ms']:>13.5f} | {ratio:>5.0f} | "
          f"{'<= 3 ms met' if r['talking_frame_ms'] <= 3 else '<= 3 ms NOT met'} |")
print(f"talkcast say to 720p mp4: {sf:.1f}x realtime (default: x264 superfast), {vf:.1f}x (veryfast), "
      f"{uf:.1f}x (ultrafast); target >= 10x -> {'met' if sf >= 10 else 'NOT met'}")
data = json.load(open(results)) if os.path.exists(results) else {}
data["faces"] = {"renderers": rows, "say_x_realtime_superfast_default": sf, "say_x_realtime_veryfast": vf, "say_x_realtime_ultrafast": uf,
                 "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
json.dump(data, open(results, "w"), indent=2)
PY
