/**
 * Daemon auto-start: single-flight spawn, readiness and the failure marker.
 *
 * - Spawning is single-flight across concurrent clients: the first creates
 *   `<endpoint>.spawn` with O_EXCL holding its PID, spawns ONE detached
 *   daemon and removes the slot when it answers `Ping`; the others poll. A
 *   slot whose PID is dead (or that is older than 15 s) is broken at once.
 * - Readiness is bounded polling: `Ping` with a backoff from 5 ms to 50 ms,
 *   10 s in total by default (`ZCCACHE_SPAWN_TIMEOUT_MS`). A spawned daemon
 *   that exits with an error ends the wait at once, with the reason taken
 *   from its log; its staging socket and spawn log are removed.
 * - A failed start is remembered for a short while (`ZCCACHE_SPAWN_BACKOFF_SECS`,
 *   default 15 s, 0 = off) in a marker file in a user-private directory
 *   ({@link privateRuntimeDir}); a wrapper that passes `respectBackoff` then
 *   falls back without spawning again, and every client waiting on that
 *   spawn gives up as soon as the marker appears.
 * - A relative endpoint is made absolute against the caller's cwd before the
 *   daemon (which runs from another directory) is told about it.
 * - How to re-run this program in daemon mode is computed in ONE place,
 *   {@link daemonCommand}: `deno run -A <cli.ts> daemon`, `bun <cli.ts>
 *   daemon`, or `<binary> daemon` for a `bun build --compile` binary.
 *
 * Probes go through the one daemon client (`control.ts` `daemonRequest`)
 * with the wire pinned to bincode ({@link lifecycleRequest}). Stop and
 * version replacement are in `lifecycle.ts`.
 *
 * Reproduces zccache@3eae627 cli/runtime.rs `spawn_daemon`/`wait_for_daemon_ready`
 * (ipc-spec-1.12.2 §8), plus the spawn slot zccache added after 1.12.2.
 *
 * @module
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { getPriority, setPriority, tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import { fnvShortHash, resolveCacheDir } from "../transport/endpoint.ts";
import { daemonRequest } from "./control.ts";
import type {
  Command,
  ControlOptions,
  DaemonLifecycleOptions,
  Env,
  SpawnFailure,
} from "./types.ts";

export type { Command, DaemonLifecycleOptions, SpawnFailure } from "./types.ts";

/** A spawn slot older than this is stale whatever its PID says (spawns take < 10 s). */
const SPAWN_SLOT_STALE_MS = 15_000;
/** A slot with no PID yet (its creator died between open and write) is stale after this. */
const SPAWN_SLOT_EMPTY_STALE_MS = 1_000;
/** Default of `ZCCACHE_SPAWN_BACKOFF_SECS`. */
const DEFAULT_SPAWN_BACKOFF_SECS = 15;

/** The environment of the lifecycle options (default `process.env`). */
export function envOf(opts: DaemonLifecycleOptions): Record<string, string | undefined> {
  return opts.env ?? (process.env as Record<string, string | undefined>);
}

