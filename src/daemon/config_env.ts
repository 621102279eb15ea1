/**
 * The daemon's `ZCCACHE_*` settings, parsed from an injected environment.
 *
 * A bad value never stops the daemon: it gives one warning line naming the
 * variable, the value and the default used instead.
 *
 * | variable                        | accepted                                   | default        |
 * |---------------------------------|--------------------------------------------|----------------|
 * | `ZCCACHE_MAX_SIZE`              | bytes, or a number with K/M/G/T (1024-based; `Ki`/`KB`/`KiB` alike), e.g. `1.5G`, `500M`, `10Gi` | engine default (10 GiB) |
 * | `ZCCACHE_MAX_PARALLEL_COMPILES` | integer >= 1                               | cores          |
 * | `ZCCACHE_IDLE_TIMEOUT_SECS`     | integer >= 0 (0 = never)                   | 3600           |
 *
 * @module
 */

/** An environment map. */
export type EnvMap = Record<string, string | undefined>;

/** Parsed settings; `undefined` = use the default. */
export interface DaemonEnvConfig {
  maxSize: bigint | undefined;
  maxParallel: number | undefined;
  idleTimeoutSecs: number | undefined;
  /** One line per rejected variable (no trailing newline). */
  warnings: string[];
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

function bad(name: string, value: string, expected: string, fallback: string): string {
  return `zccache daemon: invalid ${name}=${
    JSON.stringify(value)
  } (expected ${expected}); using ${fallback}`;
}

/**
 * Read the daemon's `ZCCACHE_*` settings from `env` (never from
 * `process.env`).
 *
 * @example
 * ```ts
 * import { daemonEnvConfig } from "./config_env.ts";
 * const c = daemonEnvConfig({ ZCCACHE_MAX_SIZE: "500M", ZCCACHE_MAX_PARALLEL_COMPILES: "0" });
 * // c.maxSize === 524288000n, c.maxParallel === undefined, c.warnings.length === 1
 * ```
 */
export function daemonEnvConfig(env: EnvMap, defaultIdleSecs = 3600): DaemonEnvConfig {
  const warnings: string[] = [];
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v;
  };

  let maxSize: bigint | undefined;
  const size = raw("ZCCACHE_MAX_SIZE");
  if (size !== undefined) {
    const v = parseSize(size);
    if (v === null || v === 0n) {
      warnings.push(
        bad("ZCCACHE_MAX_SIZE", size, "a size such as 10G, 500M, 1.5Gi or bytes", "10 GiB"),
      );
    } else maxSize = v;
  }

  let maxParallel: number | undefined;
  const par = raw("ZCCACHE_MAX_PARALLEL_COMPILES");
  if (par !== undefined) {
    const t = par.trim();
    if (/^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= 65536) maxParallel = Number(t);
    else {
      warnings.push(
        bad("ZCCACHE_MAX_PARALLEL_COMPILES", par, "an integer from 1", "the number of cores"),
      );
    }
  }

  let idleTimeoutSecs: number | undefined;
  const idle = raw("ZCCACHE_IDLE_TIMEOUT_SECS");
  if (idle !== undefined) {
    const t = idle.trim();
    if (/^\d+$/.test(t) && Number.isSafeInteger(Number(t))) idleTimeoutSecs = Number(t);
    else {
      warnings.push(
        bad(
          "ZCCACHE_IDLE_TIMEOUT_SECS",
          idle,
          "seconds, 0 = never",
          `${defaultIdleSecs} s`,
        ),
      );
    }
  }
  return { maxSize, maxParallel, idleTimeoutSecs, warnings };
}
