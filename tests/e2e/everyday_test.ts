/**
 * Issue 12, everyday use, end to end against a real daemon and gcc:
 * honest exit codes, `-- gcc`, `help`, stats with sizes and compression,
 * zero, clear with no daemon, max-size persisted, evict, the config
 * precedence table, corrupt compressed blobs (a miss, never a crash).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, statusJson } from "./_e2e.ts";
import { daemonEnvConfig, parseConfigText, resolveSettings } from "../../src/daemon/config_env.ts";
import { LocalArtifactStore } from "../../src/daemon/cache/artifact_store.ts";
import { parseAge } from "../../src/cli/everyday.ts";

const noGcc = !have("gcc");

test("wrapper: a missing compiler is one line, exit 1, and no daemon starts", async () => {
  const w = makeWorld("nocc");
  try {
    const r = await runCli(["gcc-13-nonexistent", "-c", "a.c"], { env: w.env, cwd: w.dir });
    assert.equal(r.code, 1);
    assert.equal(r.err, "zccache: gcc-13-nonexistent: compiler not found in PATH\n");
    assert.equal(existsSync(join(w.cacheDir, "daemon.lock")), false);
    const p = await runCli(["./nope", "-c", "a.c"], { env: w.env, cwd: w.dir });
    assert.equal(p.code, 1);
    assert.equal(p.err.split("\n").length, 2, p.err);
  } finally {
    await disposeWorld(w);
  }
});

test("help and help <command> exit 0; session-end of an unknown session exits 1", async () => {
  const w = makeWorld("help");
  try {
    assert.equal((await runCli(["help"], { env: w.env })).code, 0);
    const h = await runCli(["help", "stats"], { env: w.env });
    assert.equal(h.code, 0);
    assert.match(h.out, /Usage: zccache stats/);
    const id = "12345678-1234-1234-1234-123456789012";
    const none = await runCli(["session-end", id], { env: w.env });
    assert.equal(none.code, 1);
    assert.match(none.err, /no session/);
    const log = await runCli(["session-start", "--log", join(w.dir, "missing", "s.log")], {
      env: w.env,
    });
    assert.equal(log.code, 1);
    assert.match(log.err, /log directory .* does not exist/);
    assert.equal(existsSync(join(w.dir, "missing")), false);
    const s = await runCli(["session-start", "--stats"], { env: w.env });
    assert.equal(s.code, 0, s.err);
    const sid = JSON.parse(s.out).session_id;
    assert.equal((await runCli(["session-end", sid], { env: w.env })).code, 0);
    const again = await runCli(["session-end", sid], { env: w.env });
    assert.equal(again.code, 1, "an ended session is unknown");
  } finally {
    await disposeWorld(w);
  }
});

test("-- gcc, stats sizes and ratio, zero, max-size, evict, clear without a daemon", async () => {
  const w = makeWorld("everyday");
  try {
    const src = join(w.dir, "a.c");
    writeFileSync(src, "int f(void) { return 42; }\n".repeat(1) + "int g(void) { return 1; }\n");
    const c1 = await runCli(["--", "gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: w.dir });
    assert.equal(c1.code, 0, c1.err);
    const c2 = await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: w.dir });
    assert.equal(c2.code, 0, c2.err);
    const st = await statusJson(w);
    assert.equal(st.cache_hits, 1);
    const s = await runCli(["-s", "--json"], { env: w.env });
    const sj = JSON.parse(s.out);
    assert.equal(sj.ephemeral_compiles, 2);
    assert.ok(sj.compression_ratio > 1, `ratio ${sj.compression_ratio}`);
    assert.equal(sj.max_size_bytes, 10 * 1024 ** 3);
    const human = await runCli(["stats"], { env: w.env });
    assert.equal(human.out.split("Uptime").length - 1, 1, "Uptime once");
    assert.match(human.out, /Wrapper compiles: +2/);
    assert.match(human.out, /Sessions: +0 active \/ 0 total/);
    assert.match(human.out, /compression ratio/);

    assert.equal((await runCli(["-z"], { env: w.env })).code, 0);
    const z = await statusJson(w);
    assert.equal(z.cache_hits, 0);
    assert.equal(z.artifact_count, 1, "zero keeps the cache");

    const m = await runCli(["-M", "1.5G"], { env: w.env });
    assert.equal(m.code, 0, m.err);
    assert.match(readFileSync(join(w.cacheDir, "zccache.conf"), "utf8"), /^max_size = 1.5G$/m);
    const sj2 = JSON.parse((await runCli(["stats", "--json"], { env: w.env })).out);
    assert.equal(sj2.max_size_bytes, 1.5 * 1024 ** 3);

    const e = await runCli(["evict", "--older-than", "0s", "--json"], { env: w.env });
    assert.equal(e.code, 0, e.err);
    assert.equal(JSON.parse(e.out).evicted, 1);
    assert.equal((await statusJson(w)).artifact_count, 0);

    // A new entry, then clear with the daemon stopped: the store itself goes.
    writeFileSync(src, "int h(void) { return 3; }\n");
    await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: w.dir });
    assert.equal((await runCli(["stop"], { env: w.env })).code, 0);
    const cl = await runCli(["-C", "--json"], { env: w.env });
    assert.equal(cl.code, 0, cl.err);
    const cj = JSON.parse(cl.out);
    assert.equal(cj.daemon_running, false);
    assert.equal(cj.artifacts_removed, 1);
    const proj = join(w.cacheDir, "zccache-ts");
    assert.equal(existsSync(join(proj, "blobs")), false);
    assert.equal(existsSync(join(proj, "index.json")), false);
    const c3 = await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: w.dir });
    assert.equal(c3.code, 0);
    assert.equal((await statusJson(w)).cache_misses, 1, "nothing served after clear");
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 120_000 });

test("config: environment over file over default; bad values one line, default used", async () => {
  const file = parseConfigText("# comment\nmax_size = 2G\ncompression_level = 7\nbogus = 1\n");
  const table: Array<[Record<string, string>, string, string, string]> = [
    [{}, "max_size", "2G", "file"],
    [{ ZCCACHE_MAX_SIZE: "5G" }, "max_size", "5G", "environment"],
    [{ ZCCACHE_MAX_SIZE: "junk" }, "max_size", "2G", "file"],
    [{}, "compression", "true", "default"],
    [{}, "compression_level", "7", "file"],
  ];
  for (const [env, key, text, origin] of table) {
    const r = resolveSettings(env, file).settings.find((s) => s.setting.key === key)!;
    assert.deepEqual([r.text, r.origin], [text, origin], `${JSON.stringify(env)} ${key}`);
  }
  const bad = daemonEnvConfig({}, 3600, parseConfigText("compression_level = 99\n"));
  assert.equal(bad.compressionLevel, undefined);
  assert.equal(bad.warnings.length, 1);
  assert.match(bad.warnings[0], /compression_level = "99"/);
  assert.equal(daemonEnvConfig({ ZCCACHE_MAX_SIZE: "0" }).maxSize, 0n, "0 = unlimited");
  assert.equal(parseAge("7d"), 7 * 86400_000);
  assert.equal(parseAge("soon"), null);

  const w = makeWorld("config");
  try {
    writeFileSync(join(w.cacheDir, "zccache.conf"), "max_size = 3G\n");
    const p = await runCli(["-p", "--json"], { env: { ...w.env, ZCCACHE_COMPRESSION: "off" } });
    assert.equal(p.code, 0, p.err);
    const set = JSON.parse(p.out).settings;
    const get = (k: string) => set.find((s: { key: string }) => s.key === k);
    assert.deepEqual([get("max_size").value, get("max_size").origin], ["3G", "file"]);
    assert.equal(get("compression").origin, "environment");
    const ok = await runCli(["config", "set", "compression_level", "5"], { env: w.env });
    assert.equal(ok.code, 0, ok.err);
    const no = await runCli(["config", "set", "compression_level", "99"], { env: w.env });
    assert.equal(no.code, 2);
    assert.equal(no.err.split("\n").length, 2);
    assert.match(no.err, /compression_level = "99"/);
    assert.match(readFileSync(join(w.cacheDir, "zccache.conf"), "utf8"), /compression_level = 5/);
  } finally {
    await disposeWorld(w);
  }
});

test("LocalArtifactStore: zstd round trip; corrupt compressed data is a miss, never a crash", async () => {
  const w = makeWorld("zstd");
  try {
    const store = new LocalArtifactStore(join(w.dir, "blobs"), join(w.dir, "tmp"));
    const bytes = new TextEncoder().encode("object bytes ".repeat(1000));
    const h = await store.put(bytes);
    const files = readdirSync(join(w.dir, "blobs", h.slice(0, 2)));
    assert.deepEqual(files, [`${h}.zst`]);
    assert.deepEqual(await store.get(h), bytes);
    const path = join(w.dir, "blobs", h.slice(0, 2), `${h}.zst`);
    const packed = readFileSync(path);
    for (const bad of [packed.subarray(0, packed.length - 3), new Uint8Array([1, 2, 3])]) {
      await store.remove(h);
      writeFileSync(path, bad);
      assert.equal(await store.get(h), null);
    }
    // Incompressible bytes stay raw; compression off stores raw.
    const raw = new LocalArtifactStore(join(w.dir, "raw"), join(w.dir, "tmp"), { enabled: false });
    const h2 = await raw.put(bytes);
    assert.deepEqual(readdirSync(join(w.dir, "raw", h2.slice(0, 2))), [h2]);
    assert.deepEqual(await store.get(h2), null);
    assert.deepEqual(await raw.get(h2), bytes);
  } finally {
    await disposeWorld(w);
  }
});
