#!/usr/bin/env bash
# face_remote — a remote talking-face provider (docs/face-provider.md),
# end to end, with its failures. At 320x240 so that it stays quick.
#   - `talkcast face-serve --stamp` + `talkcast say --face-provider`: every
#     picture of the speech came from the provider (its white stamp is in
#     the frames, and not in a local render), the timeline is exact; the
#     contract's error answers (401, 404, 400) as documented; with
#     --renderer vector the provider's mouth follows the sound (lip-sync
#     correlation as in say_video_lipsync); a video avatar continues its
#     loop where the local one would be (PSNR against a local render); a
#     photo's landmarks go along with it (PUT …/landmarks) and face-serve's
#     own renderer makes the portrait talk (lip-sync again), landmarks that
#     do not fit are refused with 422; a wrong key leaves the face to the
#     local renderer, and the video is still whole.
#   - misbehaving providers (tests/face_fake.py) under `say`: slow beyond the
#     frame deadline, dying mid-stream, frames of the wrong size, parts that
#     are not pictures, nothing listening: the file is always complete with
#     its speech, and the counters say what happened.
#   - a live `run` with a broker: provider down at start (local face,
#     /healthz says DOWN), then up (it is used: /metrics counts provider
#     frames), then replaced by a slow one (frames are drawn locally, the
#     message is still spoken), one that dies mid-stream (failures
#     counted), one that wants another key (/healthz shows the 401,
#     fallbacks counted); every message is spoken; the recording has no gap.
# timeout 150
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=face_remote
need ffmpeg ffprobe curl
tc_tmpdir
TC=$(tc_bin)
SZ=(--width 320 --height 240 --metrics-listen "")
text="Hello there. This picture comes from far away, frame by frame."

# pix FILE SECONDS X Y: the luma of pixel (X,Y) of the frame at SECONDS
pix() {
  ffmpeg -v error -ss "$2" -i "$1" -frames:v 1 -f rawvideo -pix_fmt gray -y "$T/pix.raw"
  "$PY" -c "import sys; d=open('$T/pix.raw','rb').read(); print(d[$4*320+$3])"
}
# fstat LOG KEY: KEY's value on say's "face provider:" line
fstat() { sed -n "s/.*face provider:.*[ \"]$2=\([0-9]*\).*/\1/p" "$1" | tail -n 1; }
# whole FILE: the video is as long as its audio and every frame is there
whole() {
  local d f
  d=$(ffprobe_duration "$1" v:0)
  f=$("$PY" -c "print(round($d*30))")
  probe_check "$1" --frames "$f" --tol 0 --size 320x240 --fps 30/1 >/dev/null || return 1
  # speech in the middle of the file: not silence
  local mx
  mx=$(ffmpeg -v info -ss 1.0 -t 1.5 -i "$1" -af volumedetect -f null - 2>&1 | sed -n 's/.*max_volume: \(-*[0-9.]*\) dB/\1/p')
  [ -n "$mx" ] && fcheck "$mx > -30"
}

# ---- face-serve, the reference provider ------------------------------------------------------
P1=$(free_port)
bg "$TC" face-serve --listen "127.0.0.1:$P1" --api-key k1 --stamp 2>"$T/serve.log"
base=http://127.0.0.1:$P1
for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer k1' "$base/v1/health")" = 200 ] && break; sleep 0.1; done
[ "$(curl -s -o "$T/b" -w '%{http_code}' "$base/v1/health")" = 401 ] || fail $NAME "health without the key is not 401"
grep -q '"error":"unauthorized"' "$T/b" || fail $NAME "401 body is not the documented JSON: $(cat "$T/b")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I -H 'Authorization: Bearer k1' "$base/v1/avatars/$(printf '%064d' 0)")" = 404 ] \
  || fail $NAME "HEAD of an unknown avatar is not 404"
[ "$(curl -s -o "$T/b" -w '%{http_code}' -H 'Authorization: Bearer k1' -X POST --data-binary @/dev/null \
  "$base/v1/generate?avatar=nothex&width=320&height=240")" = 400 ] || fail $NAME "generate with a bad id is not 400"
