/**
 * Reliability 5, bad environment and disks: every `ZCCACHE_*` variable with
 * invalid values, a cache dir that is a file, read-only, owned by another
 * user, full, relative or missing; an endpoint that is relative, in a
 * missing directory, under a file, empty or too long. Each case runs two
 * compiles in a row through the wrapper: both succeed with plain gcc's
 * object and at most one warning line each; when the daemon cannot start,
 * the second compile does not try again (it is remembered) and both fall
 * back fast.
 *
 * The read-only and full cache dirs are tmpfs mounts when running as root
 * (chmod does not stop root); as another user the read-only dir is chmod
 * 555 and the full disk and foreign-owner cases are skipped with a reason.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "../_harness.ts";
import {
  daemonProcessesWithEnv,
  disposeAll,
  fallbackLines,
  have,
  join,
  makeWorld,
  plainObject,
  report,
  runWrapped,
  sameBytes,
  type World,
} from "./_rel.ts";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function tryMount(args: string[]): boolean {
  try {
    execFileSync("mount", args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function umount(dir: string): void {
  try {
    execFileSync("umount", ["-l", dir], { stdio: "ignore" });
  } catch {
    // not mounted
  }
}

/** Can this process mount a tmpfs (root with CAP_SYS_ADMIN)? Probed once. */
const canMount: boolean = (() => {
  if (!isRoot || process.platform !== "linux") return false;
  const probe = join(
    process.env.TMPDIR ?? "/tmp",
    `zc-mount-probe-${process.pid}`,
  );
  try {
    mkdirSync(probe, { recursive: true });
    if (!tryMount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])) return false;
    umount(probe);
    return true;
  } catch {
    return false;
  }
})();

/** A nobody-like user to own a directory that is not ours. */
const otherUid: number | null = (() => {
  if (!isRoot) return null;
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) =>
      l.startsWith("nobody:")
    );
    const uid = line ? Number(line.split(":")[2]) : NaN;
    return Number.isInteger(uid) && uid > 0 ? uid : 65534;
  } catch {
    return 65534;
  }
})();

interface Case {
  name: string;
  /** Environment overrides (values computed from the world). */
  env: (w: World) => Record<string, string>;
  /** Extra set-up; returns a clean-up function. */
  setup?: (w: World) => (() => void) | void;
  /** Reason to skip, when the case cannot be built here. */
  skip?: string;
  /** True when the daemon cannot start: the second compile must not spawn again. */
  cannotStart?: boolean;
}

const garbage: [string, string][] = [
  ["ZCCACHE_MAX_SIZE", "abc"],
  ["ZCCACHE_MAX_SIZE", "-1"],
  ["ZCCACHE_MAX_SIZE", "1.5Q"],
  ["ZCCACHE_MAX_SIZE", "0"],
  ["ZCCACHE_MAX_PARALLEL_COMPILES", "0"],
  ["ZCCACHE_MAX_PARALLEL_COMPILES", "-3"],
  ["ZCCACHE_MAX_PARALLEL_COMPILES", "many"],
  ["ZCCACHE_IDLE_TIMEOUT_SECS", "soon"],
  ["ZCCACHE_IDLE_TIMEOUT_SECS", "-5"],
  ["ZCCACHE_WEDGE_RECV_TIMEOUT_SECS", "xyz"],
  ["ZCCACHE_SPAWN_TIMEOUT_MS", "never"],
  ["ZCCACHE_SPAWN_BACKOFF_SECS", "abc"],
  ["ZCCACHE_STATUS_PROBE_TIMEOUT_SECS", "zz"],
  ["ZCCACHE_STOP_TIMEOUT_SECS", "-1"],
  ["ZCCACHE_DAEMON_WIRE", "bogus"],
  ["ZCCACHE_DAEMON_NAMESPACE", "../../etc"],
  ["ZCCACHE_DAEMON_NAMESPACE", "   "],
  ["ZCCACHE_DISABLE", "maybe"],
  ["ZCCACHE_NO_SPAWN", "perhaps"],
  ["ZCCACHE_BROKER_CONNECT", "garbage"],
  ["ZCCACHE_COLOCATE", "\u00ff\u00fe"],
  ["ZCCACHE_SESSION_ID", "no-such-session"],
];

