/**
 * A daemon inside the calling process ({@link startDaemon}), for build tools
 * and tests that want the cache without spawning `zccache daemon`.
 *
 * @module
 */
import process from "node:process";
import { daemonEnvConfig, readConfigFile } from "./config_env.ts";
import { DaemonLog } from "./log.ts";
import { resolveDaemonPaths } from "./paths.ts";
import { DaemonServer, DEFAULT_IDLE_TIMEOUT_SECS } from "./server.ts";

/** Options of {@link startDaemon}. */
export interface EmbeddedDaemonOptions {
  /** Cache root (as `ZCCACHE_CACHE_DIR`; default: the environment's, else zccache's default). */
  cacheDir?: string;
  /** Endpoint to serve (default: derived from the cache dir as the wrapper derives it). */
  endpoint?: string;
  /** Environment for settings and compiles (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Idle seconds before the daemon stops by itself; 0 = never (default 0). */
  idleTimeoutSecs?: number;
  /** Receives every daemon log line (they also go to `<root>/zccache-ts/daemon.log`). */
  onLog?: (line: string) => void;
}

/** A running embedded daemon. */
export interface EmbeddedDaemon {
  /** The endpoint clients connect to (pass it to `ZccacheClient.connect({ endpoint })`). */
  readonly endpoint: string;
  /** The cache root. */
  readonly cacheDir: string;
  /**
   * False when another live daemon already served the endpoint: nothing was
   * started, clients reach that one, and {@link EmbeddedDaemon.stop} does nothing.
   */
  readonly owned: boolean;
  /** Resolves once the daemon has stopped (a `Shutdown` request, the idle timeout, or `stop`). */
  readonly stopped: Promise<void>;
  /** Stop gracefully (in-flight compiles finish) and wait for the end. */
  stop(): Promise<void>;
  /** `await using d = await startDaemon()` stops it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Start a daemon in this process, serving zccache 1.12.2's daemon wire on
 * its endpoint; resolves once it accepts connections. Settings
 * (`ZCCACHE_MAX_SIZE`, compression, …) come from `env` and `zccache.conf`
 * as for `zccache daemon`.
 *
 * @example
 * ```ts ignore
 * import { startDaemon } from "./mod.ts";
 *
 * await using daemon = await startDaemon({ cacheDir: "/tmp/my-cache" });
 * console.log(`serving ${daemon.endpoint}`);
 * ```
 */
export async function startDaemon(options: EmbeddedDaemonOptions = {}): Promise<EmbeddedDaemon> {
  const env = { ...(options.env ?? process.env) };
  if (options.cacheDir !== undefined) env.ZCCACHE_CACHE_DIR = options.cacheDir;
  const paths = resolveDaemonPaths(env, { endpoint: options.endpoint ?? null });
  const onLog = options.onLog ?? null;
  const log = new DaemonLog(paths.logFile, onLog);
  const config = daemonEnvConfig(env, DEFAULT_IDLE_TIMEOUT_SECS, readConfigFile(paths.cacheRoot));
  for (const w of config.warnings) log.event("config-warning", { message: w });
  const { CompileEngine } = await import("./engine.ts");
  const engine = new CompileEngine({
    cacheDir: paths.projectDir,
    maxSize: config.maxSize === 0n ? BigInt(Number.MAX_SAFE_INTEGER) : config.maxSize,
    maxParallel: config.maxParallel,
    compression: { enabled: config.compression ?? true, level: config.compressionLevel },
    log: (line: string) => log.event("engine", { message: line }),
  });
  const server = new DaemonServer({
    paths,
    env,
    engine,
    idleTimeoutSecs: options.idleTimeoutSecs ?? 0,
    log,
  });
  let owned: boolean;
  try {
    owned = (await server.start()) === "started";
  } catch (err) {
    await engine.close().catch(() => {});
    throw err;
  }
  if (!owned) await engine.close().catch(() => {});
  const stopped = owned ? server.stopped : Promise.resolve();
  const stop = async (): Promise<void> => {
    if (owned) server.shutdown("embedder");
    await stopped;
  };
  return {
    endpoint: paths.endpoint,
    cacheDir: paths.cacheRoot,
    owned,
    stopped,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
