#!/usr/bin/env bash
# bad_input_volume — bad input at volume: 10 000 malformed messages,
# generated from a seed by tests/bad_input.py (random bytes, deep JSON
# nesting, huge strings, invalid UTF-8, raw and escaped NULs, wrong types,
# unknown types and commands, values out of range, broken syntax, refused
# set_avatar/set_voice, 20 bodies of 1 MiB), with 15 short good messages
# spread evenly among them, all on the main queue at once. Checks that
#   - every bad one is in QUEUE.dlq exactly once, its body unchanged, with a
#     one-line x-talkcast-error that fits its kind (all 10 000 read back);
#   - every good one is spoken: `finished` events in publishing order;
#   - the queues end empty with nothing unacked, talkcast still runs, exits
#     0 on SIGTERM, and its log has no error line and no sanitizer report;
#   - RSS is flat: VmRSS once 1000 messages are dead-lettered and at the end
#     differ by less than RSS_BOUND_KB (8 MiB; 32 MiB in an ASan build, whose
#     quarantine is cut to 16 MB for this test).
# BAD_SEED / BAD_N change the seed and the count.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=bad_input_volume
need curl
tc_tmpdir
TC=$(tc_bin)
GEN=$TC_ROOT/tests/bad_input.py
seed=${BAD_SEED:-20261128}
n_bad=${BAD_N:-10000}
n_good=15
bound=8192
if nm -an "$TC" 2>/dev/null | grep __asan_init >/dev/null; then
  # ASan keeps freed memory in a quarantine (256 MB by default) before
  # reusing it: a smaller one, and room for it in the bound
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
  bound=32768
fi
RSS_BOUND_KB=${RSS_BOUND_KB:-$bound}
rmq_start

"$PYSYS" "$GEN" gen "$seed" "$n_bad" "$n_good" "$T/msgs.bin" >"$T/gen.out" || fail $NAME "could not generate"
note "$(cat "$T/gen.out") (seed $seed)"

bg "$TC" run -o "$T/out.mkv" --amqp-url "$AMQP_URL" --queue biv --width 320 --height 180 \
  --metrics-listen 127.0.0.1:0 2>"$T/talkcast.log"
tc=$LAST_PID
mport=$(metrics_port "$T/talkcast.log") || fail $NAME "no 'metrics on' line in the log"
wait_queue biv.dlq || fail $NAME "talkcast did not declare the dead-letter queue"
events_listen || fail $NAME "could not listen to events"
bg "$PYSYS" "$GEN" sample "http://127.0.0.1:$mport/metrics" "$tc" "$T/rss.txt"

t0=$(now)
"$PYSYS" "$GEN" publish "$AMQP_URL" biv "$T/msgs.bin" >"$T/pub.out" 2>&1 || fail $NAME "could not publish: $(tail -n 1 "$T/pub.out")"
note "$(cat "$T/pub.out") in $(since "$t0") s"
broker wait-events "$T/events.jsonl" failed "$n_bad" 80 || fail $NAME "not every bad message was refused in time ($(grep -c '"failed"' "$T/events.jsonl") of $n_bad)"
note "$n_bad refused in $(since "$t0") s"
broker wait-events "$T/events.jsonl" finished "$n_good" 20 || fail $NAME "not every good message was spoken"
note "all settled in $(since "$t0") s"
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died"
sleep 0.5
for q in biv biv.control; do
  counts=$(rmq_counts $q)
  [ "$counts" = "0 0" ] || fail $NAME "queue $q ready/unacked = $counts"
done
dlq=$(rmq_counts biv.dlq)
[ "$dlq" = "$n_bad 0" ] || fail $NAME "DLQ ready/unacked = $dlq, want $n_bad 0"
note "DLQ holds $n_bad"

"$PYSYS" "$GEN" check-order "$T/events.jsonl" "$T/msgs.bin" >"$T/order.out" 2>&1 || fail $NAME "$(tail -n 1 "$T/order.out")"
note "$(cat "$T/order.out")"
"$PYSYS" "$GEN" check-dlq "$AMQP_URL" biv.dlq "$T/msgs.bin" >"$T/dlq.out" 2>&1 || {
  sed 's/^/    /' "$T/dlq.out" >&2
  fail $NAME "$(tail -n 1 "$T/dlq.out")"
}
sed 's/^/  /' "$T/dlq.out" >&2

n_rss=$(wc -l <"$T/rss.txt") # the samples before the stop (teardown frees memory)
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC on SIGTERM"
if grep -qE 'level=error|runtime error|AddressSanitizer|LeakSanitizer' "$T/talkcast.log"; then
  fail $NAME "errors in the log: $(grep -m 3 -E 'level=error|runtime error|Sanitizer' "$T/talkcast.log")"
fi

# RSS: from the first sample with 1000 dead-lettered to the end of the run
read -r rss0 rss1 d0 d1 < <(awk '$3 >= 1000 && !a { a = $2; da = $3 } { z = $2; dz = $3 } END { print a, z, da, dz }' <(head -n "$n_rss" "$T/rss.txt"))
{ [ -n "$rss0" ] && [ -n "$rss1" ]; } || fail $NAME "no RSS samples: $(head -n 3 "$T/rss.txt")"
peak=$(head -n "$n_rss" "$T/rss.txt" | awk 'm < $2 { m = $2 } END { print m }')
note "RSS ${rss0} kB at $d0 dead-lettered, ${rss1} kB at $d1 (peak ${peak} kB): $((rss1 - rss0)) kB, bound $RSS_BOUND_KB kB"
[ $((rss1 - rss0)) -lt "$RSS_BOUND_KB" ] || fail $NAME "RSS grew by $((rss1 - rss0)) kB (bound $RSS_BOUND_KB kB)"
pass $NAME
