/**
 * The remote tier through real daemons (`ZCCACHE_REMOTE`, built in
 * src/daemon/main.ts): two daemons with their own cache dirs, two
 * checkouts with ZCCACHE_BASEDIR, one redis-server; the second daemon's
 * wrapped compiles are all hits and `zccache stats --json` counts them.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, statusJson, type World } from "./_e2e.ts";
import { startRedis, tool } from "../daemon/_remote_servers.ts";

const missing = !have("gcc") ? "gcc" : tool("redis-server") === null ? "redis-server" : null;
if (missing !== null) console.log(`e2e remote_test: skipped, ${missing} not installed`);

function checkout(dir: string): void {
  mkdirSync(join(dir, "src"), { recursive: true });
  for (const s of ["a", "b"]) {
    writeFileSync(join(dir, "src", `${s}.c`), `int ${s}(void) { return 7; }\n`);
  }
}

async function build(w: World, dir: string, extra: Record<string, string> = {}): Promise<void> {
  for (const s of ["a", "b"]) {
    const r = await runCli(["gcc", "-O1", "-c", `${dir}/src/${s}.c`, "-o", `${dir}/${s}.o`], {
      env: { ...w.env, ...extra },
      cwd: dir,
    });
    assert.equal(r.code, 0, r.err);
  }
}

test("e2e remote: a second daemon with an empty cache gets every object from Redis", async () => {
  const server = await startRedis();
  const w1 = makeWorld("remote1");
  const w2 = makeWorld("remote2");
  try {
    for (const w of [w1, w2]) {
      w.env.ZCCACHE_REMOTE = server.url;
      w.env.ZCCACHE_BASEDIR = w1.dir.slice(0, w1.dir.lastIndexOf("/"));
    }
    const a = join(w1.dir, "proj");
    const b = join(w2.dir, "proj");
    checkout(a);
    checkout(b);
    await build(w1, a);
    let remote: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      remote = (await statusJson(w1)).remote as Record<string, unknown>;
      if (remote.queued === 0 && (remote.bytes_up as number) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok((remote.bytes_up as number) > 0, JSON.stringify(remote));
    // The second machine builds inside a session: its remote counters are per session too.
    const started = await runCli(["session-start", "--stats"], { env: w2.env, cwd: b });
    assert.equal(started.code, 0, started.err);
    const sid = JSON.parse(started.out).session_id as string;
    await build(w2, b, { ZCCACHE_SESSION_ID: sid });
    const ss = await runCli(["session-stats", sid, "--json"], { env: w2.env });
    assert.equal(ss.code, 0, ss.err);
    const sr = JSON.parse(ss.out).remote;
    assert.equal(sr?.hits, 2, ss.out);
    assert.equal(sr?.misses, 0, ss.out);
    assert.ok(sr.bytes_down > 0, ss.out);
    const text1 = await runCli(["session-stats", sid], { env: w2.env });
    assert.match(text1.out, /Remote: +2 hits, 0 misses/);
    const ended = await runCli(["session-end", sid, "--json"], { env: w2.env });
    assert.equal(JSON.parse(ended.out).remote?.hits, 2, ended.out);
    const s2 = await statusJson(w2);
    assert.equal(s2.cache_hits, 2, JSON.stringify(s2));
    const r2 = s2.remote as Record<string, number>;
    assert.ok(r2.hits >= 4 && r2.bytes_down > 0 && r2.errors === 0, JSON.stringify(r2));
    for (const s of ["a", "b"]) {
      assert.ok(readFileSync(join(a, `${s}.o`)).equals(readFileSync(join(b, `${s}.o`))));
    }
    const text = await runCli(["stats"], { env: w2.env });
    assert.match(text.out, /Remote: +redis:\/\/127\.0\.0\.1/);
  } finally {
    await disposeWorld(w1);
    await disposeWorld(w2);
    await server.stop();
  }
}, { ignore: missing !== null, timeout: 120_000 });
