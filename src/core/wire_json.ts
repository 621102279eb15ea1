/**
 * The JSON spelling of wire values, in one place: field names as zccache's
 * Rust (serde) names them, u64 as a number up to 2^53 - 1 and a decimal
 * string above, bytes as lowercase hex. `json_value.ts` (the golden
 * vectors and `zccache wire`) walks the schema with these rules;
 * {@link toWireJson} applies them to any plain value (the CLI's `--json`
 * of `DaemonStatus`, `SessionStats` and extras), without loading the schema.
 *
 * @module
 */
import { toHex } from "./bytes.ts";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An integer as the vectors write it: a number when it is a safe integer,
 * else a decimal string.
 *
 * @example
 * ```ts
 * import { integerToJson } from "./wire_json.ts";
 * if (integerToJson(3n) !== 3 || integerToJson(2n ** 64n - 1n) !== "18446744073709551615") {
 *   throw new Error();
 * }
 * ```
 */
export function integerToJson(v: bigint): number | string {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

/**
 * A domain (camelCase) key as the Rust field name: the inverse of the
 * schema's `camelCase` (`cacheHits` -> `cache_hits`).
 */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/**
 * A domain value as wire-named JSON: camelCase keys become the Rust
 * snake_case names, `bigint` becomes {@link integerToJson}, bytes become
 * lowercase hex; arrays and objects recursively, everything else as is.
 *
 * @example
 * ```ts
 * import { toWireJson } from "./wire_json.ts";
 * const j = JSON.stringify(toWireJson({ cacheHits: 3n, raw: new Uint8Array([0, 255]) }));
 * if (j !== '{"cache_hits":3,"raw":"00ff"}') throw new Error(j);
 * ```
 */
export function toWireJson(value: unknown): unknown {
  if (typeof value === "bigint") return integerToJson(value);
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(toWireJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[snakeCase(k)] = toWireJson(v);
    return out;
  }
  return value;
}
