/**
 * The one source of truth for every setting: the daemon's `ZCCACHE_*`
 * variables and the keys of the config file `<cache dir>/zccache.conf`
 * (ccache-style `key = value` lines, `#` comments). The environment
 * overrides the file; the file overrides the default ({@link SETTINGS}).
 *
 * A bad value never stops anything: it gives one warning line naming the
 * variable (or key), the value and the default used instead.
 *
 * | variable                        | accepted                                   | default        |
 * |---------------------------------|--------------------------------------------|----------------|
 * | `ZCCACHE_MAX_SIZE`              | bytes, or a number with K/M/G/T (1024-based; `Ki`/`KB`/`KiB` alike), e.g. `1.5G`, `500M`, `10Gi` | engine default (10 GiB) |
 * | `ZCCACHE_MAX_PARALLEL_COMPILES` | integer >= 1                               | cores          |
 * | `ZCCACHE_IDLE_TIMEOUT_SECS`     | integer >= 0 (0 = never)                   | 3600           |
 *
 * @module
 */

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/** An environment map. */
export type EnvMap = Record<string, string | undefined>;

/** Parsed settings; `undefined` = use the default. */
export interface DaemonEnvConfig {
  /** Byte limit; `0n` = unlimited. */
  maxSize: bigint | undefined;
  maxParallel: number | undefined;
  idleTimeoutSecs: number | undefined;
  /** Store artifacts zstd-compressed (default on). */
  compression: boolean | undefined;
  /** zstd level 1..19 (default {@link DEFAULT_COMPRESSION_LEVEL}). */
  compressionLevel: number | undefined;
  /** Re-hash every stored object on every hit (default: once per file, then by stat). */
  verifyHits: boolean | undefined;
  /** Per-request log (`ZCCACHE_LOG` / `log_file`), or undefined for none. */
  logFile: string | undefined;
  /** Shared remote tiers (`ZCCACHE_REMOTE` / `remote_storage`), in order. */
  remote: string[] | undefined;
  /** Read the remote, never write it. */
  remoteReadOnly: boolean | undefined;
  /** Per-operation deadline of the remote (ms). */
  remoteTimeoutMs: number | undefined;
  /** Seconds a Redis entry lives (0 = no expiry). */
  remoteTtlSecs: number | undefined;
  /** One line per rejected variable (no trailing newline). */
  warnings: string[];
}

/** Name of the config file in the cache root. */
export const CONFIG_FILE_NAME = "zccache.conf";

/** Default zstd level (ccache's default is 1; 3 is zstd's own default). */
export const DEFAULT_COMPRESSION_LEVEL = 3;

/** One setting: its file key, its variable, how it parses, its default. */
export interface Setting {
  /** Key in `zccache.conf` (null: environment only). */
  key: string | null;
  /** Environment variable. */
  env: string;
  /** The default, as shown by `zccache config`. */
  defaultText: string;
  /** What a valid value looks like (for the warning line). */
  expected: string;
  /** Parse a value; null when invalid. */
  parse(text: string): unknown | null;
  /** What the setting does. */
  description: string;
  /** Shown redacted by `zccache config` (credentials). */
  secret?: boolean;
}

/** `a,b` list of `redis://`, `http://` or `https://` URLs; null when one is not. */
function parseRemoteList(t: string): string[] | null {
  const urls = t.split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (urls.length === 0) return null;
  for (const u of urls) {
    try {
      if (!["redis:", "http:", "https:"].includes(new URL(u).protocol)) return null;
    } catch {
      return null;
    }
  }
  return urls;
}

/** A setting's value as `zccache config` may print it (credentials hidden). */
export function displayValue(s: Setting, text: string): string {
  if (s.secret === true) return text === s.defaultText ? text : "***";
  return text.replace(/([a-z]+:\/\/)[^@/,]*@/gi, "$1***@");
}

function parseBool(t: string): boolean | null {
  const v = t.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  return null;
}

function parseIntRange(min: number, max: number): (t: string) => number | null {
  return (t) => {
    const v = t.trim();
    if (!/^\d+$/.test(v)) return null;
    const n = Number(v);
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
  };
}

/**
 * Every setting. Settings with a file key are read by the daemon from the
 * environment first, then `zccache.conf`; the others are environment-only
 * (read by the client or per request).
 */
