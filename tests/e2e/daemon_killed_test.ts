/**
 * The daemon is SIGKILLed while 8 compiles are in flight: every compile still
 * succeeds (local fallback) and the next wrapper call starts a new daemon.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import {
  alive,
  daemonPid,
  disposeWorld,
  have,
  makeWorld,
  runCli,
  runProcess,
  statusJson,
} from "./_e2e.ts";

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

test("daemon killed during 8 in-flight compiles: all succeed, next call restarts it", async () => {
  const w = makeWorld("killed");
  try {
    // A slow `gcc` (named gcc so the daemon treats it as one), so the
    // compiles are surely in flight when the daemon dies.
    mkdirSync(join(w.dir, "slow"));
    const slowcc = join(w.dir, "slow", "gcc");
    const realGcc = (await runProcess("sh", ["-c", "command -v gcc"], { env: w.env })).out.trim();
    const marks = join(w.dir, "marks");
    mkdirSync(marks);
    writeFileSync(
      slowcc,
      // Only compiles are slow and marked (not the daemon's --version / -E -v probes).
      `#!/bin/sh\ncase " $* " in *" -c "*) touch ${marks}/$$; sleep 2;; esac\nexec ${realGcc} "$@"\n`,
      { mode: 0o755 },
    );
    // Let the daemon run all 8 at once, so all 8 are inside it when it dies.
    const env = { ...w.env, ZCCACHE_MAX_PARALLEL_COMPILES: "8" };
    const started = await runCli(["start"], { env });
    assert.equal(started.code, 0, started.err);
    const pid = daemonPid(w);
    assert.ok(pid !== null && alive(pid), "daemon pid from the lock file");

    for (let i = 0; i < 8; i++) {
      writeFileSync(join(w.dir, `k${i}.c`), `int k${i}(void) { return ${i}; }\n`);
    }
    const runs = Array.from(
      { length: 8 },
      (_, i) => runCli([slowcc, "-c", `k${i}.c`, "-o", `k${i}.o`], { env: w.env, cwd: w.dir }),
    );
    // Wait until the daemon has started all 8 slow compilers.
    const deadline = Date.now() + 30_000;
    while (readdirSync(marks).length < 8 && Date.now() < deadline) await delay(20);
    assert.equal(readdirSync(marks).length, 8, "8 compiles in flight in the daemon");
    process.kill(pid!, "SIGKILL");
    const results = await Promise.all(runs);
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `compile ${i}: ${r.err}`);
      assert.ok(existsSync(join(w.dir, `k${i}.o`)), `k${i}.o exists`);
      const lines = r.err.trim().split("\n");
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0], /^zccache: daemon unavailable: .*; compiled without cache$/);
    }
    for (const r of results) assert.match(r.err, /compiled without cache/, "every one fell back");
    // Let killed-daemon children finish writing.
    await delay(200);
    const check = await runProcess("gcc", ["-c", "k0.c", "-o", "plain.o"], {
      env: w.env,
      cwd: w.dir,
    });
    assert.equal(check.code, 0);

    // The next wrapper call restarts the daemon.
    writeFileSync(join(w.dir, "after.c"), "int after(void) { return 9; }\n");
    const next = await runCli(["gcc", "-c", "after.c", "-o", "after.o"], {
      env: w.env,
      cwd: w.dir,
    });
    assert.equal(next.code, 0, next.err);
    assert.equal(next.err, "", "served by a fresh daemon, no fallback");
    const pid2 = daemonPid(w);
    assert.ok(pid2 !== null && pid2 !== pid && alive(pid2), "a new daemon runs");
    const st = await statusJson(w);
    assert.ok((st.uptime_secs as number) < 60);
    assert.equal(st.total_compilations, 1);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("gcc"), timeout: 90_000 });
