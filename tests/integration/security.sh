#!/usr/bin/env bash
# security — the security review's points, each checked against the real
# binary, a private RabbitMQ (with a TLS listener) and nginx-rtmp on loopback:
#   1. credentials never appear: the broker password, the TTS API key and an
#      RTMP stream key are absent from a `run --log-level debug` log (the key
#      is really sent to a fake HTTP TTS that fails, so error paths log),
#      from /metrics /healthz /readyz, from the events, from `config check`
#      (secrets from the CLI, the environment and a .env file; a password in
#      the TTS URL), `--help`,
#      `run --help`, `config example` and configuration errors;
#   2. /metrics listens on loopback by default: `config check` says
#      127.0.0.1:9464, and a `run` with the default (in a network namespace
#      of its own, so the port is surely free) holds exactly one listening
#      socket, on 127.0.0.1:9464; a listen address without a host is refused;
#   3. SSML is off by default: <break time="3s"/> is read out as words (no
#      pause) by `say` and in a message; with --tts-ssml it is a 3 s pause;
#   4. set_avatar is confined to --avatar-dir: ../, absolute paths, slashes,
#      dot names, NUL, symlinks (files, directories, landmarks, a pack's
#      manifest) that lead out of it, and sprite packs whose manifest names
#      files outside the pack (by path or by a link) are refused with a
#      reason (`failed` event and x-talkcast-error), nothing outside is
#      loaded, and the stream goes on; plain names and links that stay
#      inside work;
#   5. amqps verifies the broker by default: a certificate from a CA that is
#      not trusted (the system's CAs; another CA given with --amqp-ca) is
#      refused and nothing is declared; the right CA connects, and so does
#      an explicit --no-amqp-verify.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
NAME=security
need openssl curl ffmpeg unshare ip
tc_tmpdir
TC=$(tc_bin)
export RMQ_TLS=1
rmq_start
port=$(nginx_start)
PW='Pw-s3cr3t-9f1X'
KEY='sk-test-KEY-7c0ffee'
SKEY='live-KEY-5ecret'
rmq_ctl add_user secuser "$PW" >/dev/null
rmq_ctl set_permissions -p / secuser '.*' '.*' '.*' >/dev/null
URL="amqp://secuser:$PW@127.0.0.1:$AMQP_PORT/%2F"
# leaked FILE...: true when any secret is in any FILE
leaked() { grep -a -F -e "$PW" -e "$KEY" -e "$SKEY" "$@"; }

