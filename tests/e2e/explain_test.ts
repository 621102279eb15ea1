/**
 * Issue 12, `zccache explain` against a real daemon's cache and gcc: hit,
 * changed header, changed flag, not cacheable, --json, exit codes.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
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

test("explain: hit, a changed header, a changed flag; --json; exit 0/1/2", async () => {
  const w = makeWorld("explain");
  try {
    const src = project(w);
    const ex = (args: string[]) => runCli(["explain", ...args], { env: w.env, cwd: src });
    const cmd = ["--", "gcc", "-O2", "-c", "a.c", "-o", "a.o"];
    const fresh = await ex(cmd);
    assert.deepEqual([fresh.code, fresh.out], [1, "miss: new source\n"]);
    assert.equal(existsSync(join(src, "a.o")), false, "explain compiles nothing");
    assert.equal((await runCli(["gcc", ...cmd.slice(2)], { env: w.env, cwd: src })).code, 0);
    const hit = await ex(cmd);
    assert.deepEqual([hit.code, hit.out, hit.err], [0, "hit\n", ""]);
    const flag = await ex(["--", "gcc", "-O3", "-c", "a.c", "-o", "a.o"]);
    assert.deepEqual([flag.code, flag.out], [1, "miss: changed flag -O2 -> -O3\n"]);
    writeFileSync(join(src, "inc", "a.h"), "#define A 2\n");
    const header = await ex(["--json", ...cmd]);
    assert.equal(header.code, 1);
    assert.deepEqual(JSON.parse(header.out), {
      result: "miss",
      reason: "changed header inc/a.h",
      units: [{ source: join(src, "a.c"), hit: false, reason: "changed header inc/a.h" }],
    });
    const pre = await ex(["--", "gcc", "-E", "a.c"]);
    assert.deepEqual([pre.code, pre.out], [1, "non-cacheable: preprocessing only (-E)\n"]);
    assert.equal((await ex([])).code, 2);
    assert.equal((await ex(["--bogus", "gcc"])).code, 2);
    const help = await runCli(["help", "explain"], { env: w.env });
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: zccache explain/);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 120_000 });
