/**
 * `ZCCACHE_DAEMON_WIRE`: which lane a client uses.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/wire_prost.rs
 * (`ClientWireSelection::from_env_value`, `full_family_wire_format_from_env`).
 * The value is `trim()`med (Unicode `White_Space`), ASCII-lowercased and
 * matched exactly:
 *
 * | value                             | selection |
 * |-----------------------------------|-----------|
 * | unset, `""`, `auto`               | `auto`    |
 * | `bincode`, `bincode-v15`, `v15`   | `bincode` |
 * | `prost`, `prost-v16`, `v16`       | `prost`   |
 * | `frame`, `frame-v1`               | `frame`   |
 *
 * @module
 */
import { ZccacheError } from "./errors.ts";
import { asciiLowercase, rustTrim } from "./rust_str.ts";

/** A client's wire selection. */
export type DaemonWire = "auto" | "bincode" | "prost" | "frame";

// Characters Rust's `{:?}` on a str escapes as \u{..}: not printable
// (Cc Cf Cs Co Cn Zl Zp, Zs except ' ') or grapheme-extending.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}\p{Grapheme_Extend}]/u;

/** A string in Rust `Debug` quoting (`"a\"b\n"`). */
export function rustDebugString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\0") out += "\\0";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch !== " " && (UNPRINTABLE.test(ch) || (cp >= 0xd800 && cp <= 0xdfff))) {
      out += `\\u{${cp.toString(16)}}`;
    } else out += ch;
  }
  return out + '"';
}

/**
 * Parse `ZCCACHE_DAEMON_WIRE` for control requests (Ping, Status, Shutdown,
 * Clear, ReleaseWorktreeHandles). An invalid value throws `ZccacheError`
 * code `Endpoint` with zccache's text.
 *
 * @example
 * ```ts
 * import { parseDaemonWire } from "./wire_env.ts";
 * if (parseDaemonWire(undefined) !== "auto") throw new Error();
 * if (parseDaemonWire("  V16\n") !== "prost") throw new Error();
 * ```
 */
export function parseDaemonWire(value: string | undefined): DaemonWire {
  if (value === undefined) return "auto";
  const v = asciiLowercase(rustTrim(value));
  switch (v) {
    case "":
    case "auto":
      return "auto";
    case "bincode":
    case "bincode-v15":
    case "v15":
      return "bincode";
    case "prost":
    case "prost-v16":
    case "v16":
      return "prost";
    case "frame":
    case "frame-v1":
      return "frame";
  }
  throw new ZccacheError(
    "Endpoint",
    `invalid ZCCACHE_DAEMON_WIRE=${rustDebugString(v)}; expected auto, bincode, prost, or frame`,
  );
}

/**
 * The lane of non-control requests (compile, session, fingerprint, lookup,
 * store, ...): `prost` and `frame` as parsed; unset, `auto`, `bincode` and
 * even invalid values all mean bincode, with no fallback.
 *
 * @example
 * ```ts
 * import { fullFamilyWire } from "./wire_env.ts";
 * if (fullFamilyWire("json") !== "bincode") throw new Error();
 * ```
 */
export function fullFamilyWire(value: string | undefined): "bincode" | "prost" | "frame" {
  let w: DaemonWire;
  try {
    w = parseDaemonWire(value);
  } catch {
    return "bincode";
  }
  return w === "auto" ? "bincode" : w;
}

/**
 * zccache `control_wire_mismatch_message`: true when a daemon's `Error` text
 * says it rejected the wire version (ASCII-lowercased, as Rust's
 * `to_ascii_lowercase`): it contains `protocol version mismatch`, or
 * `protocol_version`, or both `expected v15` and `received v16`.
 *
 * @example
 * ```ts
 * import { isWireMismatchMessage } from "./wire_env.ts";
 * if (!isWireMismatchMessage("Protocol Version Mismatch: ...")) throw new Error();
 * ```
 */
export function isWireMismatchMessage(message: string): boolean {
  const m = message.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  return m.includes("protocol version mismatch") || m.includes("protocol_version") ||
    (m.includes("expected v15") && m.includes("received v16"));
}
