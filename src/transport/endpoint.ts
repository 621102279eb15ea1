/**
 * Endpoint discovery exactly as zccache 1.12.2 does it: default socket or
 * pipe, cache-dir endpoints, namespaces, lock file and
 * `daemon.running-process.json` identity file paths, `stable_path_id`.
 *
 * Every function here is pure: environment, platform, home and working
 * directory are parameters, so the rules of Linux, macOS and Windows can be
 * evaluated (and tested) on any OS. `discover.ts` feeds in the real process
 * values.
 *
 * Reproduces (zccache@3eae627, release 1.12.2):
 * - crates/zccache/src/ipc/mod.rs: `default_endpoint`, `endpoint_for_cache_dir`,
 *   `compact_cache_dir_endpoint`, `endpoint_for_private_daemon_name`,
 *   `lock_file_path`, `socket_name`, `daemon_socket_name`, `pipe_name`,
 *   `lock_file_name`, `backend_identity_path`, `running_process_endpoint`;
 * - crates/zccache/src/core/config.rs: `sanitize_daemon_namespace`,
 *   `sanitize_ipc_component`, `fnv_short_hash`, `default_cache_dir`
 *   (+ `ZCCACHE_COLOCATE`), `cache_dir_override`;
 * - crates/zccache/src/core/path.rs: `normalize`, `normalize_for_key`, `stable_path_id`;
 * - crates/zccache/src/cli/mod.rs: `resolve_endpoint` (`ZCCACHE_ENDPOINT`).
 *
 * 1.12.2 has no version tag in any name (that arrived in 1.12.16).
 *
 * | Item        | no namespace                  | namespace NS                     |
 * |-------------|-------------------------------|----------------------------------|
 * | Unix socket | `<dir>/sock`                  | `<dir>/sock-NS`                  |
 * | cache dir   | `R/daemon.sock`               | `R/daemon-NS.sock`               |
 * | pipe        | `\\.\pipe\zccache-<base>`     | `\\.\pipe\zccache-<base>-NS`     |
 * | lock        | `daemon.lock`                 | `daemon-NS.lock`                 |
 * | identity    | `daemon.running-process.json` | `daemon-NS.running-process.json` |
 *
 * @module
 */

import {
  isAbsolute,
  isMacos,
  isWindows,
  joinPath,
  normalizedParent,
  normalizeLexical,
  type Platform,
  volumeRoot,
} from "./_rust_path.ts";
import { fileName } from "./_rust_path.ts";
import { rustTrim } from "../core/rust_str.ts";

export type { Platform } from "./_rust_path.ts";
export { isWindows } from "./_rust_path.ts";

/** Environment variables, as `process.env` (values may be missing). */
export type EnvLike = Readonly<Record<string, string | undefined>>;

/** Extra process facts some rules need. */
export interface EndpointOptions {
  /** Working directory (joins a relative `ZCCACHE_CACHE_DIR`; `ZCCACHE_COLOCATE`). Default "" (no join). */
  cwd?: string;
  /**
   * Home directory. Default: zccache's own rule, `HOME`, then `USERPROFILE`
   * from `env`, else ".".
   */
  home?: string;
}

/** Unix cache-dir socket paths longer than this many UTF-8 bytes use the compact `/tmp` form. */
export const MAX_PORTABLE_UNIX_SOCKET_PATH_BYTES = 100;
/** The namespace label used when none is configured (diagnostics, running-process `namespace_id`). */
export const DEFAULT_DAEMON_NAMESPACE = "default";
/** Namespace used for a private daemon name that sanitizes to nothing. */
export const DEV_DAEMON_NAMESPACE = "dev";
/** Prefix of every Windows named pipe path. */
export const PIPE_PREFIX = "\\\\.\\pipe\\";

const encoder = new TextEncoder();

/**
 * Read an env var. Windows environments are case-insensitive, so on Windows
 * a miss on the exact name falls back to a case-insensitive match (as
 * `std::env::var` does there).
 */
function envGet(env: EnvLike, name: string, platform: Platform): string | undefined {
  const v = env[name];
  if (v !== undefined || !isWindows(platform)) return v;
  const upper = name.toUpperCase();
  for (const k of Object.keys(env)) {
    if (k.toUpperCase() === upper) return env[k];
  }
  return undefined;
}

