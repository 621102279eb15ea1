/**
 * Daemon auto-start, version check and stop (the client side of zccache's
 * daemon lifecycle).
 *
 * - {@link ensureDaemon}: a daemon that answers `Status` with wire version
 *   `1.12.2` (or a newer `x.y.z`) is used; an older/unparseable version or one
 *   that cannot complete the exchange is stopped and replaced; nobody
 *   answering means spawn-and-wait.
 * - Spawning is single-flight across concurrent clients: the first creates
 *   `<endpoint>.spawn` with O_EXCL (stale after 20 s), spawns one detached
 *   daemon and removes the slot when it answers `Ping`; the others poll.
 * - Readiness is bounded polling: `Ping` with a backoff from 5 ms to 100 ms,
 *   10 s in total by default (`ZCCACHE_SPAWN_TIMEOUT_MS`).
 * - How to re-run this program in daemon mode is computed in ONE place,
 *   {@link daemonCommand}: `deno run -A <cli.ts> daemon`, `bun <cli.ts>
 *   daemon`, or `<binary> daemon` for a `bun build --compile` binary.
 *
 * Only the bincode lane is used here (the wrapper's hot path imports this
 * module and must not load the protobuf schema).
 *
 * Reproduces zccache@3eae627 cli/commands/daemon.rs `ensure_daemon`,
 * `stop_stale_daemon`, cli/runtime.rs `spawn_daemon`/`wait_for_daemon_ready`
 * (ipc-spec-1.12.2 §8), plus the spawn slot zccache added after 1.12.2.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import type { DaemonStatus, Request, Response } from "../core/messages.ts";
import { ZCCACHE_WIRE_RELEASE } from "../core/messages.ts";
import { lockFilePath, resolveCacheDir } from "../transport/endpoint.ts";
import { IpcConnection } from "./ipc_connection.ts";

/** A program and its arguments. */
export interface Command {
  command: string;
  args: string[];
}

/** Options shared by the lifecycle functions. */
export interface DaemonLifecycleOptions {
  /** Environment to read knobs from and to pass to a spawned daemon. */
  env?: Record<string, string | undefined>;
  /** How to start a daemon (default {@link daemonCommand}). */
  command?: Command;
  /** Where the spawned daemon's stdout/stderr go (default: a file under `logDir`). */
  logDir?: string;
  /** Total readiness budget in ms (default 10 000, `ZCCACHE_SPAWN_TIMEOUT_MS`). */
  readyTimeoutMs?: number;
  /** Budget of one Status/Ping probe in ms (default 2 000, `ZCCACHE_STATUS_PROBE_TIMEOUT_SECS`). */
  probeTimeoutMs?: number;
}

/** What {@link ensureDaemon} did. */
export type EnsureOutcome = "running" | "started" | "replaced";

const SPAWN_SLOT_STALE_MS = 20_000;

function envOf(opts: DaemonLifecycleOptions): Record<string, string | undefined> {
  return opts.env ?? (process.env as Record<string, string | undefined>);
}

/**
 * How to run this very program with `args` (e.g. `["daemon"]`): the one place
 * that knows whether we are a compiled binary, `deno run` or `bun`.
 *
 * @example
 * ```ts
 * import { daemonCommand } from "./ensure_daemon.ts";
 * const { command, args } = daemonCommand();
 * console.log(command, args.at(-1)); // e.g. ".../deno" "daemon"
 * ```
 */
export function selfCommand(args: string[]): Command {
  const here = import.meta.url;
  // A `bun build --compile` binary serves its modules from a virtual
  // file system: re-run the binary itself.
  if (here.includes("$bunfs") || here.includes("~BUN")) {
    return { command: process.execPath, args };
  }
  const cli = fileURLToPath(new URL("../../cli.ts", here));
  const exe = process.execPath;
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) {
    const config = join(dirname(cli), "deno.json");
    let hasConfig = false;
    try {
      hasConfig = statSync(config).isFile();
    } catch {
      hasConfig = false;
    }
    const flags = hasConfig ? ["--config", config] : [];
    return { command: deno.execPath(), args: ["run", "-A", ...flags, cli, ...args] };
  }
  // Bun (or Node with a TS loader): `<runtime> <cli.ts> ...`.
  return { command: exe, args: [cli, ...args] };
}

/** The command that starts a foreground daemon (see {@link selfCommand}). */
export function daemonCommand(): Command {
  return selfCommand(["daemon", "--foreground"]);
}