/**
 * How to run this very program with `args` (e.g. `["daemon"]`): the one place
 * that knows whether we are a compiled binary, `deno run` or `bun`.
 *
 * @example
 * ```ts
 * import { daemonCommand } from "./spawn.ts";
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

let yielded = false;

/** Lower this process's scheduling priority once (never raised again; best effort). */
function yieldCpuOnce(): void {
  if (yielded) return;
  yielded = true;
  try {
    const cur = getPriority(0);
    if (cur < 10) setPriority(0, 10);
  } catch {
    // not permitted or not supported: nothing to do
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The request options of every lifecycle probe (Ping, Status, Shutdown):
 * through the one daemon client ({@link daemonRequest}) with the wire pinned
 * to bincode and `timeoutMs` for both the connect and the reply. Pinned
 * because these probes run inside the wrapper's fallback: they must not
 * load the protobuf code, and a bad `ZCCACHE_DAEMON_WIRE` must not fail a
 * build.
 */
export function lifecycleRequest(env: Env | undefined, timeoutMs: number): ControlOptions {
  return {
    wire: "bincode",
    timeoutMs,
    connectTimeoutMs: timeoutMs,
    ...(env !== undefined ? { env } : {}),
  };
}

/**
 * True when a daemon answers `Ping` with `Pong` at `endpoint` (on the
 * pinned bincode lane, see {@link lifecycleRequest}).
 */
export async function pingDaemon(
  endpoint: string,
  timeoutMs = 2_000,
  env?: Env,
): Promise<boolean> {
  try {
    const r = await daemonRequest(endpoint, { kind: "Ping" }, lifecycleRequest(env, timeoutMs));
    return r !== null && r.kind === "Pong";
  } catch {
    return false;
  }
}

/** Budget of one lifecycle probe in ms (`probeTimeoutMs`, `ZCCACHE_STATUS_PROBE_TIMEOUT_SECS`, 2 s). */
export function probeTimeout(opts: DaemonLifecycleOptions): number {
  if (opts.probeTimeoutMs !== undefined) return opts.probeTimeoutMs;
  const secs = Number(envOf(opts).ZCCACHE_STATUS_PROBE_TIMEOUT_SECS ?? 2);
  return Number.isFinite(secs) && secs > 0 ? secs * 1000 : 2_000;
}

/** Where the single-flight spawn slot lives for an endpoint. */
export function spawnSlotPath(endpoint: string): string {
  if (endpoint.startsWith("\\\\.\\pipe\\")) {
    return join(tmpdir(), endpoint.slice(9).replace(/[^A-Za-z0-9_.-]/g, "_") + ".spawn");
  }
  return endpoint + ".spawn";
}

function isPipe(endpoint: string): boolean {
  return endpoint.startsWith("\\\\.\\pipe\\");
}

/**
 * `endpoint` made absolute against `cwd` (pipes and absolute paths as they
 * are). The daemon runs from another directory, so it must never see a
 * relative endpoint.
 */
export function absoluteEndpoint(endpoint: string, cwd: string = process.cwd()): string {
  if (endpoint === "" || isPipe(endpoint) || isAbsolute(endpoint)) return endpoint;
  return resolve(cwd, endpoint);
}

/** True when `pid` names a live process (EPERM: alive, someone else's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the slot's holder is gone (dead PID, no PID for 1 s, or too old). */
function slotIsStale(slot: string): boolean {
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = statSync(slot).mtimeMs;
    text = readFileSync(slot, "utf8").trim();
  } catch {
    return false; // gone already: the caller simply tries again
  }
  const age = Date.now() - mtimeMs;
  if (age > SPAWN_SLOT_STALE_MS) return true;
  if (text === "") return age > SPAWN_SLOT_EMPTY_STALE_MS;
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return pid !== process.pid && !processAlive(pid);
}

function createSlot(slot: string): boolean {
  let fd: number;
  try {
    fd = openSync(slot, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Take the single-flight spawn slot, breaking a stale one first. Breaking
 * renames the slot aside and re-checks the moved file, so two clients that
 * both saw the same dead holder cannot remove each other's fresh slot.
 */
function tryTakeSlot(slot: string): boolean {
  if (createSlot(slot)) return true;
  if (!slotIsStale(slot)) return false;
  const aside = `${slot}.stale-${process.pid}`;
  try {
    renameSync(slot, aside);
  } catch {
    return false; // someone else broke or released it
  }
  if (!slotIsStale(aside)) {
    // We moved a live holder's fresh slot: put it back unless a new one exists.
    try {
      linkSync(aside, slot);
    } catch {
      // a newer slot is there: leave it
    }
    removeQuietly(aside);
    return false;
  }
  removeQuietly(aside);
  return createSlot(slot);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * A directory only this user can use, for the spawn-failure markers and
 * for spawn logs when the cache dir is unusable: `$XDG_RUNTIME_DIR/zccache-ts`
 * when that variable names a directory, else `<tmpdir>/zccache-ts-<uid>`.
 * Created 0700; `null` when it cannot be made or is not ours (a symlink,
 * another owner, group/other access), so nobody else can plant a marker.
 */
export function privateRuntimeDir(env: Record<string, string | undefined>): string | null {
  const uid = typeof process.getuid === "function" ? process.getuid() : null;
  const xdg = env.XDG_RUNTIME_DIR;
  const base = xdg !== undefined && xdg !== "" && isAbsolute(xdg) ? xdg : null;
  const dir = base !== null
    ? join(base, "zccache-ts")
    : join(tmpdir(), `zccache-ts-${uid ?? "user"}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return null;
  }
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return null;
    if (uid !== null && (st.uid !== uid || (st.mode & 0o077) !== 0)) return null;
  } catch {
    return null;
  }
  return dir;
}

function backoffMs(env: Record<string, string | undefined>): number {
  const raw = env.ZCCACHE_SPAWN_BACKOFF_SECS?.trim();
  const secs = raw !== undefined && /^\d+(\.\d+)?$/.test(raw)
    ? Number(raw)
    : DEFAULT_SPAWN_BACKOFF_SECS;
  return secs * 1000;
}

/** Where the "start failed" marker of `endpoint` lives, or null (no private dir). */
export function spawnFailurePath(
  endpoint: string,
  env: Record<string, string | undefined>,
): string | null {
  const dir = privateRuntimeDir(env);
  return dir === null ? null : join(dir, `spawn-failed-${fnvShortHash(endpoint)}`);
}

/** The remembered failed start of `endpoint` when younger than the back-off, else null. */
export function readSpawnFailure(
  endpoint: string,
  env: Record<string, string | undefined>,
): SpawnFailure | null {
  const window = backoffMs(env);
  if (window <= 0) return null;
  const path = spawnFailurePath(endpoint, env);
  if (path === null) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const nl = text.indexOf("\n");
  const atMs = Number(nl < 0 ? text : text.slice(0, nl));
  const reason = nl < 0 ? "" : text.slice(nl + 1).trim();
  const age = Date.now() - atMs;
  if (!Number.isFinite(atMs) || age < -5_000 || age > window) return null;
  return { atMs, reason: reason === "" ? "the daemon could not start" : reason };
}

function recordSpawnFailure(
  endpoint: string,
  env: Record<string, string | undefined>,
  reason: string,
): void {
  if (backoffMs(env) <= 0) return;
  const path = spawnFailurePath(endpoint, env);
  if (path === null) return;
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${Date.now()}\n${oneLine(reason)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    removeQuietly(tmp);
  }
}

/** Forget a remembered failed start (after a daemon did start). */
export function clearSpawnFailure(endpoint: string, env: Record<string, string | undefined>): void {
  const path = spawnFailurePath(endpoint, env);
  if (path !== null) removeQuietly(path);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * `<cache root>/zccache-ts/logs`: this project's own subdirectory of the
 * zccache root (the daemon's `PROJECT_SUBDIR`), never a Rust zccache file.
 */
export function defaultLogDir(env: Record<string, string | undefined>): string {
  const root = resolveCacheDir(env, undefined, process.platform, { cwd: process.cwd() });
  return join(root, "zccache-ts", "logs");
}

/** A spawned daemon: its pid, where its output goes, and its exit. */
interface SpawnedDaemon {
  pid: number | undefined;
  /** The spawn log (its stdout/stderr), or null when none could be opened. */
  log: string | null;
  /** Resolves when it exits: its code (-1: could not be run) or the signal that killed it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function openSpawnLog(dirs: (string | null)[]): { fd: number; path: string } | null {
  for (const dir of dirs) {
    if (dir === null) continue;
    const path = join(dir, `daemon-spawn-${process.pid}-${Date.now()}.log`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return { fd: openSync(path, "a", 0o600), path };
    } catch {
      // unusable (read-only, full, not ours): try the next place
    }
  }
  return null;
}

/** Spawn one detached daemon on the absolute `endpoint`. */
function spawnDetached(endpoint: string, opts: DaemonLifecycleOptions): SpawnedDaemon {
  const env = envOf(opts);
  const cwd = opts.cwd ?? process.cwd();
  const { command, args } = opts.command ?? daemonCommand();
  let logDir: string | null = opts.logDir ?? null;
  if (logDir === null) {
    try {
      logDir = defaultLogDir(env);
    } catch {
      logDir = null;
    }
  }
  // The cache dir may be read-only or full: the spawn log then goes to the
  // private runtime dir, so the reason of a failed start is still known.
  const log = openSpawnLog([logDir, privateRuntimeDir(env)]);
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv.ZCCACHE_ENDPOINT = endpoint;
  // The daemon runs from another cwd: a relative cache dir must not move.
  const cacheDir = childEnv.ZCCACHE_CACHE_DIR;
  if (cacheDir !== undefined && cacheDir !== "" && !isAbsolute(cacheDir)) {
    childEnv.ZCCACHE_CACHE_DIR = resolve(cwd, cacheDir);
  }
  childEnv.ZCCACHE_PARENT_PID = String(process.pid);
  childEnv.ZCCACHE_CLIENT_PID = String(process.pid);
  const out = log === null ? "ignore" : log.fd;
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", out, out],
      env: childEnv,
      cwd: tmpdir(),
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on("error", () => resolve({ code: -1, signal: null }));
      child.on("exit", (code, signal) => resolve({ code, signal }));
    });
    child.unref();
    return { pid: child.pid, log: log?.path ?? null, exited };
  } catch (e) {
    if (log !== null) removeQuietly(log.path);
    throw e;
  } finally {
    if (log !== null) closeSync(log.fd);
  }
}

/**
 * The reason a daemon gave for not starting: the last `error` line of its
 * spawn log (`... error context=C message="M"` -> `C: M`), else its last line.
 */
export function spawnLogReason(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const errors = lines.filter((l) => / error /.test(l) || /^zccache daemon: /.test(l));
  const line = errors.at(-1) ?? lines.at(-1) ?? "";
  const message = /\bmessage="((?:[^"\\]|\\.)*)"/.exec(line);
  if (message !== null) {
    const context = /\bcontext=(\S+)/.exec(line);
    const text = message[1].replace(/\\(.)/g, "$1");
    return context !== null ? `${context[1]}: ${text}` : text;
  }
  // `<iso time> <pid> <text>` -> `<text>`
  return line.replace(/^\d{4}-\d\d-\d\dT\S+\s+\d+\s+/, "").slice(0, 300);
}

function readLogReason(log: string | null): string {
  if (log === null) return "";
  try {
    return spawnLogReason(readFileSync(log, "utf8"));
  } catch {
    return "";
  }
}

/**
 * The daemon binds `<endpoint>.<pid>.tmp` and renames it onto the endpoint
 * once ready (`daemon/server.ts` `stagingSocketPath`); a daemon that dies
 * before the rename leaves it behind, so the spawner removes it.
 */
function removeStagingSocket(endpoint: string, pid: number | undefined): void {
  if (pid === undefined || isPipe(endpoint)) return;
  const staging = `${endpoint}.${pid}.tmp`;
  try {
    if (lstatSync(staging).isSocket()) unlinkSync(staging);
  } catch {
    // none
  }
}

/** Poll `Ping` until `deadline` (backoff 5 -> 50 ms). */
async function waitReady(endpoint: string, deadline: number, env: Env): Promise<boolean> {
  let wait = 5;
  while (Date.now() < deadline) {
    if (await pingDaemon(endpoint, Math.max(50, Math.min(1_000, deadline - Date.now())), env)) {
      return true;
    }
    await delay(Math.min(wait, Math.max(0, deadline - Date.now())));
    wait = Math.min(wait * 2, 50);
  }
  return false;
}

/**
 * Wait for the daemon we spawned: ready, or the reason it is not. A child
 * that exits 0 deferred to another daemon (keep polling up to 1 s for
 * that one); any other exit ends the wait at once.
 */
async function waitSpawned(
  endpoint: string,
  deadline: number,
  child: SpawnedDaemon,
  env: Env,
): Promise<{ ready: true } | { ready: false; reason: string; killed?: boolean }> {
  let exit: { code: number | null; signal: string | null } | undefined;
  let deferred = false;
  void child.exited.then((e) => (exit = e));
  let wait = 5;
  while (Date.now() < deadline) {
    if (await pingDaemon(endpoint, Math.max(50, Math.min(1_000, deadline - Date.now())), env)) {
      return { ready: true };
    }
    if (exit !== undefined && !deferred) {
      if (exit.code === 0) {
        deferred = true;
        deadline = Math.min(deadline, Date.now() + 1_000);
      } else {
        if (await pingDaemon(endpoint, 200, env)) return { ready: true };
        if (exit.signal !== null) {
          // Killed from outside while starting: not a reason to stop trying.
          return { ready: false, reason: `the daemon was killed (${exit.signal})`, killed: true };
        }
        const why = readLogReason(child.log);
        const code = exit.code === -1 ? "could not be run" : `exited with code ${exit.code}`;
        return { ready: false, reason: `the daemon ${code}${why !== "" ? ` (${why})` : ""}` };
      }
    }
    await delay(Math.min(wait, Math.max(0, deadline - Date.now())));
    wait = Math.min(wait * 2, 50);
  }
  const why = readLogReason(child.log);
  return {
    ready: false,
    reason: `the daemon did not become ready at ${endpoint}${why !== "" ? ` (${why})` : ""}`,
  };
}

function describeError(e: unknown): string {
  if (isZccacheError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Start one daemon on `endpoint` (single-flight across processes) and wait
 * until it answers. This process spawns at most ONE daemon per call; every
 * failure is recorded ({@link readSpawnFailure}) and thrown as
 * `DaemonUnreachable` with a one-line reason. `endpoint` must already be
 * absolute ({@link absoluteEndpoint}); `ensureDaemon` is the usual entry.
 */
export async function spawnAndWait(endpoint: string, opts: DaemonLifecycleOptions): Promise<void> {
  const env = envOf(opts);
  const budget = opts.readyTimeoutMs ?? (Number(env.ZCCACHE_SPAWN_TIMEOUT_MS) || 10_000);
  const startedMs = Date.now();
  const deadline = startedMs + budget;
  const fail = (reason: string): never => {
    recordSpawnFailure(endpoint, env, reason);
    throw new ZccacheError("DaemonUnreachable", oneLine(reason));
  };
  if (endpoint === "") fail('the endpoint is empty (ZCCACHE_ENDPOINT="")');
  if (!isPipe(endpoint)) {
    const dir = dirname(endpoint);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      fail(`cannot create the socket directory ${dir}: ${describeError(e)}`);
    }
  }
  const slot = spawnSlotPath(endpoint);
  while (Date.now() < deadline) {
    // Another client's spawn failed while we waited: do not try again.
    const failed = readSpawnFailure(endpoint, env);
    if (failed !== null && failed.atMs >= startedMs - 100) {
      throw new ZccacheError("DaemonUnreachable", failed.reason);
    }
    let took = false;
    try {
      took = tryTakeSlot(slot);
    } catch (e) {
      fail(`cannot create the spawn lock ${slot}: ${describeError(e)}`);
    }
    if (took) {
      let child: SpawnedDaemon | null = null;
      try {
        if (await pingDaemon(endpoint, 500, env)) return;
        try {
          child = spawnDetached(endpoint, opts);
        } catch (e) {
          fail(`cannot run the daemon: ${describeError(e)}`);
        }
        const r = await waitSpawned(endpoint, deadline, child!, env);
        if (r.ready) {
          clearSpawnFailure(endpoint, env);
          return;
        }
        removeStagingSocket(endpoint, child!.pid);
        if (child!.log !== null) removeQuietly(child!.log);
        if (r.killed) throw new ZccacheError("DaemonUnreachable", r.reason);
        fail(r.reason);
      } finally {
        removeQuietly(slot);
      }
    }
    // Another client is starting the daemon: step back (nice +10, once) so
    // the daemon it spawned gets the CPU a herd of starting runtimes would
    // otherwise take from it on a small machine.
    yieldCpuOnce();
    if (await waitReady(endpoint, Math.min(deadline, Date.now() + 100), env)) return;
  }
  fail(`no daemon became ready at ${endpoint} within ${budget} ms (another client is starting it)`);
}