# the curl example of docs/face-provider.md, verbatim in spirit: upload, then generate
ffmpeg -v error -f lavfi -i color=c=0x3050a0:s=320x240 -frames:v 1 -y "$T/avatar.png"
id=$(sha256sum "$T/avatar.png" | cut -d' ' -f1)
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer k1' -H 'Content-Type: image/png' \
  --data-binary @"$T/avatar.png" "$base/v1/avatars/$id")" = 201 ] || fail $NAME "PUT avatar not 201"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer k1' --data-binary @/dev/null \
  "$base/v1/avatars/$id")" = 400 ] || fail $NAME "PUT with a body that is not the id's is not 400"
ffmpeg -v error -f lavfi -i sine=frequency=300:duration=0.5:sample_rate=48000 -ac 1 -c:a pcm_s16le -y "$T/tone.wav"
curl -s -D "$T/h" -o "$T/frames.bin" -H 'Authorization: Bearer k1' -H 'Content-Type: audio/wav' \
  --data-binary @"$T/tone.wav" "$base/v1/generate?avatar=$id&mode=audio&fps=30&width=320&height=240" \
  || fail $NAME "curl generate failed"
grep -qi '^content-type: multipart/x-mixed-replace; boundary=' "$T/h" || fail $NAME "generate: $(head -c 200 "$T/h")"
parts=$(grep -c 'X-Frame-Index:' "$T/frames.bin" || true)
[ "$parts" = 15 ] || fail $NAME "0.5 s at 30 fps should be 15 parts, got $parts"
note "face-serve: 401/404/400/201 as documented; curl generate: $parts JPEG parts"

"$TC" say "$text" -o "$T/remote.mp4" "${SZ[@]}" --face-provider "$base" --face-api-key k1 2>"$T/say1.log" \
  || fail $NAME "say with face-serve failed: $(tail -n 2 "$T/say1.log")"
"$TC" say "$text" -o "$T/local.mp4" "${SZ[@]}" 2>"$T/say0.log" || fail $NAME "local say failed"
whole "$T/remote.mp4" || fail $NAME "remote.mp4 is not whole"
fr=$(fstat "$T/say1.log" frames_remote); fl=$(fstat "$T/say1.log" frames_local)
[ -n "$fr" ] && [ "$fr" -gt 60 ] && [ "$fl" = 0 ] || fail $NAME "face-serve: frames_remote=$fr frames_local=$fl"
# the stamp: in provider frames (mid-speech), not in the idle lead-in nor in a local render
s_mid=$(pix "$T/remote.mp4" 3.0 5 5); s_lead=$(pix "$T/remote.mp4" 0.2 5 5); s_loc=$(pix "$T/local.mp4" 3.0 5 5)
[ "$s_mid" -gt 245 ] && [ "$s_lead" -lt 235 ] && [ "$s_loc" -lt 235 ] \
  || fail $NAME "stamp luma: provider frame $s_mid (want >245), lead-in $s_lead, local $s_loc (want <235)"
note "say via face-serve: $fr provider frames, 0 local; stamp luma $s_mid (local render: $s_loc)"

# lip-sync through the provider: face-serve --renderer vector moves the
# built-in face's mouth from the audio alone; judged like say_video_lipsync
P2=$(free_port)
bg "$TC" face-serve --listen "127.0.0.1:$P2" --renderer vector 2>"$T/serve-vector.log"
sv=$LAST_PID
for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/v1/health")" = 200 ] && break; sleep 0.1; done
"$TC" say "Papa made a map. Mama made a mop! How wonderful is that? Bob bought a big blue boat, and maybe more." \
  -o "$T/lips.mp4" --width 640 --height 360 --metrics-listen "" --face-provider "http://127.0.0.1:$P2" 2>"$T/say-lips.log" \
  || fail $NAME "say for lip-sync failed"
[ "$(fstat "$T/say-lips.log" frames_local)" = 0 ] || fail $NAME "lip-sync: frames drawn locally"
sync=$("$PY" "$TC_ROOT/tests/lipsync_check.py" "$T/lips.mp4" 285 185 70 50) || fail $NAME "lip-sync via the provider: $sync"
note "lip-sync via face-serve --renderer vector: $sync"
kill "$sv"

