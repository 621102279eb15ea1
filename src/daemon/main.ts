/**
 * The daemon entry: `zccache daemon [--foreground] [--endpoint P]
 * [--cache-dir D] [--idle-timeout SECS] [--log-file F]`.
 *
 * Runs the daemon in this process until it stops (Shutdown request, idle
 * timeout, SIGINT/SIGTERM). Nothing is ever printed on stdout; lifecycle
 * lines go to `<root>/zccache-ts/daemon.log`, and with `--foreground` also
 * to stderr. The socket becomes connectable only after the engine is open,
 * and requests are served only after the lock and identity files exist,
 * so a spawner can poll the endpoint for readiness.
 *
 * Endpoint: `--endpoint`, else `ZCCACHE_ENDPOINT` (how the auto-starting
 * client passes it), else zccache 1.12.2's `default_endpoint`.
 * Idle timeout: `--idle-timeout`, else `ZCCACHE_IDLE_TIMEOUT_SECS`, else
 * 3600; 0 = never. Exit codes: 0 after a clean stop or when a live daemon
 * already serves the endpoint ("deferring", as 1.12.2), 1 on a start-up
 * failure, 2 on a usage error.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { CompileBackend } from "./handlers/mod.ts";
import { DaemonLog } from "./log.ts";
import { resolveDaemonPaths } from "./paths.ts";
import { type DaemonEnvConfig, daemonEnvConfig, readConfigFile } from "./config_env.ts";
import type { ArtifactStore, CompressionOptions } from "./cache/artifact_store.ts";
import type { RemoteTier } from "./cache/remote.ts";
import { DEFAULT_IDLE_TIMEOUT_SECS, prepareDaemonDirs, runDaemon } from "./server.ts";

/** How long after start the daemon loads its index when no request asked for it first. */
const INDEX_LOAD_DELAY_MS = 200;

/** Parsed daemon arguments. */
export interface DaemonArgs {
  foreground: boolean;
  endpoint: string | null;
  cacheDir: string | null;
  idleTimeoutSecs: number | null;
  logFile: string | null;
}

/** A bad daemon command line; the message is the usage error to print. */
export class DaemonArgsError extends Error {
  /** Always `"DaemonArgsError"`. */
  override readonly name = "DaemonArgsError";
}

/** Parse daemon arguments; throws {@link DaemonArgsError} on a bad command line. */
export function parseDaemonArgs(args: string[]): DaemonArgs {
  const out: DaemonArgs = {
    foreground: false,
    endpoint: null,
    cacheDir: null,
    idleTimeoutSecs: null,
    logFile: null,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new DaemonArgsError(`option ${name} requires a value`);
      return v;
    };
    switch (name) {
      case "--foreground":
        out.foreground = true;
        break;
      case "--endpoint":
        out.endpoint = value();
        break;
      case "--cache-dir":
        out.cacheDir = value();
        break;
      case "--idle-timeout": {
        const v = value();
        if (!/^\d+$/.test(v)) throw new DaemonArgsError(`invalid value for --idle-timeout: ${v}`);
        out.idleTimeoutSecs = Number(v);
        break;
      }
      case "--log-file":
        out.logFile = value();
        break;
      case "--log-level":
      case "--config":
        value(); // accepted for zccache-daemon compatibility, unused
        break;
      case "--no-depgraph-cache":
        break;
      default:
        throw new DaemonArgsError(`unexpected argument ${JSON.stringify(a)}`);
    }
  }
  return out;
}

/** `ZCCACHE_IDLE_TIMEOUT_SECS` (a non-negative integer), else the default. */
export function idleTimeoutFromEnv(env: Record<string, string | undefined>): number {
  return daemonEnvConfig(env, DEFAULT_IDLE_TIMEOUT_SECS).idleTimeoutSecs ??
    DEFAULT_IDLE_TIMEOUT_SECS;
}

/**
 * The shared remote tier (`ZCCACHE_REMOTE`), stacked under the local store;
 * `{}` without one. A URL that cannot be used gives one log line and is
 * skipped (the daemon runs local-only).
 */
