#!/usr/bin/env -S deno run -A
/**
 * The `zccache` executable.
 *
 * The compiler-wrapper hot path (`zccache gcc -c a.c -o a.o`) is recognised by
 * hand in `src/cli/main.ts` before any CLI library or protobuf schema loads.
 * Only this file picks concrete runtime adapters and calls `process.exit`.
 *
 * @module
 */
import process from "node:process";
import { main } from "./src/cli/main.ts";
import { nodeIo } from "./src/cli/node_io.ts";

if (import.meta.main) {
  // argv[0] as invoked (a `gcc` symlink to the binary: masquerade mode);
  // under `deno run`/`bun cli.ts` it names the runtime, i.e. the CLI.
  const code = await main(process.argv.slice(2), nodeIo(), process.argv0);
  process.exit(code);
}
