/**
 * Invalid ZCCACHE_* values: one clear line naming the variable, then the
 * default; sizes with units. Sessions that are never ended expire.
 */
import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { startDaemon } from "../daemon/server_helpers.ts";
import { daemonEnvConfig, parseSize } from "../../src/daemon/config_env.ts";
import { SessionManager } from "../../src/daemon/sessions.ts";

test("config_env: sizes accept units and plain bytes", () => {
  assert.equal(parseSize("1.5G"), 1610612736n);
  assert.equal(parseSize("500M"), 524288000n);
  assert.equal(parseSize("10Gi"), 10n * 1024n ** 3n);
  assert.equal(parseSize("64KiB"), 65536n);
  assert.equal(parseSize("12345"), 12345n);
  assert.equal(parseSize("abc"), null);
  assert.equal(parseSize("-1G"), null);
});

test("config_env: each bad value gives one line naming the variable", () => {
  const c = daemonEnvConfig({
    ZCCACHE_MAX_SIZE: "abc",
    ZCCACHE_MAX_PARALLEL_COMPILES: "0",
    ZCCACHE_IDLE_TIMEOUT_SECS: "soon",
  });
  assert.equal(c.maxSize, undefined);
  assert.equal(c.maxParallel, undefined);
  assert.equal(c.idleTimeoutSecs, undefined);
  assert.equal(c.warnings.length, 3);
  assert.match(c.warnings[0], /ZCCACHE_MAX_SIZE="abc"/);
  assert.match(c.warnings[1], /ZCCACHE_MAX_PARALLEL_COMPILES="0"/);
  assert.match(c.warnings[2], /ZCCACHE_IDLE_TIMEOUT_SECS="soon"/);
  const ok = daemonEnvConfig({ ZCCACHE_MAX_SIZE: "2G", ZCCACHE_MAX_PARALLEL_COMPILES: "3" });
  assert.deepEqual([ok.maxSize, ok.maxParallel, ok.warnings.length], [2n * 1024n ** 3n, 3, 0]);
});

test("bad env: the daemon warns once per variable and starts with defaults", async () => {
  const d = await startDaemon({
    engine: true,
    env: {
      ZCCACHE_MAX_SIZE: "abc",
      ZCCACHE_MAX_PARALLEL_COMPILES: "0",
      ZCCACHE_IDLE_TIMEOUT_SECS: "\x1b[31mgarbage",
    },
  });
  try {
    const out = d.output();
    for (const v of ["ZCCACHE_MAX_SIZE", "ZCCACHE_MAX_PARALLEL_COMPILES"]) {
      assert.equal(out.split(v + "=").length - 1, 1, `${v} once:\n${out}`);
    }
    assert.match(out, /ZCCACHE_IDLE_TIMEOUT_SECS=/);
    assert.ok(!out.includes("\x1b"), "no raw control byte reaches the log");
    assert.match(out, /idle_timeout=3600/);
    assert.equal(d.child.exitCode, null);
  } finally {
    await d.dispose();
  }
}, { timeout: 60_000 });

test("sessions: idle and orphaned sessions expire", () => {
  const m = new SessionManager();
  const base = { workingDir: "/", logFile: null, trackStats: false, journalPath: null };
  const idle = m.create({ ...base, clientPid: 1, profile: false });
  const orphan = m.create({ ...base, clientPid: 999999, profile: false });
  const live = m.create({ ...base, clientPid: 1, profile: false });
  idle.lastUsedMs -= 3_600_001;
  const gone = m.expire(3_600_000, (pid) => pid !== 999999);
  assert.deepEqual(gone.map((s) => s.id).sort(), [idle.id, orphan.id].sort());
  assert.deepEqual(m.activeIds(), [live.id]);
  assert.equal(m.wasEnded(idle.id), false, "an expired id still compiles");
});
