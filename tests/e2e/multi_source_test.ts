/**
 * `gcc -c a.c b.c c.c` through the wrapper: each source checked on its own,
 * hits and misses mixed, stdout/stderr in source order, the plain compiler's
 * exit code and objects.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, statusJson } from "./_e2e.ts";

test("wrapper: a multi-source compile mixes hits and misses, output in source order", async () => {
  const w = makeWorld("multi");
  try {
    const src = (n: string, v: number) =>
      writeFileSync(join(w.dir, `${n}.c`), `int ${n}(void) { int unused_${n}; return ${v}; }\n`);
    src("a", 1);
    src("b", 2);
    src("c", 3);
    const args = ["-Wall", "-c", "a.c", "b.c", "c.c"];
    const clean = () => {
      for (const n of ["a", "b", "c"]) rmSync(join(w.dir, `${n}.o`), { force: true });
    };
    const objects = () =>
      ["a", "b", "c"].map((n) =>
        existsSync(join(w.dir, `${n}.o`)) ? readFileSync(join(w.dir, `${n}.o`)) : null
      );
    const plainOf = () => {
      clean();
      const r = spawnSync("gcc", args, { cwd: w.dir, env: w.env });
      const objs = objects();
      clean();
      return { code: r.status, err: String(r.stderr), objs };
    };
    const check = async (label: string) => {
      const want = plainOf();
      const got = await runCli(["gcc", ...args], { env: w.env, cwd: w.dir });
      assert.equal(got.code, want.code, label);
      assert.equal(got.err, want.err, `${label}: stderr in source order`);
      objects().forEach((o, i) => {
        const wo = want.objs[i];
        assert.equal(o === null, wo === null, `${label}: object ${i} exists as with gcc`);
        if (o !== null && wo !== null) assert.ok(o.equals(wo), `${label}: object ${i} bytes`);
      });
    };
    await check("cold");
    const s1 = await statusJson(w);
    await check("warm");
    const s2 = await statusJson(w);
    assert.equal(Number(s2.cache_hits) - Number(s1.cache_hits), 3, "three hits");
    src("b", 20); // one changed source: one miss, two hits
    await check("one changed");
    const s3 = await statusJson(w);
    assert.equal(Number(s3.cache_hits) - Number(s2.cache_hits), 2);
    assert.equal(Number(s3.cache_misses) - Number(s2.cache_misses), 1);
    writeFileSync(join(w.dir, "c.c"), "int c(void) { return undefined_c; }\n"); // a failing unit
    await check("one failing");
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("gcc") });