# ---- 1. credentials --------------------------------------------------------
# a fake OpenAI-compatible TTS: 500 to the first request, 401 after; it
# records each request's Authorization header
ttsport=$(free_port)
cat >"$T/tts.py" <<'PY'
import http.server, sys
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "a") as f:
            f.write((self.headers.get("Authorization") or "-") + "\n")
        n += 1
        self.send_response(500 if n == 1 else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error":{"message":"nope"}}')
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
bg "$PY" "$T/tts.py" "$ttsport" "$T/tts_auth.txt"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$ttsport/" && break; sleep 0.1; done

dead=$(free_port)
TALKCAST_TTS_API_KEY=$KEY bg "$TC" run --log-level debug --amqp-url "$URL" --queue sec --stream-name sec \
  --out "rtmp://127.0.0.1:$port/live/$SKEY" --out "rtmp://127.0.0.1:$dead/live/$SKEY" \
  --tts openai --tts-url "http://127.0.0.1:$ttsport" --tts-fallback espeak --tts-retries 1 \
  --width 320 --height 180 --reconnect-max 1 --metrics-listen 127.0.0.1:0 2>"$T/talkcast.log"
tc=$LAST_PID
mport=$(metrics_port "$T/talkcast.log") || fail $NAME "no 'metrics on' line in the log"
wait_queue sec || fail $NAME "talkcast did not declare its queue"
events_listen || fail $NAME "could not listen to events"
listener=$LAST_PID
broker publish "$URL" sec '{"type":"text","id":"s1","text":"Speak through the fallback."}'
broker publish "$URL" sec 'not json'
broker publish "$URL" sec.control '{"type":"control","command":"ping","id":"p1"}'
broker wait-events "$T/events.jsonl" finished 1 30 || fail $NAME "the message was not spoken"
broker wait-events "$T/events.jsonl" pong 1 10 || fail $NAME "no pong"
for p in metrics healthz readyz; do curl -s -m 5 "http://127.0.0.1:$mport/$p" >"$T/scrape-$p.txt" || true; done
kill -TERM "$tc"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
kill "$listener"
if leaked "$T/talkcast.log" "$T"/scrape-*.txt "$T/events.jsonl" >"$T/leaks.txt"; then
  fail $NAME "a secret appears in the debug log, a scrape or an event: $(head -c 300 "$T/leaks.txt")"
fi
# ...and that is not because nothing was said: the key was sent, failures
# and the URLs were logged (masked)
grep -q -F "Bearer $KEY" "$T/tts_auth.txt" || fail $NAME "the TTS server never got the key: $(head -c 200 "$T/tts_auth.txt")"
grep -q 'HTTP 401' "$T/talkcast.log" || fail $NAME "the TTS failure was not logged"
grep -q 'amqp://secuser:\*\*\*@' "$T/talkcast.log" || fail $NAME "the broker URL is not logged (masked) at all"
grep -q "rtmp://127.0.0.1:$dead/live/\*\*\*" "$T/talkcast.log" || fail $NAME "the dead output's URL is not logged (masked)"
note "run --log-level debug: $(wc -l <"$T/talkcast.log") log lines, the TTS got 'Bearer <key>' $(wc -l <"$T/tts_auth.txt") times"

printf 'TALKCAST_TTS_API_KEY=%s\nTALKCAST_AMQP_URL=%s\n' "$KEY" "$URL" >"$T/sec.env"
TALKCAST_ENV_FILE=$T/sec.env "$TC" config check >"$T/cc-envfile.txt" 2>&1 || true
TALKCAST_TTS_API_KEY=$KEY TALKCAST_AMQP_URL=$URL TALKCAST_OUTPUTS="rtmp://h/live/$SKEY" \
  "$TC" config check >"$T/cc-env.txt" 2>&1 || true
"$TC" config check --tts-api-key "$KEY" --amqp-url "$URL" -o "rtmp://h/live/$SKEY" \
  --tts-url "http://ttsuser:$PW@h/v1" >"$T/cc-cli.txt" 2>&1 || true
"$TC" config check --amqp-url "amqp://secuser:$PW@h:notaport/" >"$T/cc-badurl.txt" 2>&1 || true
"$TC" run --amqp-url "amqp://secuser:$PW@h:notaport/" -o "$T/x.mkv" >"$T/run-badurl.txt" 2>&1 || true
"$TC" run --tts-api-key "$KEY" --amqp-url "$URL" -o "rtmp://h/live/$SKEY" --width 321 >"$T/run-badopt.txt" 2>&1 || true
for h in --help "run --help" "help run" "say --help" "config example"; do
  # shellcheck disable=SC2086 # the words of $h are separate arguments
  TALKCAST_TTS_API_KEY=$KEY TALKCAST_AMQP_URL=$URL "$TC" $h >"$T/help-${h// /_}.txt" 2>&1 || true
done
if leaked "$T"/cc-*.txt "$T"/run-bad*.txt "$T"/help-*.txt >/dev/null; then
  fail $NAME "a secret appears in config check, --help or an error: $(leaked -l "$T"/cc-*.txt "$T"/run-bad*.txt "$T"/help-*.txt | xargs -n1 basename | tr '\n' ' ')"
fi
for f in cc-envfile cc-env cc-cli; do
  grep -q '^TALKCAST_AMQP_URL=\*\*\*$' "$T/$f.txt" || fail $NAME "$f: the AMQP URL is not shown masked: $(grep AMQP_URL "$T/$f.txt")"
  grep -q '^TALKCAST_TTS_API_KEY=\*\*\*$' "$T/$f.txt" || fail $NAME "$f: the API key is not shown masked"
done
grep -qx 'TALKCAST_TTS_URL=http://ttsuser:\*\*\*@h/v1' "$T/cc-cli.txt" || fail $NAME "the TTS URL is not shown masked: $(grep TTS_URL "$T/cc-cli.txt")"
grep -q 'bad AMQP URL' "$T/cc-badurl.txt" || fail $NAME "no error for a bad AMQP URL: $(head -c 200 "$T/cc-badurl.txt")"
grep -q 'width' "$T/run-badopt.txt" || fail $NAME "no error for an odd width: $(head -c 200 "$T/run-badopt.txt")"
note "secrets absent from the debug log, /metrics /healthz /readyz, events, config check (CLI, env, .env), help texts and errors"

# ---- 2. metrics on loopback by default -------------------------------------
env -u TALKCAST_METRICS_LISTEN "$TC" config check >"$T/cc-default.txt" 2>&1 || true
grep -qx 'TALKCAST_METRICS_LISTEN=127.0.0.1:9464' "$T/cc-default.txt" \
  || fail $NAME "default metrics address: $(grep METRICS_LISTEN "$T/cc-default.txt")"
# shellcheck disable=SC2016 # expanded by the inner shell
bg unshare -n sh -c 'ip link set lo up && exec env -u TALKCAST_METRICS_LISTEN "$0" run -o "$1" --width 320 --height 180 --duration 6' \
  "$TC" "$T/m.mkv" 2>"$T/netns.log"
npid=$LAST_PID
wait_for_log "$T/netns.log" 'metrics on http://' 10 || fail $NAME "no metrics line with the default address: $(tail -n 2 "$T/netns.log")"
"$PY" - "$npid" >"$T/listen.txt" <<'PY' || fail $NAME "cannot read talkcast's sockets"
import os, socket, struct, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        t = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
for proto in ("tcp", "tcp6", "udp", "udp6"):
    for line in open(f"/proc/{pid}/net/{proto}").readlines()[1:]:
        f = line.split()
        if f[9] not in inodes or (proto.startswith("tcp") and f[3] != "0A"):
            continue
        addr, port = f[1].split(":")
        raw = bytes.fromhex(addr)
        if proto.endswith("6"):
            ip = socket.inet_ntop(socket.AF_INET6, b"".join(struct.pack("<I", v) for v in struct.unpack(">4I", raw)))
        else:
            ip = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(addr, 16)))
        print(f"{proto} {ip}:{int(port, 16)}")
