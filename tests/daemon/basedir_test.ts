/**
 * ZCCACHE_BASEDIR (ccache's base_dir): the same project checked out in two
 * places shares entries, but only where the object is byte-identical.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "../_harness.ts";
import { CompileEngine } from "../../src/daemon/engine.ts";
import { baseEnv, CLANG, GCC } from "./_engine_fixture.ts";

function checkout(root: string, name: string): string {
  const dir = join(root, name, "proj");
  const files: Record<string, string> = {
    "inc/h.h": "#define H 4\n",
    "src/m.c": '#include "h.h"\nint m(void) { return H; }\n',
  };
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  mkdirSync(join(dir, "build"), { recursive: true });
  mkdirSync(join(dir, "early"), { recursive: true });
  return dir;
}

for (const [name, cc] of [["gcc", GCC], ["clang", CLANG]] as const) {
  test(
    `ZCCACHE_BASEDIR (${name}): another checkout hits, with objects equal to its own compile`,
    async () => {
      const root = mkdtempSync(join(tmpdir(), "zccache-basedir-"));
      const engine = new CompileEngine({ cacheDir: join(root, "cache"), flushIntervalMs: 0 });
      const fresh = new CompileEngine({ cacheDir: join(root, "cache2"), flushIntervalMs: 0 });
      try {
        const a = checkout(root, "a");
        const b = checkout(root, "b");
        const env = baseEnv({ ZCCACHE_BASEDIR: root });
        const args = (d: string, extra: string[] = []) => [
          ...extra,
          `-I${d}/early`,
          "-I",
          `${d}/inc`,
          "-c",
          `${d}/src/m.c`,
          "-o",
          `${d}/build/m.o`,
          "-MD",
        ];
        const run = (e: CompileEngine, d: string, extra: string[] = []) =>
          e.compile({
            compiler: cc!,
            args: args(d, extra),
            cwd: join(d, "build"),
            env,
            stdin: new Uint8Array(),
          });
        assert.equal((await run(engine, a)).cached, false);
        const hb = await run(engine, b);
        assert.equal(hb.cached, true, "second checkout hits");
        const fromHit = readFileSync(join(b, "build/m.o"));
        await run(fresh, b); // b compiled on its own (empty cache)
        assert.ok(
          fromHit.equals(readFileSync(join(b, "build/m.o"))),
          "same bytes as b's own compile",
        );
        // Without the base dir the objects would name b's paths; with it they name none.
        const plainRel = spawnSync(cc!, [
          "-I../early",
          "-I../inc",
          "-c",
          "../src/m.c",
          "-o",
          "rel.o",
        ], {
          cwd: join(b, "build"),
          env: baseEnv(),
        });
        assert.equal(plainRel.status, 0);
        assert.ok(
          fromHit.equals(readFileSync(join(b, "build/rel.o"))),
          "equal to a relative compile",
        );
        // The depfile names b's files (relative), not a's.
        assert.ok(!readFileSync(join(b, "build/m.d"), "utf8").includes("/a/proj"));
        // A change in b only misses in b.
        writeFileSync(join(b, "inc/h.h"), "#define H 5\n");
        assert.equal((await run(engine, b)).cached, false);
        assert.equal((await run(engine, a)).cached, true);
        // A header appearing earlier in b's search path misses in b.
        writeFileSync(join(b, "early/h.h"), "#define H 6\n");
        assert.equal((await run(engine, b)).cached, false);
        assert.equal((await run(engine, a)).cached, true);
        // -g records the compile directory: no sharing, unless a prefix map removes it.
        assert.equal((await run(engine, a, ["-g"])).cached, false);
        assert.equal((await run(engine, b, ["-g"])).cached, false, "-g with another cwd misses");
        const mapA = [`-fdebug-prefix-map=${a}=.`, "-g"];
        const mapB = [`-fdebug-prefix-map=${b}=.`, "-g"];
        writeFileSync(join(b, "inc/h.h"), "#define H 4\n");
        rmSync(join(b, "early/h.h"));
        assert.equal((await run(engine, a, mapA)).cached, false);
        assert.equal((await run(engine, b, mapB)).cached, true, "mapped debug info is shareable");
        const mapped = readFileSync(join(b, "build/m.o"));
        await run(fresh, b, mapB);
        assert.ok(mapped.equals(readFileSync(join(b, "build/m.o"))));
      } finally {
        await engine.close();
        await fresh.close();
        rmSync(root, { recursive: true, force: true });
      }
    },
    { ignore: cc === null },
  );
}

test("ZCCACHE_BASEDIR unset: checkouts do not share entries", async () => {
  const root = mkdtempSync(join(tmpdir(), "zccache-basedir-"));
  const engine = new CompileEngine({ cacheDir: join(root, "cache"), flushIntervalMs: 0 });
  try {
    for (const [n, want] of [["a", false], ["b", false]] as const) {
      const d = checkout(root, n);
      const r = await engine.compile({
        compiler: GCC!,
        args: [`-I${d}/inc`, "-c", `${d}/src/m.c`, "-o", `${d}/build/m.o`],
        cwd: join(d, "build"),
        env: baseEnv(),
        stdin: new Uint8Array(),
      });
      assert.equal(r.cached, want);
    }
  } finally {
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
}, { ignore: GCC === null });

test(
  "relative paths: the same project compiled from another directory hits (as ccache)",
  async () => {
    const root = mkdtempSync(join(tmpdir(), "zccache-rel-"));
    const engine = new CompileEngine({ cacheDir: join(root, "cache"), flushIntervalMs: 0 });
    try {
      const a = checkout(root, "a");
      const b = checkout(root, "b");
      const run = (d: string, extra: string[] = []) =>
        engine.compile({
          compiler: GCC!,
          args: [...extra, "-I../early", "-I../inc", "-c", "../src/m.c", "-o", "m.o", "-MD"],
          cwd: join(d, "build"),
          env: baseEnv(),
          stdin: new Uint8Array(),
        });
      assert.equal((await run(a)).cached, false);
      assert.equal((await run(b)).cached, true, "relative compile elsewhere hits");
      writeFileSync(join(b, "inc/h.h"), "#define H 9\n");
      assert.equal((await run(b)).cached, false, "b's own header is verified");
      writeFileSync(join(b, "early/h.h"), "#define H 6\n");
      assert.equal((await run(b)).cached, false, "a header appearing in b's tree is caught");
      assert.equal((await run(a)).cached, true);
      assert.equal((await run(a, ["-g"])).cached, false);
      assert.equal((await run(b, ["-g"])).cached, false, "-g records the directory: no sharing");
    } finally {
      await engine.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
  { ignore: GCC === null },
);
