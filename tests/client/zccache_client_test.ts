/**
 * The build-script API (`ZccacheClient`) against a real daemon that it
 * starts itself on a private cache dir, with real gcc: compile (miss, hit,
 * a failing compile), compileMany (job order, progress, concurrency bound,
 * abort), sessions with stats, link, status, clear, the local fallback, and
 * the same API from Node.js through a bundle built with
 * `bun build --target=node`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { test } from "../_harness.ts";
import { type CompileJob, type CompileProgress, isZccacheError, ZccacheClient } from "../../mod.ts";
import { stopDaemon } from "../../src/client/lifecycle.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}
const NO_GCC = !have("gcc");

interface World {
  dir: string;
  env: Record<string, string>;
}

function world(tag: string): World {
  const dir = mkdtempSync(join(tmpdir(), `zc-api-${tag}-`));
  mkdirSync(join(dir, "cache"));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ZCCACHE_")) env[k] = v;
  }
  env.ZCCACHE_CACHE_DIR = join(dir, "cache");
  env.ZCCACHE_IDLE_TIMEOUT_SECS = "120";
  env.NO_COLOR = "1";
  return { dir, env };
}

async function dispose(w: World, endpoint?: string): Promise<void> {
  if (endpoint !== undefined) await stopDaemon(endpoint, { env: w.env }).catch(() => false);
  // A daemon that just stopped may still be flushing its index: retry.
  for (let i = 0;; i++) {
    try {
      rmSync(w.dir, { recursive: true, force: true });
      return;
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function sources(w: World, n: number): CompileJob[] {
  writeFileSync(join(w.dir, "common.h"), "#define K 7\n");
  const jobs: CompileJob[] = [];
  for (let i = 0; i < n; i++) {
    writeFileSync(
      join(w.dir, `f${i}.c`),
      `#include "common.h"\nint f${i}(void) { return K + ${i}; }\n`,
    );
    jobs.push({ compiler: "gcc", args: ["-c", `f${i}.c`, "-o", `f${i}.o`], cwd: w.dir });
  }
  return jobs;
}

const dec = new TextDecoder();

test(
  "ZccacheClient.compile(): miss then hit, the compiler's own output, daemon auto-started",
  async () => {
    const w = world("compile");
    let endpoint: string | undefined;
    try {
      await using zc = await ZccacheClient.connect({ env: w.env });
      endpoint = zc.endpoint;
      assert.equal(endpoint, join(w.dir, "cache", "daemon.sock"));
      const [job] = sources(w, 1);
      const a = await zc.compile(job);
      assert.equal(a.exitCode, 0, dec.decode(a.stderr));
      assert.equal(a.cached, false);
      const obj = readFileSync(join(w.dir, "f0.o"));
      rmSync(join(w.dir, "f0.o"));
      const b = await zc.compile(job);
      assert.equal(b.exitCode, 0);
      assert.equal(b.cached, true);
      assert.deepEqual(readFileSync(join(w.dir, "f0.o")), obj);

      // A warning reaches stderr; an error gives gcc's exit code.
      writeFileSync(join(w.dir, "bad.c"), "int f(void) { return x; }\n");
      const bad = await zc.compile({ compiler: "gcc", args: ["-c", "bad.c"], cwd: w.dir });
      assert.equal(bad.exitCode, 1);
      assert.match(dec.decode(bad.stderr), /x\S* undeclared/);

      const st = await zc.status();
      assert.equal(st.cacheHits, 1n);
      assert.equal(st.version, "1.12.2");
      const cleared = await zc.clear();
      assert.ok(cleared.artifactsRemoved >= 1n);
      await assert.rejects(
        zc.compile({ compiler: "no-such-compiler-zc", args: ["-c", "x.c"], cwd: w.dir }),
        /compiler not found/,
      );
    } finally {
      await dispose(w, endpoint);
    }
  },
  { ignore: NO_GCC, sanitize: false, timeout: 60_000 },
);

test(
  "ZccacheClient.compileMany(): job order, one progress call per job, hits counted, abort",
  async () => {
    const w = world("many");
    let endpoint: string | undefined;
    try {
      await using zc = await ZccacheClient.connect({ cacheDir: join(w.dir, "cache"), env: w.env });
      endpoint = zc.endpoint;
      const jobs = sources(w, 12);
      const seen: CompileProgress[] = [];
      const cold = await zc.compileMany(jobs, { concurrency: 3, onProgress: (p) => seen.push(p) });
      assert.equal(cold.length, 12);
      assert.ok(cold.every((r) => r.exitCode === 0 && !r.cached));
      assert.deepEqual(seen.map((p) => p.done), [...Array(12).keys()].map((i) => i + 1));
      assert.ok(seen.every((p) => p.total === 12 && p.hits + p.misses === p.done));
      assert.equal(new Set(seen.map((p) => p.job)).size, 12);

      // One file changed: 11 hits, 1 miss, results still in job order.
      writeFileSync(join(w.dir, "f5.c"), "int f5(void) { return 55; }\n");
      let last: CompileProgress | undefined;
      const warm = await zc.compileMany(jobs, { concurrency: 4, onProgress: (p) => (last = p) });
      assert.deepEqual(warm.map((r) => r.cached), jobs.map((_, i) => i !== 5));
      assert.equal(last?.hits, 11);
      assert.equal(last?.misses, 1);

      // Abort after the first finished job: nothing new starts, the call rejects.
      const ac = new AbortController();
      let finished = 0;
      await assert.rejects(
        zc.compileMany(jobs, {
          concurrency: 2,
          signal: ac.signal,
          onProgress: () => {
            finished++;
            ac.abort();
          },
        }),
        (e: unknown) => (e as Error).name === "AbortError",
      );
      assert.ok(finished <= 2, `at most the in-flight jobs finished (${finished})`);
      const pre = new AbortController();
      pre.abort();
      await assert.rejects(zc.compileMany(jobs, { signal: pre.signal }));
    } finally {
      await dispose(w, endpoint);
    }
  },
  { ignore: NO_GCC, sanitize: false, timeout: 60_000 },
);

test(
  "ZccacheClient.session({ stats }) counts its compiles; link() archives and links through the cache",
  async () => {
    const w = world("session");
    let endpoint: string | undefined;
    try {
      await using zc = await ZccacheClient.connect({ env: w.env });
      endpoint = zc.endpoint;
      const jobs = sources(w, 3);
      writeFileSync(
        join(w.dir, "main.c"),
        "int f0(void); int f1(void); int f2(void);\n" +
          "int main(void) { return f0() + f1() + f2() == 24 ? 0 : 3; }\n",
      );
      jobs.push({ compiler: "gcc", args: ["-c", "main.c", "-o", "main.o"], cwd: w.dir });
      const s = await zc.session({ stats: true });
      assert.ok(s.id.length > 0);
      await s.compileMany(jobs);
      const again = await s.compile(jobs[0]);
      assert.equal(again.cached, true);
      const stats = await s.end();
      assert.ok(stats !== null);
      assert.equal(stats.compilations, 5n);
      assert.equal(stats.hits, 1n);
      assert.equal(stats.misses, 4n);

      const ar = await zc.link({
        tool: "ar",
        args: ["rcsD", "libf.a", "f0.o", "f1.o", "f2.o"],
        cwd: w.dir,
      });
      assert.equal(ar.exitCode, 0, dec.decode(ar.stderr));
      const ld = await zc.link({
        tool: "gcc",
        args: ["-o", "app", "main.o", "libf.a"],
        cwd: w.dir,
      });
      assert.equal(ld.exitCode, 0, dec.decode(ld.stderr));
      assert.equal(spawnSync(join(w.dir, "app")).status, 0);
      rmSync(join(w.dir, "app"));
      const ld2 = await zc.link({
        tool: "gcc",
        args: ["-o", "app", "main.o", "libf.a"],
        cwd: w.dir,
      });
      assert.equal(ld2.cached, true);
      assert.equal(spawnSync(join(w.dir, "app")).status, 0);
      const st = await zc.status();
      assert.equal(st.linkHits, 1n);
    } finally {
      await dispose(w, endpoint);
    }
  },
  { ignore: NO_GCC, sanitize: false, timeout: 60_000 },
);

test(
  "ZccacheClient: no daemon -> local compile (cached: false); { fallback: false } rejects",
  async () => {
    const w = world("fallback");
    try {
      const endpoint = join(w.dir, "nobody.sock");
      await using zc = await ZccacheClient.connect({ endpoint, autoStart: false, env: w.env });
      const [job] = sources(w, 1);
      const r = await zc.compile(job);
      assert.equal(r.exitCode, 0);
      assert.equal(r.cached, false);
      assert.ok(existsSync(join(w.dir, "f0.o")));
      await assert.rejects(zc.compile(job, { fallback: false }), (e: unknown) => isZccacheError(e));
      const many = await zc.compileMany([job, job], { concurrency: 2 });
      assert.deepEqual(many.map((x) => x.exitCode), [0, 0]);
      await assert.rejects(zc.status(), (e: unknown) => isZccacheError(e, "DaemonUnreachable"));
    } finally {
      await dispose(w);
    }
  },
  { ignore: NO_GCC, sanitize: false, timeout: 60_000 },
);

test(
  "ZccacheClient from Node.js (bun build --target=node bundle): compileMany hits, status, link",
  async () => {
    const w = world("node");
    let endpoint: string | undefined;
    try {
      // Start the daemon from here (a bundle cannot re-run cli.ts as a daemon).
      {
        await using zc = await ZccacheClient.connect({ env: w.env });
        endpoint = zc.endpoint;
        await zc.status();
      }
      const bundle = join(w.dir, "client.mjs");
      const built = spawnSync(
        "bun",
        ["build", "--target=node", "--format=esm", join(REPO, "mod.ts"), "--outfile", bundle],
        { encoding: "utf8", cwd: REPO },
      );
      assert.equal(built.status, 0, built.stderr);
      sources(w, 4);
      const script = join(w.dir, "main.mjs");
      writeFileSync(
        script,
        `import { ZccacheClient } from "./client.mjs";
const zc = await ZccacheClient.connect({ autoStart: false });
const jobs = [0, 1, 2, 3].map((i) => ({ compiler: "gcc", args: ["-c", "f" + i + ".c", "-o", "f" + i + ".o"] }));
const a = await zc.compileMany(jobs, { concurrency: 2 });
let last;
const b = await zc.compileMany(jobs, { concurrency: 2, onProgress: (p) => (last = p) });
const l = await zc.link({ tool: "gcc", args: ["-shared", "-o", "libf.so", "f0.o", "f1.o"] });
const st = await zc.status();
await zc.close();
console.log(JSON.stringify({
  a: a.map((r) => [r.exitCode, r.cached]), b: b.map((r) => [r.exitCode, r.cached]),
  hits: last.hits, link: l.exitCode, cacheHits: String(st.cacheHits),
}));
`,
      );
      const r = spawnSync("node", [script], { encoding: "utf8", cwd: w.dir, env: w.env });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.a, [[0, false], [0, false], [0, false], [0, false]]);
      assert.deepEqual(out.b, [[0, true], [0, true], [0, true], [0, true]]);
      assert.equal(out.hits, 4);
      assert.equal(out.link, 0);
      assert.equal(out.cacheHits, "4");
    } finally {
      await dispose(w, endpoint);
    }
  },
  { ignore: NO_GCC || !have("node") || !have("bun"), sanitize: false, timeout: 90_000 },
);
