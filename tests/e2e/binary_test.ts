/**
 * The `bun build --compile` binary (scripts/build_binary.ts): wrapper,
 * daemon auto-start from the binary itself, status.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, REPO, runProcess } from "./_e2e.ts";

test("compiled binary: wrapper miss then hit, daemon auto-started from the binary", async () => {
  const w = makeWorld("binary");
  try {
    const bin = join(w.dir, "zccache");
    const runner = process.versions.bun !== undefined ? process.execPath : "bun";
    const build = await runProcess(
      runner,
      [join(REPO, "scripts", "build_binary.ts"), "--outfile", bin],
      { env: w.env, cwd: REPO },
    );
    assert.equal(build.code, 0, build.err);
    const env = { ...w.env, ZCCACHE_TEST_BINARY: bin };
    const v = await runProcess(bin, ["--version"], { env });
    assert.match(v.out, /wire: zccache 1\.12\.2/);

    writeFileSync(join(w.dir, "b.c"), "int b(void) { return 3; }\n");
    for (let i = 0; i < 2; i++) {
      const r = await runProcess(bin, ["gcc", "-c", "b.c", "-o", "b.o"], { env, cwd: w.dir });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
    }
    const st = await runProcess(bin, ["status", "--json"], { env });
    assert.equal(st.code, 0, st.err);
    const s = JSON.parse(st.out);
    assert.equal(s.cache_hits, 1);
    assert.equal(s.cache_misses, 1);
    // The daemon is the binary itself, not deno/bun.
    const pid = Number(readFileSync(join(w.cacheDir, "daemon.lock"), "utf8"));
    if (process.platform === "linux") {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      assert.equal(cmdline[0], bin);
      assert.equal(cmdline[1], "daemon");
    }
    const stop = await runProcess(bin, ["stop"], { env });
    assert.equal(stop.code, 0);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("bun") || !have("gcc"), timeout: 120_000 });
