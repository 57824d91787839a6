#!/usr/bin/env bash
# cli — what a user sees first: --version names a version and the encoders;
# --help and run --help exit 0 and document the main options; bad input is
# refused before anything starts, exit code 2 and a message that names the
# culprit (the option, the value, the variable); config check masks secrets.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=cli
need python3
tc_tmpdir
TC=$(tc_bin)
cd "$T"   # a stray output file must not land in the repo


v=$("$TC" --version) || fail $NAME "--version exited non-zero"
grep -qE '^talkcast [0-9]+\.[0-9]+' <<<"$v" || fail $NAME "--version prints no version: $v"
grep -q libx264 <<<"$v" || fail $NAME "--version does not name the encoders: $v"
h=$("$TC" --help) || fail $NAME "--help exited non-zero"
for w in run --out --duration --avatar; do
  grep -q -- "$w" <<<"$h" || fail $NAME "--help does not mention $w"
done
h=$("$TC" run --help) || fail $NAME "run --help exited non-zero"
for w in --out --duration --avatar --width --height --fps --sample-rate --pace --log-level; do
  grep -q -- "$w" <<<"$h" || fail $NAME "run --help does not mention $w"
done

expect 2 "unknown option" "'?--no-such-option'?" "$TC" run --no-such-option -o x.mp4
expect 2 "misspelt option" "did you mean --width" "$TC" run --widht 640 -o x.mp4
expect 2 "odd width" "width.*13" "$TC" run --width 13 -o x.mp4
expect 2 "missing value" "--width" "$TC" run --width
expect 2 "negative duration" "duration" "$TC" run --duration -3 -o x.mp4
expect 2 "bad sample rate" "sample.rate" "$TC" run --sample-rate 12345 -o x.mp4
expect 2 "no output" "no output" "$TC" run --duration 1
expect 2 "missing avatar" "/nonexistent\.png" "$TC" run --avatar /nonexistent.png -o x.mp4 --duration 1
expect 2 "unknown command" "bogus" "$TC" bogus
expect 2 "bad environment value" "TALKCAST_FPS" env TALKCAST_FPS=abc "$TC" config check
[ ! -e x.mp4 ] || fail $NAME "a refused command still created its output file"

out=$("$TC" config check --out rtmp://u:pw@127.0.0.1/live/secretkey) || fail $NAME "config check exited non-zero"
if grep -qE 'secretkey|:pw@' <<<"$out"; then fail $NAME "config check printed a secret"; fi
grep -q 'rtmp://u:\*\*\*@127.0.0.1/live/\*\*\*' <<<"$out" || fail $NAME "config check does not show the masked URL"
# config check finds, all at once, what a run would trip over
"$TC" config check --amqp-url "foo://x" --avatar /nonexistent.png --out "rtmp://" --out "x.unknownext" \
  --tts-url "not a url" --amqp-ca /nope.pem --x264-params "ref=2:nosuch=1" >/dev/null 2>"$T/err" &&
  fail $NAME "config check accepted bad values"
for want in "avatar /nonexistent.png: No such file" "amqp-ca /nope.pem" "output 1 .*no host" "output 2: cannot guess" \
  "tts-url 'not a url'" "bad AMQP URL" "x264 has no option 'nosuch'" "7 problem"; do
  grep -qE -- "$want" "$T/err" || fail $NAME "config check does not report /$want/: $(cat "$T/err")"
done
note "config check: $(tail -n 1 "$T/err")"
# an option x264 refuses stops the run (libavcodec alone would warn and drop it)
expect 1 "bad x264-params" "x264-params: 'lots' is not a valid value for ref" "$TC" say "Hi." -o "$T/p.mp4" \
  --x264-params ref=lots

# transparent huge pages are off unless asked for: x264 madvises them for
# its frames, which then take whole 2 MiB pages (about 9 MB more at 720p)
bg "$TC" run -o "$T/thp.mkv" --duration 6
pid=$LAST_PID
sleep 4
huge=$(awk '/^AnonHugePages/ {print $2}' "/proc/$pid/smaps_rollup")
grep -q '^THPeligible' "/proc/$pid/smaps" && note "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
[ "$huge" = 0 ] || fail $NAME "run holds ${huge} kB of transparent huge pages by default"
wait_rc "$pid"
[ "$RC" = 0 ] || fail $NAME "run -o thp.mkv exited $RC"
note "huge pages by default: ${huge} kB"

expect 2 "named env file missing" "TALKCAST_ENV_FILE=/nonexistent.env: cannot read" \
  env TALKCAST_ENV_FILE=/nonexistent.env "$TC" config check
pass $NAME
