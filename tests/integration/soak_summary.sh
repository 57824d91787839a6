#!/usr/bin/env bash
# soak_summary — the soak's judge (tests/soak/summary.py) on made-up runs:
# a flat hour passes, and each kind of trouble a soak exists to find fails
# it by name: RSS that creeps, an fd or thread leak, late frames, a hole in
# the recording, audio drifting from video, a lost message, a bad exit.
# (The soak itself is `make soak`; an hour does not fit in CI.)
source "$(dirname "$0")/../lib.sh"
NAME=soak_summary
tc_tmpdir
SUMMARY=$TC_ROOT/tests/soak/summary.py

# run NAME TWEAK...: write a flat 1 h run into $T/NAME with the given
# tweaks, judge it; the verdict's exit status in $RC, its text in $T/NAME.out
run() {
  local d=$T/$1
  shift
  mkdir -p "$d"
  "$PY" - "$d" "$@" <<'PY'
import sys
d, tweaks = sys.argv[1], set(sys.argv[2:])
with open(f"{d}/samples.csv", "w") as f:
    f.write("t,rss_kb,fds,threads,cpu_ticks,frames,late,spoken,failed,received,media_s\n")
    for t in range(0, 3601, 10):
        rss = 80000 + (t * 2 if "rss" in tweaks else (t % 30))  # ~7 MiB/h creep vs noise
        fds = 10 + (t // 900 if "fds" in tweaks else 0)
        thr = 14 + (1 if "threads" in tweaks and t > 3000 else 0)
        late = 3 + (t // 600 if "late" in tweaks else 0)
        f.write(f"{t},{rss},{fds},{thr},{t * 3},{t * 30},{late},0,0,0,{t - 0.2}\n")
with open(f"{d}/packets.csv", "w") as f:
    for i in range(3600 * 30):
        if "hole" in tweaks and 5000 <= i < 5030:
            continue  # one second missing (audio below too): an outage
        f.write(f"0,{i / 30:.6f},0.033333\n")
    step = 1024 / 48000
    skew = 0.2 / (3600 / step) if "drift" in tweaks else 0.0  # audio runs 200 ms long over the hour
    for i in range(int(3600 / step)):
        if "hole" in tweaks and 5000 / 30 <= i * step < 5030 / 30:
            continue
        f.write(f"1,{i * (step + skew):.6f},{step:.6f}\n")
PY
  local spoken=720 code=0
  case " $* " in *" lost "*) spoken=719 ;; esac
  case " $* " in *" crash "*) code=134 ;; esac
  RC=0
  "$PY" "$SUMMARY" "$d" --seconds 3600 --published 720 --spoken "$spoken" --left 0 --exit "$code" \
    --size 1280x720 >"$d.out" 2>&1 || RC=$?
}

run flat
[ "$RC" = 0 ] || fail $NAME "a flat run was judged a failure: $(cat "$T/flat.out")"
grep -q 'nothing grows, nothing lost' "$T/flat.out" || fail $NAME "no verdict line: $(cat "$T/flat.out")"
note "flat: $(tail -n 1 "$T/flat.out")"

for c in rss:rss fds:fds threads:threads late:late hole:gaps drift:a/v lost:messages crash:exit; do
  tweak=${c%%:*} check=${c#*:}
  run "$tweak" "$tweak"
  [ "$RC" = 1 ] || fail $NAME "$tweak: judged a success: $(cat "$T/$tweak.out")"
  grep -qE "^FAIL +$check " "$T/$tweak.out" || fail $NAME "$tweak: the $check check did not fail: $(cat "$T/$tweak.out")"
  others=$(grep -c '^FAIL ' "$T/$tweak.out")
  [ "$others" = 1 ] || fail $NAME "$tweak: $others checks failed, want only $check: $(cat "$T/$tweak.out")"
  note "$tweak: $(grep "^FAIL " "$T/$tweak.out")"
done
pass $NAME