export const SETTINGS: readonly Setting[] = [
  {
    key: "max_size",
    env: "ZCCACHE_MAX_SIZE",
    defaultText: "10G",
    expected: "a size such as 10G, 500M, 1.5Gi, bytes, or 0 = unlimited",
    parse: parseSize,
    description: "size limit of the cache (LRU eviction); 0 = unlimited",
  },
  {
    key: "max_parallel_compiles",
    env: "ZCCACHE_MAX_PARALLEL_COMPILES",
    defaultText: "the number of cores",
    expected: "an integer from 1",
    parse: parseIntRange(1, 65536),
    description: "concurrent compiler processes",
  },
  {
    key: "idle_timeout_secs",
    env: "ZCCACHE_IDLE_TIMEOUT_SECS",
    defaultText: "3600",
    expected: "seconds, 0 = never",
    parse: parseIntRange(0, Number.MAX_SAFE_INTEGER),
    description: "the daemon stops after this long without requests",
  },
  {
    key: "compression",
    env: "ZCCACHE_COMPRESSION",
    defaultText: "true",
    expected: "true or false",
    parse: parseBool,
    description: "store artifacts zstd-compressed",
  },
  {
    key: "compression_level",
    env: "ZCCACHE_COMPRESSION_LEVEL",
    defaultText: String(DEFAULT_COMPRESSION_LEVEL),
    expected: "an integer from 1 to 19",
    parse: parseIntRange(1, 19),
    description: "zstd level of new artifacts",
  },
  {
    key: "verify_hits",
    env: "ZCCACHE_VERIFY_HITS",
    defaultText: "false",
    expected: "true or false",
    parse: parseBool,
    description: "re-hash each stored object on every hit (else once, then trusted by stat)",
  },
  {
    key: "log_file",
    env: "ZCCACHE_LOG",
    defaultText: "(none)",
    expected: "a file path",
    parse: (t) => (t.trim() === "" ? null : t.trim()),
    description: "one line per request: hit, miss and why, non-cacheable and why",
  },
  {
    key: "remote_storage",
    env: "ZCCACHE_REMOTE",
    defaultText: "(none)",
    expected: "redis://[user:pass@]host:port[/db] or http(s)://host/path, comma-separated",
    parse: parseRemoteList,
    description: "shared cache behind the local one (Redis, HTTP/WebDAV)",
  },
  {
    key: "remote_read_only",
    env: "ZCCACHE_REMOTE_READONLY",
    defaultText: "false",
    expected: "true or false",
    parse: parseBool,
    description: "read the remote, never write it (untrusted consumers)",
  },
  {
    key: "remote_timeout_ms",
    env: "ZCCACHE_REMOTE_TIMEOUT_MS",
    defaultText: "2000",
    expected: "milliseconds from 1",
    parse: parseIntRange(1, 600_000),
    description: "deadline of one remote operation; a fault backs off (local-only)",
  },
  {
    key: "remote_ttl_secs",
    env: "ZCCACHE_REMOTE_TTL_SECS",
    defaultText: "0",
    expected: "seconds, 0 = no expiry",
    parse: parseIntRange(0, Number.MAX_SAFE_INTEGER),
    description: "expiry of what this daemon writes to a Redis remote",
  },
  {
    key: null,
    env: "ZCCACHE_REMOTE_TOKEN",
    defaultText: "(none)",
    expected: "a token",
    parse: (t) => t.trim(),
    description: "bearer token for an HTTP remote (basic auth: user:pass@ in the URL)",
    secret: true,
  },
  {
    key: null,
    env: "ZCCACHE_REMOTE_TLS_CA",
    defaultText: "(system roots)",
    expected: "a PEM file",
    parse: (t) => t.trim(),
    description: "CA certificate(s) a rediss:// remote's certificate is checked against",
  },
  {
    key: null,
    env: "ZCCACHE_CACHE_DIR",
    defaultText: "~/.zccache",
    expected: "a directory",
    parse: (t) => t,
    description: "cache root (holds zccache.conf and zccache-ts/)",
  },
  {
    key: null,
    env: "ZCCACHE_DISABLE",
    defaultText: "false",
    expected: "1 or true",
    parse: (t) => t,
    description: "bypass the cache (read by the wrapper)",
  },
  {
    key: null,
    env: "ZCCACHE_BASEDIR",
    defaultText: "(none)",
    expected: "a directory",
    parse: (t) => t,
    description: "rewrite absolute paths under it relative to the cwd (per request)",
  },
  {
    key: null,
    env: "ZCCACHE_SESSION_ID",
    defaultText: "(none)",
    expected: "a session id",
    parse: (t) => t,
    description: "attribute wrapped compiles to this session (from session-start)",
  },
  {
    key: null,
    env: "ZCCACHE_ENDPOINT",
    defaultText: "<cache dir>/daemon.sock",
    expected: "a socket path",
    parse: (t) => t,
    description: "daemon endpoint",
  },
  {
    key: null,
    env: "ZCCACHE_DAEMON_NAMESPACE",
    defaultText: "(none)",
    expected: "a name",
    parse: (t) => t,
    description: "separate daemon per namespace",
  },
  {
    key: null,
    env: "ZCCACHE_DAEMON_WIRE",
    defaultText: "auto",
    expected: "auto, bincode, prost or frame",
    parse: (t) => t,
    description: "wire the client speaks",
  },
  {
    key: null,
    env: "ZCCACHE_NO_SPAWN",
    defaultText: "false",
    expected: "1 or true",
    parse: (t) => t,
    description: "never auto-start a daemon",
  },
];