async function remoteTiers(
  projectDir: string,
  config: DaemonEnvConfig,
  env: Record<string, string | undefined>,
  compression: CompressionOptions,
  log: (line: string) => void,
): Promise<{ store?: ArtifactStore; remote?: RemoteTier }> {
  if (config.remote === undefined || config.remote.length === 0) return {};
  const { backendFor, RemoteTier, TieredArtifactStore } = await import("./cache/remote.ts");
  const { LocalArtifactStore } = await import("./cache/artifact_store.ts");
  const backends = [];
  for (const url of config.remote) {
    try {
      backends.push(
        backendFor(url, {
          token: env.ZCCACHE_REMOTE_TOKEN,
          ttlSecs: config.remoteTtlSecs,
          tlsCa: env.ZCCACHE_REMOTE_TLS_CA || undefined,
        }),
      );
    } catch (e) {
      log(`remote skipped: ${(e as Error).message}`);
    }
  }
  if (backends.length === 0) return {};
  const remote = new RemoteTier(backends, {
    readOnly: config.remoteReadOnly === true,
    timeoutMs: config.remoteTimeoutMs,
    log,
  });
  log(
    `remote tier: ${backends.map((b) => b.label).join(", ")}${
      remote.readOnly ? " (read-only)" : ""
    }, timeout ${remote.timeoutMs} ms`,
  );
  const local = new LocalArtifactStore(
    join(projectDir, "blobs"),
    join(projectDir, "tmp"),
    compression,
  );
  return { store: new TieredArtifactStore(local, remote), remote };
}

/**
 * Run the daemon. Returns the process exit code.
 *
 * @param args Arguments after `daemon`.
 * @param env The process environment.
 */
export async function daemonMain(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  let parsed: DaemonArgs;
  try {
    parsed = parseDaemonArgs(args);
  } catch (err) {
    process.stderr.write(`zccache daemon: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const paths = resolveDaemonPaths(env, {
    endpoint: parsed.endpoint,
    cacheDir: parsed.cacheDir,
  });
  try {
    prepareDaemonDirs(paths);
  } catch (err) {
    process.stderr.write(`zccache daemon: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const logFile = parsed.logFile;
  const mirror = parsed.foreground
    ? (line: string) => process.stderr.write(line + "\n")
    : logFile !== null
    ? (line: string) => {
      try {
        appendFileSync(logFile, line + "\n");
      } catch {
        // best effort
      }
    }
    : null;
  const log = new DaemonLog(paths.logFile, mirror);
  const config = daemonEnvConfig(env, DEFAULT_IDLE_TIMEOUT_SECS, readConfigFile(paths.cacheRoot));
  for (const w of config.warnings) {
    // One line per bad variable, on stderr (the foreground mirror already is stderr).
    if (!parsed.foreground) process.stderr.write(w + "\n");
    log.event("config-warning", { message: w });
  }
  const childEnv = parsed.cacheDir !== null ? { ...env, ZCCACHE_CACHE_DIR: parsed.cacheDir } : env;

  let engine: CompileBackend;
  try {
    // Loaded here so that importing this module (argument parsing) stays cheap.
    const { CompileEngine } = await import("./engine.ts");
    const engineLog = (line: string) => log.event("engine", { message: line });
    const compression = {
      enabled: config.compression ?? true,
      level: config.compressionLevel,
      verifyHits: config.verifyHits === true,
    };
    const tiers = await remoteTiers(paths.projectDir, config, env, compression, engineLog);
    engine = new CompileEngine({
      cacheDir: paths.projectDir,
      maxSize: config.maxSize === 0n ? BigInt(Number.MAX_SAFE_INTEGER) : config.maxSize,
      maxParallel: config.maxParallel,
      compression,
      log: engineLog,
      // The first Ping is answered before a large index is parsed; the
      // first request that needs the index loads it at once.
      deferLoadMs: INDEX_LOAD_DELAY_MS,
      ...tiers,
    });
  } catch (err) {
    log.error("engine.open", err);
    return 1;
  }

  const server = runDaemon({
    paths,
    env: childEnv,
    engine,
    idleTimeoutSecs: parsed.idleTimeoutSecs ?? config.idleTimeoutSecs ?? DEFAULT_IDLE_TIMEOUT_SECS,
    log,
    handleSignals: true,
  });
  return await server;
}
