#!/usr/bin/env bash
# avatar_disk_full — `talkcast avatar add` into a store on a 1 MiB tmpfs
# (needs root for the mount; unmounted at exit whatever happens):
#   - a local file larger than the disk: exit 1, the message names where
#     it could not write and says the disk is full; nothing staged is left;
#   - a download larger than the disk (from a local server on 127.0.0.1):
#     the same, and the partial download is discarded (a full disk is not a
#     dropped connection to resume);
#   - the store is untouched: the avatar added before still lists and
#     resolves, and a small add still works once there is room.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=avatar_disk_full
need ffmpeg mount umount
tc_tmpdir
TC=$(tc_bin)
tc_small_tmpfs "$T/small" 1m
mkdir "$T/www"
export TALKCAST_AVATAR_DIR=$T/small/avatars
ffmpeg -nostdin -v error -f lavfi -i "color=c=green:s=64x64" -frames:v 1 -y "$T/small.png"
# 2 MB of noise as a PNG: twice the disk
ffmpeg -nostdin -v error -f lavfi -i "nullsrc=s=1280x720,geq=random(1)*255:random(2)*255:128" -frames:v 1 -y "$T/www/big.png"
[ "$(stat -c %s "$T/www/big.png")" -gt 1100000 ] || fail $NAME "the big picture is only $(stat -c %s "$T/www/big.png") bytes"
"$TC" avatar add "$T/small.png" --name before >/dev/null 2>"$T/add0.err" || fail $NAME "first add failed: $(cat "$T/add0.err")"

expect 1 "local file" 'disk is full' "$TC" avatar add "$T/www/big.png" --name big
grep -q 'No space left on device' "$T/err" || fail $NAME "the error does not give the system's reason"
"$PY" "$TC_ROOT/tests/avatar/avatar_http_server.py" "$T/www" "$T/requests.log" >"$T/http.port" 2>"$T/http.log" &
for _ in $(seq 50); do grep -q PORT= "$T/http.port" && break; sleep 0.1; done
H=http://127.0.0.1:$(sed -n 's/^PORT=//p' "$T/http.port")
expect 1 "download" 'disk is full' "$TC" avatar add "$H/ok/big.png" --name big
left=$(find "$T/small/avatars/.store/tmp" "$T/small/avatars/.store/partial" -mindepth 1 ! -name .lock)
[ -z "$left" ] || fail $NAME "a failed add left files: $left"
"$TC" avatar list >"$T/list.out" || fail $NAME "list failed after a full disk"
grep -qE '^before +image' "$T/list.out" || fail $NAME "the earlier avatar is gone: $(cat "$T/list.out")"
[ "$(grep -c . "$T/list.out")" = 2 ] || fail $NAME "list shows more than the one avatar: $(cat "$T/list.out")"
"$TC" avatar add "$T/small.png" --name after >/dev/null 2>"$T/add2.err" || fail $NAME "a small add after the failures failed: $(cat "$T/add2.err")"
note "$(df -h "$T/small" | tail -n 1)"
pass $NAME