/** Compare a daemon's reported version with {@link ZCCACHE_WIRE_RELEASE}. */
export function compareDaemonVersion(version: string): "same" | "newer" | "older" {
  if (version === ZCCACHE_WIRE_RELEASE) return "same";
  const parse = (v: string): number[] | null => {
    const parts = v.split(".");
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) return null;
    return parts.map(Number);
  };
  const mine = parse(ZCCACHE_WIRE_RELEASE)!;
  const theirs = parse(version);
  if (theirs === null) return "older";
  for (let i = 0; i < 3; i++) {
    if (theirs[i] > mine[i]) return "newer";
    if (theirs[i] < mine[i]) return "older";
  }
  return "same";
}

/**
 * True when a daemon rejected our frame for its protocol version (the
 * heuristic of zccache's auto client, wire-spec §5).
 */
export function isDaemonVersionRejection(resp: Response): boolean {
  if (resp.kind !== "Error") return false;
  const m = resp.message.toLowerCase();
  return m.includes("protocol version mismatch") || m.includes("protocol_version");
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One request/response on a fresh bincode connection, bounded by `timeoutMs`. */
export async function roundtrip(
  endpoint: string,
  request: Request,
  timeoutMs: number,
): Promise<Response | null> {
  const conn = await IpcConnection.connect(endpoint, { timeoutMs });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await conn.send(request);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ZccacheError("Timeout", `no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return await Promise.race([conn.recv(), timeout]);
  } finally {
    clearTimeout(timer);
    await conn.close().catch(() => {});
  }
}

/** True when a daemon answers `Ping` with `Pong` at `endpoint`. */
export async function pingDaemon(endpoint: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const r = await roundtrip(endpoint, { kind: "Ping" }, timeoutMs);
    return r !== null && r.kind === "Pong";
  } catch {
    return false;
  }
}

function probeTimeout(opts: DaemonLifecycleOptions): number {
  if (opts.probeTimeoutMs !== undefined) return opts.probeTimeoutMs;
  const secs = Number(envOf(opts).ZCCACHE_STATUS_PROBE_TIMEOUT_SECS ?? 2);
  return Number.isFinite(secs) && secs > 0 ? secs * 1000 : 2_000;
}

/**
 * Ask the daemon for its `DaemonStatus`; `null` when nobody listens at the
 * endpoint. Other faults (timeout, garbage, non-Status reply) throw.
 */
export async function queryStatus(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<DaemonStatus | null> {
  let r: Response | null;
  try {
    r = await roundtrip(endpoint, { kind: "Status" }, probeTimeout(opts));
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) return null;
    throw e;
  }
  if (r === null) throw new ZccacheError("Protocol", "daemon closed the connection on Status");
  if (r.kind === "Status") return r.value;
  if (r.kind === "Error") throw new ZccacheError("Protocol", r.message);
  throw new ZccacheError("Protocol", `unexpected ${r.kind} reply to Status`);
}

/** Where the single-flight spawn slot lives for an endpoint. */
export function spawnSlotPath(endpoint: string): string {
  if (endpoint.startsWith("\\\\.\\pipe\\")) {
    return join(tmpdir(), endpoint.slice(9).replace(/[^A-Za-z0-9_.-]/g, "_") + ".spawn");
  }
  return endpoint + ".spawn";
}

function tryTakeSlot(slot: string): boolean {
  try {
    closeSync(openSync(slot, "wx", 0o600));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      try {
        if (Date.now() - statSync(slot).mtimeMs > SPAWN_SLOT_STALE_MS) unlinkSync(slot);
      } catch {
        // raced with its owner removing it
      }
      return false;
    }
    throw e;
  }
}

/**
 * `<cache root>/zccache-ts/logs`: this project's own subdirectory of the
 * zccache root (the daemon's `PROJECT_SUBDIR`), never a Rust zccache file.
 */
export function defaultLogDir(env: Record<string, string | undefined>): string {
  const root = resolveCacheDir(env, undefined, process.platform, { cwd: process.cwd() });
  return join(root, "zccache-ts", "logs");
}

/** Spawn one detached daemon; returns its pid and the log file path. */
function spawnDetached(
  endpoint: string,
  opts: DaemonLifecycleOptions,
): { pid: number | undefined; log: string; exited: Promise<number | null> } {
  const env = envOf(opts);
  const { command, args } = opts.command ?? daemonCommand();
  const logDir = opts.logDir ?? defaultLogDir(env);
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const log = join(logDir, `daemon-spawn-${process.pid}-${Date.now()}.log`);
  const fd = openSync(log, "a", 0o600);
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv.ZCCACHE_ENDPOINT = endpoint;
  // The daemon runs from another cwd: a relative cache dir must not move.
  const cacheDir = childEnv.ZCCACHE_CACHE_DIR;
  if (cacheDir !== undefined && cacheDir !== "" && !isAbsolute(cacheDir)) {
    childEnv.ZCCACHE_CACHE_DIR = resolve(process.cwd(), cacheDir);
  }
  childEnv.ZCCACHE_PARENT_PID = String(process.pid);
  childEnv.ZCCACHE_CLIENT_PID = String(process.pid);
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: childEnv,
      cwd: tmpdir(),
    });
    const exited = new Promise<number | null>((resolve) => {
      child.on("error", () => resolve(-1));
      child.on("exit", (code) => resolve(code));
    });
    child.unref();
    return { pid: child.pid, log, exited };
  } finally {
    closeSync(fd);
  }
}

async function waitReady(endpoint: string, deadline: number, early?: Promise<unknown>) {
  let wait = 5;
  let exited = false;
  early?.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (await pingDaemon(endpoint, Math.max(50, Math.min(1_000, deadline - Date.now())))) {
      return true;
    }
    if (exited && early !== undefined) {
      // Our child quit (e.g. another daemon won the bind): keep polling a
      // little for that one, but do not wait the whole budget for nothing.
      early = undefined;
      deadline = Math.min(deadline, Date.now() + 1_000);
    }
    await delay(wait);
    wait = Math.min(wait * 2, 100);
  }
  return false;
}

async function spawnAndWait(endpoint: string, opts: DaemonLifecycleOptions): Promise<void> {
  const env = envOf(opts);
  const budget = opts.readyTimeoutMs ?? (Number(env.ZCCACHE_SPAWN_TIMEOUT_MS) || 10_000);
  const deadline = Date.now() + budget;
  if (!endpoint.startsWith("\\\\.\\pipe\\")) {
    mkdirSync(dirname(endpoint), { recursive: true, mode: 0o700 });
  }
  const slot = spawnSlotPath(endpoint);
  let lastLog = "";
  while (Date.now() < deadline) {
    if (tryTakeSlot(slot)) {
      try {
        if (await pingDaemon(endpoint, 500)) return;
        const child = spawnDetached(endpoint, opts);
        lastLog = child.log;
        if (await waitReady(endpoint, deadline, child.exited)) return;
      } finally {
        try {
          unlinkSync(slot);
        } catch {
          // already gone
        }
      }
    } else if (await waitReady(endpoint, Math.min(deadline, Date.now() + 250))) {
      return;
    }
  }
  let tail = "";
  if (lastLog !== "") {
    try {
      const text = readFileSync(lastLog, "utf8").trim().split("\n").slice(-1)[0] ?? "";
      if (text !== "") tail = ` (log ${lastLog}: ${text})`;
    } catch {
      // no log
    }
  }
  throw new ZccacheError(
    "DaemonUnreachable",
    `daemon did not become ready at ${endpoint} within ${budget} ms${tail}`,
  );
}

/**
 * Make sure a compatible daemon serves `endpoint`, starting or replacing one
 * as needed.
 */
export async function ensureDaemon(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<EnsureOutcome> {
  let replace = false;
  try {
    const status = await queryStatus(endpoint, opts);
    if (status !== null) {
      if (compareDaemonVersion(status.version) !== "older") return "running";
      replace = true;
    }
  } catch (e) {
    if (isZccacheError(e, "Endpoint")) throw e;
    replace = true; // comm error: stop and respawn, as zccache does
  }
  if (replace) await stopDaemon(endpoint, opts);
  await spawnAndWait(endpoint, opts);
  return replace ? "replaced" : "started";
}

/**
 * Ask the daemon at `endpoint` to shut down and wait (≤ `ZCCACHE_STOP_TIMEOUT_SECS`,
 * default 10 s) until it no longer answers. Returns false when none was running.
 */
export async function stopDaemon(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<boolean> {
  let reply: Response | null;
  try {
    reply = await roundtrip(endpoint, { kind: "Shutdown" }, probeTimeout(opts));
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) return false;
    reply = null; // a wedged daemon: still wait for the endpoint below
  }
  void reply;
  const secs = Number(envOf(opts).ZCCACHE_STOP_TIMEOUT_SECS ?? 10);
  const deadline = Date.now() + (Number.isFinite(secs) && secs > 0 ? secs * 1000 : 10_000);
  let wait = 5;
  while (Date.now() < deadline) {
    try {
      const conn = await IpcConnection.connect(endpoint, { timeoutMs: 500 });
      await conn.close().catch(() => {});
    } catch (e) {
      if (isZccacheError(e, "DaemonUnreachable")) return true;
    }
    await delay(wait);
    wait = Math.min(wait * 2, 100);
  }
  // Still answering connects after the budget: force-kill the lock-file PID.
  const env = envOf(opts);
  try {
    const lock = lockFilePath(env, process.platform, { cwd: process.cwd() });
    const pid = Number(readFileSync(lock, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      process.kill(pid, "SIGKILL");
      unlinkSync(lock);
    }
  } catch {
    // no lock file, or the process is gone
  }
  return true;
}
