#!/usr/bin/env bash
# tts.sh — espeak-ng speech: talkcast's in-process provider (time to the
# first audio chunk of a one-sentence message, p50/p99 over 50 messages;
# synthesis speed on a 200 s text) side by side with the espeak-ng command
# line doing the same work (a process per message, as a subprocess-based
# streamer would). Prints a table; merges "tts_espeak" into bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RESULTS=${BENCH_RESULTS:-bench/results.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tc=$("$BUILD/bench/bench_tts" 50)

# Baseline: espeak-ng CLI, one process per message, to a WAV file.
python3 - "$tmp" "$tc" "$RESULTS" <<'PY'
import json, subprocess, sys, time, os
tmp, tc, results = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
sentences = ["Hello there, welcome to the stream.", "The weather today is sunny with a light breeze.",
             "Thanks for the follow!", "Let me read the next message for you.",
             "Papa made a map of the mountain path."]
lat = []
for i in range(50):
    t0 = time.perf_counter()
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", f"{tmp}/s.wav", sentences[i % 5]], check=True)
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
text = "This is a longer message that goes on for a while, to measure speed. " * 60
t0 = time.perf_counter()
subprocess.run(["espeak-ng", "-v", "en-us", "-w", f"{tmp}/l.wav", text], check=True)
took = time.perf_counter() - t0
import wave
w = wave.open(f"{tmp}/l.wav")
audio = w.getnframes() / w.getframerate()
base = {"whole_message_ms_p50": round(lat[25], 2), "whole_message_ms_p99": round(lat[49], 2),
        "x_realtime": round(audio / took)}
row = lambda a, b, c, d: print(f"| {a:<44} | {b:>12} | {c:>14} | {d:>8} |")
print("| espeak-ng speech                             |     talkcast | espeak-ng CLI  |    ratio |")
print("|----------------------------------------------|--------------|----------------|----------|")
row("first audio of a 1-sentence message, p50 ms", tc["first_chunk_ms_p50"], base["whole_message_ms_p50"],
    f"{tc['first_chunk_ms_p50'] / base['whole_message_ms_p50']:.3f}")
row("first audio of a 1-sentence message, p99 ms", tc["first_chunk_ms_p99"], base["whole_message_ms_p99"],
    f"{tc['first_chunk_ms_p99'] / base['whole_message_ms_p99']:.3f}")
row("synthesis speed, x realtime (200 s text)", tc["x_realtime"], base["x_realtime"],
    f"{tc['x_realtime'] / base['x_realtime']:.2f}")
print(f"target: first chunk <= 50 ms -> {'met' if tc['first_chunk_ms_p99'] <= 50 else 'NOT met'}")
data = json.load(open(results)) if os.path.exists(results) else {}
data["tts_espeak"] = {"talkcast": tc, "espeak_ng_cli": base,
                      "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
json.dump(data, open(results, "w"), indent=2)
PY