/** 64-bit FNV-1a over `bytes`. */
function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/**
 * zccache `fnv_short_hash`: 64-bit FNV-1a folded to 32 bits
 * (`(h ^ (h >> 32)) as u32`), 8 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { fnvShortHash } from "./endpoint.ts";
 * fnvShortHash("Zach Vorhies"); // "0d204d7e"
 * ```
 */
export function fnvShortHash(value: string | Uint8Array): string {
  const h = fnv1a64(typeof value === "string" ? encoder.encode(value) : value);
  const folded = (h ^ (h >> 32n)) & 0xffffffffn;
  return folded.toString(16).padStart(8, "0");
}

/**
 * zccache `normalize_for_key`: lexical normalization; Linux as is; macOS
 * Unicode lowercase; Windows `\` -> `/`, leading `//?/` stripped, ASCII
 * lowercase.
 */
export function normalizeForKey(path: string, platform: Platform): string {
  const normalized = normalizeLexical(path, platform);
  if (isWindows(platform)) {
    let s = normalized.replaceAll("\\", "/");
    if (s.startsWith("//?/")) s = s.slice(4);
    return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  if (isMacos(platform)) return normalized.toLowerCase();
  return normalized;
}

/**
 * zccache `stable_path_id`: 64-bit FNV-1a over the UTF-8 bytes of
 * `normalizeForKey(path)`, 16 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { stablePathId } from "./endpoint.ts";
 * stablePathId("/tmp/zccache-a", "linux"); // "56a47853656cc4fd"
 * stablePathId("C:\\zc", "win32"); // "5505c0f5bffad13a"
 * ```
 */
export function stablePathId(path: string, platform: Platform = "linux"): string {
  return fnv1a64(encoder.encode(normalizeForKey(path, platform))).toString(16).padStart(16, "0");
}

function isSafeComponentChar(ch: string): boolean {
  return /^[A-Za-z0-9._-]$/.test(ch);
}

/** Replace every Unicode scalar outside `[A-Za-z0-9._-]` with one `_`. */
function replaceUnsafe(s: string): string {
  let out = "";
  for (const ch of s) out += isSafeComponentChar(ch) ? ch : "_";
  return out;
}

/**
 * zccache `sanitize_daemon_namespace`: trim; empty -> `null`; unsafe chars
 * -> `_`; longer than 32 bytes -> first 32 chars + `-` + fnv8(trimmed).
 *
 * @example
 * ```ts
 * import { sanitizeDaemonNamespace } from "./endpoint.ts";
 * sanitizeDaemonNamespace("soldr dev"); // "soldr_dev"
 * ```
 */
export function sanitizeDaemonNamespace(raw: string): string | null {
  const trimmed = rustTrim(raw);
  if (trimmed === "") return null;
  const sanitized = replaceUnsafe(trimmed); // ASCII only, so length == bytes
  if (sanitized.length <= 32) return sanitized;
  return `${sanitized.slice(0, 32)}-${fnvShortHash(trimmed)}`;
}

/**
 * zccache `sanitize_ipc_component` (Windows pipe bases): trim; empty ->
 * `null`; already safe -> unchanged; else first 32 sanitized chars + `-` +
 * fnv8(trimmed).
 *
 * @example
 * ```ts
 * import { sanitizeIpcComponent } from "./endpoint.ts";
 * sanitizeIpcComponent("Zach Vorhies"); // "Zach_Vorhies-0d204d7e"
 * ```
 */
export function sanitizeIpcComponent(raw: string): string | null {
  const trimmed = rustTrim(raw);
  if (trimmed === "") return null;
  const sanitized = replaceUnsafe(trimmed);
  if (sanitized === trimmed) return sanitized;
  return `${sanitized.slice(0, 32)}-${fnvShortHash(trimmed)}`;
}

/** The sanitized `ZCCACHE_DAEMON_NAMESPACE`, or `null` when unset/empty/blank. */
export function daemonNamespace(env: EnvLike, platform: Platform = "linux"): string | null {
  const v = envGet(env, "ZCCACHE_DAEMON_NAMESPACE", platform);
  if (v === undefined || v === "") return null;
  return sanitizeDaemonNamespace(v);
}

/** The namespace label: the sanitized namespace or `"default"`. */
export function daemonNamespaceLabel(env: EnvLike, platform: Platform = "linux"): string {
  return daemonNamespace(env, platform) ?? DEFAULT_DAEMON_NAMESPACE;
}

/** Unix default socket leaf: `sock` / `sock-NS`. */
export function socketName(namespace: string | null): string {
  return namespace === null ? "sock" : `sock-${namespace}`;
}

/** Unix cache-dir socket leaf: `daemon.sock` / `daemon-NS.sock`. */
export function daemonSocketName(namespace: string | null): string {
  return namespace === null ? "daemon.sock" : `daemon-${namespace}.sock`;
}

/** Lock file leaf: `daemon.lock` / `daemon-NS.lock`. */
export function lockFileName(namespace: string | null): string {
  return namespace === null ? "daemon.lock" : `daemon-${namespace}.lock`;
}

/** Identity file leaf: `daemon.running-process.json` / `daemon-NS.running-process.json`. */
export function identityFileName(namespace: string | null): string {
  return namespace === null
    ? "daemon.running-process.json"
    : `daemon-${namespace}.running-process.json`;
}

/** Windows pipe path: `\\.\pipe\zccache-<sanitize_ipc_component(base) or "unknown">[-NS]`. */
export function pipeName(base: string, namespace: string | null): string {
  const b = sanitizeIpcComponent(base) ?? "unknown";
  return namespace === null
    ? `${PIPE_PREFIX}zccache-${b}`
    : `${PIPE_PREFIX}zccache-${b}-${namespace}`;
}

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/**
 * zccache `endpoint_for_cache_dir`. Unix: `<root>/daemon[-NS].sock` if it is
 * at most 100 UTF-8 bytes, else `/tmp/zccache-<stable_path_id(root)>-daemon[-NS].sock`.
 * Windows: `\\.\pipe\zccache-<stable_path_id(root)>[-NS]`.
 *
 * `cacheDir` is used as given (zccache passes a normalized absolute root).
 */
export function endpointForCacheDir(
  cacheDir: string,
  namespace: string | null,
  platform: Platform = "linux",
): string {
  if (isWindows(platform)) return pipeName(stablePathId(cacheDir, platform), namespace);
  const direct = joinPath(cacheDir, daemonSocketName(namespace), platform);
  if (utf8Length(direct) <= MAX_PORTABLE_UNIX_SOCKET_PATH_BYTES) return direct;
  return `/tmp/zccache-${stablePathId(cacheDir, platform)}-${daemonSocketName(namespace)}`;
}

/**
 * zccache `cache_dir_override`: `ZCCACHE_CACHE_DIR` when set and non-empty,
 * joined to `cwd` if relative, lexically normalized; else `null`.
 */
export function cacheDirOverride(
  env: EnvLike,
  platform: Platform = "linux",
  options: EndpointOptions = {},
): string | null {
  const v = envGet(env, "ZCCACHE_CACHE_DIR", platform);
  if (v === undefined || v === "") return null;
  const abs = isAbsolute(v, platform) ? v : joinPath(options.cwd ?? "", v, platform);
  return normalizeLexical(abs, platform);
}

/** zccache `dirs_fallback`: `HOME`, then `USERPROFILE` (even on Windows), else "." (normalized). */
export function homeDir(env: EnvLike, platform: Platform = "linux"): string {
  const v = envGet(env, "HOME", platform) ?? envGet(env, "USERPROFILE", platform) ?? ".";
  return normalizeLexical(v, platform);
}

/** zccache `sanitize_path_component`: unsafe chars -> `_`, at most 32 chars. */
function sanitizePathComponent(s: string): string {
  return Array.from(s).slice(0, 32).map((ch) => (isSafeComponentChar(ch) ? ch : "_")).join("");
}

/**
 * zccache `default_cache_dir` / `resolve_cache_root`: the `ZCCACHE_CACHE_DIR`
 * override, else (with `ZCCACHE_COLOCATE` non-empty and not "0", and `cwd` on
 * another volume than home) `<cwd volume>/.zccache-<home basename>-<fnv8(home)>`,
 * else `<home>/.zccache`. `home` defaults to {@link homeDir}.
 *
 * @example
 * ```ts
 * import { resolveCacheDir } from "./endpoint.ts";
 * resolveCacheDir({ HOME: "/home/alice" }); // "/home/alice/.zccache"
 * ```
 */
export function resolveCacheDir(
  env: EnvLike,
  home?: string,
  platform: Platform = "linux",
  options: EndpointOptions = {},
): string {
  const override = cacheDirOverride(env, platform, options);
  if (override !== null) return override;
  const h = home !== undefined ? normalizeLexical(home, platform) : homeDir(env, platform);
  const colocate = envGet(env, "ZCCACHE_COLOCATE", platform);
  if (colocate !== undefined && colocate !== "" && colocate !== "0" && options.cwd) {
    const homeVol = volumeRoot(h, platform);
    const cwdVol = volumeRoot(options.cwd, platform);
    const same = homeVol !== null && cwdVol !== null &&
      (isWindows(platform) ? homeVol.toLowerCase() === cwdVol.toLowerCase() : homeVol === cwdVol);
    if (homeVol !== null && cwdVol !== null && !same) {
      const base = sanitizePathComponent(fileName(h, platform) ?? "");
      const hash = fnvShortHash(
        isWindows(platform) ? h.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : h,
      );
      const stem = base === "" ? `.zccache-${hash}` : `.zccache-${base}-${hash}`;
      return normalizeLexical(joinPath(cwdVol, stem, platform), platform);
    }
  }
  return normalizeLexical(joinPath(h, ".zccache", platform), platform);
}

/**
 * zccache `default_endpoint` (1.12.2). Does NOT read `ZCCACHE_ENDPOINT`
 * (see {@link endpointFromEnv}).
 *
 * 1. `ZCCACHE_CACHE_DIR` set -> {@link endpointForCacheDir}.
 * 2. Unix: `$XDG_RUNTIME_DIR/zccache/sock[-NS]` when the variable is set,
 *    even to "" (verbatim, not normalized); else `/tmp/zccache-$USER/sock[-NS]`
 *    (`USER` unset -> `unknown`; `TMPDIR` is ignored).
 * 3. Windows: `\\.\pipe\zccache-<sanitize_ipc_component(USERNAME)>[-NS]`.
 *
 * @example
 * ```ts
 * import { defaultEndpoint } from "./endpoint.ts";
 * defaultEndpoint({ USER: "alice" }, "linux"); // "/tmp/zccache-alice/sock"
 * ```
 */
export function defaultEndpoint(
  env: EnvLike,
  platform: Platform = "linux",
  options: EndpointOptions = {},
): string {
  const ns = daemonNamespace(env, platform);
  const override = cacheDirOverride(env, platform, options);
  if (override !== null) return endpointForCacheDir(override, ns, platform);
  if (isWindows(platform)) {
    return pipeName(envGet(env, "USERNAME", platform) ?? "unknown", ns);
  }
  const runtimeDir = env["XDG_RUNTIME_DIR"];
  if (runtimeDir !== undefined) return `${runtimeDir}/zccache/${socketName(ns)}`;
  const user = env["USER"] ?? "unknown";
  return `/tmp/zccache-${user}/${socketName(ns)}`;
}

/**
 * zccache `resolve_endpoint(explicit)`: an explicit `--endpoint`, else
 * `ZCCACHE_ENDPOINT` when set (even to ""), else {@link defaultEndpoint}.
 */
export function endpointFromEnv(
  env: EnvLike,
  platform: Platform = "linux",
  options: EndpointOptions & { explicit?: string | null } = {},
): string {
  if (options.explicit !== undefined && options.explicit !== null) return options.explicit;
  const fromEnv = envGet(env, "ZCCACHE_ENDPOINT", platform);
  if (fromEnv !== undefined) return fromEnv;
  return defaultEndpoint(env, platform, options);
}

/**
 * zccache `endpoint_for_private_daemon_name(cache_dir?, name)`: namespace =
 * sanitized name (or `dev`); with a cache dir -> {@link endpointForCacheDir}
 * of the raw dir; else the default runtime/tmp/pipe location with that
 * namespace (ignoring `ZCCACHE_CACHE_DIR`).
 */
export function endpointForPrivateDaemonName(
  cacheDir: string | null,
  daemonName: string,
  env: EnvLike,
  platform: Platform = "linux",
): string {
  const ns = sanitizeDaemonNamespace(daemonName) ?? DEV_DAEMON_NAMESPACE;
  if (cacheDir !== null) return endpointForCacheDir(cacheDir, ns, platform);
  if (isWindows(platform)) return pipeName(envGet(env, "USERNAME", platform) ?? "unknown", ns);
  const runtimeDir = env["XDG_RUNTIME_DIR"];
  if (runtimeDir !== undefined) return `${runtimeDir}/zccache/${socketName(ns)}`;
  return `/tmp/zccache-${env["USER"] ?? "unknown"}/${socketName(ns)}`;
}

/**
 * zccache `lock_file_path` (1.12.2): with `ZCCACHE_CACHE_DIR`,
 * `R/daemon[-NS].lock` (also when the socket used the compact `/tmp` form);
 * Unix otherwise: beside the default endpoint (its parent directory);
 * Windows otherwise: `<default cache root>\daemon[-NS].lock`. Never moved
 * by `ZCCACHE_ENDPOINT`.
 */
export function lockFilePath(
  env: EnvLike,
  platform: Platform = "linux",
  options: EndpointOptions = {},
): string {
  const ns = daemonNamespace(env, platform);
  const override = cacheDirOverride(env, platform, options);
  if (override !== null) {
    return normalizeLexical(joinPath(override, lockFileName(ns), platform), platform);
  }
  if (isWindows(platform)) {
    const root = resolveCacheDir(env, options.home, platform, options);
    return normalizeLexical(joinPath(root, lockFileName(ns), platform), platform);
  }
  const dir = normalizedParent(defaultEndpoint(env, platform, options), platform) ?? "";
  return normalizeLexical(joinPath(dir, lockFileName(ns), platform), platform);
}

/**
 * zccache `backend_identity_path`: `R/daemon[-NS].running-process.json` where
 * `R` is the override or the default cache root (`~/.zccache`); on Unix
 * without an override this is NOT beside the lock file.
 */
export function identityFilePath(
  env: EnvLike,
  platform: Platform = "linux",
  options: EndpointOptions = {},
): string {
  const ns = daemonNamespace(env, platform);
  const root = resolveCacheDir(env, options.home, platform, options);
  return normalizeLexical(joinPath(root, identityFileName(ns), platform), platform);
}

/** The running-process `Endpoint` tuple for a zccache endpoint. */
export interface RunningProcessEndpoint {
  /** `"default"` or the sanitized namespace. */
  namespaceId: string;
  /** Unix: the endpoint verbatim; Windows: the endpoint without `\\.\pipe\`. */
  path: string;
}

/** zccache `running_process_endpoint(endpoint)`. */
export function runningProcessEndpoint(
  endpoint: string,
  env: EnvLike,
  platform: Platform = "linux",
): RunningProcessEndpoint {
  const path = isWindows(platform) && endpoint.startsWith(PIPE_PREFIX)
    ? endpoint.slice(PIPE_PREFIX.length)
    : endpoint;
  return { namespaceId: daemonNamespaceLabel(env, platform), path };
}

/** True if `endpoint` names a Windows named pipe (`\\.\pipe\...`, either slash). */
export function isPipeEndpoint(endpoint: string): boolean {
  return /^[\\/][\\/]\.[\\/]pipe[\\/]/i.test(endpoint);
}

/**
 * The directory that must exist before a Unix socket can be bound
 * (zccache's `create_dir_all(parent)`), `null` for pipes or a bare name.
 */
export function socketDirectory(endpoint: string, platform: Platform = "linux"): string | null {
  if (isPipeEndpoint(endpoint)) return null;
  const parent = normalizedParent(endpoint, platform);
  return parent === null || parent === "" ? null : parent;
}
