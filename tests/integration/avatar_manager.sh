#!/usr/bin/env bash
# avatar_manager — `talkcast avatar` end to end, then a stored avatar put on
# the air mid-stream. Checks:
#   - add a local file and an http URL (a local server on 127.0.0.1 that
#     drops the first transfer half-way: the add resumes it), an add killed
#     with SIGKILL mid-download that the next add resumes, list (table and
#     --json), a second version, remove, gc under a cap (the old version
#     goes, the current one stays), and the cap an add applies itself;
#   - every refusal has its exit code and a clear message: 404 (4), wrong
#     sha256 (3), not an avatar (3), a name a legacy file answers to (2),
#     connection refused (1), unknown name (4) — and leaves nothing behind;
#   - a live `talkcast run` with a private broker, recording to a file:
#     set_avatar to a stored name mid-stream; the recording shows the vector
#     avatar before and the stored picture after, with no video gap over one
#     frame + 2 ms, no hole between audio packets over 2 ms, and audio as
#     long as video; the log says how long the
#     load took; a stored name whose object was replaced by a link out of
#     the directory is refused like any other escape.
# timeout 150
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=avatar_manager
need ffmpeg ffprobe curl
tc_tmpdir
TC=$(tc_bin)
A=$T/avatars
mkdir -p "$A" "$T/www"
png() { ffmpeg -nostdin -v error -f lavfi -i "color=c=$2:s=320x180" -frames:v 1 -y "$1"; }
png "$T/green.png" 0x00c000
png "$T/www/blue.png" 0x0000c0
png "$T/magenta.png" 0xc000c0
png "$A/legacy.png" 0x808080
echo "not a picture" >"$T/www/junk.png"
export TALKCAST_AVATAR_DIR=$A

# the download server (tests/avatar/avatar_http_server.py: /MODE/FILE)
"$PY" "$TC_ROOT/tests/avatar/avatar_http_server.py" "$T/www" "$T/requests.log" >"$T/http.port" 2>"$T/http.log" &
srv=$!
for _ in $(seq 50); do grep -q PORT= "$T/http.port" && break; sleep 0.1; done
H=http://127.0.0.1:$(sed -n 's/^PORT=//p' "$T/http.port")
[ "$H" != "http://127.0.0.1:" ] || fail $NAME "the HTTP server did not start"

# ---- add, list -----------------------------------------------------------------
"$TC" avatar add "$T/green.png" --name greeny >"$T/add1.out" 2>"$T/add1.err" || fail $NAME "add of a file failed: $(cat "$T/add1.err")"
grep -q '^added greeny: image' "$T/add1.out" || fail $NAME "add said: $(cat "$T/add1.out")"
blue_sha=$(sha256sum "$T/www/blue.png" | cut -d' ' -f1)
"$TC" avatar add "$H/drop/blue.png" --name sky --sha256 "$blue_sha" >"$T/add2.out" 2>"$T/add2.err" \
  || fail $NAME "add of a URL failed: $(cat "$T/add2.err")"
grep -q 'download resumed' "$T/add2.out" || fail $NAME "the dropped download was not resumed: $(cat "$T/add2.out")"
grep -q '"status": 206' "$T/requests.log" || fail $NAME "no 206 answer in the server's log"
note "$(cat "$T/add1.out") / $(cat "$T/add2.out")"
"$TC" avatar list >"$T/list.out" || fail $NAME "list failed"
grep -qE '^greeny +image ' "$T/list.out" || fail $NAME "list lacks greeny: $(cat "$T/list.out")"
grep -qE "^sky +image .* ${blue_sha:0:12} +1 " "$T/list.out" || fail $NAME "list lacks sky with its sha: $(cat "$T/list.out")"

# ---- an add killed (SIGKILL) mid-download: the next add resumes it -----------------
ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=1280x720,geq=random(1)*255:random(2)*255:128" -frames:v 1 -y "$T/www/noise.png"
size=$(stat -c %s "$T/www/noise.png")
"$TC" avatar add "$H/slow/noise.png" >"$T/kill.out" 2>&1 &
adder=$!
part=
for _ in $(seq 100); do
  part=$(find "$A/.store/partial" -name '*.part' -size +100k 2>/dev/null | head -n 1)
  [ -n "$part" ] && break
  sleep 0.05
done
[ -n "$part" ] || fail $NAME "the slow download did not start"
kill -KILL "$adder"
wait "$adder" 2>/dev/null || true
got=$(stat -c %s "$part")
[ "$got" -lt "$size" ] || fail $NAME "the download finished before the kill ($got of $size bytes)"
"$TC" avatar list | grep -q '^noise ' && fail $NAME "a killed add is listed"
"$TC" avatar add "$H/slow/noise.png" >"$T/resume.out" 2>"$T/resume.err" || fail $NAME "the add after a kill failed: $(cat "$T/resume.err")"
grep -q 'download resumed' "$T/resume.out" || fail $NAME "the add after a kill started over: $(cat "$T/resume.out")"
grep -q "\"range\": \"bytes=$got-\"" "$T/requests.log" || fail $NAME "no Range request from byte $got: $(tail -n 2 "$T/requests.log")"
[ "$(sha256sum "$T/www/noise.png" | cut -d' ' -f1)" = "$(jget "$("$TC" avatar list --json)" '[e for e in j if e["name"]=="noise"][0]["current"]')" ] \
  || fail $NAME "the resumed download is not the file"
