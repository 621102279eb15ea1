/**
 * The shared remote tier (issue 15) against real servers on 127.0.0.1:
 * redis-server (RESP) and nginx (WebDAV PUT/GET). Two engines with their
 * own local cache dirs and two checkouts in different directories with
 * ZCCACHE_BASEDIR: the first fills the remote, the second (empty local
 * cache) hits from it with byte-identical objects. Read-only stores
 * nothing; a server that stops answering costs the timeout once; corrupt
 * remote data is a miss.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "../_harness.ts";
import { CompileEngine } from "../../src/daemon/engine.ts";
import { LocalArtifactStore } from "../../src/daemon/cache/artifact_store.ts";
import {
  backendFor,
  redactUrl,
  RemoteTier,
  TieredArtifactStore,
} from "../../src/daemon/cache/remote.ts";
import { baseEnv, GCC } from "./_engine_fixture.ts";
import { type Server, startNginx, startRedis, startRedisTls, tool } from "./_remote_servers.ts";

const SOURCES = ["a", "b", "c"];

function checkout(root: string, name: string): string {
  const dir = join(root, name, "proj");
  const files: Record<string, string> = { "inc/h.h": "#define H 4\n" };
  for (const s of SOURCES) {
    files[`src/${s}.c`] = `#include "h.h"\nint ${s}(void) { return H + ${s.charCodeAt(0)}; }\n`;
  }
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  mkdirSync(join(dir, "build"), { recursive: true });
  return dir;
}

interface Machine {
  engine: CompileEngine;
  remote: RemoteTier;
  logs: string[];
}

function machine(
  cacheDir: string,
  url: string,
  o: { readOnly?: boolean; timeoutMs?: number } = {},
) {
  const logs: string[] = [];
  const remote = new RemoteTier([backendFor(url)], {
    readOnly: o.readOnly,
    timeoutMs: o.timeoutMs ?? 2000,
    log: (l) => logs.push(l),
  });
  const local = new LocalArtifactStore(join(cacheDir, "blobs"), join(cacheDir, "tmp"));
  const engine = new CompileEngine({
    cacheDir,
    flushIntervalMs: 0,
    store: new TieredArtifactStore(local, remote),
    remote,
    log: (l) => logs.push(l),
  });
  return { engine, remote, logs } satisfies Machine;
}

function compile(m: Machine, root: string, d: string, s: string) {
  return m.engine.compile({
    compiler: GCC!,
    args: ["-O1", "-I", `${d}/inc`, "-c", `${d}/src/${s}.c`, "-o", `${d}/build/${s}.o`],
    cwd: join(d, "build"),
    env: baseEnv({ ZCCACHE_BASEDIR: root }),
    stdin: new Uint8Array(),
  });
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const servers: [string, () => Promise<Server>, string][] = [
  ["redis", startRedis, "redis-server"],
  ["http", startNginx, "nginx"],
];

for (const [name, start, bin] of servers) {
  const missing = GCC === null ? "gcc" : tool(bin) === null ? bin : null;
  if (missing !== null) console.log(`remote_test (${name}): skipped, ${missing} not installed`);
  const opts = { ignore: missing !== null, timeout: 60_000 };

  test(
    `remote ${name}: a second machine with an empty cache hits everything from the remote`,
    async () => {
      const server = await start();
      const root = mkdtempSync(join(tmpdir(), "zc-remote-"));
      try {
        const a = checkout(root, "a");
        const b = checkout(root, "b");
        const m1 = machine(join(root, "cache1"), server.url);
        for (const s of SOURCES) assert.equal((await compile(m1, root, a, s)).cached, false);
        await m1.engine.close(); // drains the upload queue
        const up = m1.remote.stats();
        assert.ok(up.bytesUp > 0 && up.errors === 0 && up.queued === 0, JSON.stringify(up));

        const m2 = machine(join(root, "cache2"), server.url);
        for (const s of SOURCES) {
          assert.equal((await compile(m2, root, b, s)).cached, true, `${s}.c from the remote`);
          assert.ok(
            readFileSync(join(b, `build/${s}.o`)).equals(readFileSync(join(a, `build/${s}.o`))),
            "byte-identical object",
          );
        }
        const down = m2.remote.stats();
        assert.ok(down.hits >= 2 * SOURCES.length, JSON.stringify(down)); // contexts + blobs
        assert.ok(down.bytesDown > 0 && down.errors === 0);
        // Now local: a hit again with the remote gone.
        await server.stop();
        assert.equal((await compile(m2, root, b, "a")).cached, true);
        await m2.engine.close();
      } finally {
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      }
    },
    opts,
  );

  test(`remote ${name}: read-only mode stores nothing`, async () => {
    const server = await start();
    const root = mkdtempSync(join(tmpdir(), "zc-remote-"));
    try {
      const a = checkout(root, "a");
      const ro = machine(join(root, "cache1"), server.url, { readOnly: true });
      for (const s of SOURCES) assert.equal((await compile(ro, root, a, s)).cached, false);
      assert.equal((await compile(ro, root, a, "a")).cached, true, "local tier still works");
      await ro.engine.close();
      assert.equal(ro.remote.stats().bytesUp, 0);
      const m2 = machine(join(root, "cache2"), server.url);
      assert.equal((await compile(m2, root, a, "a")).cached, false, "nothing on the remote");
      await m2.engine.close();
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, opts);

  test(`remote ${name}: a server that stops answering costs the timeout once`, async () => {
    const server = await start();
    const root = mkdtempSync(join(tmpdir(), "zc-remote-"));
    try {
      const a = checkout(root, "a");
      const m = machine(join(root, "cache1"), server.url, { timeoutMs: 800 });
      assert.equal((await compile(m, root, a, "a")).cached, false);
      await m.remote.drain();
      server.pause(); // accepts, never answers
      let t = performance.now();
      const r2 = await compile(m, root, a, "b");
      const slow = performance.now() - t;
      assert.equal(r2.exitCode, 0, "the build succeeds");
      t = performance.now();
      const r3 = await compile(m, root, a, "c");
      const fast = performance.now() - t;
      assert.equal(r3.exitCode, 0);
      const st = m.remote.stats();
      assert.ok(st.degraded && st.errors >= 1, JSON.stringify(st));
      assert.ok(slow >= 700, `first fault waited the timeout (${slow} ms)`);
      assert.ok(fast < 700, `next compile does not wait again (${fast} ms)`);
      assert.equal(m.logs.filter((l) => l.includes("local-only")).length, 1, m.logs.join("\n"));
      assert.ok(!m.logs.join("\n").includes("password"));
      server.resume();
      await server.stop(); // and gone entirely: still fine
      assert.equal((await compile(m, root, a, "a")).cached, true);
      await m.engine.close();
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, opts);

  test(`remote ${name}: corrupt remote data is a miss, never a wrong object`, async () => {
    const server = await start();
    const root = mkdtempSync(join(tmpdir(), "zc-remote-"));
    try {
      const a = checkout(root, "a");
      const b = checkout(root, "b");
      const m1 = machine(join(root, "cache1"), server.url);
      for (const s of SOURCES) await compile(m1, root, a, s);
      await m1.engine.close();
      // a.o's blob replaced by garbage; b.c's context list by garbage.
      const be = backendFor(server.url);
      await be.put(`blob:${sha(readFileSync(join(a, "build/a.o")))}`, new Uint8Array(99), 2000);
      const m2 = machine(join(root, "cache2"), server.url);
      const r = await compile(m2, root, b, "a");
      assert.equal(r.cached, false, "garbage blob: a miss");
      assert.ok(readFileSync(join(b, "build/a.o")).equals(readFileSync(join(a, "build/a.o"))));
      assert.ok(m2.remote.stats().errors >= 1);
      assert.equal((await compile(m2, root, b, "c")).cached, true, "the rest still hits");
      await m2.engine.close();
      be.close();
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }
  }, opts);
}

test("remote: credentials never appear in labels", () => {
  assert.equal(redactUrl("redis://u:secret@h:1/2"), "redis://***@h:1/2");
  assert.equal(backendFor("http://u:pw@h/x").label, "http://***@h/x");
});

test(
  "remote rediss: TLS Redis (self-signed CA via ZCCACHE_REMOTE_TLS_CA) shares entries",
  async () => {
    const server = await startRedisTls();
    const root = mkdtempSync(join(tmpdir(), "zc-remote-tls-"));
    try {
      const a = checkout(root, "a");
      const b = checkout(root, "b");
      const tierFor = () =>
        new RemoteTier([backendFor(server.url, { tlsCa: server.ca })], {
          timeoutMs: 2000,
          log: () => {},
        });
      const make = (cacheDir: string) => {
        const remote = tierFor();
        const local = new LocalArtifactStore(join(cacheDir, "blobs"), join(cacheDir, "tmp"));
        return {
          remote,
          engine: new CompileEngine({
            cacheDir,
            flushIntervalMs: 0,
            store: new TieredArtifactStore(local, remote),
            remote,
          }),
          logs: [],
        };
      };
      const m1 = make(join(root, "cache1"));
      for (const s of SOURCES) assert.equal((await compile(m1, root, a, s)).cached, false);
      await m1.engine.close();
      assert.equal(m1.remote.stats().errors, 0);
      const m2 = make(join(root, "cache2"));
      for (const s of SOURCES) {
        assert.equal((await compile(m2, root, b, s)).cached, true, `${s}.c over TLS`);
        assert.ok(
          readFileSync(join(b, `build/${s}.o`)).equals(readFileSync(join(a, `build/${s}.o`))),
        );
      }
      await m2.engine.close();
      // Without the CA the self-signed certificate is refused: a miss, never a failure.
      const untrusted = new RemoteTier([backendFor(server.url)], {
        timeoutMs: 2000,
        log: () => {},
      });
      const local = new LocalArtifactStore(join(root, "c3", "blobs"), join(root, "c3", "tmp"));
      const e3 = new CompileEngine({
        cacheDir: join(root, "c3"),
        flushIntervalMs: 0,
        store: new TieredArtifactStore(local, untrusted),
        remote: untrusted,
      });
      const r = await compile({ engine: e3, remote: untrusted, logs: [] }, root, b, "a");
      assert.equal(r.exitCode, 0);
      assert.equal(r.cached, false, "an untrusted certificate is never a hit");
      await e3.close();
    } finally {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
  {
    ignore: GCC === null || tool("redis-server") === null || tool("openssl") === null,
    timeout: 60_000,
  },
);
