#!/usr/bin/env bash
# Size and start-up of the `bun build --compile` binary beside a compiled
# hello world, one run (BENCHMARKS.md "Binary size"):
#   bash scripts/bench/binary_size.sh
set -eu
cd "$(dirname "$0")/../.."
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo 'console.log("hello");' >"$d/hello.ts"
bun build --compile --minify "$d/hello.ts" --outfile "$d/hello" >/dev/null 2>&1
bun scripts/build_binary.ts --outfile "$d/zccache" >/dev/null 2>&1
bun scripts/build_binary.ts --no-bytecode --outfile "$d/zccache-nobc" >/dev/null 2>&1
bun build --minify --format=esm --target=bun cli.ts --outfile "$d/bundle.js" >/dev/null 2>&1
median() { # median wall ms of 21 runs of "$@"
  python3 - "$@" <<'PY'
import subprocess, sys, time
ts = []
for _ in range(21):
    t = time.perf_counter(); subprocess.run(sys.argv[1:], capture_output=True); ts.append(time.perf_counter() - t)
print("%.1f" % (sorted(ts)[10] * 1000))
PY
}
mib() { python3 -c "import os,sys; print('%.1f' % (os.path.getsize(sys.argv[1]) / 1048576))" "$1"; }
echo "bun $(bun --version), $(uname -sm)"
echo "| binary | size (MiB) | start, median of 21 (ms) |"
echo "| --- | ---: | ---: |"
echo "| hello world (\`bun build --compile --minify\`) | $(mib "$d/hello") | $(median "$d/hello") |"
echo "| zccache (\`--minify --bytecode\`, the default) | $(mib "$d/zccache") | $(median "$d/zccache" --version) |"
echo "| zccache \`--no-bytecode\` | $(mib "$d/zccache-nobc") | $(median "$d/zccache-nobc" --version) |"
echo "| (the minified JS bundle alone) | $(mib "$d/bundle.js") | |"
