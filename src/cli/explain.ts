/**
 * `zccache explain [--json] -- <compiler> [args...]`: would this command
 * line hit, and if not, which part of its key differs from the nearest
 * entry? Nothing is compiled and no wire request is sent (the wire is
 * zccache 1.12.2's): the engine's own key computation runs here, over the
 * index loaded read-only from the cache dir (`index.json` and its
 * write-ahead log, so entries a running daemon stored a moment ago count).
 *
 * Exit 0 for a hit, 1 for a miss (or a command line that is not
 * cacheable), 2 for a usage error.
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import type { CliIo } from "./io.ts";

/** Usage line of `zccache explain`. */
export const EXPLAIN_USAGE = "Usage: zccache explain [--json] -- <compiler> [args...]\n";

const HELP = EXPLAIN_USAGE + `
Say whether this compile would be served from the cache, without compiling:
"hit", or what differs from the nearest entry (changed header <path>,
changed flag A -> B, changed env NAME, compiler changed, new source).

Options:
  --json      one JSON object {"result","reason","units":[{"source","hit","reason"}]}
  -h, --help  display help for command

Exit: 0 hit, 1 miss or not cacheable, 2 usage.
`;

/** Run `zccache explain` (argv after `explain`). */
export async function cmdExplain(argv: string[], io: CliIo): Promise<number> {
  let json = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++;
      break;
    }
    if (a === "--json") json = true;
    else if (a === "-h" || a === "--help") {
      await io.stdout(HELP);
      return 0;
    } else if (a.startsWith("-")) {
      await io.stderr(`zccache explain: unknown option ${JSON.stringify(a)}\n${EXPLAIN_USAGE}`);
      return 2;
    } else break;
  }
  const [name, ...args] = argv.slice(i);
  if (name === undefined) {
    await io.stderr(`zccache explain: no compiler given\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const { resolveTool } = await import("./wrap.ts");
  const compiler = resolveTool(name, io.env, io.cwd);
  if (compiler === null) {
    await io.stderr(`zccache explain: ${name}: compiler not found in PATH\n`);
    return 2;
  }
  const [{ CompileEngine }, { resolveCacheDir }, { PROJECT_SUBDIR }] = await Promise.all([
    import("../daemon/engine.ts"),
    import("../transport/endpoint.ts"),
    import("../daemon/paths.ts"),
  ]);
  const root = resolveCacheDir(io.env, undefined, process.platform, { cwd: io.cwd });
  const engine = new CompileEngine({
    cacheDir: join(root, PROJECT_SUBDIR),
    readOnly: true,
    flushIntervalMs: 0,
  });
  let r;
  try {
    r = await engine.explain({
      compiler,
      args,
      cwd: io.cwd,
      env: io.env,
      stdin: new Uint8Array(0),
      client: { umask: process.umask(), stderrTty: process.stderr.isTTY === true },
    });
  } finally {
    await engine.close();
  }
  if (json) {
    await io.stdout(JSON.stringify({ result: r.kind, reason: r.reason, units: r.units }) + "\n");
  } else if (r.kind === "non_cacheable") {
    await io.stdout(`non-cacheable: ${r.reason}\n`);
  } else if (r.units.length === 1) {
    await io.stdout(r.kind === "hit" ? "hit\n" : `miss: ${r.reason}\n`);
  } else {
    const lines = r.units.map((u) => `${u.source}: ${u.hit ? "hit" : `miss: ${u.reason}`}\n`);
    await io.stdout(`${r.kind}\n${lines.join("")}`);
  }
  return r.kind === "hit" ? 0 : 1;
}
