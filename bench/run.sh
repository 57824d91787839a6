#!/usr/bin/env bash
# run.sh TALKCAST — every benchmark, side by side with its baseline in the
# same run; results printed as a table and merged into bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export TALKCAST_BIN=${1:-build/talkcast}
# /metrics on any free port: a talkcast on the default may be running here
export TALKCAST_METRICS_LISTEN=${TALKCAST_METRICS_LISTEN-127.0.0.1:0}
bash bench/idle_vs_ffmpeg.sh
BUILD=$(dirname "$TALKCAST_BIN") bash bench/tts.sh
BUILD=$(dirname "$TALKCAST_BIN") bash bench/face.sh
bash bench/latency.sh
bash bench/interrupt.sh
bash bench/live.sh
bash bench/x264.sh
bash bench/streams.sh
echo
python3 bench/table.py "${BENCH_RESULTS:-bench/results.json}"
