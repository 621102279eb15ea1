/**
 * The demo build both examples run (`examples/build_bun.ts`,
 * `examples/build_deno.ts`): compile every `examples/demo/*.c` through the
 * cache in one session, with a one-line progress display, link the objects
 * into `demo` through the cache, and print the session's statistics.
 *
 * Only the public API (`../../mod.ts`) and `node:` built-ins are used, so the
 * same code runs under Deno, Bun and Node.
 *
 * @module
 */
import { mkdirSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type CompileJob, type CompileProgress, ZccacheClient } from "../../mod.ts";

/** Where the demo's sources live. */
export const DEMO_DIR: string = dirname(fileURLToPath(import.meta.url));

/** How the runtime-specific entry talks to its terminal. */
export interface BuildIo {
  /** Write text to stdout. */
  write(text: string): void;
  /** True when stdout is a terminal (progress redrawn in place). */
  isTTY: boolean;
  /** The environment (`CC`, `ZCCACHE_*`). */
  env: Record<string, string | undefined>;
}

/** The one progress line: `[12/34] 9 hits 3 misses`. */
export function progressLine(
  p: Pick<CompileProgress, "done" | "total" | "hits" | "misses">,
): string {
  return `[${p.done}/${p.total}] ${p.hits} hits ${p.misses} misses`;
}

/** Build the demo into `outDir`; returns the exit code. */
export async function buildDemo(outDir: string, io: BuildIo): Promise<number> {
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  const cc = io.env.CC ?? "gcc";
  const sources = readdirSync(DEMO_DIR).filter((f) => f.endsWith(".c")).sort();
  const objects = sources.map((s) => join(out, basename(s, ".c") + ".o"));
  const jobs: CompileJob[] = sources.map((s, i) => ({
    compiler: cc,
    args: ["-O2", "-Wall", "-c", s, "-o", objects[i]],
    cwd: DEMO_DIR,
  }));

  await using zc = await ZccacheClient.connect({ env: io.env });
  const session = await zc.session({ stats: true });
  const results = await session.compileMany(jobs, {
    concurrency: 4,
    onProgress: (p) => io.write(io.isTTY ? `\r${progressLine(p)}` : `${progressLine(p)}\n`),
  });
  if (io.isTTY) io.write("\n");
  const dec = new TextDecoder();
  let failed = 0;
  for (const [i, r] of results.entries()) {
    if (r.stderr.length > 0) io.write(dec.decode(r.stderr));
    if (r.exitCode !== 0) {
      failed++;
      io.write(`${sources[i]}: ${cc} exited with ${r.exitCode}\n`);
    }
  }
  let code = failed === 0 ? 0 : 1;
  if (code === 0) {
    const exe = join(out, "demo");
    const link = await zc.link({ tool: cc, args: ["-o", exe, ...objects], cwd: out });
    if (link.stderr.length > 0) io.write(dec.decode(link.stderr));
    if (link.exitCode !== 0) code = 1;
    else io.write(`linked ${exe}${link.cached ? " (cached)" : ""}\n`);
  }
  const stats = await session.end();
  if (stats !== null) {
    io.write(
      `session: ${stats.compilations} compiles, ${stats.hits} hits, ${stats.misses} misses, ` +
        `${stats.nonCacheable} non-cacheable, ${stats.errors} errors, ` +
        `${stats.timeSavedMs} ms saved\n`,
    );
  }
  return code;
}