PY
[ "$(cat "$T/listen.txt")" = "tcp 127.0.0.1:9464" ] || fail $NAME "with the default, talkcast listens on: $(tr '\n' ' ' <"$T/listen.txt")"
wait_rc "$npid"
[ "$RC" = 0 ] || fail $NAME "the default-metrics run exited $RC: $(tail -n 2 "$T/netns.log")"
expect 2 "a listen address without a host" 'no host' "$TC" run -o "$T/n.mkv" --metrics-listen :9464 --duration 1
note "default metrics address 127.0.0.1:9464; the only listening socket of a default run: $(cat "$T/listen.txt")"

# ---- 3. SSML off by default ------------------------------------------------
ssml='one <break time="3s"/> two'
"$TC" say "$ssml" -o "$T/plain.wav" --phonemes "$T/plain.tsv" 2>"$T/say.log" || fail $NAME "say failed"
"$TC" say "$ssml" -o "$T/ssml.wav" --phonemes "$T/ssml.tsv" --tts-ssml 2>>"$T/say.log" || fail $NAME "say --tts-ssml failed"
# the longest phoneme or pause, and the number of phonemes
longest() { awk -F'\t' '$2 - $1 > m { m = $2 - $1 } END { printf "%.2f", m }' "$1"; }
lp=$(longest "$T/plain.tsv")
ls_=$(longest "$T/ssml.tsv")
np=$(wc -l <"$T/plain.tsv")
ns=$(wc -l <"$T/ssml.tsv")
note "SSML text: default $np phonemes, longest ${lp} s; --tts-ssml $ns phonemes, longest ${ls_} s"
fcheck "$lp < 1.0" || fail $NAME "by default the SSML break made a ${lp} s pause: markup was interpreted"
fcheck "$np > 2 * $ns" || fail $NAME "by default the tags were not read out as text ($np phonemes vs $ns)"
fcheck "$ls_ > 2.5" || fail $NAME "with --tts-ssml the break is only ${ls_} s: the switch does nothing, so the default check proves nothing"
grep -qx 'TALKCAST_TTS_SSML=0' "$T/cc-default.txt" || fail $NAME "SSML is not off in the default configuration"

# ---- 4. set_avatar confined to --avatar-dir ----------------------------------
A=$T/avatars
O=$T/outside
mkdir -p "$A/goodpack" "$A/badpack" "$A/abspack" "$A/linkpack" "$A/manpack" "$O/pack"
png() { ffmpeg -nostdin -v error -f lavfi -i "color=c=$2:s=320x180" -frames:v 1 -y "$1"; }
png "$A/good.png" green
png "$A/lm.png" teal
png "$O/secret.png" red
for d in "$A/goodpack" "$A/linkpack" "$O/pack"; do png "$d/base.png" blue; png "$d/rest.png" black; done
cp "$O/secret.png" "$A/badpack/rest.png"
cp "$O/secret.png" "$A/abspack/rest.png"
ln -sf "$O/secret.png" "$A/linkpack/base.png"
mouths='"mouths": {"rest": "rest.png"}'
echo "{\"base\": \"base.png\", $mouths}" >"$A/goodpack/sprites.json"
echo "{\"base\": \"base.png\", $mouths}" >"$O/pack/sprites.json"
echo "{\"base\": \"../../outside/secret.png\", $mouths}" >"$A/badpack/sprites.json"
echo "{\"base\": \"$O/secret.png\", $mouths}" >"$A/abspack/sprites.json"
echo "{\"base\": \"base.png\", $mouths}" >"$A/linkpack/sprites.json"
cp "$A/goodpack/base.png" "$A/goodpack/rest.png" "$A/manpack/"
ln -s ../../outside/pack/sprites.json "$A/manpack/sprites.json"
ln -s ../outside/secret.png "$A/esc.png"
ln -s "$O/secret.png" "$A/abs.png"
ln -s ../outside/pack "$A/escdir"
ln -s good.png "$A/alias.png"
printf '{"mouth_left": [140, 120], "mouth_right": [180, 120], "upper_lip": [160, 115], "lower_lip": [160, 128], "chin": [160, 150]}\n' >"$O/secret.landmarks.json"
ln -s ../outside/secret.landmarks.json "$A/lm.landmarks.json"