# the landmarks extension: a photo's landmarks go along with it, and
# face-serve's own renderer (auto) then makes the still portrait talk
P5=$(free_port)
bg "$TC" face-serve --listen "127.0.0.1:$P5" 2>"$T/serve-photo.log"
sph=$LAST_PID
for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P5/v1/health")" = 200 ] && break; sleep 0.1; done
photo=${TC_SHARED_DIR:-$TC_ROOT/../shared}/avatars/astronaut.png
lm=$TC_ROOT/assets/avatars/astronaut.landmarks.json
pid_=$(sha256sum "$photo" | cut -d' ' -f1)
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$lm" "http://127.0.0.1:$P5/v1/avatars/$pid_/landmarks")" = 404 ] \
  || fail $NAME "landmarks for an avatar not uploaded yet: want 404"
"$TC" say "Papa made a map. Mama made a mop! How wonderful is that? Bob bought a big blue boat, and maybe more." \
  -o "$T/photo.mp4" --metrics-listen "" --avatar "$photo" --landmarks "$lm" --face-provider "http://127.0.0.1:$P5" \
  2>"$T/say-photo.log" || fail $NAME "say with the photo via face-serve failed: $(tail -n 2 "$T/say-photo.log")"
grep -q "landmarks of avatar .* sent to the provider" "$T/say-photo.log" || fail $NAME "the landmarks were not sent"
grep -q "landmarks of avatar .* stored: it talks with the photo renderer" "$T/serve-photo.log" \
  || fail $NAME "face-serve did not take the landmarks: $(tail -n 3 "$T/serve-photo.log")"
[ "$(fstat "$T/say-photo.log" frames_local)" = 0 ] || fail $NAME "photo via the provider: frames drawn locally"
# 512x512 padded into 1280x720: the mouth (223, 141) lands at (594, 198)
sync=$("$PY" "$TC_ROOT/tests/lipsync_check.py" "$T/photo.mp4" 540 180 110 70) \
  || fail $NAME "photo lip-sync through the provider: $sync"
