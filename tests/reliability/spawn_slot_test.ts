/**
 * The spawn side of "faults on the cache side are never the user's compile
 * failure": a stale spawn slot left by a dead wrapper costs nothing (not the
 * 10 s readiness budget), and a daemon that cannot start leaves no staging
 * socket, spawn slot or spawn log behind and is spawned once, not per retry.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "../_harness.ts";
import {
  daemonProcesses,
  disposeAll,
  fallbackLines,
  have,
  join,
  makeWorld,
  report,
  runWrapped,
} from "./_rel.ts";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

test("stale spawn slot (dead PID): the next wrapper starts the daemon at once", async () => {
  const w = makeWorld("slot");
  try {
    // A PID that surely is dead: a child that has exited.
    const dead = spawnSync("true").pid!;
    writeFileSync(w.endpoint + ".spawn", `${dead}\n`);
    writeFileSync(join(w.dir, "s.c"), "int s(void) { return 1; }\n");
    const r = await runWrapped(["gcc", "-c", "s.c", "-o", "s.o"], {
      env: w.env,
      cwd: w.dir,
      timeoutMs: 60_000,
    });
    report("stale_slot", { dead_pid: dead, wall_ms: Math.round(r.ms), fell_back: r.err !== "" });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fallbackLines(r.err), [], r.err);
    assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
    assert.equal(daemonProcesses(w.cacheDir).length, 1);
    assert.ok(!existsSync(w.endpoint + ".spawn"), "slot released");
  } finally {
    await disposeAll(w);
  }
}, { ignore: !have("gcc"), timeout: 60_000 });

test(
  "daemon that cannot start (foreign-owned cache dir): one spawn, nothing left behind" +
    (isRoot ? "" : " (skipped: not root, cannot chown)"),
  async () => {
    const w = makeWorld("nostart");
    const foreign = join(w.dir, "foreign");
    mkdirSync(foreign, { mode: 0o755 });
    chownSync(foreign, 65534, 65534);
    const env = { ...w.env, ZCCACHE_CACHE_DIR: foreign };
    try {
      const walls: number[] = [];
      for (let i = 0; i < 4; i++) {
        writeFileSync(join(w.dir, `n${i}.c`), `int n${i}(void) { return ${i}; }\n`);
        const r = await runWrapped(["gcc", "-c", `n${i}.c`, "-o", `n${i}.o`], {
          env,
          cwd: w.dir,
          timeoutMs: 60_000,
        });
        assert.equal(r.code, 0, r.err);
        assert.equal(fallbackLines(r.err).length, 1, r.err);
        walls.push(Math.round(r.ms));
      }
      const left = readdirSync(foreign).filter((n) => /\.(tmp|spawn)$|\.sock$/.test(n));
      const logs = join(foreign, "zccache-ts", "logs");
      const spawnLogs = existsSync(logs) ? readdirSync(logs) : [];
      report("cannot_start", { walls_ms: walls, leftovers: left, spawn_logs: spawnLogs.length });
      assert.deepEqual(left, [], "no staging socket or slot left");
      assert.equal(spawnLogs.length, 0, "spawn log removed");
      assert.ok(walls[0] < 3_000, `first fallback ${walls[0]} ms`);
    } finally {
      await disposeAll(w);
    }
  },
  { ignore: !have("gcc") || !isRoot, timeout: 60_000 },
);