note "killed at $got of $size bytes; the next add resumed there: $(cat "$T/resume.out")"
"$TC" avatar remove noise >/dev/null || fail $NAME "remove noise failed"

# ---- refusals --------------------------------------------------------------------
expect 4 "404" 'HTTP 404' "$TC" avatar add "$H/404/blue.png" --name nope
expect 3 "wrong sha256" 'not the 0{64} asked for' "$TC" avatar add "$H/ok/blue.png" --name nope --sha256 "$(printf '0%.0s' $(seq 64))"
expect 3 "not an avatar" 'not an avatar' "$TC" avatar add "$H/ok/junk.png" --name nope
expect 2 "legacy name" "taken by a file" "$TC" avatar add "$T/green.png" --name legacy
expect 2 "bad name" 'cannot be an avatar name' "$TC" avatar add "$T/green.png" --name ../x
port=$(free_port)
expect 1 "refused" 'connection refused' "$TC" avatar add "http://127.0.0.1:$port/x.png" --retries 0
expect 4 "remove unknown" "no stored avatar 'nope'" "$TC" avatar remove nope
left=$(find "$A/.store/tmp" "$A/.store/partial" -mindepth 1 ! -name .lock)
[ -z "$left" ] || fail $NAME "refusals left files: $left"
"$TC" avatar list --json >"$T/list.json"
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert sorted(e["name"] for e in j) == ["greeny", "sky"], j' "$T/list.json" \
  || fail $NAME "refusals changed the store: $(cat "$T/list.json")"

# ---- versions, remove, gc ----------------------------------------------------------
"$TC" avatar add "$T/magenta.png" --name sky >/dev/null 2>"$T/add3.err" || fail $NAME "second version: $(cat "$T/add3.err")"
"$TC" avatar add "$T/magenta.png" --name tmpav >/dev/null 2>&1 || fail $NAME "add tmpav failed"
"$TC" avatar remove tmpav >/dev/null || fail $NAME "remove failed"
"$TC" avatar list --json >"$T/list.json"
"$PY" - "$T/list.json" "$blue_sha" <<'PY' || fail $NAME "versions wrong: $(cat "$T/list.json")"
import json, sys
j = {e["name"]: e for e in json.load(open(sys.argv[1]))}
assert sorted(j) == ["greeny", "sky"], sorted(j)
sky = j["sky"]
assert len(sky["versions"]) == 2 and sky["current"] != sys.argv[2], sky
assert [v["sha"] for v in sky["versions"] if not v["current"]] == [sys.argv[2]], sky
PY
objs=$(find "$A/.store/objects" -mindepth 1 -maxdepth 1 | wc -l)
[ "$objs" = 3 ] || fail $NAME "$objs objects for green, blue, magenta (tmpav's is shared with sky)"
expect 2 "remove current" 'current version' "$TC" avatar remove sky --version "$(jget "$(cat "$T/list.json")" '[e for e in j if e["name"]=="sky"][0]["current"][:12]')"
"$TC" avatar gc --max-size 0 >"$T/gc.out" 2>"$T/gc.err" || fail $NAME "gc failed: $(cat "$T/gc.err")"
note "gc: $(cat "$T/gc.out")"
[ ! -e "$A/.store/objects/$blue_sha" ] || fail $NAME "gc under a cap of 0 kept sky's old version"
objs=$(find "$A/.store/objects" -mindepth 1 -maxdepth 1 | wc -l)
[ "$objs" = 2 ] || fail $NAME "after gc: $objs objects, want the 2 current ones"
grep -qE '^sky +image .* 1 ' <("$TC" avatar list) || fail $NAME "sky still lists 2 versions after gc"
# the cap an add applies by itself: back to blue, magenta (now old) goes at once
mag_sha=$(sha256sum "$T/magenta.png" | cut -d' ' -f1)
"$TC" avatar add "$H/ok/blue.png" --name sky --max-size 0 >"$T/add4.out" 2>"$T/add4.err" || fail $NAME "add with a cap: $(cat "$T/add4.err")"
grep -q 'removed .* of old versions' "$T/add4.out" || fail $NAME "add under a cap of 0 removed nothing: $(cat "$T/add4.out")"
[ ! -e "$A/.store/objects/$mag_sha" ] || fail $NAME "the add's cap kept sky's old version"
[ -e "$A/.store/objects/$blue_sha" ] || fail $NAME "the add's cap removed the new current version"
expect 2 "bad --max-size" 'not a valid number' "$TC" avatar gc --max-size lots

