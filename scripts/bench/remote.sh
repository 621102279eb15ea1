#!/usr/bin/env bash
# The shared remote tier, measured against ccache's own Redis remote storage on the same server,
# in one run (issue 15):
#   second machine  a warm Lua 5.4 build (34 TUs, make -jJOBS) with an EMPTY local cache, every
#                   object coming from a Redis that a first "machine" (another cache dir, another
#                   checkout directory) filled: zccache-ts (ZCCACHE_REMOTE=redis://...) vs
#                   ccache 4.7.5 (remote_storage=redis://...).
#   remote miss     a cold build (every TU new) with the remote configured vs without it.
# Rounds are interleaved (zccache, ccache alternate) and medians reported. Needs gcc, make,
# redis-server, ccache; the Lua sources are fetched offline by scripts/bench/fetch_lua.sh into
# $ANCHORS_SRC/lua-5.4.4 (default /tmp/benchsrc).
#
#   bash scripts/bench/remote.sh            (ROUNDS=3 JOBS=2; prints a markdown table)
#   SMOKE=1 bash scripts/bench/remote.sh    (one round, two TUs: keeps the script working in CI)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-2}
SRC=$(bash "$REPO/scripts/bench/fetch_lua.sh") || exit 2
for t in redis-server ccache gcc make; do
  command -v "$t" >/dev/null || { echo "remote.sh: $t not found"; exit 2; }
done
if [ -x "$REPO/dist/zccache" ]; then ZC=("$REPO/dist/zccache"); ZC_NAME="compiled binary"
elif command -v bun >/dev/null; then ZC=(bun "$REPO/cli.ts"); ZC_NAME="bun cli.ts"
else ZC=(deno run -A "$REPO/cli.ts"); ZC_NAME="deno run cli.ts"; fi

