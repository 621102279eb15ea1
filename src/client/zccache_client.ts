/**
 * The build-script API: {@link ZccacheClient}, a daemon client for Deno, Bun
 * and Node build scripts.
 *
 * ```text
 *   ZccacheClient.connect()  endpoint as the wrapper derives it, ensureDaemon (single-flight)
 *     compile(job)           resolve compiler on job PATH -> CompileEphemeral -> CompileResult
 *     compileMany(jobs)      N workers, each a pooled connection, one request in flight per
 *                            connection (bincode carries no request ids), results in job order
 *     session({ stats })     SessionStart -> Compile{session_id}* -> SessionEnd{stats}
 *     link(job)              LinkEphemeral -> LinkResult
 *     status() / clear()     Status / Clear
 * ```
 *
 * A daemon fault (unreachable, closed, timed out, an `Error` reply) never
 * fails a compile: the compiler then runs locally with captured output
 * (`cached: false`), as the wrapper does, unless `{ fallback: false }`.
 *
 * Reproduces the client side of zccache@3eae627 cli/commands/wrap
 * (`run_wrap`) and the session commands, over the v15 bincode lane.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { isAbsolute, resolve } from "node:path";
import process from "node:process";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import type { DaemonStatus, EnvPair, Request, Response, SessionStats } from "../core/messages.ts";
import type { Transport } from "../transport/types.ts";
import { ensureDaemon as ensureDaemonLifecycle } from "./lifecycle.ts";
import { IpcConnection } from "./ipc_connection.ts";
import { clientEndpoint, isExecutableFile, resolveTool } from "./resolve_tool.ts";

/** An environment: variable name -> value (`undefined` entries are ignored). */
export type ClientEnv = Record<string, string | undefined>;

/** Options of {@link ZccacheClient.connect}. */
export interface ZccacheClientOptions {
  /**
   * Cache root, as `ZCCACHE_CACHE_DIR` (relative: against `process.cwd()`).
   * The endpoint and a spawned daemon follow it.
   */
  cacheDir?: string;
  /** Daemon endpoint; default: derived from the environment exactly as the wrapper does. */
  endpoint?: string;
  /** Start a daemon when none answers (single-flight, as the wrapper); default `true`. */
  autoStart?: boolean;
  /** Environment for endpoint derivation, the daemon and jobs without their own (default `process.env`). */
  env?: ClientEnv;
  /** Transport to dial with (default: the runtime's own). */
  transport?: Transport;
}

/** One compile: the compiler (a name looked up on PATH, or a path) and its arguments. */
export interface CompileJob {
  /** `"gcc"`, `"clang++"`, `"/usr/bin/cc"`, ... (bare names: the job's `PATH`). */
  compiler: string;
  /** Arguments after the compiler, verbatim. */
  args: string[];
  /** Working directory (default `process.cwd()`; relative: against it). */
  cwd?: string;
  /** The compiler's whole environment (default: the client's). */
  env?: ClientEnv;
  /** Bytes fed to the compiler's stdin (for `-`). */
  stdin?: Uint8Array;
}

/** What a compile gave: the compiler's own exit code and output. */
export interface CompileResult {
  /** The compiler's exit code (128 + n when killed by signal n; 127 not runnable). */
  exitCode: number;
  /** The compiler's stdout bytes. */
  stdout: Uint8Array;
  /** The compiler's stderr bytes. */
  stderr: Uint8Array;
  /** True when served from the cache. */
  cached: boolean;
}

/** Options of one compile or link. */
export interface CompileOptions {
  /** Run the tool locally when the daemon faults (default `true`); `false` throws instead. */
  fallback?: boolean;
}

/** One finished job of {@link ZccacheClient.compileMany}. */
export interface CompileProgress {
  /** Jobs finished so far (this one included). */
  done: number;
  /** Jobs in the batch. */
  total: number;
  /** Finished jobs served from the cache. */
  hits: number;
  /** Finished jobs not served from the cache. */
  misses: number;
  /** The job that finished. */
  job: CompileJob;
  /** Its result. */
  result: CompileResult;
}

