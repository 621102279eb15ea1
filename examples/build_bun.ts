#!/usr/bin/env bun
/**
 * Build the demo C project (`examples/demo/`) through zccache from a Bun
 * build script: `bun examples/build_bun.ts [outDir]` (default
 * `examples/demo/build`). Run it twice: the second build is all hits.
 *
 * @module
 */
import { buildDemo, DEMO_DIR } from "./demo/build.ts";

const outDir = Bun.argv[2] ?? `${DEMO_DIR}/build`;
const code = await buildDemo(outDir, {
  write: (text) => process.stdout.write(text),
  isTTY: process.stdout.isTTY === true,
  env: Bun.env,
});
process.exit(code);