const cases: Case[] = [
  ...garbage.map(([k, v]): Case => ({
    name: `${k}=${JSON.stringify(v)}`,
    env: () => ({ [k]: v }),
  })),
  {
    name: "ZCCACHE_ENDPOINT relative (rel/zc.sock)",
    env: () => ({ ZCCACHE_ENDPOINT: "rel/zc.sock" }),
  },
  {
    name: "ZCCACHE_ENDPOINT in a missing directory",
    env: (w) => ({ ZCCACHE_ENDPOINT: join(w.dir, "missing", "deeper", "zc.sock") }),
  },
  {
    name: "ZCCACHE_ENDPOINT under a regular file",
    setup: (w) => writeFileSync(join(w.dir, "afile"), ""),
    env: (w) => ({ ZCCACHE_ENDPOINT: join(w.dir, "afile", "zc.sock") }),
    cannotStart: true,
  },
  {
    name: 'ZCCACHE_ENDPOINT=""',
    env: () => ({ ZCCACHE_ENDPOINT: "" }),
  },
  {
    name: "ZCCACHE_ENDPOINT longer than a socket path can be",
    env: (w) => ({ ZCCACHE_ENDPOINT: join(w.dir, "x".repeat(120), "zc.sock") }),
    cannotStart: true,
  },
  {
    name: "ZCCACHE_CACHE_DIR is a regular file",
    setup: (w) => writeFileSync(join(w.dir, "cachefile"), "not a dir"),
    env: (w) => ({ ZCCACHE_CACHE_DIR: join(w.dir, "cachefile") }),
    cannotStart: true,
  },
  {
    name: "ZCCACHE_CACHE_DIR relative (rel-cache)",
    env: () => ({ ZCCACHE_CACHE_DIR: "rel-cache" }),
  },
  {
    name: "ZCCACHE_CACHE_DIR missing (nested, creatable)",
    env: (w) => ({ ZCCACHE_CACHE_DIR: join(w.dir, "new", "nested", "cache") }),
  },
  {
    name: "ZCCACHE_CACHE_DIR read-only" + (canMount ? " (ro tmpfs)" : isRoot ? "" : " (chmod 555)"),
    skip: isRoot && !canMount
      ? "running as root without mount rights: chmod 555 does not stop root"
      : undefined,
    setup: (w) => {
      const d = join(w.dir, "ro");
      mkdirSync(d);
      if (canMount) {
        if (!tryMount(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", d])) {
          throw new Error("mount ro");
        }
        return () => umount(d);
      }
      chmodSync(d, 0o555);
      return () => chmodSync(d, 0o755);
    },
    env: (w) => ({ ZCCACHE_CACHE_DIR: join(w.dir, "ro") }),
    cannotStart: true,
  },
  {
    name: "ZCCACHE_CACHE_DIR owned by another user",
    skip: otherUid === null ? "not root: cannot make a directory owned by another user" : undefined,
    setup: (w) => {
      const d = join(w.dir, "foreign");
      mkdirSync(d, { mode: 0o755 });
      chownSync(d, otherUid!, otherUid!);
    },
    env: (w) => ({ ZCCACHE_CACHE_DIR: join(w.dir, "foreign") }),
    cannotStart: true,
  },
  {
    name: "ZCCACHE_CACHE_DIR on a full disk (64 KiB tmpfs, filled)",
    skip: canMount ? undefined : "needs root with mount rights for a small tmpfs",
    setup: (w) => {
      const d = join(w.dir, "full");
      mkdirSync(d);
      if (!tryMount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", d])) throw new Error("mount full");
      try {
        execFileSync("sh", ["-c", `dd if=/dev/zero of=${d}/filler bs=4k 2>/dev/null; true`]);
      } catch {
        // full: that is the point
      }
      return () => umount(d);
    },
    env: (w) => ({ ZCCACHE_CACHE_DIR: join(w.dir, "full") }),
  },
];

const figures: Record<string, unknown>[] = [];

for (const c of cases) {
  const skipped = c.skip !== undefined ? ` (skipped: ${c.skip})` : "";
  test(
    `bad environment: ${c.name} -> builds succeed, correct objects, <= 1 line each${skipped}`,
    async () => {
      const w = makeWorld("badenv");
      let cleanup: (() => void) | void = undefined;
      const env = { ...w.env };
      try {
        cleanup = c.setup?.(w);
        Object.assign(env, c.env(w));
        const cleanEnv = { ...w.env };
        const row: Record<string, unknown> = { case: c.name };
        const lines: string[] = [];
        for (const n of [1, 2]) {
          writeFileSync(join(w.dir, `b${n}.c`), `int b${n}(int x) { return x + ${n}; }\n`);
          const args = ["-O1", "-c", `b${n}.c`, "-o", `b${n}.o`];
          const r = await runWrapped(["gcc", ...args], { env, cwd: w.dir, timeoutMs: 60_000 });
          assert.equal(r.hung, false, "no hang");
          assert.equal(r.code, 0, `compile ${n}: ${r.err}`);
          const ref = await plainObject(args, w.dir, cleanEnv, join(w.dir, `ref${n}.o`));
          assert.ok(sameBytes(readFileSync(join(w.dir, `b${n}.o`)), ref), `compile ${n}: object`);
          const errLines = r.err.split("\n").filter((l) => l.trim() !== "");
          assert.ok(errLines.length <= 1, `compile ${n}: at most one line, got ${r.err}`);
          lines.push(...fallbackLines(r.err));
          row[`ms_${n}`] = Math.round(r.ms);
          row[`fell_back_${n}`] = fallbackLines(r.err).length > 0;
        }
        row.lines = lines.map((l) => l.replace(/\/\S+/g, "<path>"));
        if (c.cannotStart) {
          // The daemon could not start: the first compile fell back after ONE
          // attempt, the second did not try again.
          assert.equal(row.fell_back_1, true, "fell back");
          assert.match(lines[0] ?? "", /^zccache: daemon unavailable: .*; compiled without cache$/);
          assert.equal(row.fell_back_2, true);
          // Either the connect itself says why (no spawn is ever tried), or the
          // failed start is remembered and not tried again.
          assert.match(
            lines[1] ?? "",
            /not retried yet|Cannot connect to daemon/,
            "no second spawn",
          );
        }
        const daemons = daemonProcessesWithEnv(w.dir);
        row.daemons = daemons.length;
        assert.ok(daemons.length <= 1, `at most one daemon, found ${daemons.length}`);
        figures.push(row);
        report("bad_env", row);
      } finally {
        // Stop whatever daemon this case started (its env names the cache dir).
        for (const pid of daemonProcessesWithEnv(w.dir)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
        }
        try {
          cleanup?.();
        } catch {
          // best effort
        }
        await disposeAll(w);
      }
    },
    {
      ignore: !have("gcc") || c.skip !== undefined,
      timeout: 90_000,
    },
  );
}
