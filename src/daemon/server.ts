/**
 * The daemon process: bind the endpoint, accept connections, serve the
 * zccache 1.12.2 wire on all three lanes, stop gracefully.
 *
 * Start-up (zccache@3eae627:crates/zccache/src/bin/zccache-daemon.rs):
 *   1. pre-bind probe: `probeExistingDaemon` (lock PID + BackendHandle or
 *      raw connect); in addition a plain connect to the endpoint — if
 *      anything answers there, a live daemon owns it and this one defers
 *      (exit 0, like 1.12.2's "active daemon already serving — deferring");
 *   2. only then a stale socket file is removed, the socket directory is
 *      created private (0700) and the endpoint is bound;
 *   3. the lock file gets our PID (decimal, no newline), the
 *      running-process identity JSON is written, and the accept loop runs.
 *   A client that connects during 2–3 is queued by the kernel and served
 *   once the loop starts, so "connectable" means "ready".
 *
 * Each accepted connection is served by `connection.ts` (the lane state
 * machine); this file is lifecycle only: probe, bind, lock, identity, the
 * accept loop with its connection bound, the receive budget, idle and
 * session timers, graceful shutdown.
 *
 * @module
 */
import { chmodSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { ZCCACHE_WIRE_RELEASE } from "../core/messages.ts";
import type { Conn, Listener, Transport } from "../transport/types.ts";
import { defaultTransport } from "../transport/select.ts";
import { ensurePrivateDir, removeStaleSocket } from "../transport/fs_perms.ts";
import { DaemonLog } from "./log.ts";
import { ensureOwnPrivateDir, writePrivateFile } from "./private_fs.ts";
import type { DaemonPaths } from "./paths.ts";
import { SessionManager } from "./sessions.ts";
import { GlobalStats } from "./stats.ts";
import type { CompileBackend, HandlerContext } from "./handlers/mod.ts";
import { type ConnectionHost, DaemonConnection } from "./connection.ts";
import { isProcessAlive, liveLockHolder } from "./pid.ts";
import { currentDaemonIdentity, type DaemonIdentity, writeIdentityFile } from "./identity.ts";
import { startIdleGc } from "./idle_gc.ts";

/** Default idle timeout (zccache `--idle-timeout`, 3600 s). */
export const DEFAULT_IDLE_TIMEOUT_SECS = 3600;
/** Per-connection limit on waiting for the next request (HEAD's 600 s). */
export const CONNECTION_IDLE_MS = 600_000;
/**
 * Connections served at once; the accept loop waits for a free slot above
 * it (the kernel backlog holds the rest). Without a bound a connect storm
 * had ~19k connections live at once in a Deno daemon (accept outran the
 * handlers), and RSS followed.
 */
export const MAX_CONNECTIONS = 1024;
/**
 * Daemon-wide budget for bytes held in partial (not yet decodable) frames,
 * over all connections: a connection whose bytes would push the total past
 * it is closed. Each frame is capped at 16 MiB by its header already.
 */
export const RECV_BUDGET_BYTES = 256 * 1024 * 1024;
/** A session without a request for this long expires (1 h). */
export const SESSION_IDLE_MS = 3_600_000;
/** How often sessions are checked for idleness and a gone client PID. */
export const SESSION_SWEEP_MS = 30_000;
/** Pre-bind raw connect budget (zccache 500 ms). */
const PREBIND_CONNECT_MS = 500;

/** Options of {@link DaemonServer}. */
export interface DaemonServerOptions {
  paths: DaemonPaths;
  /** Environment (namespace, `RUNNING_PROCESS_DISABLE`, compile env fallback). */
  env: Record<string, string | undefined>;
  /** Compile backend (the `CompileEngine`), or `null` to answer compiles with an Error. */
  engine: CompileBackend | null;
  /** Idle seconds before a graceful shutdown; 0 = never (default 3600). */
  idleTimeoutSecs?: number;
  /** Transport (default {@link defaultTransport}). */
  transport?: Transport;
  /** Log (default: `paths.logFile`). */
  log?: DaemonLog;
  /** Per-connection idle read limit in ms (default 600 000). */
  connectionIdleMs?: number;
  /** Shut down gracefully on SIGINT/SIGTERM (only {@link runDaemon} uses it). */
  handleSignals?: boolean;
  /** Connections served at once (default {@link MAX_CONNECTIONS}). */
  maxConnections?: number;
  /** Bytes held in partial frames over all connections (default {@link RECV_BUDGET_BYTES}). */
  recvBudgetBytes?: number;
  /** Idle time-out of a session in ms (default {@link SESSION_IDLE_MS}; 0 = none). */
  sessionIdleMs?: number;
  /** Session sweep period in ms (default {@link SESSION_SWEEP_MS}). */
  sessionSweepMs?: number;
}

/** Why {@link DaemonServer.start} did not start. */
export type StartOutcome = "started" | "deferred";

/** One running daemon. */
export class DaemonServer implements ConnectionHost {
  readonly paths: DaemonPaths;
  readonly log: DaemonLog;
  readonly #env: Record<string, string | undefined>;
  readonly #engine: CompileBackend | null;
  readonly #transport: Transport;
  readonly #idleTimeoutSecs: number;
  readonly #connIdleMs: number;
  readonly #stats = new GlobalStats();
  readonly #sessions = new SessionManager();
  readonly #conns = new Set<DaemonConnection>();
  readonly #maxConns: number;
  readonly #recvBudget: number;
  #recvHeld = 0;
  readonly #sessionIdleMs: number;
  readonly #sessionSweepMs: number;
  #sessionTimer: ReturnType<typeof setInterval> | null = null;
  #slotFree: (() => void) | null = null;
  #listener: Listener | null = null;
  #socketIno: number | null = null;
  #identity: DaemonIdentity | null = null;
  #ctx: HandlerContext | null = null;
  #startedAtMs = Date.now();
  #lastActivityMs = Date.now();
  #inFlight = 0;
  #inFlightIdle: (() => void) | null = null;
  #stopping = false;
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  #stopped: Promise<void>;
  #resolveStopped!: () => void;
  #acceptLoop: Promise<void> | null = null;

  constructor(opts: DaemonServerOptions) {
    this.paths = opts.paths;
    this.#env = opts.env;
    this.#engine = opts.engine;
    this.#transport = opts.transport ?? defaultTransport();
    this.#idleTimeoutSecs = opts.idleTimeoutSecs ?? DEFAULT_IDLE_TIMEOUT_SECS;
    this.#connIdleMs = opts.connectionIdleMs ?? CONNECTION_IDLE_MS;
    this.#maxConns = Math.max(1, opts.maxConnections ?? MAX_CONNECTIONS);
    this.#recvBudget = opts.recvBudgetBytes ?? RECV_BUDGET_BYTES;
    this.#sessionIdleMs = opts.sessionIdleMs ?? SESSION_IDLE_MS;
    this.#sessionSweepMs = Math.max(10, opts.sessionSweepMs ?? SESSION_SWEEP_MS);
    this.log = opts.log ?? new DaemonLog(opts.paths.logFile);
    this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
  }

  /** Resolves once the daemon has fully stopped (files removed, engine closed). */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Probe, bind, write lock + identity, start accepting. `"deferred"` when
   * a live daemon already serves the endpoint (nothing was touched).
   */
  async start(): Promise<StartOutcome> {
    const p = this.paths;
    prepareDaemonDirs(p);
    if (await this.#liveDaemonAt(p.endpoint)) {
      this.log.event("deferred", { endpoint: p.endpoint, reason: "active daemon already serving" });
      return "deferred";
    }
    // The identity needs the executable's SHA-256: memoised by stat in the
    // project dir (a memo hit costs a stat and a small read), else hashed in
    // the background — a Ping does not need it, so the daemon accepts first
    // and writes the identity file when the hash is done (a pre-bind probe
    // meanwhile still finds this daemon by connecting).
    const identityWork = currentDaemonIdentity(p.endpoint, {
      env: this.#env,
      hashMemo: join(p.projectDir, "exe-sha256.json"),
    }).catch((err) => {
      // zccache: an identity failure is only logged.
      this.log.error("identity", err);
      return null;
    });
    let identity = await Promise.race([
      identityWork,
      new Promise<"later">((r) => setTimeout(() => r("later"), IDENTITY_WAIT_MS)),
    ]);
    if (p.socketDir !== null) {
      // Ours and 0700 (an existing one we own is tightened; another user's
      // is refused; a shared sticky directory such as /tmp is left alone).
      await ensurePrivateDir(p.socketDir, { tighten: true });
      await removeStaleSocket(p.endpoint);
    }
    // Unix: bind a private temporary name and rename it onto the endpoint
    // once the lock and identity files exist, so the endpoint becomes
    // connectable exactly when the daemon is ready.
    const staging = p.socketDir !== null ? stagingSocketPath(p.endpoint) : null;
    if (staging !== null) await removeStaleSocket(staging).catch(() => false);
    this.#listener = await this.#transport.listen(staging ?? p.endpoint);
    if (p.socketDir !== null && process.platform !== "win32") {
      // 0600 whatever the umask, before the socket is visible at the endpoint.
      chmodSync(staging ?? p.endpoint, 0o600);
    }
    this.#startedAtMs = Date.now();
    this.#lastActivityMs = this.#startedAtMs;
    ensureOwnPrivateDir(dirname(p.lockFile), "cache root");
    writePrivateFile(p.lockFile, String(process.pid));
    const publish = (id: DaemonIdentity | null): void => {
      if (id === null || this.#stopping) return;
      const stamped = { ...id, startedAtUnixMs: BigInt(this.#startedAtMs) };
      try {
        writeIdentityFile(p.identityFile, stamped);
      } catch (err) {
        this.log.error("identity", err);
      }
      this.#identity = stamped;
    };
    if (identity === "later") {
      void identityWork.then(publish);
      identity = null;
    } else publish(identity);
    if (staging !== null) renameSync(staging, p.endpoint);
    try {
      this.#socketIno = p.socketDir !== null ? statSync(p.endpoint).ino : null;
    } catch {
      this.#socketIno = null;
    }
    this.#ctx = {
      version: ZCCACHE_WIRE_RELEASE,
      namespace: p.namespaceLabel,
      endpoint: p.endpoint,
      cacheRoot: p.cacheRoot,
      projectDir: p.projectDir,
      startedAtMs: this.#startedAtMs,
      stats: this.#stats,
      sessions: this.#sessions,
      engine: this.#engine,
      log: this.log,
      requestShutdown: (reason) => this.shutdown(reason),
    };
    this.log.event("spawn", {
      endpoint: p.endpoint,
      daemon_namespace: p.namespaceLabel,
      idle_timeout: this.#idleTimeoutSecs,
      version: ZCCACHE_WIRE_RELEASE,
      cache_root: p.cacheRoot,
      runtime: runtimeName(),
    });
    this.#startIdleTimer();
    this.#sessionTimer = setInterval(() => this.#sweepSessions(), this.#sessionSweepMs);
    this.#acceptLoop = this.#accept(this.#listener);
    return "started";
  }

  /** Begin a graceful shutdown (idempotent); await {@link stopped} for the end. */
  shutdown(reason: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.log.event(reason === "idle-timeout" ? "died-idle" : "died-shutdown", {
      reason,
      uptime_secs: Math.floor((Date.now() - this.#startedAtMs) / 1000),
    });
    void this.#finish();
  }

  /** Expire idle sessions and those whose client is gone. */
  #sweepSessions(): void {
    const expired = this.#sessions.expire(this.#sessionIdleMs, isProcessAlive);
    for (const s of expired) {
      this.log.event("session-expired", { session_id: s.id, client_pid: s.clientPid });
    }
  }

  async #finish(): Promise<void> {
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    if (this.#sessionTimer !== null) clearInterval(this.#sessionTimer);
    try {
      await this.#listener?.close();
    } catch (err) {
      this.log.error("listener.close", err);
    }
    // Let in-flight requests (compiles) finish and reply.
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => (this.#inFlightIdle = resolve));
    }
    for (const c of this.#conns) c.closeIdle();
    if (this.#engine !== null) {
      try {
        await this.#engine.flush();
      } catch (err) {
        this.log.error("engine.flush", err);
      }
      try {
        await this.#engine.close();
      } catch (err) {
        this.log.error("engine.close", err);
      }
    }
    this.#removeOwnFiles();
    try {
      await this.#acceptLoop;
    } catch {
      // already logged
    }
    this.log.event("stopped", {});
    this.#resolveStopped();
  }

  /** Remove socket, identity and lock, each only while it is still ours. */
  #removeOwnFiles(): void {
    const p = this.paths;
    if (p.socketDir !== null && this.#socketIno !== null) {
      try {
        if (statSync(p.endpoint).ino === this.#socketIno) unlinkSync(p.endpoint);
      } catch {
        // gone already
      }
    }
    try {
      const id = JSON.parse(readFileSync(p.identityFile, "utf-8")) as { pid?: unknown };
      if (id.pid === process.pid) unlinkSync(p.identityFile);
    } catch {
      // missing or not ours
    }
    try {
      if (readFileSync(p.lockFile, "utf-8").trim() === String(process.pid)) unlinkSync(p.lockFile);
    } catch {
      // missing
    }
  }

  /** Pre-bind: is a live daemon serving `endpoint`? */
  async #liveDaemonAt(endpoint: string): Promise<boolean> {
    try {
      // No live lock holder: the probe would answer "not live" from the lock
      // alone, so its module (protobuf descriptors, ~10 ms) is not loaded.
      const r = liveLockHolder(this.paths.lockFile) === null
        ? { live: false }
        : await (await import("./probe.ts")).probeExistingDaemon(endpoint, {
          env: this.#env,
          lockPath: this.paths.lockFile,
          identityPath: this.paths.identityFile,
          transport: this.#transport,
        });
      if (r.live) return true;
    } catch (err) {
      this.log.error("prebind.probe", err);
    }
    // 1.12.2's probe only trusts daemons whose image is named
    // `zccache-daemon`; a live TS daemon (image `deno`/`bun`) would be
    // missed and its socket stolen. A plain connect settles it.
    try {
      const c = await this.#transport.connect(endpoint, { timeoutMs: PREBIND_CONNECT_MS });
      await c.close();
      return true;
    } catch {
      return false;
    }
  }

  #startIdleTimer(): void {
    if (this.#idleTimeoutSecs <= 0) return;
    const limitMs = this.#idleTimeoutSecs * 1000;
    const every = Math.min(60_000, Math.max(200, Math.floor(limitMs / 4)));
    this.#idleTimer = setInterval(() => {
      if (this.#stopping || this.#inFlight > 0) return;
      if (Date.now() - this.#lastActivityMs >= limitMs) this.shutdown("idle-timeout");
    }, every);
  }

  async #accept(listener: Listener): Promise<void> {
    while (!this.#stopping) {
      if (this.#conns.size >= this.#maxConns) {
        await new Promise<void>((resolve) => (this.#slotFree = resolve));
        continue;
      }
      let conn: Conn | null;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (this.#stopping) break;
        this.log.error("accept", err);
        continue;
      }
      if (conn === null) break;
      if (this.#stopping) {
        await conn.close().catch(() => {});
        break;
      }
      const h = new DaemonConnection(conn, this);
      this.#conns.add(h);
      h.run().catch((err) => this.log.error("connection", err)).finally(() => {
        this.#conns.delete(h);
        const free = this.#slotFree;
        this.#slotFree = null;
        free?.();
      });
    }
  }

  // ---- ConnectionHost (for DaemonConnection) ----

  /** @internal */
  get ctx(): HandlerContext {
    return this.#ctx!;
  }
  /** @internal */
  get identity(): DaemonIdentity | null {
    return this.#identity;
  }
  /** @internal */
  get stopping(): boolean {
    return this.#stopping;
  }
  /** @internal */
  get connectionIdleMs(): number {
    return this.#connIdleMs;
  }
  /**
   * @internal Account `delta` more (or fewer) buffered bytes; false when
   * the daemon-wide receive budget is exceeded (the caller closes).
   */
  holdRecv(delta: number): boolean {
    this.#recvHeld += delta;
    return delta <= 0 || this.#recvHeld <= this.#recvBudget;
  }
  /** Bytes currently held in partial frames over all connections. */
  get recvHeldBytes(): number {
    return this.#recvHeld;
  }
  /** @internal */
  touch(): void {
    this.#lastActivityMs = Date.now();
  }
  /** @internal */
  beginRequest(): void {
    this.#inFlight++;
  }
  /** @internal */
  endRequest(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#inFlightIdle !== null) {
      const r = this.#inFlightIdle;
      this.#inFlightIdle = null;
      r();
    }
  }
}

/**
 * Make the cache root and our project directory private (0700; an existing
 * one we own is tightened) and refuse, with one clear "Endpoint" error, a
 * root owned by another user. Idempotent; called before anything is
 * written there.
 */
export function prepareDaemonDirs(p: DaemonPaths): void {
  ensureOwnPrivateDir(p.cacheRoot, "cache root");
  ensureOwnPrivateDir(p.projectDir, "cache directory");
}

/** Run a daemon until it stops. Returns the process exit code. */
export async function runDaemon(opts: DaemonServerOptions): Promise<number> {
  const server = new DaemonServer(opts);
  let outcome: StartOutcome;
  try {
    outcome = await server.start();
  } catch (err) {
    server.log.error("start", err, { endpoint: opts.paths.endpoint });
    await opts.engine?.close().catch(() => {});
    return 1;
  }
  if (outcome === "deferred") {
    await opts.engine?.close().catch(() => {});
    return 0;
  }
  const onSignal = (): void => server.shutdown("signal");
  const signals = opts.handleSignals ? ["SIGINT", "SIGTERM"] as const : [];
  for (const sig of signals) process.on(sig, onSignal);
  const stopGc = await startIdleGc();
  try {
    await server.stopped;
  } finally {
    stopGc();
    for (const sig of signals) process.off(sig, onSignal);
  }
  return 0;
}

/** How long start-up waits for the identity before accepting without it: a memo hit settles in microtasks, before a 0 ms timer. */
const IDENTITY_WAIT_MS = 0;

/** Max bytes of a Unix socket path we bind (sun_path is 104/108 with the NUL). */
const MAX_BIND_PATH_BYTES = 103;

/** A sibling name to bind before renaming onto `endpoint`, or null if too long. */
function stagingSocketPath(endpoint: string): string | null {
  const p = `${endpoint}.${process.pid}.tmp`;
  return new TextEncoder().encode(p).length <= MAX_BIND_PATH_BYTES ? p : null;
}

function runtimeName(): string {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node";
}
