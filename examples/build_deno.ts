#!/usr/bin/env -S deno run -A
/**
 * Build the demo C project (`examples/demo/`) through zccache from a Deno
 * build script: `deno run -A examples/build_deno.ts [outDir]` (default
 * `examples/demo/build`). Run it twice: the second build is all hits.
 *
 * @module
 */
import { buildDemo, DEMO_DIR } from "./demo/build.ts";

const enc = new TextEncoder();
const outDir = Deno.args[0] ?? `${DEMO_DIR}/build`;
const code = await buildDemo(outDir, {
  write: (text) => Deno.stdout.writeSync(enc.encode(text)),
  isTTY: Deno.stdout.isTerminal(),
  env: Deno.env.toObject(),
});
Deno.exit(code);
