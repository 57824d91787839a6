#!/usr/bin/env bash
# say_video_lipsync — `talkcast say TEXT -o out.mp4` with the built-in
# avatar, judged on the decoded file: the mouth region moves with the
# sound (cross-correlation with the audio RMS peaks at lag 0 ± 1 frame,
# r ≥ 0.5; the audio shifted by 1 s gives r < 0.2), the picture above the
# face does not change, the timeline is exact (frames = fps × duration,
# audio as long as video). Then the same for the photo avatar and for a
# looping video with landmarks.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=say_video_lipsync
need ffmpeg ffprobe python3
tc_tmpdir
TC=$(tc_bin)

text="Papa made a map. Mama made a mop! How wonderful is that? Bob bought a big blue boat, and maybe more."
t0=$(now)
"$TC" say "$text" -o "$T/say.mp4" 2>"$T/say.log" || fail $NAME "say failed: $(tail -2 "$T/say.log")"
took=$(since "$t0")
why=$(probe_check "$T/say.mp4" --frames "$("$PY" -c "
import json,subprocess
d=json.loads(subprocess.run(['ffprobe','-v','error','-show_entries','format=duration','-of','json','$T/say.mp4'],capture_output=True,text=True).stdout)
print(round(float(d['format']['duration'])*30))")" --tol 0 --size 1280x720 --fps 30/1) || fail $NAME "timeline: $why"
note "file: $why; rendered in ${took} s"
# the vector face's mouth at 1280x720: centre (640, 410)
sync=$("$PY" "$TC_ROOT/tests/lipsync_check.py" "$T/say.mp4" 570 370 140 100) || fail $NAME "lip-sync: $sync"
note "lip-sync: $sync"

# The photo avatar: the astronaut with the landmarks shipped in assets/.
photo="${TC_SHARED_DIR:-$TC_ROOT/../shared}/avatars/astronaut.png"
[ -f "$photo" ] || fail $NAME "test portrait $photo missing"
"$TC" say "$text" -o "$T/photo.mp4" --avatar "$photo" --landmarks "$TC_ROOT/assets/avatars/astronaut.landmarks.json" \
  2>"$T/photo.log" || fail $NAME "say with the photo failed: $(tail -2 "$T/photo.log")"
# 512x512 padded into 1280x720: the mouth (223, 141) lands at (594, 198)
sync=$("$PY" "$TC_ROOT/tests/lipsync_check.py" "$T/photo.mp4" 540 180 110 70) || fail $NAME "photo lip-sync: $sync"
note "photo lip-sync: $sync"

# A looping video of the same portrait with landmarks beside it talks too.
ffmpeg -nostdin -v error -loop 1 -i "$photo" -t 1 -r 30 -c:v libx264 -qp 5 -pix_fmt yuv420p "$T/loop.mp4" \
  || fail $NAME "cannot make the video loop"
cp "$TC_ROOT/assets/avatars/astronaut.landmarks.json" "$T/loop.landmarks.json"
"$TC" say "$text" -o "$T/loop-say.mp4" --avatar "$T/loop.mp4" 2>"$T/loop.log" \
  || fail $NAME "say with the video loop failed: $(tail -2 "$T/loop.log")"
sync=$("$PY" "$TC_ROOT/tests/lipsync_check.py" "$T/loop-say.mp4" 540 180 110 70) || fail $NAME "video-loop lip-sync: $sync"
note "video-loop lip-sync: $sync"
pass $NAME
