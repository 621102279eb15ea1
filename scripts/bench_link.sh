#!/usr/bin/env bash
# Warm link and archive hits through the wrapper against a plain link and ar, same run.
# Usage: scripts/bench_link.sh [N] [zccache command...]   (default: 20 x `deno run -A cli.ts`)
set -euo pipefail
N=${1:-20}
shift || true
ZC=("$@")
if [ ${#ZC[@]} -eq 0 ]; then ZC=(deno run -A "$(cd "$(dirname "$0")/.." && pwd)/cli.ts"); fi
W=$(mktemp -d)
trap 'ZCCACHE_CACHE_DIR=$W/cache "${ZC[@]}" stop >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
export ZCCACHE_CACHE_DIR=$W/cache
cd "$W"
for i in $(seq 1 40); do echo "int f$i(int x) { return x * $i; }" > "f$i.c"; gcc -O2 -c "f$i.c" -o "f$i.o"; done
printf '#include <stdio.h>\nint f1(int);\nint main(void) { printf("%%d\\n", f1(2)); return 0; }\n' > main.c
gcc -O2 -c main.c -o main.o
OBJS=$(ls f*.o)
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'; }
"${ZC[@]}" ar rcsD libf.a $OBJS >/dev/null  # start the daemon, cold miss
"${ZC[@]}" gcc -o app main.o -L. -lf -lm >/dev/null
for kind in plain_ar zc_ar plain_ld zc_ld; do
  for i in $(seq 1 "$N"); do
    case $kind in
      plain_ar) rm -f libp.a; ms ar rcsD libp.a $OBJS ;;
      zc_ar) rm -f libf.a; ms "${ZC[@]}" ar rcsD libf.a $OBJS ;;
      plain_ld) ms gcc -o appp main.o -L. -lf -lm ;;
      zc_ld) ms "${ZC[@]}" gcc -o app main.o -L. -lf -lm ;;
    esac
  done | median > "$W/$kind"
done
cmp libf.a libp.a && cmp app appp && echo "outputs byte-identical"
"${ZC[@]}" status --json | tr ',' '\n' | grep -E '"(total_links|link_hits|link_misses|link_non_cacheable)"'
printf 'ar rcsD (40 members): plain %s ms, zccache hit %s ms\n' "$(cat plain_ar)" "$(cat zc_ar)"
printf 'gcc -o app (-lf -lm): plain %s ms, zccache hit %s ms\n' "$(cat plain_ld)" "$(cat zc_ld)"