/** Options of {@link ZccacheClient.compileMany}. */
export interface CompileManyOptions extends CompileOptions {
  /** Compiles in flight at once, each on its own connection (default: 8). */
  concurrency?: number;
  /** Called once per finished job, in completion order. */
  onProgress?: (progress: CompileProgress) => void;
  /** Aborting starts no further job; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A link or archive step. */
export interface LinkJob {
  /** `"ar"`, `"gcc"` (as a linker), `"ld.lld"`, ... (bare names: the job's `PATH`). */
  tool: string;
  /** Arguments after the tool, verbatim. */
  args: string[];
  /** Working directory (default `process.cwd()`). */
  cwd?: string;
  /** The tool's whole environment (default: the client's). */
  env?: ClientEnv;
}

/** What a link gave. */
export interface LinkResult extends CompileResult {
  /** The daemon's non-determinism warning (e.g. an archive without `D`), if any. */
  warning: string | null;
}

/** Options of {@link ZccacheClient.session}. */
export interface SessionOptions {
  /** Track per-session statistics, returned by {@link ZccacheSession.end}. */
  stats?: boolean;
  /** The session's working directory (default `process.cwd()`). */
  cwd?: string;
  /** A file the daemon appends one line per request to (its directory must exist). */
  logFile?: string;
}

/** What {@link ZccacheClient.clear} removed. */
export interface ClearResult {
  /** Artifacts removed. */
  artifactsRemoved: bigint;
  /** Metadata entries cleared. */
  metadataCleared: bigint;
  /** Dependency-graph contexts cleared. */
  depGraphContextsCleared: bigint;
  /** Bytes freed on disk. */
  onDiskBytesFreed: bigint;
}

/** Options of {@link ensureDaemon}. */
export interface EnsureDaemonOptions {
  /** Environment to read knobs from and to start the daemon with (default `process.env`). */
  env?: ClientEnv;
  /** Working directory a relative endpoint is resolved against (default `process.cwd()`). */
  cwd?: string;
  /** Readiness budget in ms (default 10 000, `ZCCACHE_SPAWN_TIMEOUT_MS`). */
  readyTimeoutMs?: number;
  /** Do not spawn again right after a failed start (the wrapper's back-off). */
  respectBackoff?: boolean;
}

/**
 * Make sure a compatible daemon serves `endpoint`: use a running one,
 * replace an older one, or start one (single-flight across processes, the
 * same spawn as the wrapper's). Resolves to what it did; rejects with a
 * `ZccacheError` `DaemonUnreachable` and a one-line reason when no daemon
 * could be started.
 *
 * @example
 * ```ts ignore
 * import { ensureDaemon } from "./zccache_client.ts";
 * console.log(await ensureDaemon("/tmp/zc/daemon.sock")); // "running" | "started" | "replaced"
 * ```
 */
export function ensureDaemon(
  endpoint: string,
  options: EnsureDaemonOptions = {},
): Promise<"running" | "started" | "replaced"> {
  return ensureDaemonLifecycle(endpoint, {
    env: options.env,
    cwd: options.cwd,
    readyTimeoutMs: options.readyTimeoutMs,
    respectBackoff: options.respectBackoff,
  });
}

/** Default receive budget of one compile (zccache `ZCCACHE_WEDGE_RECV_TIMEOUT_SECS`, 180 s). */
const DEFAULT_RECV_TIMEOUT_SECS = 180;
/** Idle connections kept for reuse. */
const MAX_IDLE_CONNECTIONS = 32;
/** Default `compileMany` concurrency. */
const DEFAULT_CONCURRENCY = 8;

function definedEnv(env: ClientEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function describe(e: unknown): string {
  if (isZccacheError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A fault talking to the daemon (before a result arrived). */
function daemonFault(message: string, cause?: unknown): ZccacheError {
  return new ZccacheError("DaemonUnreachable", message, { cause });
}

const encoder = new TextEncoder();

/**
 * Run a tool locally with captured output (the fallback path).
 * Exit 127 when it cannot be run, 128 + n when killed by signal n.
 */
async function runCaptured(
  tool: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  stdin: Uint8Array | undefined,
): Promise<CompileResult> {
  const { constants } = await import("node:os");
  return await new Promise((resolvePromise) => {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const finish = (exitCode: number, extra?: string): void => {
      if (extra !== undefined) err.push(encoder.encode(extra));
      resolvePromise({ exitCode, stdout: concat(out), stderr: concat(err), cached: false });
    };
    let child;
    try {
      child = spawn(tool, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      finish(127, `zccache: cannot run ${tool}: ${(e as Error).message}\n`);
      return;
    }
    let settled = false;
    child.stdout!.on("data", (c: Uint8Array) => out.push(c));
    child.stderr!.on("data", (c: Uint8Array) => err.push(c));
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      finish(e.code === "ENOENT" ? 127 : 126, `zccache: cannot run ${tool}: ${e.message}\n`);
    });
    child.on("close", (code, signal) => {
      if (settled) return;
      settled = true;
      if (signal) {
        const n = (constants.signals as Record<string, number>)[signal];
        finish(128 + (typeof n === "number" ? n : 1));
      } else finish(code ?? 1);
    });
    child.stdin!.on("error", () => {});
    child.stdin!.end(stdin ?? new Uint8Array(0));
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return new Uint8Array(chunks[0]);
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** A job made concrete: absolute cwd, resolved tool, whole environment. */
interface PreparedJob {
  tool: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  envPairs: EnvPair[];
  stdin: Uint8Array;
}

/**
 * A session: compiles that count towards one set of statistics. End it with
 * {@link ZccacheSession.end}.
 */
export interface ZccacheSession {
  /** The daemon's session id (also usable as `ZCCACHE_SESSION_ID` for wrapped compiles). */
  readonly id: string;
  /** One compile in this session (see {@link ZccacheClient.compile}). */
  compile(job: CompileJob, options?: CompileOptions): Promise<CompileResult>;
  /** Many compiles in this session (see {@link ZccacheClient.compileMany}). */
  compileMany(jobs: readonly CompileJob[], options?: CompileManyOptions): Promise<CompileResult[]>;
  /** End the session; its statistics when started with `{ stats: true }`, else `null`. */
  end(): Promise<SessionStats | null>;
}

/**
 * A client of one zccache daemon, for build scripts: compile, compile many
 * in parallel, sessions, links, status and clear. Holds a small pool of
 * connections; `await using` (or {@link ZccacheClient.close}) closes them.
 *
 * @example Compile two files and link them
 * ```ts ignore
 * import { ZccacheClient } from "./zccache_client.ts";
 *
 * await using zc = await ZccacheClient.connect();
 * const results = await zc.compileMany([
 *   { compiler: "gcc", args: ["-O2", "-c", "a.c", "-o", "a.o"] },
 *   { compiler: "gcc", args: ["-O2", "-c", "b.c", "-o", "b.o"] },
 * ], { concurrency: 4, onProgress: (p) => console.log(`[${p.done}/${p.total}]`) });
 * if (results.every((r) => r.exitCode === 0)) {
 *   await zc.link({ tool: "gcc", args: ["-o", "app", "a.o", "b.o"] });
 * }
 * ```
 */
export class ZccacheClient implements AsyncDisposable {
  readonly #endpoint: string;
  readonly #env: ClientEnv;
  readonly #autoStart: boolean;
  readonly #transport: Transport | undefined;
  readonly #recvTimeoutMs: number;
  #idle: IpcConnection[] = [];
  #closed = false;
  #starting: Promise<unknown> | null = null;

  private constructor(
    endpoint: string,
    env: ClientEnv,
    autoStart: boolean,
    transport: Transport | undefined,
  ) {
    this.#endpoint = endpoint;
    this.#env = env;
    this.#autoStart = autoStart;
    this.#transport = transport;
    const secs = Number(env.ZCCACHE_WEDGE_RECV_TIMEOUT_SECS ?? DEFAULT_RECV_TIMEOUT_SECS);
    this.#recvTimeoutMs = Number.isFinite(secs) && secs > 0 ? secs * 1000 : 300_000;
  }

  /**
   * A client for the daemon at the endpoint the wrapper would use
   * (`ZCCACHE_ENDPOINT`, else derived from `ZCCACHE_CACHE_DIR`/`cacheDir`,
   * else the default), starting one when none answers (`autoStart`).
   *
   * Never rejects for a daemon fault while `autoStart` can fall back: a
   * daemon that cannot start makes every compile run locally.
   */
  static async connect(options: ZccacheClientOptions = {}): Promise<ZccacheClient> {
    const cwd = process.cwd();
    const env: ClientEnv = { ...(options.env ?? process.env) };
    if (options.cacheDir !== undefined) env.ZCCACHE_CACHE_DIR = resolve(cwd, options.cacheDir);
    const endpoint = options.endpoint !== undefined
      ? (isAbsolute(options.endpoint) || options.endpoint.startsWith("\\\\.\\pipe\\")
        ? options.endpoint
        : resolve(cwd, options.endpoint))
      : clientEndpoint(env, cwd);
    const client = new ZccacheClient(endpoint, env, options.autoStart ?? true, options.transport);
    if (client.#autoStart) {
      try {
        await client.#ensure();
      } catch {
        // remembered by the lifecycle's back-off; compiles fall back locally
      }
    }
    return client;
  }

  /** The endpoint this client talks to. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /**
   * Compile one job through the cache. The result is the compiler's own
   * (exit code, stdout, stderr); a job whose compiler is not found rejects.
   */
  async compile(job: CompileJob, options: CompileOptions = {}): Promise<CompileResult> {
    const p = this.#prepare(job.compiler, job);
    return await this.#compilePrepared(p, options, (pj) => ({
      kind: "CompileEphemeral",
      clientPid: process.pid,
      workingDir: pj.cwd,
      compiler: pj.tool,
      args: pj.args,
      cwd: pj.cwd,
      env: pj.envPairs,
      stdin: pj.stdin,
    }));
  }

  /**
   * Compile many jobs, `concurrency` at a time over a pool of connections.
   * Results come back in job order; `onProgress` is called per finished job.
   */
  compileMany(
    jobs: readonly CompileJob[],
    options: CompileManyOptions = {},
  ): Promise<CompileResult[]> {
    return runMany(jobs, options, (job) => this.compile(job, options));
  }

  /** Start a session (`SessionStart`); its compiles count towards its statistics. */
  async session(options: SessionOptions = {}): Promise<ZccacheSession> {
    const cwd = resolve(process.cwd(), options.cwd ?? ".");
    const reply = await this.#request({
      kind: "SessionStart",
      clientPid: process.pid,
      workingDir: cwd,
      logFile: options.logFile ?? null,
      trackStats: options.stats ?? false,
      journalPath: null,
      profile: false,
      privateDaemon: null,
    });
    if (reply.kind !== "SessionStarted") throw unexpected(reply, "SessionStart");
    const sessionId = reply.sessionId;
    const compile = (job: CompileJob, opts: CompileOptions = {}): Promise<CompileResult> =>
      this.#compilePrepared(this.#prepare(job.compiler, job), opts, (pj) => ({
        kind: "Compile",
        sessionId,
        args: pj.args,
        cwd: pj.cwd,
        compiler: pj.tool,
        env: pj.envPairs,
        stdin: pj.stdin,
      }));
    return {
      id: sessionId,
      compile,
      compileMany: (jobs, opts = {}) => runMany(jobs, opts, (job) => compile(job, opts)),
      end: async () => {
        const r = await this.#request({ kind: "SessionEnd", sessionId });
        if (r.kind !== "SessionEnded") throw unexpected(r, "SessionEnd");
        return r.stats;
      },
    };
  }

  /** Link or archive through the cache (`LinkEphemeral`); local run on a daemon fault. */
  async link(job: LinkJob, options: CompileOptions = {}): Promise<LinkResult> {
    const p = this.#prepare(job.tool, { ...job, stdin: undefined });
    const request: Request = {
      kind: "LinkEphemeral",
      clientPid: process.pid,
      tool: p.tool,
      args: p.args,
      cwd: p.cwd,
      env: p.envPairs,
    };
    try {
      const r = await this.#request(request);
      if (r.kind === "LinkResult") {
        return {
          exitCode: r.exitCode,
          stdout: r.stdout,
          stderr: r.stderr,
          cached: r.cached,
          warning: r.warning,
        };
      }
      throw daemonFault(r.kind === "Error" ? `daemon error: ${r.message}` : `unexpected ${r.kind}`);
    } catch (e) {
      if (options.fallback === false) throw e;
      const local = await runCaptured(p.tool, p.args, p.cwd, p.env, undefined);
      return { ...local, warning: null };
    }
  }

  /** The daemon's status (counters, cache size, sessions). */
  async status(): Promise<DaemonStatus> {
    const r = await this.#request({ kind: "Status" });
    if (r.kind !== "Status") throw unexpected(r, "Status");
    return r.value;
  }

  /** Remove every cached artifact (`Clear`). */
  async clear(): Promise<ClearResult> {
    const r = await this.#request({ kind: "Clear" });
    if (r.kind !== "Cleared") throw unexpected(r, "Clear");
    return {
      artifactsRemoved: r.artifactsRemoved,
      metadataCleared: r.metadataCleared,
      depGraphContextsCleared: r.depGraphContextsCleared,
      onDiskBytesFreed: r.onDiskBytesFreed,
    };
  }

  /** Close the pooled connections; the daemon keeps running. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all(idle.map((c) => c.close().catch(() => {})));
  }

  /** Same as {@link ZccacheClient.close} (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * `PATH` lookups of this client, by (name, PATH, cwd): a build script
   * compiles thousands of files with one compiler, and a lookup walks
   * `PATH` with a few stats per directory. A remembered path is used while
   * it is still an executable file (one stat); a compiler installed earlier
   * in `PATH` while the client lives is not seen (as a shell's `hash`).
   */
  #tools = new Map<string, string>();

  #resolveTool(name: string, env: Record<string, string>, cwd: string): string | null {
    const key = `${name}\0${env.PATH ?? ""}\0${cwd}`;
    const known = this.#tools.get(key);
    if (known !== undefined && isExecutableFile(known)) return known;
    const tool = resolveTool(name, env, cwd);
    if (tool === null) this.#tools.delete(key);
    else {
      if (this.#tools.size >= 256) this.#tools.clear();
      this.#tools.set(key, tool);
    }
    return tool;
  }

  #prepare(name: string, job: Omit<CompileJob, "compiler">): PreparedJob {
    const cwd = resolve(process.cwd(), job.cwd ?? ".");
    const env = definedEnv(job.env ?? this.#env);
    const tool = this.#resolveTool(name, env, cwd);
    if (tool === null) {
      throw new ZccacheError("Io", `${name}: compiler not found in PATH`);
    }
    return {
      tool,
      args: [...job.args],
      cwd,
      env,
      envPairs: Object.entries(env),
      stdin: job.stdin ?? new Uint8Array(0),
    };
  }

  async #compilePrepared(
    p: PreparedJob,
    options: CompileOptions,
    build: (p: PreparedJob) => Request,
  ): Promise<CompileResult> {
    try {
      const r = await this.#request(build(p));
      if (r.kind === "CompileResult") {
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, cached: r.cached };
      }
      throw daemonFault(
        r.kind === "Error" ? `daemon error: ${r.message}` : `unexpected ${r.kind} reply`,
      );
    } catch (e) {
      if (options.fallback === false) throw e;
      return await runCaptured(p.tool, p.args, p.cwd, p.env, jobStdin(p));
    }
  }

  /** Start (or wait for) a daemon, once at a time per client. */
  async #ensure(): Promise<void> {
    this.#starting ??= ensureDaemonLifecycle(this.#endpoint, {
      env: this.#env,
      respectBackoff: true,
    }).finally(() => (this.#starting = null));
    await this.#starting;
  }

  async #connect(): Promise<IpcConnection> {
    try {
      return await IpcConnection.connect(this.#endpoint, {
        transport: this.#transport,
        env: this.#env,
      });
    } catch (e) {
      if (!this.#autoStart || !isZccacheError(e, "DaemonUnreachable")) throw e;
      await this.#ensure();
      return await IpcConnection.connect(this.#endpoint, {
        transport: this.#transport,
        env: this.#env,
      });
    }
  }

  /**
   * One request/reply on a pooled connection. A reused connection that
   * fails before any reply (closed by the daemon's idle bound, or a daemon
   * restarted) is retried once on a fresh one.
   */
  async #request(request: Request): Promise<Response> {
    if (this.#closed) throw new ZccacheError("Io", "the client is closed");
    for (let attempt = 0;; attempt++) {
      const reused = this.#idle.length > 0;
      const conn = this.#idle.pop() ?? await this.#connect();
      let reply: Response | null;
      try {
        await conn.send(request);
        reply = await conn.recv(this.#recvTimeoutMs);
      } catch (e) {
        await conn.close().catch(() => {});
        if (reused && attempt === 0 && !isZccacheError(e, "Timeout")) continue;
        throw isZccacheError(e) ? e : daemonFault(describe(e), e);
      }
      if (reply === null) {
        await conn.close().catch(() => {});
        if (reused && attempt === 0) continue;
        throw new ZccacheError("ConnectionClosed", "the daemon closed the connection");
      }
      if (!this.#closed && this.#idle.length < MAX_IDLE_CONNECTIONS) this.#idle.push(conn);
      else await conn.close().catch(() => {});
      return reply;
    }
  }
}

function jobStdin(p: PreparedJob): Uint8Array | undefined {
  return p.stdin.length > 0 ? p.stdin : undefined;
}

function unexpected(r: Response, what: string): ZccacheError {
  if (r.kind === "Error") return new ZccacheError("Protocol", `${what}: ${r.message}`);
  return new ZccacheError("Protocol", `unexpected ${r.kind} reply to ${what}`);
}

/** The bounded pool behind `compileMany`: results in job order, progress per finish. */
async function runMany(
  jobs: readonly CompileJob[],
  options: CompileManyOptions,
  one: (job: CompileJob) => Promise<CompileResult>,
): Promise<CompileResult[]> {
  const total = jobs.length;
  const results = new Array<CompileResult>(total);
  const width = Math.max(
    1,
    Math.min(total, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY)),
  );
  const signal = options.signal;
  let next = 0;
  let done = 0;
  let hits = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && !(signal?.aborted ?? false) && next < total) {
      const i = next++;
      const job = jobs[i];
      try {
        const result = await one(job);
        results[i] = result;
        done++;
        if (result.cached) hits++;
        options.onProgress?.({ done, total, hits, misses: done - hits, job, result });
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  signal?.throwIfAborted();
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  signal?.throwIfAborted();
  return results;
}