bg "$TC" run -o "$T/conf.mkv" --amqp-url "$AMQP_URL" --queue conf --avatar-dir "$A" --width 320 --height 180 \
  --metrics-listen 127.0.0.1:0 2>"$T/confine.log"
tc=$LAST_PID
cport=$(metrics_port "$T/confine.log") || fail $NAME "no 'metrics on' line in the log"
wait_queue conf.dlq || fail $NAME "talkcast did not declare its queues"
: >"$T/events.jsonl"
events_listen || fail $NAME "could not listen to events"
listener=$LAST_PID
frames() { curl -s -m 5 "http://127.0.0.1:$cport/metrics" | awk '/^talkcast_frames_total/ { print $NF }'; }
f0=$(frames)
# ID<TAB>NAME (JSON string contents): refused ones first, then good ones
cat >"$T/names" <<EOF
up	../outside/secret
uppng	../outside/secret.png
upup	../../../../../../etc/passwd
absfile	$O/secret.png
etc	/etc/passwd
slash	good/
sub	goodpack/sprites.json
dotdot	..
dot	.
hidden	.good
nul	good\\u0000.png
esc	esc
escpng	esc.png
abs	abs
escdir	escdir
lm	lm
badpack	badpack
abspack	abspack
linkpack	linkpack
manpack	manpack
EOF
n_bad=$(wc -l <"$T/names")
printf '%s\t%s\n' good good alias alias goodpack goodpack back vector >>"$T/names"
while IFS=$'\t' read -r id name; do
  printf '%s\t{"type":"control","command":"set_avatar","id":"%s","args":{"avatar":"%s"}}\n' "$id" "$id" "$name"
done <"$T/names" >"$T/msgs"
broker publish-lines "$AMQP_URL" conf.control "$T/msgs" || fail $NAME "could not publish"
broker publish "$AMQP_URL" conf "{\"type\":\"text\",\"id\":\"ssml\",\"text\":\"one <break time=\\\"8s\\\"/> two\"}"
broker publish "$AMQP_URL" conf '{"type":"text","id":"after","text":"Still on the air."}'
broker wait-events "$T/events.jsonl" failed "$n_bad" 30 || fail $NAME "not every bad name was refused: $(grep -c '"failed"' "$T/events.jsonl") of $n_bad"
broker wait-events "$T/events.jsonl" finished 2 30 || fail $NAME "the text messages after the refusals were not spoken"
kill -0 "$tc" 2>/dev/null || fail $NAME "talkcast died"
sleep 1
f1=$(frames)
"$PYSYS" - "$T/events.jsonl" "$T/names" "$n_bad" <<'PY' >"$T/confine.out" 2>&1 || fail $NAME "$(tail -n 1 "$T/confine.out")"
import json, re, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
names = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
n_bad = int(sys.argv[3])
failed = {e["message_id"]: e["detail"]["reason"] for e in ev if e["event"] == "failed"}
ok = re.compile(r"is not a plain name|leads out of|contains a NUL|cannot use|no avatar")
for i, (mid, name) in enumerate(names):
    if i < n_bad:
        r = failed.get(mid)
        if not r or not ok.search(r):
            sys.exit(f"FAIL: set_avatar {name!r}: reason {r!r}")
        print(f"  refused {name!r}: {r}")
    elif mid in failed:
        sys.exit(f"FAIL: set_avatar {name!r} (inside the directory) was refused: {failed[mid]}")