/** Where a setting's value came from. */
export type SettingOrigin = "default" | "file" | "environment";

/** One resolved setting. */
export interface ResolvedSetting {
  setting: Setting;
  /** The text in effect (the default's text when origin is `default`). */
  text: string;
  /** The parsed value, or undefined for the default. */
  value: unknown;
  origin: SettingOrigin;
}

/** Parse `key = value` lines; `#` starts a comment line. Later lines win. */
export function parseConfigText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** Path of the config file under a cache root. */
export function configPath(cacheRoot: string): string {
  return join(cacheRoot, CONFIG_FILE_NAME);
}

/** The config file's `key = value` map (empty when absent or unreadable). */
export function readConfigFile(cacheRoot: string): Map<string, string> {
  try {
    return parseConfigText(readFileSync(configPath(cacheRoot), "utf8"));
  } catch {
    return new Map();
  }
}

/** The setting with this file key or variable name, or undefined. */
export function findSetting(name: string): Setting | undefined {
  const n = name.trim();
  return SETTINGS.find((s) => s.key === n || s.env === n || s.env === n.toUpperCase());
}

/**
 * Set `key = value` in the config file (atomically; other lines and
 * comments kept). Throws an Error with a one-line message when the key is
 * unknown or the value invalid.
 */
export function setConfigValue(cacheRoot: string, name: string, value: string): Setting {
  const s = findSetting(name);
  if (s === undefined || s.key === null) {
    throw new Error(
      `unknown config key ${JSON.stringify(name)} (keys: ${
        SETTINGS.filter((x) => x.key !== null).map((x) => x.key).join(", ")
      })`,
    );
  }
  if (s.parse(value) === null) {
    throw new Error(`invalid ${s.key} = ${JSON.stringify(value)} (expected ${s.expected})`);
  }
  const path = configPath(cacheRoot);
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // new file
  }
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  let found = false;
  const out = lines.map((l) => {
    const eq = l.indexOf("=");
    if (!l.trim().startsWith("#") && eq > 0 && l.slice(0, eq).trim() === s.key) {
      found = true;
      return `${s.key} = ${value.trim()}`;
    }
    return l;
  });
  if (!found) out.push(`${s.key} = ${value.trim()}`);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, out.join("\n") + "\n", { mode: 0o644 });
  renameSync(tmp, path);
  return s;
}

/**
 * Every setting with its value and origin (environment over file over
 * default). Invalid values give one warning line each and the default.
 */
