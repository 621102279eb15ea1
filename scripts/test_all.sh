#!/usr/bin/env bash
# Runs the whole test suite under Deno and under Bun and prints one closing line
# "N passed, N failed" (the sum over both runs). Exit status is non-zero when any
# test failed or a runner could not run.
set -u
cd "$(dirname "$0")/.."

# deno and bun from PATH, else from the npm registry through npx (a fresh machine).
if command -v deno >/dev/null 2>&1; then DENO=(deno); else DENO=(npx -y deno@2.9.6); fi
if command -v bun >/dev/null 2>&1; then BUN=(bun); else BUN=(npx -y bun@1.4.5); fi
[ -d node_modules/@bufbuild/protobuf ] || "${BUN[@]}" install --frozen-lockfile >/dev/null 2>&1 || "${BUN[@]}" install

deno_log=$(mktemp)
bun_log=$(mktemp)
trap 'rm -f "$deno_log" "$deno_log.rel" "$bun_log"' EXIT

echo "== deno test (with --doc: the JSDoc examples of mod.ts and src/) =="
# The reliability suite measures latency and waits under load of its own: it
# runs after the rest, one file at a time, not beside the parallel run.
"${DENO[@]}" test -A --doc --parallel --ignore=tests/reliability tests/ src/ mod.ts 2>&1 | tee "$deno_log"
deno_rc=${PIPESTATUS[0]}
echo "== deno test (reliability, serial) =="
"${DENO[@]}" test -A tests/reliability/ 2>&1 | tee "$deno_log.rel"
deno_rel_rc=${PIPESTATUS[0]}

echo "== bun test =="
"${BUN[@]}" test --timeout 120000 tests/ 2>&1 | tee "$bun_log"
bun_rc=${PIPESTATUS[0]}

strip() { sed -e 's/\x1b\[[0-9;]*m//g' "$1"; }
# Deno closes with "ok | 12 passed (3 steps) | 0 failed (4s)" or "FAILED | ...".
deno_counts() {
  local line
  line=$(strip "$1" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)
  [ -n "$line" ] || return 1
  printf '%s %s\n' "$(printf '%s' "$line" | sed -E 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/')" \
    "$(printf '%s' "$line" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')"
}
d_pass=""
d_fail=""
if c1=$(deno_counts "$deno_log") && c2=$(deno_counts "$deno_log.rel"); then
  d_pass=$(( ${c1% *} + ${c2% *} ))
  d_fail=$(( ${c1#* } + ${c2#* } ))
fi
[ "$deno_rel_rc" -ne 0 ] && deno_rc=$deno_rel_rc
# Bun closes with " 12 pass" / " 0 fail" lines.
b_pass=$(strip "$bun_log" | grep -E '^ *[0-9]+ pass$' | tail -1 | tr -dc '0-9')
b_fail=$(strip "$bun_log" | grep -E '^ *[0-9]+ fail$' | tail -1 | tr -dc '0-9')

[ -n "$d_pass" ] || { d_pass=0; d_fail=${d_fail:-1}; echo "deno: no summary line found"; }
[ -n "$d_fail" ] || d_fail=0
[ -n "$b_pass" ] || { b_pass=0; b_fail=${b_fail:-1}; echo "bun: no summary line found"; }
[ -n "$b_fail" ] || b_fail=0
# A runner that exited non-zero with no failed test counted still counts as a failure.
[ "$deno_rc" -ne 0 ] && [ "$d_fail" -eq 0 ] && d_fail=1
[ "$bun_rc" -ne 0 ] && [ "$b_fail" -eq 0 ] && b_fail=1

echo "deno: $d_pass passed, $d_fail failed; bun: $b_pass passed, $b_fail failed"
passed=$((d_pass + b_pass))
failed=$((d_fail + b_fail))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
