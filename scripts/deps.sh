#!/usr/bin/env bash
# deps.sh — install every Debian package talkcast needs to build, test, bench
# and demo. Idempotent: when everything is present it only checks (well under
# a second). Uses sudo when not root. Services that packages would start
# (nginx, rabbitmq) are kept from starting: talkcast's tests run private
# instances on loopback, never system-wide ones.
set -euo pipefail

PACKAGES=(
  # build
  gcc make meson ninja-build pkg-config
  # libraries
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libx264-dev  # checks --x264-params against x264 itself (libavcodec only warns)
  libcairo2-dev
  libespeak-ng-dev espeak-ng-data libcurl4-openssl-dev libjson-c-dev librabbitmq-dev
  # ops: the /metrics /healthz /readyz server and systemd's notify/watchdog protocol
  libmicrohttpd-dev libsystemd-dev
  # tests
  libcmocka-dev python3
  clang libclang-rt-14-dev  # tests/fuzz: libFuzzer harnesses (clang -fsanitize=fuzzer)
  # tests and the benchmark talk to the broker from Python (publish, read events)
  python3-pika
  # tests/integration/captions_*.sh: WebVTT files must parse with a real WebVTT reader
  python3-webvtt
  # real parts the tests and the demo run: viewer/baseline, the RTMP server,
  # the message broker and its command-line clients
  ffmpeg nginx-light libnginx-mod-rtmp rabbitmq-server amqp-tools
  # a private CA and certificate for the broker's TLS listener (amqps:// test)
  openssl
  # benchmarks: CPU and peak RSS of whole processes; the espeak-ng CLI as a baseline
  time espeak-ng
  # tests: a real Prometheus text-format parser (promtool check metrics)
  prometheus
  # tests: the HTTP client that reads /metrics, /healthz and /readyz
  curl
  # tests: memcheck on `talkcast say` and a 60 s `run` (tests/integration/valgrind_*.sh)
  valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "deps.sh: installing ${missing[*]}" >&2
# Keep package scripts from starting system services during the install.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done" >&2
