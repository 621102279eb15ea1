#!/usr/bin/env bash
# A warm emcc build (6 TUs compiled with -O2, then linked -O1 to app.js + app.wasm;
# Debian's 3.1.6 needs node-acorn for -O2 links)
# through zccache-ts vs a plain emcc build, same run, medians of 5 builds
# each, interleaved (BENCHMARKS.md "emcc"):
#   bash scripts/bench/emcc.sh
# Needs emcc (Debian's emscripten), bun, python3. The wrapper is the
# `bun build --compile` binary built from this checkout into a temp dir.
set -eu
cd "$(dirname "$0")/../.."
command -v emcc >/dev/null || { echo "emcc not found; skipped"; exit 0; }
d=$(mktemp -d)
export ZCCACHE_CACHE_DIR="$d/cache" ZCCACHE_IDLE_TIMEOUT_SECS=600
trap '"$d/zccache" stop >/dev/null 2>&1 || true; rm -rf "$d"' EXIT
mkdir -p "$d/cache" "$d/src"
bun scripts/build_binary.ts --outfile "$d/zccache" >/dev/null 2>&1
N=6
for i in $(seq 1 $N); do
  cat >"$d/src/u$i.c" <<EOF
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int f$i(int n) {
  char buf[64];
  int acc = 0;
  for (int k = 0; k < n; k++) { snprintf(buf, sizeof buf, "%d-%d", k, $i); acc += (int)strlen(buf); }
  return acc;
}
EOF
done
{
  echo '#include <stdio.h>'
  for i in $(seq 1 $N); do echo "int f$i(int);"; done
  echo 'int main(void) { int s = 0;'
  for i in $(seq 1 $N); do echo "  s += f$i(100);"; done
  echo '  printf("%d\n", s); return 0; }'
} >"$d/src/main.c"
build() { # build "<wrapper prefix or empty>"
  (
    cd "$d/src"
    rm -f ./*.o app.js app.wasm
    for f in main.c u*.c; do $1 emcc -O2 -c "$f" -o "${f%.c}.o"; done
    $1 emcc -O1 ./*.o -o app.js
  )
}
build "$d/zccache" # prime the cache (cold)
ms() { python3 -c 'import time; print(int(time.perf_counter()*1000))'; }
plain=() warm=()
for _ in 1 2 3 4 5; do
  t=$(ms); build ""; plain+=($(($(ms) - t)))
  t=$(ms); build "$d/zccache"; warm+=($(($(ms) - t)))
done
med() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
p=$(med "${plain[@]}") w=$(med "${warm[@]}")
(cd "$d/src" && node --no-experimental-fetch app.js >/dev/null)
echo "emcc $(cat /usr/share/emscripten/emscripten-version.txt 2>/dev/null || echo '?'), $(nproc) cores, $N TUs + 1 link"
echo "| build | median of 5 (ms) | all runs (ms) |"
echo "| --- | ---: | --- |"
echo "| plain emcc | $p | ${plain[*]} |"
echo "| zccache-ts, warm (all hits) | $w | ${warm[*]} |"
python3 -c "print('ratio plain / warm: %.1fx' % ($p / $w))"
"$d/zccache" stats | grep -E "Hits|Misses|Links" || true