W=$(mktemp -d /tmp/zc-remote-bench-XXXXXX)
port=$((20000 + RANDOM % 20000))
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$W/redis.pid" --logfile "$W/redis.log" >/dev/null
cleanup() {
  for d in "$W"/zc*; do [ -d "$d" ] && ZCCACHE_CACHE_DIR=$d "${ZC[@]}" stop >/dev/null 2>&1 || true; done
  [ -f "$W/redis.pid" ] && kill "$(cat "$W/redis.pid")" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
REDIS="redis://127.0.0.1:$port"

files=("$SRC"/*.c)
[ -n "${SMOKE:-}" ] && { ROUNDS=1; files=("${files[@]:0:2}"); }
# Two checkouts (the second machine builds from another directory: ZCCACHE_BASEDIR).
for co in a b; do mkdir -p "$W/$co/src" "$W/$co/obj"; cp "${files[@]}" "$SRC"/*.h "$W/$co/src/"; done
cat > "$W/Makefile" <<'EOF'
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))
all: $(OBJS)
obj/%.o: src/%.c
	$(CC) -std=gnu99 -O2 -Wall -Wextra -DLUA_COMPAT_5_3 -DLUA_USE_LINUX $(SALT) -c $< -o $@
EOF

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
build() { # build CHECKOUT CC [make vars...]: prints wall ms
  local co=$1 cc=$2; shift 2
  rm -f "$W/$co"/obj/*.o
  local t0; t0=$(date +%s%N)
  make -s -C "$W/$co" -f "$W/Makefile" -j"$JOBS" CC="$cc" "$@" >/dev/null 2>"$W/err.log" ||
    { cat "$W/err.log"; exit 1; }
  ms "$t0"
}
zc_drain() { # wait until the daemon's upload queue is empty
  for _ in $(seq 200); do
    q=$(ZCCACHE_CACHE_DIR=$1 "${ZC[@]}" status --json 2>/dev/null |
      sed -n 's/.*"queued": *\([0-9]*\).*/\1/p' | head -1)
    [ "${q:-0}" = 0 ] && return 0
    sleep 0.05
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

zc_b=() cc_b=() zc_cold_remote=() zc_cold_local=() plain=()
for r in $(seq "$ROUNDS"); do
  salt="-DREMOTE_BENCH_ROUND=$r$$"
  # zccache: machine A fills the remote, machine B (empty local cache) builds from it.
  export ZCCACHE_BASEDIR=$W ZCCACHE_REMOTE=$REDIS
  ZCCACHE_CACHE_DIR=$W/zcA$r "${ZC[@]}" start >/dev/null 2>&1
  zc_cold_remote+=("$(ZCCACHE_CACHE_DIR=$W/zcA$r build a "${ZC[*]} gcc" SALT="$salt")")
  zc_drain "$W/zcA$r"
  ZCCACHE_CACHE_DIR=$W/zcB$r "${ZC[@]}" start >/dev/null 2>&1
  zc_b+=("$(ZCCACHE_CACHE_DIR=$W/zcB$r build b "${ZC[*]} gcc" SALT="$salt")")
  for o in "$W"/a/obj/*.o; do cmp -s "$o" "$W/b/obj/$(basename "$o")" || { echo "remote.sh: $o differs"; exit 1; }; done
  unset ZCCACHE_REMOTE
  ZCCACHE_CACHE_DIR=$W/zcL$r "${ZC[@]}" start >/dev/null 2>&1
  zc_cold_local+=("$(ZCCACHE_CACHE_DIR=$W/zcL$r build a "${ZC[*]} gcc" SALT="$salt-local")")
  for d in zcA$r zcB$r zcL$r; do ZCCACHE_CACHE_DIR=$W/$d "${ZC[@]}" stop >/dev/null 2>&1 || true; done
  unset ZCCACHE_BASEDIR
  # ccache with its own Redis remote storage on the same server.
  CCACHE_DIR=$W/ccA$r CCACHE_REMOTE_STORAGE=$REDIS CCACHE_BASEDIR=$W \
    build a "ccache gcc" SALT="$salt-cc" >/dev/null
  cc_b+=("$(CCACHE_DIR=$W/ccB$r CCACHE_REMOTE_STORAGE=$REDIS CCACHE_BASEDIR=$W \
    build b "ccache gcc" SALT="$salt-cc")")
  rh=$(CCACHE_DIR=$W/ccB$r ccache --print-stats | awk '$1 == "remote_storage_read_hit" {print $2}')
  [ "${rh:-0}" -gt 0 ] || { echo "remote.sh: ccache's second machine got no remote hits"; exit 1; }
  plain+=("$(build a gcc SALT="$salt-plain")")
done

zb=$(printf '%s\n' "${zc_b[@]}" | median)
cb=$(printf '%s\n' "${cc_b[@]}" | median)
zr=$(printf '%s\n' "${zc_cold_remote[@]}" | median)
zl=$(printf '%s\n' "${zc_cold_local[@]}" | median)
pl=$(printf '%s\n' "${plain[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
echo "Rounds: $ROUNDS, make -j$JOBS, ${#files[@]} TUs, zccache-ts as $ZC_NAME, $(ccache --version | head -1)."
echo "Medians (ms); each round also checks the second machine's objects are byte-identical to the first's."
echo
echo "| build | zccache-ts | ccache | zccache-ts vs ccache |"
echo "| --- | --: | --: | --: |"
echo "| second machine, warm from Redis (empty local cache) | $zb | $cb | $(ratio "$cb" "$zb")x |"
echo "| cold with the remote | $zr | | |"
echo "| cold without a remote | $zl | | |"
echo "| plain gcc (cold, for scale) | $pl | | |"
echo
echo "Cost of a remote miss on a cold build: $(ratio "$zr" "$zl")x the local-only cold build."
echo "Per-round ms: zccache B ${zc_b[*]}; ccache B ${cc_b[*]}; cold+remote ${zc_cold_remote[*]}; cold local ${zc_cold_local[*]}."
