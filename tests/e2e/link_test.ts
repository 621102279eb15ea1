/**
 * Link and archive caching end to end: a real static library and executable
 * built through the wrapper (`ar rcsD`, `gcc -o`), cold then warm, against
 * a plain `ar` and `gcc` link of the same objects; the non-determinism
 * warning; side files (`-Wl,-Map`) restored; pass-through operations.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, runProcess, statusJson } from "./_e2e.ts";

const noTools = !have("gcc") || !have("ar");

function bytes(p: string): Uint8Array {
  return new Uint8Array(readFileSync(p));
}

async function objects(dir: string, env: Record<string, string>): Promise<void> {
  writeFileSync(join(dir, "add.c"), "int add(int a, int b) { return a + b; }\n");
  writeFileSync(join(dir, "mul.c"), "int mul(int a, int b) { return a * b; }\n");
  writeFileSync(
    join(dir, "main.c"),
    "#include <stdio.h>\n#include <math.h>\nint add(int, int); int mul(int, int);\n" +
      'int main(void) { printf("%d %d %.0f\\n", add(2, 3), mul(4, 5), sqrt(81.0)); return 0; }\n',
  );
  for (const s of ["add", "mul", "main"]) {
    const r = await runProcess("gcc", ["-O2", "-c", `${s}.c`, "-o", `${s}.o`], { env, cwd: dir });
    assert.equal(r.code, 0, r.err);
  }
}

test(
  "link: ar rcsD and gcc -o through the wrapper, cold then warm, byte-identical to plain",
  async () => {
    const w = makeWorld("link");
    try {
      await objects(w.dir, w.env);
      const opts = { env: w.env, cwd: w.dir };
      // Plain references.
      assert.equal((await runProcess("ar", ["rcsD", "plain.a", "add.o", "mul.o"], opts)).code, 0);
      const plainLink = await runProcess(
        "gcc",
        ["-o", "plain", "main.o", "-L.", "-lops", "-lm"],
        { ...opts, env: { ...w.env } },
      );
      // -lops does not exist yet for the plain link: build it from the plain archive.
      assert.notEqual(plainLink.code, 0);
      writeFileSync(join(w.dir, "libops.a"), readFileSync(join(w.dir, "plain.a")));
      assert.equal(
        (await runProcess("gcc", ["-o", "plain", "main.o", "-L.", "-lops", "-lm"], opts)).code,
        0,
      );
      rmSync(join(w.dir, "libops.a"));

      const ar = ["ar", "rcsD", "libops.a", "add.o", "mul.o"];
      const ld = ["gcc", "-o", "app", "main.o", "-L.", "-lops", "-lm"];
      for (const round of ["cold", "warm"]) {
        rmSync(join(w.dir, "libops.a"), { force: true });
        rmSync(join(w.dir, "app"), { force: true });
        const a = await runCli(ar, opts);
        assert.equal(a.code, 0, a.err);
        assert.equal(a.err, "", `${round}: nothing of our own on stderr`);
        assert.deepEqual(bytes(join(w.dir, "libops.a")), bytes(join(w.dir, "plain.a")), round);
        const l = await runCli(ld, opts);
        assert.equal(l.code, 0, l.err);
        assert.equal(l.err, "");
        assert.deepEqual(bytes(join(w.dir, "app")), bytes(join(w.dir, "plain")), round);
        assert.equal(statSync(join(w.dir, "app")).mode & 0o777, 0o755, `${round}: executable`);
        const run = await runProcess(join(w.dir, "app"), [], opts);
        assert.equal(run.out, "5 20 9\n");
      }
      const st = await statusJson(w);
      assert.equal(st.total_links, 4, JSON.stringify(st));
      assert.equal(st.link_misses, 2, `${st.link_hits} ${st.link_non_cacheable}`);
      assert.equal(st.link_hits, 2);
      assert.equal(st.link_non_cacheable, 0);

      // A changed library member is a new key: a miss, and the new code runs.
      writeFileSync(join(w.dir, "add.c"), "int add(int a, int b) { return a + b + 100; }\n");
      assert.equal((await runProcess("gcc", ["-O2", "-c", "add.c", "-o", "add.o"], opts)).code, 0);
      rmSync(join(w.dir, "libops.a"));
      assert.equal((await runCli(ar, opts)).code, 0);
      assert.equal((await runCli(ld, opts)).code, 0);
      assert.equal((await runProcess(join(w.dir, "app"), [], opts)).out, "105 20 9\n");
      const st2 = await statusJson(w);
      assert.equal(st2.link_misses, 4);
      assert.equal(st2.link_hits, 2);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: noTools, timeout: 120_000 },
);

test(
  "link: an archive without D is cached with zccache's warning; t and x pass through",
  async () => {
    const w = makeWorld("linkwarn");
    try {
      await objects(w.dir, w.env);
      const opts = { env: w.env, cwd: w.dir };
      const warning =
        "zccache warning: non-deterministic invocation (missing D flag) — output is " +
        "cached but may differ from a fresh link\n";
      const a = await runCli(["ar", "rcU", "nd.a", "add.o"], opts);
      assert.equal(a.code, 0, a.err);
      assert.equal(a.err, warning);
      rmSync(join(w.dir, "nd.a"));
      const b = await runCli(["ar", "rcU", "nd.a", "add.o"], opts);
      assert.equal(b.err, warning);
      const t = await runCli(["ar", "t", "nd.a"], opts);
      assert.equal(t.code, 0);
      assert.equal(t.out, "add.o\n");
      const st = await statusJson(w);
      assert.equal(st.link_hits, 1);
      assert.equal(st.link_misses, 1);
      assert.equal(st.link_non_cacheable, 1);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: noTools, timeout: 60_000 },
);

test("link: side files (-Wl,-Map) stored with the output and restored on a hit", async () => {
  const w = makeWorld("linkmap");
  try {
    await objects(w.dir, w.env);
    const opts = { env: w.env, cwd: w.dir };
    const ld = ["gcc", "-o", "app", "main.o", "add.o", "mul.o", "-lm", "-Wl,-Map=app.map"];
    assert.equal((await runCli(ld, opts)).code, 0);
    const map = bytes(join(w.dir, "app.map"));
    assert.ok(map.length > 0);
    rmSync(join(w.dir, "app"));
    rmSync(join(w.dir, "app.map"));
    const hit = await runCli(ld, opts);
    assert.equal(hit.code, 0, hit.err);
    assert.deepEqual(bytes(join(w.dir, "app.map")), map);
    assert.equal((await runProcess(join(w.dir, "app"), [], opts)).out, "5 20 9\n");
    const st = await statusJson(w);
    assert.equal(st.link_hits, 1);
    // A failed link is not stored and gives the linker's own exit code and message.
    const bad = await runCli(["gcc", "-o", "bad", "main.o"], opts);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /undefined reference to `add'/);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noTools, timeout: 60_000 });