export function resolveSettings(
  env: EnvMap,
  file: Map<string, string>,
  prefix = "zccache daemon",
): { settings: ResolvedSetting[]; warnings: string[] } {
  const warnings: string[] = [];
  const settings: ResolvedSetting[] = [];
  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    const fromFile = s.key === null ? undefined : file.get(s.key);
    let r: ResolvedSetting = {
      setting: s,
      text: s.defaultText,
      value: undefined,
      origin: "default",
    };
    if (fromEnv !== undefined && fromEnv.trim() !== "") {
      const v = s.parse(fromEnv);
      if (v === null) {
        warnings.push(bad(prefix, s.env, fromEnv, s.expected, s.defaultText));
      } else r = { setting: s, text: fromEnv, value: v, origin: "environment" };
    }
    if (r.origin === "default" && fromFile !== undefined && fromFile !== "") {
      const v = s.parse(fromFile);
      if (v === null) {
        warnings.push(
          `${prefix}: invalid ${s.key} = ${JSON.stringify(fromFile)} in ${CONFIG_FILE_NAME} ` +
            `(expected ${s.expected}); using ${s.defaultText}`,
        );
      } else r = { setting: s, text: fromFile, value: v, origin: "file" };
    }
    settings.push(r);
  }
  for (const k of file.keys()) {
    if (!SETTINGS.some((s) => s.key === k)) {
      warnings.push(`${prefix}: unknown key ${JSON.stringify(k)} in ${CONFIG_FILE_NAME} ignored`);
    }
  }
  return { settings, warnings };
}

const UNITS: Record<string, number> = { "": 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

/**
 * Parse a size: plain bytes (`1048576`), or a decimal number and a unit
 * letter K/M/G/T/P, optionally followed by `i`, `B` or `iB`, all 1024-based
 * (`1.5G`, `500M`, `10Gi`, `64KiB`). Returns `null` when not a size.
 *
 * @example
 * ```ts
 * import { parseSize } from "./config_env.ts";
 * parseSize("1.5G"); // 1610612736n
 * parseSize("abc"); // null
 * ```
 */
export function parseSize(text: string): bigint | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b|i)?$/i.exec(text.trim());
  if (m === null) return null;
  const exp = UNITS[m[2].toUpperCase()];
  const [int, frac = ""] = m[1].split(".");
  // Exact decimal arithmetic: value = (int.frac) * 1024^exp, floored.
  const scale = 10n ** BigInt(frac.length);
  const v = (BigInt(int + frac) * 1024n ** BigInt(exp)) / scale;
  if (exp === 0 && frac !== "") return null; // fractional bytes
  return v;
}

function bad(
  prefix: string,
  name: string,
  value: string,
  expected: string,
  fallback: string,
): string {
  return `${prefix}: invalid ${name}=${
    JSON.stringify(value)
  } (expected ${expected}); using ${fallback}`;
}

/**
 * Read the daemon's settings from `env` (never from `process.env`) and the
 * parsed config file `file` (default: none).
 *
 * @example
 * ```ts
 * import { daemonEnvConfig } from "./config_env.ts";
 * const c = daemonEnvConfig({ ZCCACHE_MAX_SIZE: "500M", ZCCACHE_MAX_PARALLEL_COMPILES: "0" });
 * // c.maxSize === 524288000n, c.maxParallel === undefined, c.warnings.length === 1
 * ```
 */
export function daemonEnvConfig(
  env: EnvMap,
  defaultIdleSecs = 3600,
  file: Map<string, string> = new Map(),
): DaemonEnvConfig {
  const { settings, warnings } = resolveSettings(env, file);
  const get = (name: string): unknown =>
    settings.find((r) => r.setting.env === name)?.value ?? undefined;
  const fixed = warnings.map((w) =>
    w.includes("ZCCACHE_IDLE_TIMEOUT_SECS=")
      ? w.replace(/using 3600$/, `using ${defaultIdleSecs} s`)
      : w
  );
  return {
    maxSize: get("ZCCACHE_MAX_SIZE") as bigint | undefined,
    maxParallel: get("ZCCACHE_MAX_PARALLEL_COMPILES") as number | undefined,
    idleTimeoutSecs: get("ZCCACHE_IDLE_TIMEOUT_SECS") as number | undefined,
    compression: get("ZCCACHE_COMPRESSION") as boolean | undefined,
    compressionLevel: get("ZCCACHE_COMPRESSION_LEVEL") as number | undefined,
    verifyHits: get("ZCCACHE_VERIFY_HITS") as boolean | undefined,
    logFile: get("ZCCACHE_LOG") as string | undefined,
    remote: get("ZCCACHE_REMOTE") as string[] | undefined,
    remoteReadOnly: get("ZCCACHE_REMOTE_READONLY") as boolean | undefined,
    remoteTimeoutMs: get("ZCCACHE_REMOTE_TIMEOUT_MS") as number | undefined,
    remoteTtlSecs: get("ZCCACHE_REMOTE_TTL_SECS") as number | undefined,
    warnings: fixed,
  };
}
