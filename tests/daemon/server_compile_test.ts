/**
 * Sessions and compiles through a real daemon process with the real
 * engine and a real gcc: per-session stats, the session text log, the
 * journal path echo, global Status counters, CompileEphemeral,
 * ReleaseWorktreeHandles dropping sessions, Clear with true counts, and a
 * client disconnect killing an in-flight compiler.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import type { EnvPair, Request, Response } from "../../src/core/messages.ts";
import { RawClient, sleep, startDaemon, tempDir } from "./server_helpers.ts";

function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf-8" });
  const p = r.stdout.trim();
  return r.status === 0 && p !== "" ? p : null;
}

const GCC = which("gcc");
const ENV: EnvPair[] = [["PATH", process.env.PATH ?? "/usr/bin:/bin"], ["LANG", "C"]];

async function call(c: RawClient, req: Request): Promise<Response> {
  await c.send(encodeBincodeFrame("request", req));
  return (await c.recv(120_000)).message;
}

function compileReq(sessionId: string, cwd: string, args: string[]): Request {
  return {
    kind: "Compile",
    sessionId,
    args,
    cwd,
    compiler: GCC!,
    env: ENV,
    stdin: new Uint8Array(),
  };
}

test(
  "session start/compile/stats/end with real gcc; Status, ephemeral, release, clear",
  async () => {
    const d = await startDaemon({ engine: true });
    const work = tempDir("zcw-");
    try {
      writeFileSync(join(work, "a.c"), "int add(int a, int b) { return a + b; }\n");
      writeFileSync(join(work, "bad.c"), "int broken( { return 0; }\n");
      const c = await RawClient.connect(d.endpoint);
      const logFile = join(work, "session.log");
      const journal = join(work, "journal.jsonl");
      const started = await call(c, {
        kind: "SessionStart",
        clientPid: process.pid,
        workingDir: work,
        logFile,
        trackStats: true,
        journalPath: journal,
        profile: false,
        privateDaemon: null,
      });
      assert.equal(started.kind, "SessionStarted");
      if (started.kind !== "SessionStarted") return;
      assert.equal(started.journalPath, journal);
      const sid = started.sessionId;
      assert.match(sid, /^[0-9a-f-]{36}$/);

      const miss = await call(c, compileReq(sid, work, ["-c", "a.c", "-o", "a.o"]));
      assert.equal(miss.kind, "CompileResult");
      if (miss.kind === "CompileResult") {
        assert.equal(miss.exitCode, 0);
        assert.equal(miss.cached, false);
      }
      const object = readFileSync(join(work, "a.o"));
      rmSync(join(work, "a.o"));
      const hit = await call(c, compileReq(sid, work, ["-c", "a.c", "-o", "a.o"]));
      assert.equal(hit.kind === "CompileResult" && hit.cached, true);
      assert.deepEqual(readFileSync(join(work, "a.o")), object);

      const bad = await call(c, compileReq(sid, work, ["-c", "bad.c", "-o", "bad.o"]));
      assert.equal(bad.kind, "CompileResult");
      if (bad.kind === "CompileResult") {
        assert.notEqual(bad.exitCode, 0);
        assert.match(new TextDecoder().decode(bad.stderr), /error/);
      }
      const pre = await call(c, compileReq(sid, work, ["-E", "a.c"]));
      assert.equal(pre.kind === "CompileResult" && pre.exitCode, 0);

      const stats = await call(c, { kind: "SessionStats", sessionId: sid });
      assert.equal(stats.kind, "SessionStatsResult");
      if (stats.kind === "SessionStatsResult") {
        const s = stats.stats!;
        assert.equal(s.compilations, 4n);
        assert.equal(s.hits, 1n);
        assert.equal(s.misses, 1n);
        assert.equal(s.errors, 1n);
        assert.equal(s.nonCacheable, 1n);
        assert.equal(s.uniqueSources, 1n);
        assert.ok(s.bytesWritten > 0n && s.bytesRead > 0n);
      }

      const st1 = await call(c, { kind: "Status" });
      assert.equal(st1.kind, "Status");
      if (st1.kind === "Status") {
        const v = st1.value;
        assert.equal(v.cacheHits, 1n);
        assert.equal(v.cacheMisses, 1n);
        assert.equal(v.compileErrors, 1n);
        assert.equal(v.nonCacheable, 1n);
        assert.equal(v.totalCompilations, 4n);
        assert.equal(v.sessionsTotal, 1n);
        assert.equal(v.sessionsActive, 1n);
        assert.ok(v.artifactCount >= 1n);
        assert.ok(v.cacheSizeBytes > 0n);
      }

      // One-shot compile: a hit, counted globally, no session left behind.
      rmSync(join(work, "a.o"));
      const eph = await call(c, {
        kind: "CompileEphemeral",
        clientPid: process.pid,
        workingDir: work,
        compiler: GCC!,
        args: ["-c", "a.c", "-o", "a.o"],
        cwd: work,
        env: ENV,
        stdin: new Uint8Array(),
      });
      assert.equal(eph.kind === "CompileResult" && eph.cached, true);
      assert.ok(existsSync(join(work, "a.o")));
      const st2 = await call(c, { kind: "Status" });
      if (st2.kind === "Status") {
        assert.equal(st2.value.cacheHits, 2n);
        assert.equal(st2.value.sessionsTotal, 2n);
        assert.equal(st2.value.sessionsActive, 1n);
      }

      // The text log has one line per compile.
      const log = readFileSync(logFile, "utf-8");
      assert.match(log, /^\[MISS\] .*a\.c/m);
      assert.match(log, /^\[HIT\] .*a\.c/m);
      assert.match(log, /^\[ERROR\] .*bad\.c.* exit_code=1/m);
      assert.match(log, /^non-cacheable: /m);
      assert.equal(readFileSync(journal, "utf-8").trim().split("\n").length, 4);

      // A second session elsewhere survives the release of `work`.
      const other = tempDir("zco-");
      const s2 = await call(c, {
        kind: "SessionStart",
        clientPid: process.pid,
        workingDir: other,
        logFile: null,
        trackStats: false,
        journalPath: null,
        profile: false,
        privateDaemon: null,
      });
      assert.equal(s2.kind, "SessionStarted");
      const rel = await call(c, { kind: "ReleaseWorktreeHandles", path: work });
      assert.deepEqual(rel, {
        kind: "ReleaseWorktreeHandlesResult",
        inspected: 2,
        released: 1,
        sessionsDropped: [sid],
        unreleased: [],
      });
      // The dropped session: end is idempotent, compile is refused.
      assert.deepEqual(await call(c, { kind: "SessionEnd", sessionId: sid }), {
        kind: "SessionEnded",
        stats: null,
      });
      const refused = await call(c, compileReq(sid, work, ["-c", "a.c", "-o", "a.o"]));
      assert.equal(refused.kind, "Error");
      if (s2.kind === "SessionStarted") {
        assert.deepEqual(
          await call(c, { kind: "SessionStats", sessionId: s2.sessionId }),
          { kind: "SessionStatsResult", stats: null },
        );
        assert.deepEqual(await call(c, { kind: "SessionEnd", sessionId: s2.sessionId }), {
          kind: "SessionEnded",
          stats: null,
        });
      }
      rmSync(other, { recursive: true, force: true });

      const cleared = await call(c, { kind: "Clear" });
      assert.equal(cleared.kind, "Cleared");
      if (cleared.kind === "Cleared") {
        assert.ok(cleared.artifactsRemoved >= 1n);
        assert.ok(cleared.onDiskBytesFreed > 0n);
      }
      const st3 = await call(c, { kind: "Status" });
      if (st3.kind === "Status") {
        assert.equal(st3.value.cacheHits, 0n);
        assert.equal(st3.value.artifactCount, 0n);
      }
      // The store lives in the project's own subdirectory.
      assert.ok(existsSync(join(d.dir, "zccache-ts")));
      assert.deepEqual(await call(c, { kind: "Shutdown" }), { kind: "ShuttingDown" });
      assert.equal(await d.exited, 0);
    } finally {
      await d.dispose();
      rmSync(work, { recursive: true, force: true });
    }
  },
  { ignore: GCC === null, timeout: 120_000 },
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a client that disconnects mid-compile aborts the compiler", async () => {
  const d = await startDaemon({ engine: true });
  const work = tempDir("zcw-");
  try {
    const pidFile = join(work, "pid");
    const tool = join(work, "slowtool");
    writeFileSync(tool, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 60\n`);
    chmodSync(tool, 0o755);
    const c = await RawClient.connect(d.endpoint);
    await c.send(encodeBincodeFrame("request", {
      kind: "CompileEphemeral",
      clientPid: process.pid,
      workingDir: work,
      compiler: tool,
      args: ["-c", "x.c"],
      cwd: work,
      env: ENV,
      stdin: new Uint8Array(),
    }));
    const deadline = Date.now() + 30_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, "utf-8").trim() === "") {
      if (Date.now() > deadline) throw new Error("tool never started");
      await sleep(20);
    }
    const pid = Number(readFileSync(pidFile, "utf-8").trim());
    assert.ok(alive(pid));
    c.close();
    const until = Date.now() + 20_000;
    while (alive(pid) && Date.now() < until) await sleep(50);
    assert.equal(alive(pid), false, "compiler killed after the client left");
    const log = readFileSync(join(d.dir, "zccache-ts", "daemon.log"), "utf-8");
    assert.match(log, /client-disconnected request=CompileEphemeral/);
  } finally {
    await d.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}, { timeout: 60_000 });
