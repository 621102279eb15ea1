/**
 * Issue 12, why a miss, end to end against a real daemon and gcc:
 * `ZCCACHE_LOG` lines (hit, miss with its reason, non-cacheable with its
 * reason, escaped, never through a symlink, `log_file` from the config
 * file; compiler changed, evicted, corrupt entry; `stats -v` counts).
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, type World } from "./_e2e.ts";

const noGcc = !have("gcc");

function project(w: World): string {
  const src = join(w.dir, "src");
  mkdirSync(join(src, "inc"), { recursive: true });
  writeFileSync(join(src, "a.c"), '#include "inc/a.h"\nint f(void) { return A; }\n');
  writeFileSync(join(src, "inc", "a.h"), "#define A 1\n");
  return src;
}

function logLines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "")
    .map((l) => l.replace(/^\S+ /, "")); // drop the timestamp
}

test("ZCCACHE_LOG: one line per request: hit, miss and why, non-cacheable and why", async () => {
  const w = makeWorld("whylog");
  try {
    const src = project(w);
    const log = join(w.dir, "req.log");
    const env = { ...w.env, ZCCACHE_LOG: log, LANG: "C" };
    const cc = (args: string[], e: Record<string, string> = env) =>
      runCli(["gcc", ...args], { env: e, cwd: src });
    for (
      const [args, e] of [
        [["-c", "a.c", "-o", "a.o"], env],
        [["-c", "a.c", "-o", "a.o"], env],
        [["-O2", "-c", "a.c", "-o", "a.o"], env],
        [["-O3", "-c", "a.c", "-o", "a.o"], env],
        [["-O3", "-c", "a.c", "-o", "a.o"], { ...env, LANG: "C.UTF-8" }],
      ] as [string[], Record<string, string>][]
    ) {
      const r = await cc(args, e);
      assert.equal(r.code, 0, r.err);
    }
    writeFileSync(join(src, "inc", "a.h"), "#define A 2\n");
    assert.equal((await cc(["-O3", "-c", "a.c", "-o", "a.o"])).code, 0);
    const evil = await cc(["-E", "-DX=a\nb\x1b[31m", "a.c"]);
    assert.equal(evil.code, 0, evil.err);
    const a = join(src, "a.c");
    assert.deepEqual(logLines(log), [
      `miss ${a}: new source`,
      `hit ${a}`,
      `miss ${a}: added flag -O2`,
      `miss ${a}: changed flag -O2 -> -O3`,
      `miss ${a}: changed env LANG`,
      `miss ${a}: changed header inc/a.h`,
      "non-cacheable gcc -E -DX=a\\x0ab\\x1b[31m a.c: preprocessing only (-E)",
    ]);
    assert.match(readFileSync(log, "utf8"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hit /m);
    // stats -v: the same misses and non-cacheable requests, counted by kind of reason.
    const st = await runCli(["stats", "-v", "--json"], { env, cwd: src });
    assert.equal(st.code, 0, st.err);
    const j = JSON.parse(st.out);
    assert.deepEqual(j.miss_reasons, {
      "new source": 1,
      "changed flags": 2,
      "changed env": 1,
      "changed header": 1,
    });
    assert.deepEqual(j.non_cacheable_reasons, { "preprocessing only (-E)": 1 });
    const text = await runCli(["-sv"], { env, cwd: src }); // ccache's spelling
    assert.ok(text.out.includes("Misses by reason:\n  2  changed flags\n"), text.out);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 120_000 });

test("ZCCACHE_LOG: log_file from zccache.conf; a symlinked log is never followed", async () => {
  const w = makeWorld("whyconf");
  try {
    const src = project(w);
    const log = join(w.dir, "conf.log");
    writeFileSync(join(w.cacheDir, "zccache.conf"), `log_file = ${log}\n`);
    const r = await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: src });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(logLines(log), [`miss ${join(src, "a.c")}: new source`]);
    // The environment overrides the file; a symlink in its place is not followed.
    const target = join(w.dir, "target.log");
    const link = join(w.dir, "link.log");
    symlinkSync(target, link);
    const env = { ...w.env, ZCCACHE_LOG: link };
    const h = await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env, cwd: src });
    assert.equal(h.code, 0, h.err);
    assert.equal(existsSync(target), false);
    assert.equal(logLines(log).length, 1);
    // A missing directory is never created.
    const deep = { ...w.env, ZCCACHE_LOG: join(w.dir, "no", "such", "x.log") };
    assert.equal(
      (await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: deep, cwd: src })).code,
      0,
    );
    assert.equal(existsSync(join(w.dir, "no")), false);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 120_000 });

/** Every blob file under the store (`blobs/<2hex>/<hash>[.zst]`). */
function blobFiles(cacheDir: string): string[] {
  const root = join(cacheDir, "zccache-ts", "blobs");
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).map((f) => join(root, d, f)));
}

test("ZCCACHE_LOG: compiler changed, evicted, corrupt entry", async () => {
  const w = makeWorld("whyfault");
  try {
    const src = project(w);
    const log = join(w.dir, "req.log");
    const env = { ...w.env, ZCCACHE_LOG: log };
    // A compiler whose binary changes in place (a launcher script named gcc).
    const bin = join(w.dir, "bin");
    mkdirSync(bin);
    const gcc = join(bin, "gcc");
    const script = (n: number) =>
      writeFileSync(gcc, `#!/bin/sh\n# build ${n}\nPATH="${w.env.PATH}" exec gcc "$@"\n`, {
        mode: 0o755,
      });
    script(1);
    const cc = () => runCli([gcc, "-c", "a.c", "-o", "a.o"], { env, cwd: src });
    assert.equal((await cc()).code, 0);
    script(2);
    assert.equal((await cc()).code, 0);
    const ev = await runCli(["evict", "--max-size", "0"], { env, cwd: src });
    assert.equal(ev.code, 0, ev.err);
    assert.equal((await cc()).code, 0);
    for (const f of blobFiles(w.cacheDir)) writeFileSync(f, "garbage");
    assert.equal((await cc()).code, 0);
    const a = join(src, "a.c");
    assert.deepEqual(logLines(log), [
      `miss ${a}: new source`,
      `miss ${a}: compiler changed`,
      `miss ${a}: evicted`,
      `miss ${a}: corrupt entry (dropped)`,
    ]);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 120_000 });

test("ZCCACHE_LOG: links and archives get their line too", async () => {
  const w = makeWorld("whylink");
  try {
    const src = project(w);
    const log = join(w.dir, "req.log");
    const env = { ...w.env, ZCCACHE_LOG: log };
    assert.equal((await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env, cwd: src })).code, 0);
    for (let i = 0; i < 2; i++) {
      rmSync(join(src, "libx.a"), { force: true }); // a replace into it would be another key
      const r = await runCli(["ar", "rcsD", "libx.a", "a.o"], { env, cwd: src });
      assert.equal(r.code, 0, r.err);
    }
    assert.deepEqual(logLines(log).slice(1), [
      "miss ar rcsD libx.a a.o: no entry for this link",
      "hit ar rcsD libx.a a.o",
    ]);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc || !have("ar"), timeout: 120_000 });