note "photo + landmarks via face-serve (auto renderer): $sync"
# landmarks that do not fit the picture are refused, and nothing is stored
printf '{"mouth_left":[900,141],"mouth_right":[944,141],"upper_lip":[923,138],"lower_lip":[923,152],"chin":[924,176]}' >"$T/bad-lm.json"
[ "$(curl -s -o "$T/b" -w '%{http_code}' -X PUT --data-binary @"$T/bad-lm.json" "http://127.0.0.1:$P5/v1/avatars/$pid_/landmarks")" = 422 ] \
  || fail $NAME "landmarks outside the picture: want 422, got $(cat "$T/b")"
kill "$sph"

# PNG parts instead of JPEG
P4=$(free_port)
bg "$TC" face-serve --listen "127.0.0.1:$P4" --png 2>"$T/serve-png.log"
sp=$LAST_PID
for _ in $(seq 1 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P4/v1/health")" = 200 ] && break; sleep 0.1; done
"$TC" say "$text" -o "$T/png.mp4" "${SZ[@]}" --face-provider "http://127.0.0.1:$P4" 2>"$T/say-png.log" || fail $NAME "say via PNG failed"
[ "$(fstat "$T/say-png.log" frames_local)" = 0 ] && [ "$(fstat "$T/say-png.log" frames_remote)" -gt 60 ] \
  || fail $NAME "PNG parts: $(grep 'face provider:' "$T/say-png.log")"
kill "$sp"

# a video avatar (mode=video): the provider continues the loop from the
# frame the segment starts at, so its frames match a local render's
ffmpeg -v error -f lavfi -i testsrc=s=320x240:r=30:d=2 -pix_fmt yuv420p -y "$T/loop.mp4"
for how in remote local; do
  extra=()
  [ "$how" = remote ] && extra=(--face-provider "$base" --face-api-key k1)
  "$TC" say "A video avatar, from far away." -o "$T/vid-$how.mp4" --avatar "$T/loop.mp4" "${SZ[@]}" "${extra[@]}" \
    2>"$T/say-vid-$how.log" || fail $NAME "say with a video avatar ($how) failed"
done
[ "$(fstat "$T/say-vid-remote.log" frames_remote)" -gt 30 ] || fail $NAME "video avatar: no provider frames"
# below the stamp: every frame within coding noise of the local one
ffmpeg -v error -i "$T/vid-remote.mp4" -i "$T/vid-local.mp4" \
  -lavfi "[0:v]crop=320:200:0:40[a];[1:v]crop=320:200:0:40[b];[a][b]psnr=stats_file=$T/psnr.txt" -f null -
minpsnr=$(sed -n 's/.*psnr_avg:\([0-9.inf]*\).*/\1/p' "$T/psnr.txt" | sort -g | head -n 1)
fcheck "float('$minpsnr') > 30" || fail $NAME "video avatar via the provider differs from the local loop: min PSNR $minpsnr dB"
note "video avatar via the provider: min PSNR $minpsnr dB against the local render"

# a wrong key: the provider refuses, the local face speaks, the file is whole
"$TC" say "$text" -o "$T/badkey.mp4" "${SZ[@]}" --face-provider "$base" --face-api-key nope 2>"$T/say2.log" \
  || fail $NAME "say with a wrong key failed"
whole "$T/badkey.mp4" || fail $NAME "badkey.mp4 is not whole"
grep -q 'HTTP 401' "$T/say2.log" || fail $NAME "a wrong key is not reported as 401"
grep -q 'nope' "$T/say2.log" && fail $NAME "the API key is in the log"
[ "$(fstat "$T/say2.log" frames_remote)" = 0 ] && [ "$(fstat "$T/say2.log" up)" = 0 ] \
  || fail $NAME "wrong key: $(grep 'face provider:' "$T/say2.log")"
[ "$(pix "$T/badkey.mp4" 3.0 5 5)" -lt 235 ] || fail $NAME "wrong key, yet stamped frames"
note "wrong key: 401, up=0, fallbacks=$(fstat "$T/say2.log" fallbacks), video whole"

# ---- misbehaving providers -------------------------------------------------------------------
ffmpeg -v error -f lavfi -i color=c=0x303030:s=160x120 -frames:v 1 -q:v 2 -y "$T/fake.jpg"
flat=$(ffmpeg -v error -i "$T/fake.jpg" -f rawvideo -pix_fmt gray - | "$PY" -c "import sys; print(sys.stdin.buffer.read()[60*160+80])")
fake() { # fake NAME MODE ARGS...: start tests/face_fake.py on a new port; sets FAKE_PORT, FAKE_PID
  FAKE_PORT=$(free_port)
  bg "$PYSYS" "$TC_ROOT/tests/face_fake.py" --port "$FAKE_PORT" --jpeg "$T/fake.jpg" --stats "$T/fake-$1.json" --mode "${@:2}" \
    >"$T/fake-$1.log" 2>&1
  FAKE_PID=$LAST_PID
  wait_for_log "$T/fake-$1.log" listening 10 || fail $NAME "fake provider ($1) did not start"
}
say_fake() { # say_fake NAME EXTRA...: say through the fake; the file must be whole
  "$TC" say "$text" -o "$T/$1.mp4" "${SZ[@]}" --face-provider "http://127.0.0.1:$FAKE_PORT" "${@:2}" 2>"$T/say-$1.log" \
    || fail $NAME "$1: say failed: $(tail -n 2 "$T/say-$1.log")"
  whole "$T/$1.mp4" || fail $NAME "$1: the video is not whole"
  note "$1: $(sed -n 's/.*face provider: //p' "$T/say-$1.log" | cut -c1-220)"
}

fake wrongsize ok
say_fake wrongsize
[ "$(fstat "$T/say-wrongsize.log" resized)" -gt 0 ] || fail $NAME "160x120 frames not counted as resized"
[ "$(grep -c 'they are fitted' "$T/say-wrongsize.log")" = 1 ] || fail $NAME "the resize warning is not logged exactly once"
g=$(pix "$T/wrongsize.mp4" 3.0 160 120)
fcheck "abs($g - $flat) <= 12" || fail $NAME "wrong-size frame not fitted on air: luma $g, the provider's $flat"
kill "$FAKE_PID"

fake die die --after 10
say_fake die
# each sentence's request dies after 10 frames: 10 from the provider, the rest local
nreq=$(fstat "$T/say-die.log" requests)
[ "$nreq" -ge 1 ] && [ "$(fstat "$T/say-die.log" frames_remote)" = $((10 * nreq)) ] \
  && [ "$(fstat "$T/say-die.log" failures)" = "$nreq" ] && [ "$(fstat "$T/say-die.log" frames_local)" -gt 30 ] \
  || fail $NAME "died mid-stream: counters wrong"
kill "$FAKE_PID"

fake slow slow --delay 1
t0=$(now)
say_fake slow --face-frame-deadline 0.05
took=$(since "$t0")
fl=$(fstat "$T/say-slow.log" frames_local)
[ "$fl" -gt 60 ] || fail $NAME "slow provider: only $fl frames drawn locally"
fcheck "$took < 20" || fail $NAME "slow provider: say took $took s"
kill "$FAKE_PID"

fake garbage garbage
say_fake garbage
[ "$(fstat "$T/say-garbage.log" bad)" -gt 10 ] && [ "$(fstat "$T/say-garbage.log" frames_remote)" -gt 10 ] \
  || fail $NAME "garbage parts: counters wrong"
kill "$FAKE_PID"

FAKE_PORT=$(free_port) # nothing listens
say_fake down
[ "$(fstat "$T/say-down.log" frames_remote)" = 0 ] && [ "$(fstat "$T/say-down.log" fallbacks)" -ge 1 ] \
  && [ "$(fstat "$T/say-down.log" requests)" = 0 ] || fail $NAME "provider down: counters wrong"

# ---- live: down at start, then up, then slow -------------------------------------------------
rmq_start
P3=$(free_port)
bg "$TC" run -o "$T/live.mkv" --amqp-url "$AMQP_URL" --queue face --width 320 --height 240 \
  --face-provider "http://127.0.0.1:$P3" --face-health-interval 0.3 --metrics-listen 127.0.0.1:0 2>"$T/run.log"
tc=$LAST_PID
mp=$(metrics_port "$T/run.log") || fail $NAME "no metrics port"
wait_queue face || fail $NAME "talkcast did not declare its queue"
events_listen || fail $NAME "could not listen to events"
wait_status "http://127.0.0.1:$mp/healthz" 200 10 || fail $NAME "/healthz not 200"
grep -q 'face provider DOWN' "$T/http.body" || fail $NAME "/healthz does not say the provider is down: $(cat "$T/http.body")"
bg "$TC" face-serve --listen "127.0.0.1:$P3" --stamp 2>"$T/serve2.log"
serve2=$LAST_PID
for _ in $(seq 1 50); do
  http_status "http://127.0.0.1:$mp/healthz" >/dev/null
  grep -q 'face provider up' "$T/http.body" && break
  sleep 0.1
done
grep -q 'face provider up' "$T/http.body" || fail $NAME "/healthz does not see the provider come up: $(cat "$T/http.body")"
broker publish "$AMQP_URL" face '{"type":"text","id":"m1","text":"The provider is up now, and it draws me."}'
broker wait-events "$T/events.jsonl" finished 1 30 || fail $NAME "m1 not spoken"
curl -s "http://127.0.0.1:$mp/metrics" >"$T/m1.txt"
prov1=$(metric "$T/m1.txt" 'talkcast_face_frames_total{stream="talkcast",source="provider"}')
loc1=$(metric "$T/m1.txt" 'talkcast_face_frames_total{stream="talkcast",source="local"}')
[ "$(metric "$T/m1.txt" 'talkcast_face_provider_up{stream="talkcast"}')" = 1 ] || fail $NAME "provider_up not 1"
[ -n "$prov1" ] && [ "$prov1" -gt 30 ] || fail $NAME "live: only '$prov1' provider frames on air (local: $loc1)"
note "live, provider up: $prov1 provider frames, $loc1 drawn locally"

# the provider is replaced by a slow one (which does not know the avatar yet)
kill "$serve2"; wait_rc "$serve2"
bg "$PYSYS" "$TC_ROOT/tests/face_fake.py" --port "$P3" --jpeg "$T/fake.jpg" --mode slow --delay 0.5 \
  --stats "$T/fake-live.json" >"$T/fake-live.log" 2>&1
LIVE_FAKE=$LAST_PID
wait_for_log "$T/fake-live.log" listening 10 || fail $NAME "slow fake did not start"
sleep 0.5
broker publish "$AMQP_URL" face '{"type":"text","id":"m2","text":"Now the provider is slow, but I am not."}'
broker wait-events "$T/events.jsonl" finished 2 30 || fail $NAME "m2 not spoken with a slow provider"
curl -s "http://127.0.0.1:$mp/metrics" >"$T/m2.txt"
loc2=$(metric "$T/m2.txt" 'talkcast_face_frames_total{stream="talkcast",source="local"}')
prov2=$(metric "$T/m2.txt" 'talkcast_face_frames_total{stream="talkcast",source="provider"}')
fcheck "$loc2 - $loc1 > 40" || fail $NAME "slow provider: only $((loc2 - loc1)) frames drawn locally"
grep -q '"uploads": 1' "$T/fake-live.json" || fail $NAME "the avatar was not uploaded again to the new provider"
note "live, slow provider: $((loc2 - loc1)) frames drawn locally, $((prov2 - prov1)) from it in time"

# swap_fake MODE ARGS...: the provider on P3 becomes tests/face_fake.py in MODE
swap_fake() {
  kill "$LIVE_FAKE"; wait_rc "$LIVE_FAKE"
  bg "$PYSYS" "$TC_ROOT/tests/face_fake.py" --port "$P3" --jpeg "$T/fake.jpg" --stats "$T/fake-live-$1.json" --mode "$@" \
    >"$T/fake-live-$1.log" 2>&1
  LIVE_FAKE=$LAST_PID
  wait_for_log "$T/fake-live-$1.log" listening 10 || fail $NAME "fake ($1) did not start"
}
# it dies mid-stream: the rest of each sentence is drawn locally, counted
swap_fake die --after 5
sleep 0.5
broker publish "$AMQP_URL" face '{"type":"text","id":"m3","text":"This provider dies in the middle of my sentence."}'
broker wait-events "$T/events.jsonl" finished 3 30 || fail $NAME "m3 not spoken with a dying provider"
curl -s "http://127.0.0.1:$mp/metrics" >"$T/m3.txt"
fail3=$(metric "$T/m3.txt" 'talkcast_face_request_failures_total{stream="talkcast"}')
[ -n "$fail3" ] && [ "$fail3" -ge 1 ] || fail $NAME "a provider dying mid-stream is not counted: failures=$fail3"
note "live, dying provider: $fail3 failed requests, m3 spoken"
# it wants a key we do not have: /healthz says so, speech goes on locally
swap_fake auth
for _ in $(seq 1 50); do
  http_status "http://127.0.0.1:$mp/healthz" >/dev/null
  grep -q 'HTTP 401' "$T/http.body" && break
  sleep 0.1
done
grep -q 'face provider DOWN.*HTTP 401' "$T/http.body" || fail $NAME "/healthz does not show the 401: $(cat "$T/http.body")"
fb0=$(metric "$T/m3.txt" 'talkcast_face_fallbacks_total{stream="talkcast"}')
broker publish "$AMQP_URL" face '{"type":"text","id":"m4","text":"Nobody draws me now, so I draw myself."}'
broker wait-events "$T/events.jsonl" finished 4 30 || fail $NAME "m4 not spoken with a provider that refuses us"
curl -s "http://127.0.0.1:$mp/metrics" >"$T/m4.txt"
fb4=$(metric "$T/m4.txt" 'talkcast_face_fallbacks_total{stream="talkcast"}')
[ "$fb4" -gt "$fb0" ] || fail $NAME "refused provider: fallbacks $fb0 -> $fb4"
[ "$(metric "$T/m4.txt" 'talkcast_face_provider_up{stream="talkcast"}')" = 0 ] || fail $NAME "provider_up not 0 on 401"
note "live, 401: /healthz '$(grep 'face provider' "$T/http.body" | cut -c1-150)'; fallbacks $fb0 -> $fb4"

kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
d=$(ffprobe_duration "$T/live.mkv" v:0)
n=$(ffprobe_count_frames "$T/live.mkv")
fcheck "abs($n - $d * 30) <= 2" || fail $NAME "live recording has a gap: $n frames in $d s"
grep -q 'face provider up=' "$T/run.log" || fail $NAME "no face provider line in the final report"
if grep -q 'level=error' "$T/run.log"; then fail $NAME "errors in the log: $(grep 'level=error' "$T/run.log" | head -n 3)"; fi
note "live recording: $n frames in $d s; $(sed -n 's/.*msg="face provider \(up=.*\)"/\1/p' "$T/run.log" | cut -c1-200)"
pass $NAME
