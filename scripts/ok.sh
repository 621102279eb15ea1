#!/usr/bin/env bash
# The one gate (`deno task ok`, and what `.ci/run` runs after installing):
#   deno fmt --check, deno lint, check:core, check:layers, deno check mod.ts cli.ts,
#   deno doc --lint on every `exports` entry of deno.json, deno publish --dry-run
#   (no slow types), then scripts/test_all.sh (Deno with --doc, then Bun).
# Every check runs even after one fails, so one run shows everything; the last
# line is test_all.sh's "N passed, N failed". Exit status is non-zero when any
# check or test failed.
#
#   bash scripts/ok.sh            all of it
#   bash scripts/ok.sh --static   the static checks only (no tests)
set -u
cd "$(dirname "$0")/.."

if command -v deno >/dev/null 2>&1; then DENO=(deno); else DENO=(npx -y deno@2.9.6); fi
export NO_COLOR=1

failed=()
check() {
  local name=$1
  shift
  echo "== $name =="
  local out
  if out=$("$@" 2>&1); then
    printf '%s\n' "$out" | tail -1
  else
    printf '%s\n' "$out" | tail -40
    echo "$name FAILED"
    failed+=("$name")
  fi
}

# Every entry of deno.json "exports", in order.
mapfile -t entries < <("${DENO[@]}" eval --quiet \
  'for (const p of Object.values(JSON.parse(Deno.readTextFileSync("deno.json")).exports)) console.log(p)')

check "deno fmt --check" "${DENO[@]}" fmt --check
check "deno lint" "${DENO[@]}" lint
check "check:core" "${DENO[@]}" task --quiet check:core
check "check:layers" "${DENO[@]}" task --quiet check:layers
check "deno check mod.ts cli.ts" "${DENO[@]}" check mod.ts cli.ts
check "deno doc --lint (exports: ${entries[*]})" "${DENO[@]}" doc --lint "${entries[@]}"
check "deno publish --dry-run" "${DENO[@]}" publish --dry-run --allow-dirty

if [ ${#failed[@]} -gt 0 ]; then
  echo "static checks FAILED: ${failed[*]} (the run fails whatever the tests say)"
fi
[ "${1:-}" = "--static" ] && { [ ${#failed[@]} -eq 0 ]; exit; }

# The README's test command; its last line is the closing "N passed, N failed".
bash scripts/test_all.sh
rc=$?
[ ${#failed[@]} -ne 0 ] && exit 1
exit $rc
