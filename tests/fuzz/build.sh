#!/usr/bin/env bash
# build.sh [BUILDDIR] — configure (once) and build the libFuzzer harnesses
# with clang: the whole library instrumented (-Dfuzz=true adds
# -fsanitize=fuzzer-no-link,address,undefined), the harnesses linked with
# -fsanitize=fuzzer. The cmocka tests are left out of this build: the
# normal and ASan builds run them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILDDIR=${1:-build-fuzz}
if [ ! -f "$BUILDDIR/build.ninja" ]; then
  out=$(CC=clang meson setup "$BUILDDIR" -Dfuzz=true -Dtests=disabled -Db_lundef=false \
    -Dbuildtype=debugoptimized 2>&1) || { echo "$out" >&2; exit 1; }
fi
targets=()
for t in msg env landmarks sprite tts_response face_mp avatar_ref; do targets+=("tests/fuzz/fuzz_$t"); done
nice -n 10 ninja -C "$BUILDDIR" "${targets[@]}" >&2