fin = {e["message_id"]: e["detail"] for e in ev if e["event"] == "finished"}
d = fin["ssml"]["duration_ms"]
print(f"  SSML message spoken in {d:.0f} ms (the 8 s break not taken)")
if d > 6000:
    sys.exit(f"FAIL: the SSML message took {d:.0f} ms: the break was interpreted")
print(f"ok: {n_bad} refused with a reason, {len(names) - n_bad} plain names accepted")
PY
sed 's/^/  /' "$T/confine.out" >&2
for id in good alias goodpack; do
  grep -q "avatar is now $id " "$T/confine.log" || fail $NAME "set_avatar $id (inside the directory) did not switch"
done
if grep -E 'avatar is now ' "$T/confine.log" | grep -qvE 'avatar is now (good|alias|goodpack|vector) '; then
  fail $NAME "a refused avatar was loaded: $(grep 'avatar is now' "$T/confine.log" | tr '\n' ' ')"
fi
fcheck "$f1 - $f0 > 60" || fail $NAME "the stream stalled: frames $f0 -> $f1"
sleep 0.5
broker drain "$AMQP_URL" conf.dlq >"$T/conf-dlq.jsonl"
n_dlq=$("$PYSYS" -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
assert all(x["headers"].get("x-talkcast-error") for x in d), "a DLQ message without a reason"
print(len(d))' "$T/conf-dlq.jsonl") || fail $NAME "DLQ messages without a reason"
[ "$n_dlq" = "$n_bad" ] || fail $NAME "$n_dlq set_avatar messages in the DLQ, want $n_bad"
kill -TERM "$tc" "$listener"
wait_rc "$tc"
[ "$RC" = 0 ] || fail $NAME "talkcast exited $RC"
note "set_avatar: $n_bad names refused (each in the DLQ with a reason), 4 accepted, stream went on ($f0 -> $f1 frames)"

# ---- 5. amqps verifies the broker by default ---------------------------------
grep -qx 'TALKCAST_AMQP_VERIFY=1' "$T/cc-default.txt" || fail $NAME "certificate verification is not on by default"
tls=amqps://guest:guest@localhost:$(cat "$T/rabbitmq/tls_port")/%2F
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" -subj /CN=other-ca -days 1 \
  >/dev/null 2>&1 || fail $NAME "openssl could not make a CA"
# tls_try LABEL QUEUE ARGS...: a run against the TLS listener; $T/LABEL.log
tls_try() {
  local label=$1 q=$2
  shift 2
  bg "$TC" run -o "$T/$label.mkv" --amqp-url "$tls" --queue "$q" --width 320 --height 180 "$@" 2>"$T/$label.log"
  TLS_PID=$LAST_PID
}
tls_try tls-default tq1
p1=$TLS_PID
tls_try tls-otherca tq2 --amqp-ca "$T/other.pem"
p2=$TLS_PID
wait_for_log "$T/tls-default.log" 'cannot connect to amqps://guest:\*\*\*@localhost' 15 \
  || fail $NAME "the default run did not refuse the unknown CA: $(tail -n 2 "$T/tls-default.log")"
wait_for_log "$T/tls-otherca.log" 'cannot connect to amqps://guest:\*\*\*@localhost' 15 \
  || fail $NAME "a run trusting another CA did not refuse the broker: $(tail -n 2 "$T/tls-otherca.log")"
sleep 1
[ "$(rmq_counts tq1)$(rmq_counts tq2)" = "" ] || fail $NAME "a queue was declared over an unverified connection"
note "default: $(grep -m1 -o 'cannot connect to amqps[^"]*' "$T/tls-default.log" | cut -c1-150)"
kill -TERM "$p1" "$p2"
wait_rc "$p1"
wait_rc "$p2"
tls_try tls-ca tq3 --amqp-ca "$T/rabbitmq/ca.pem"
p3=$TLS_PID
tls_try tls-noverify tq4 --no-amqp-verify
p4=$TLS_PID
wait_queue tq3 || fail $NAME "the broker's own CA did not connect: $(tail -n 2 "$T/tls-ca.log")"
wait_queue tq4 || fail $NAME "--no-amqp-verify did not connect: $(tail -n 2 "$T/tls-noverify.log")"
kill -TERM "$p3" "$p4"
wait_rc "$p3"
wait_rc "$p4"
note "amqps: unknown CA refused (system CAs and another --amqp-ca), the broker's CA and --no-amqp-verify connect"
if grep -l -E 'runtime error|AddressSanitizer|LeakSanitizer' "$T"/*.log "$T"/*.txt >"$T/san.txt"; then
  fail $NAME "sanitizer report in $(xargs -n1 basename <"$T/san.txt" | tr '\n' ' ')"
fi
pass $NAME
