/**
 * Where the daemon lives on disk, resolved exactly as zccache 1.12.2 does
 * (cache root `ZCCACHE_CACHE_DIR` else `~/.zccache`; endpoint, lock and
 * identity file per ipc-spec-1.12.2 §1.3, via `src/transport/endpoint.ts`),
 * plus this project's OWN subdirectory `<root>/zccache-ts/` for the store,
 * index and `daemon.log`, so a Rust zccache on the same root never sees
 * (and never clobbers) our files.
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import {
  daemonNamespaceLabel,
  endpointFromEnv,
  type EnvLike,
  identityFilePath,
  lockFilePath,
  resolveCacheDir,
  socketDirectory,
} from "../transport/endpoint.ts";

/** Name of this project's subdirectory under the cache root. */
export const PROJECT_SUBDIR = "zccache-ts";

/** Every path the daemon needs. */
export interface DaemonPaths {
  /** Cache root `R` (absolute, lexically normalized). */
  cacheRoot: string;
  /** The endpoint to bind (Unix socket path or `\\.\pipe\...`). */
  endpoint: string;
  /** Directory holding the socket (created 0700 when missing), or null for pipes. */
  socketDir: string | null;
  /** PID lock file (`daemon[-NS].lock`). */
  lockFile: string;
  /** running-process identity JSON (`daemon[-NS].running-process.json`). */
  identityFile: string;
  /** `daemon_namespace` as zccache reports it: `default` or the sanitized namespace. */
  namespaceLabel: string;
  /** `<root>/zccache-ts`: store, index, logs of this project. */
  projectDir: string;
  /** `<root>/zccache-ts/daemon.log`. */
  logFile: string;
}

/** Inputs besides the environment. */
export interface DaemonPathOptions {
  /** `--endpoint` (wins over `ZCCACHE_ENDPOINT` and the default). */
  endpoint?: string | null;
  /** `--cache-dir` (acts as `ZCCACHE_CACHE_DIR`). */
  cacheDir?: string | null;
  /** Working directory for relative `ZCCACHE_CACHE_DIR` (default `process.cwd()`). */
  cwd?: string;
  /** Platform (default `process.platform`). */
  platform?: string;
}

/**
 * The environment with `--cache-dir` applied as `ZCCACHE_CACHE_DIR`
 * (the value every path rule then reads).
 */
export function effectiveEnv(env: EnvLike, cacheDir?: string | null): EnvLike {
  if (cacheDir === undefined || cacheDir === null || cacheDir === "") return env;
  return { ...env, ZCCACHE_CACHE_DIR: cacheDir };
}

/**
 * Resolve every daemon path.
 *
 * @example
 * ```ts
 * import { resolveDaemonPaths } from "./paths.ts";
 * const p = resolveDaemonPaths({ ZCCACHE_CACHE_DIR: "/x/zc" }, { platform: "linux" });
 * // p.endpoint === "/x/zc/daemon.sock", p.lockFile === "/x/zc/daemon.lock",
 * // p.projectDir === "/x/zc/zccache-ts"
 * ```
 */
export function resolveDaemonPaths(env: EnvLike, opts: DaemonPathOptions = {}): DaemonPaths {
  const platform = opts.platform ?? process.platform;
  const e = effectiveEnv(env, opts.cacheDir);
  const o = { cwd: opts.cwd ?? process.cwd() };
  const cacheRoot = resolveCacheDir(e, undefined, platform, o);
  const endpoint = endpointFromEnv(e, platform, { ...o, explicit: opts.endpoint ?? null });
  const projectDir = join(cacheRoot, PROJECT_SUBDIR);
  return {
    cacheRoot,
    endpoint,
    socketDir: socketDirectory(endpoint, platform),
    lockFile: lockFilePath(e, platform, o),
    identityFile: identityFilePath(e, platform, o),
    namespaceLabel: daemonNamespaceLabel(e, platform),
    projectDir,
    logFile: join(projectDir, "daemon.log"),
  };
}
