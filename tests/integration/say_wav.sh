#!/usr/bin/env bash
# say_wav — `talkcast say TEXT -o out.wav --phonemes out.tsv` writes the
# speech as a 48 kHz mono WAV and its phoneme timeline: monotonic, inside
# the audio, ending where the audio ends; bad input gets exit code 2.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=say_wav
need ffprobe python3
tc_tmpdir
TC=$(tc_bin)

"$TC" say "Papa made a map. Then he went home." -o "$T/s.wav" --phonemes "$T/s.tsv" 2>"$T/say.log" \
  || fail $NAME "say failed: $(tail -2 "$T/say.log")"
"$PY" - "$T/s.wav" "$T/s.tsv" <<'PY' || fail $NAME "WAV or timeline wrong"
import sys, wave
w = wave.open(sys.argv[1])
assert w.getframerate() == 48000 and w.getnchannels() == 1 and w.getsampwidth() == 2, "format"
dur = w.getnframes() / 48000
assert 1.5 < dur < 5, f"duration {dur}"
rows = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()]
assert len(rows) > 15, "too few phonemes"
prev = 0
for s, e, ph, sent in rows:
    s, e = float(s), float(e)
    assert prev - 1e-4 <= s <= e <= dur + 1e-4, (s, e, prev)
    prev = s
assert abs(float(rows[-1][1]) - dur) < 0.001, "timeline does not end with the audio"
assert {r[3] for r in rows} == {"0", "1"}, "two sentences"
assert sum(1 for r in rows if r[2] == "p") == 3, "three /p/"
print(f"  {dur:.2f} s, {len(rows)} phonemes", file=sys.stderr)
PY
set +e
"$TC" say "   " -o "$T/e.wav" 2>"$T/e1"; r1=$?
"$TC" say "hi" -o "$T/e.wav" --voice no-such-voice 2>"$T/e2"; r2=$?
"$TC" say "hi" -o "$T/e.mp3" 2>"$T/e3"; r3=$?
set -e
[ $r1 = 2 ] || fail $NAME "empty text: rc=$r1 $(cat "$T/e1")"
[ $r2 = 2 ] && grep -q "no-such-voice" "$T/e2" || fail $NAME "bad voice: rc=$r2 $(cat "$T/e2")"
[ $r3 = 2 ] || fail $NAME "unsupported output: rc=$r3"
"$TC" voices >"$T/voices.txt" || fail $NAME "voices failed"
grep -qE '^English.*en-us' "$T/voices.txt" || fail $NAME "voices does not list en-us"
pass $NAME
