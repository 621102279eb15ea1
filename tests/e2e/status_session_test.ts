/**
 * `status`, `clear`, `session-start/-stats/-end`, `start`/`stop` end to end:
 * the numbers must match what the test did.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, statusJson } from "./_e2e.ts";

/** Every DaemonStatus field of 1.12.2, under its wire name. */
const DAEMON_STATUS_FIELDS = [
  "version",
  "daemon_namespace",
  "endpoint",
  "private_daemon",
  "artifact_count",
  "cache_size_bytes",
  "metadata_entries",
  "uptime_secs",
  "cache_hits",
  "cache_misses",
  "total_compilations",
  "non_cacheable",
  "compile_errors",
  "compile_errors_cached",
  "time_saved_ms",
  "total_links",
  "link_hits",
  "link_misses",
  "link_non_cacheable",
  "dep_graph_contexts",
  "dep_graph_files",
  "sessions_total",
  "sessions_active",
  "cache_dir",
  "dep_graph_version",
  "dep_graph_disk_size",
  "dep_graph_persisted",
];

const noGcc = !have("gcc");

test("start/status/stop: status --json has every DaemonStatus field", async () => {
  const w = makeWorld("status");
  try {
    const start = await runCli(["start"], { env: w.env });
    assert.equal(start.code, 0, start.err);
    assert.match(start.err, /daemon running at /);
    const again = await runCli(["start"], { env: w.env });
    assert.equal(again.code, 0);
    assert.equal(again.err.trim(), `daemon running at ${w.endpoint}`);
    const st = await statusJson(w);
    for (const f of DAEMON_STATUS_FIELDS) assert.ok(f in st, `missing ${f}`);
    assert.equal(st.version, "1.12.2");
    assert.equal(st.endpoint, w.endpoint);
    assert.equal(st.cache_hits, 0);
    assert.equal(typeof st.uptime_secs, "number");
    const human = await runCli(["status"], { env: w.env });
    assert.equal(human.code, 0);
    for (const label of ["Hits", "Misses", "Hit rate", "Non-cacheable", "Errors", "Time saved"]) {
      assert.match(human.out, new RegExp(`^  ${label}:`, "m"));
    }
    const alias = await runCli(["--show-stats"], { env: w.env });
    assert.equal(alias.code, 0);
    assert.match(alias.out, /^ {2}Hits:/m);
    const stop = await runCli(["stop"], { env: w.env });
    assert.equal(stop.code, 0);
    assert.match(stop.err, /daemon stopped/);
    const after = await runCli(["status"], { env: w.env });
    assert.equal(after.code, 1);
    const stop2 = await runCli(["stop"], { env: w.env });
    assert.equal(stop2.code, 0);
    assert.match(stop2.err, /not running/);
  } finally {
    await disposeWorld(w);
  }
}, { timeout: 60_000 });

test("clear and session stats count exactly what was compiled", async () => {
  const w = makeWorld("session");
  try {
    for (const n of ["a", "b"]) {
      writeFileSync(join(w.dir, `${n}.c`), `int ${n}(void) { return 1; }\n`);
    }
    const log = join(w.dir, "session.log");
    const started = await runCli(["session-start", "--stats", "--log", log], {
      env: w.env,
      cwd: w.dir,
    });
    assert.equal(started.code, 0, started.err);
    const { session_id: id } = JSON.parse(started.out);
    assert.match(id, /^[0-9a-f-]{36}$/);

    // Compiles inside the session (ZCCACHE_SESSION_ID is how build tools join).
    const env = { ...w.env, ZCCACHE_SESSION_ID: id };
    const compile = (n: string) =>
      runCli(["gcc", "-c", `${n}.c`, "-o", `${n}.o`], { env, cwd: w.dir });
    for (const n of ["a", "b", "a", "b", "a"]) assert.equal((await compile(n)).code, 0);
    // A link that compiles a source goes to LinkEphemeral (never part of a session, as in
    // zccache) and passes through: a non-cacheable link, not a session compile.
    writeFileSync(join(w.dir, "m.c"), "int main(void) { return 0; }\n");
    assert.equal(
      (await runCli(["gcc", "m.c", "-o", "m"], { env, cwd: w.dir })).code,
      0,
    );

    const snap = await runCli(["session-stats", id, "--json"], { env: w.env });
    assert.equal(snap.code, 0, snap.err);
    const s = JSON.parse(snap.out).stats;
    assert.equal(s.compilations, 5);
    assert.equal(s.hits, 3);
    assert.equal(s.misses, 2);
    assert.equal(s.non_cacheable, 0);
    assert.equal(s.errors, 0);

    const st = await statusJson(w);
    assert.equal(st.cache_hits, 3);
    assert.equal(st.cache_misses, 2);
    assert.equal(st.non_cacheable, 0);
    assert.equal(st.total_links, 1);
    assert.equal(st.link_non_cacheable, 1);
    assert.equal(st.sessions_active, 1);
    assert.equal(st.artifact_count, 2);

    const end = await runCli(["session-end", id, "--json"], { env: w.env });
    assert.equal(end.code, 0, end.err);
    assert.equal(JSON.parse(end.out).stats.hits, 3);
    const endAgain = await runCli(["session-end", id], { env: w.env });
    assert.equal(endAgain.code, 1, "an ended session is unknown: a message and exit 1 (issue 12)");
    assert.match(endAgain.err, /unknown session/);
    assert.equal((await statusJson(w)).sessions_active, 0);
    assert.ok(existsSync(log), "the session log was written");
    const logText = readFileSync(log, "utf8");
    assert.match(logText, /\[MISS\] \S*gcc -c a\.c -o a\.o \(reason: new source\)/);
    assert.equal(logText.match(/\[HIT\]/g)?.length, 3, logText);

    const cleared = await runCli(["clear"], { env: w.env });
    assert.equal(cleared.code, 0, cleared.err);
    assert.match(cleared.out, /Artifacts removed: +2$/m);
    const after = await statusJson(w);
    assert.equal(after.artifact_count, 0);
    // Cleared cache: the next (ephemeral) compile misses again.
    const again = await runCli(["gcc", "-c", "a.c", "-o", "a.o"], { env: w.env, cwd: w.dir });
    assert.equal(again.code, 0, again.err);
    assert.equal(again.err, "");
    const final = await statusJson(w);
    assert.equal(final.cache_misses, (after.cache_misses as number) + 1);
    assert.equal(final.cache_hits, after.cache_hits);
    assert.equal(final.artifact_count, 1);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 90_000 });

test("usage errors exit 2; session-end with no daemon exits 1; clear with none works", async () => {
  const w = makeWorld("usage");
  try {
    const bad = await runCli(["status", "--nope"], { env: w.env });
    assert.equal(bad.code, 2);
    assert.equal(bad.err.trim().split("\n").length, 1);
    const end = await runCli(["session-end", "00000000-0000-0000-0000-000000000000"], {
      env: w.env,
    });
    assert.equal(end.code, 1);
    assert.equal(end.err.split("\n").length, 2, end.err);
    const clear = await runCli(["--clear"], { env: w.env });
    assert.equal(clear.code, 0);
    assert.match(clear.out, /Cache cleared \(no daemon running\)/);
    const v = await runCli(["--version"], { env: w.env });
    assert.equal(v.code, 0);
    assert.match(v.out, /^zccache-ts \d+\.\d+\.\d+\nwire: zccache 1\.12\.2\n$/);
  } finally {
    await disposeWorld(w);
  }
}, { timeout: 60_000 });
