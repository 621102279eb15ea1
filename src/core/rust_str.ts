/**
 * Rust `str` helpers whose JavaScript look-alikes differ: `str::trim` and
 * `str::to_ascii_lowercase`, for the places where zccache trims or
 * lowercases user input (`ZCCACHE_DAEMON_WIRE`, daemon namespaces, IPC
 * components).
 *
 * @module
 */

// Rust `char::is_whitespace` (Unicode White_Space). Differs from JS `trim()`:
// U+0085 is whitespace, U+FEFF is not.
const WS = "\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f" +
  "\\u205f\\u3000";
const TRIM = new RegExp(`^[${WS}]+|[${WS}]+$`, "g");

/**
 * Rust `str::trim`: strips Unicode `White_Space` (U+0085 included, U+FEFF
 * kept, unlike JavaScript's `trim`).
 *
 * @example
 * ```ts
 * import { rustTrim } from "./rust_str.ts";
 * if (rustTrim("\u0085 prost \u0085") !== "prost") throw new Error();
 * if (rustTrim("\ufeffprost") !== "\ufeffprost") throw new Error();
 * ```
 */
export function rustTrim(s: string): string {
  return s.replace(TRIM, "");
}

/** Rust `str::to_ascii_lowercase`: only `A`-`Z` change. */
export function asciiLowercase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
