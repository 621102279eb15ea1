#!/usr/bin/env bash
# `cargo build` after `cargo clean` (issue 14): the test workspace of tests/e2e/cargo_test.ts (a lib,
# a bin, a proc-macro, Debian's vendored itoa and cfg-if; 5 rustc units, offline), warm through
# zccache-ts (RUSTC_WRAPPER) vs Debian's sccache (RUSTC_WRAPPER=sccache, own SCCACHE_DIR and port)
# vs plain cargo, in one run. Each tool first fills its cache once (cold, not timed); then ROUNDS
# interleaved rounds of `cargo clean && cargo build`, medians reported. CARGO_INCREMENTAL=0 for all
# three (both caches pass incremental units through). Debian's cargo/rustc by path.
#
#   bash scripts/bench/cargo.sh            (ROUNDS=5; prints a markdown table)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
CARGO=/usr/bin/cargo
export RUSTC=/usr/bin/rustc
for t in "$CARGO" "$RUSTC" /usr/bin/sccache /usr/share/cargo/registry/itoa-1.0.1; do
  [ -e "$t" ] || { echo "cargo.sh: $t not found"; exit 2; }
done
if [ -n "${ZCCACHE_BENCH_BINARY:-}" ]; then ZC="$ZCCACHE_BENCH_BINARY"; ZC_NAME="compiled binary"
elif command -v bun >/dev/null; then ZC="bun $REPO/cli.ts"; ZC_NAME="bun cli.ts"
else ZC="deno run -A $REPO/cli.ts"; ZC_NAME="deno run cli.ts"; fi

W=$(mktemp -d /tmp/zc-cargo-bench-XXXXXX)
export ZCCACHE_CACHE_DIR=$W/zc SCCACHE_DIR=$W/sc SCCACHE_SERVER_PORT=$((20000 + RANDOM % 20000))
export CARGO_HOME=$W/cargo-home CARGO_INCREMENTAL=0 MYLIB_FLAVOR=blue CARGO_TERM_COLOR=never
cleanup() {
  $ZC stop >/dev/null 2>&1 || true
  /usr/bin/sccache --stop-server >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
printf '#!/bin/sh\nexec %s "$@"\n' "$ZC" > "$W/zccache"
chmod +x "$W/zccache"

# The workspace, written by the e2e test's own helper.
WS=$W/ws
(cd "$REPO" && deno eval "import { writeWorkspace } from './tests/e2e/cargo_test.ts'; writeWorkspace('$WS');" \
  >/dev/null 2>&1) || { echo "cargo.sh: could not write the workspace"; exit 1; }

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
build() { # build WRAPPER: clean, then a timed build; prints wall ms
  (cd "$WS" && $CARGO clean -q)
  local t0; t0=$(date +%s%N)
  (cd "$WS" && RUSTC_WRAPPER=$1 $CARGO build -q --offline) >/dev/null 2>"$W/err.log" ||
    { cat "$W/err.log"; exit 1; }
  ms "$t0"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

build "$W/zccache" >/dev/null
build /usr/bin/sccache >/dev/null
zc=() sc=() pl=()
for _ in $(seq "$ROUNDS"); do
  zc+=("$(build "$W/zccache")")
  sc+=("$(build /usr/bin/sccache)")
  pl+=("$(build "")")
done
"$WS/target/debug/app" | grep -q "hello 42 unix blue" || { echo "cargo.sh: wrong binary"; exit 1; }
Z=$(printf '%s\n' "${zc[@]}" | median)
S=$(printf '%s\n' "${sc[@]}" | median)
P=$(printf '%s\n' "${pl[@]}" | median)
hits=$($ZC status --json | sed -n 's/.*"rust":{"hits":\([0-9]*\).*/\1/p')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "zccache-ts as $ZC_NAME; $(/usr/bin/sccache --version); $($RUSTC --version); rounds $ROUNDS"
echo "zccache-ts rust hits over the timed rounds + fill: $hits"
echo
echo "| warm \`cargo build\` after \`cargo clean\` (ms, median of $ROUNDS) | wall | vs plain | vs sccache |"
echo "| --- | ---: | ---: | ---: |"
echo "| zccache-ts | $Z | $(ratio "$Z" "$P")× | $(ratio "$Z" "$S")× |"
echo "| sccache | $S | $(ratio "$S" "$P")× | 1.00× |"
echo "| plain cargo (no cache) | $P | 1.00× | |"
echo "raw zccache: ${zc[*]}; sccache: ${sc[*]}; plain: ${pl[*]}"
