/**
 * Engine-level benchmark (no IPC, no wrapper process): warm-hit latency of
 * `CompileEngine.compile()` on a small C file, and cold-miss overhead against
 * running gcc directly with the same spawn mechanism.
 *
 *   deno run -A scripts/bench_engine.ts [--hits 200] [--misses 20] [--compiler gcc]
 *   bun scripts/bench_engine.ts
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { existsSync } from "node:fs";
import { CompileEngine } from "../src/daemon/engine.ts";
import { runProcess } from "../src/daemon/compiler/run.ts";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

function which(name: string): string {
  if (name.includes("/")) return name;
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  throw new Error(`${name} not found on PATH`);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `median ${pct(s, 0.5).toFixed(3)} ms, p90 ${pct(s, 0.9).toFixed(3)} ms, ` +
    `mean ${mean.toFixed(3)} ms, min ${s[0].toFixed(3)} ms (n=${s.length})`;
}

const hits = Number(arg("--hits", "200"));
const misses = Number(arg("--misses", "20"));
const compiler = which(arg("--compiler", "gcc"));
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

const dir = mkdtempSync(join(tmpdir(), "zccache-bench-"));
try {
  writeFileSync(join(dir, "a.h"), "#define VALUE 42\n");
  writeFileSync(
    join(dir, "a.c"),
    '#include <stdio.h>\n#include <string.h>\n#include "a.h"\n' +
      "int get(const char *s) { return (int)strlen(s) + VALUE; }\n" +
      'void hello(void) { printf("%d\\n", get("hi")); }\n',
  );
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const engine = new CompileEngine({ cacheDir: join(dir, "cache", "zccache-ts") });
  const req = (args: string[]) => ({
    compiler,
    args,
    cwd: dir,
    env,
    stdin: new Uint8Array(),
  });
  const args = ["-c", "a.c", "-o", "a.o", "-O2", "-Wall"];

  // Cold misses: a fresh key each time (-DITER=i) vs plain gcc with the same args.
  const plainMs: number[] = [];
  const missMs: number[] = [];
  for (let i = 0; i < misses; i++) {
    let t = performance.now();
    const p = await runProcess(compiler, [...args, `-DITER=${i}`, "-o", "plain.o"], req([]));
    plainMs.push(performance.now() - t);
    if (p.exitCode !== 0) throw new Error(new TextDecoder().decode(p.stderr));
    t = performance.now();
    const r = await engine.compile(req([...args, `-DITER=${i}`]));
    missMs.push(performance.now() - t);
    if (r.kind !== "miss") throw new Error(`expected a miss, got ${r.kind}`);
  }

  // Warm hits. Wait out the racy-timestamp window first so headers are
  // stat-verified only (the steady state of a real build).
  await new Promise((r) => setTimeout(r, 2100));
  await engine.compile(req(args));
  for (let i = 0; i < 20; i++) await engine.compile(req(args)); // JIT warm-up
  const hitMs: number[] = [];
  for (let i = 0; i < hits; i++) {
    const t = performance.now();
    const r = await engine.compile(req(args));
    hitMs.push(performance.now() - t);
    if (r.kind !== "hit") throw new Error(`expected a hit, got ${r.kind}`);
  }
  await engine.close();

  const med = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 0.5);
  console.log(`zccache-ts engine benchmark (${runtime}, ${compiler})`);
  console.log(`  warm hit (engine.compile):  ${summary(hitMs)}`);
  console.log(`  plain compiler run:         ${summary(plainMs)}`);
  console.log(`  cold miss (engine.compile): ${summary(missMs)}`);
  console.log(
    `  cold-miss overhead: ${(med(missMs) - med(plainMs)).toFixed(2)} ms median ` +
      `(${((med(missMs) / med(plainMs) - 1) * 100).toFixed(1)}%); ` +
      `hit speed-up vs plain: ${(med(plainMs) / med(hitMs)).toFixed(0)}x`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