# ---- set_avatar to a stored name, live -------------------------------------------------
# a stored name whose object was swapped for a link out of the directory
png "$T/evil.png" 0xc0c000
"$TC" avatar add "$T/evil.png" --name evil >/dev/null 2>&1 || fail $NAME "add evil failed"
evil_sha=$(sha256sum "$T/evil.png" | cut -d' ' -f1)
mkdir -p "$T/outside"
mv "$A/.store/objects/$evil_sha" "$T/outside/"
ln -s "$T/outside/$evil_sha" "$A/.store/objects/$evil_sha"
rmq_start
bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue av --width 320 --height 180 --fps 25 \
  --duration 14 --metrics-listen 127.0.0.1:0 2>"$T/talkcast.log"
tc=$LAST_PID
wait_queue av.control || fail $NAME "talkcast did not declare its queues"
wait_for_log "$T/talkcast.log" 'streaming ' 10 || fail $NAME "talkcast did not start streaming"
events_listen || fail $NAME "could not listen to events"
sleep 3
broker publish "$AMQP_URL" av.control '{"type":"control","command":"set_avatar","id":"ev1","args":{"avatar":"evil"}}'
broker wait-events "$T/events.jsonl" failed 1 10 || fail $NAME "set_avatar to a stored name that leads out was not refused"
grep -q 'leads out of' "$T/events.jsonl" || fail $NAME "the refusal does not say why: $(grep failed "$T/events.jsonl")"
sleep 1
broker publish "$AMQP_URL" av.control '{"type":"control","command":"set_avatar","id":"sw1","args":{"avatar":"greeny"}}'
wait_for_log "$T/talkcast.log" 'avatar is now greeny' 10 || fail $NAME "no 'avatar is now greeny' in the log"
loaded=$(grep -o 'avatar is now greeny ([a-z]*, loaded in [0-9.]* ms)' "$T/talkcast.log")
note "$loaded"
broker publish "$AMQP_URL" av '{"type":"text","id":"t1","text":"Hello from the stored avatar."}'
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
probe_check "$T/out.mkv" --frames 350 --tol 3 --size 320x180 >"$T/probe.out" 2>&1 || fail $NAME "recording: $(cat "$T/probe.out")"
note "$(cat "$T/probe.out")"
# audio without holes: each AAC packet starts where the one before ended
"$PY" - "$T/out.mkv" <<'PY' >"$T/agap.out" 2>&1 || fail $NAME "audio: $(tail -n 1 "$T/agap.out")"
import json, subprocess, sys
p = json.loads(subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                               "packet=pts_time,duration_time", "-of", "json", sys.argv[1]],
                              capture_output=True, check=True, text=True).stdout)["packets"]
pk = sorted((float(x["pts_time"]), float(x["duration_time"])) for x in p)
gap = max((b[0] - (a[0] + a[1]) for a, b in zip(pk, pk[1:])), default=0.0)
print(f"audio packets={len(pk)} largest hole={gap * 1000:.1f} ms")
sys.exit(0 if gap <= 0.002 else 1)
PY
note "$(cat "$T/agap.out")"
# the picture: not green at 2 s (the vector avatar), green over the whole frame at 12 s
rgb() { ffmpeg -nostdin -v error -ss "$2" -i "$1" -frames:v 1 -vf scale=1:1 -f rawvideo -pix_fmt rgb24 - | od -An -tu1 | xargs; }
before=$(rgb "$T/out.mkv" 2)
after=$(rgb "$T/out.mkv" 12)
note "mean colour at 2 s: $before, at 12 s: $after"
read -r r g b <<<"$after"
if ! { [ "$g" -gt 150 ] && [ "$r" -lt 40 ] && [ "$b" -lt 40 ]; }; then
  fail $NAME "the stored green avatar is not on the air at 12 s (mean RGB $after)"
fi
read -r r g b <<<"$before"
{ [ "$g" -gt 150 ] && [ "$r" -lt 40 ] && [ "$b" -lt 40 ]; } && fail $NAME "the recording is green before the switch (mean RGB $before): the check proves nothing"
# where the switch landed: the first green frame comes after the message, not before
first=$("$PY" - "$T/out.mkv" <<'PY'
import subprocess, sys
raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", sys.argv[1], "-vf", "scale=1:1", "-f", "rawvideo",
                      "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
px = [raw[i:i + 3] for i in range(0, len(raw), 3)]
green = [i for i, p in enumerate(px) if p[1] > 150 and p[0] < 40 and p[2] < 40]
print(f"{green[0] / 25:.2f}" if green else "none")
PY
)
note "first green frame at $first s"
fcheck "$first > 3.5 and $first < 9" || fail $NAME "the switch shows at $first s, not a few frames after the message at ~4-5 s"
if grep -q 'level=error' "$T/talkcast.log"; then
  fail $NAME "errors in the log: $(grep 'level=error' "$T/talkcast.log" | head -n 3)"
fi
kill "$srv" 2>/dev/null || true
pass $NAME
