/**
 * Endpoint discovery for THIS process: feeds the real environment,
 * platform, home and working directory into the pure rules of
 * `endpoint.ts`. Uses `node:process`, so it works in Deno (needs
 * `--allow-env`, `--allow-read` for the cwd), Bun and Node.
 *
 * @module
 */

import process from "node:process";
import {
  daemonNamespaceLabel,
  defaultEndpoint,
  endpointFromEnv,
  type EnvLike,
  identityFilePath,
  lockFilePath,
  resolveCacheDir,
} from "./endpoint.ts";

function cwdOrEmpty(): string {
  try {
    return process.cwd();
  } catch {
    return "";
  }
}

/**
 * The endpoint a client should use: `explicit` (a `--endpoint` flag), else
 * `ZCCACHE_ENDPOINT` (even if empty), else zccache 1.12.2's default
 * endpoint for this platform.
 *
 * @example
 * ```ts
 * import { resolveEndpoint } from "./discover.ts";
 * resolveEndpoint({ USER: "alice" }); // "/tmp/zccache-alice/sock" on Linux/macOS
 * ```
 */
export function resolveEndpoint(env: EnvLike = process.env, explicit?: string | null): string {
  return endpointFromEnv(env, process.platform, { cwd: cwdOrEmpty(), explicit });
}

/** Every per-instance path of the daemon for this process. */
export interface DiscoveredPaths {
  /** Endpoint clients connect to ({@link resolveEndpoint}). */
  endpoint: string;
  /** The default endpoint the daemon binds without `--endpoint` (ignores `ZCCACHE_ENDPOINT`). */
  defaultEndpoint: string;
  /** Cache root `R`. */
  cacheDir: string;
  /** `daemon[-NS].lock`. */
  lockFile: string;
  /** `daemon[-NS].running-process.json`. */
  identityFile: string;
  /** `"default"` or the sanitized namespace. */
  namespace: string;
}

/**
 * Resolve endpoint, cache root, lock and identity file for this process.
 *
 * @example
 * ```ts
 * import { discoverPaths } from "./discover.ts";
 * discoverPaths({ HOME: "/home/alice", USER: "alice" }).identityFile;
 * // "/home/alice/.zccache/daemon.running-process.json" on Linux/macOS
 * ```
 */
export function discoverPaths(env: EnvLike = process.env): DiscoveredPaths {
  const platform = process.platform;
  const options = { cwd: cwdOrEmpty() };
  return {
    endpoint: endpointFromEnv(env, platform, options),
    defaultEndpoint: defaultEndpoint(env, platform, options),
    cacheDir: resolveCacheDir(env, undefined, platform, options),
    lockFile: lockFilePath(env, platform, options),
    identityFile: identityFilePath(env, platform, options),
    namespace: daemonNamespaceLabel(env, platform),
  };
}
