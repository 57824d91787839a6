#!/usr/bin/env bash
# cli — --version, --help and run --help are real; bad input gets a clear
# error and exit code 2; config check masks secrets.
source "$(dirname "$0")/../lib.sh"
"$TC_BIN" --version | grep -qE '^talkcast [0-9]+\.[0-9]+' || fail "--version"
"$TC_BIN" --version | grep -q 'libx264' || fail "--version does not name the encoders"
"$TC_BIN" --help | grep -q 'run' || fail "--help"
h=$("$TC_BIN" run --help)
for w in --out --duration --avatar --fps --sample-rate --x264-preset TALKCAST_OUTPUTS; do
  grep -q -- "$w" <<<"$h" || fail "run --help lacks $w"
done
set +e
"$TC_BIN" run --widht 640 -o x.mp4 2>"$T/e1"; r1=$?
"$TC_BIN" run --width 641 -o x.mp4 2>"$T/e2"; r2=$?
"$TC_BIN" run --duration 1 2>"$T/e3"; r3=$?
"$TC_BIN" run --avatar /nonexistent.png -o "$T/y.mp4" --duration 1 2>"$T/e4"; r4=$?
"$TC_BIN" bogus 2>"$T/e5"; r5=$?
TALKCAST_FPS=abc "$TC_BIN" config check 2>"$T/e6"; r6=$?
set -e
[ $r1 = 2 ] && grep -q "did you mean --width" "$T/e1" || fail "unknown option: rc=$r1 $(cat "$T/e1")"
[ $r2 = 2 ] && grep -q "odd" "$T/e2" || fail "odd width: rc=$r2 $(cat "$T/e2")"
[ $r3 = 2 ] && grep -q "no output" "$T/e3" || fail "no output: rc=$r3 $(cat "$T/e3")"
[ $r4 = 2 ] && grep -q "nonexistent" "$T/e4" || fail "missing avatar: rc=$r4 $(cat "$T/e4")"
[ $r5 = 2 ] || fail "unknown command rc=$r5"
[ $r6 = 2 ] && grep -q "TALKCAST_FPS" "$T/e6" || fail "bad env: rc=$r6 $(cat "$T/e6")"
out=$("$TC_BIN" config check --out rtmp://u:pw@127.0.0.1/live/secretkey)
grep -q "secretkey\|:pw@" <<<"$out" && fail "config check printed a secret"
grep -q "TALKCAST_OUTPUTS=rtmp://u:\*\*\*@127.0.0.1/live/\*\*\*" <<<"$out" || fail "config check: $out"
echo "PASS: cli"
