/**
 * The daemon's own text log: `<project dir>/daemon.log`, one line per
 * lifecycle event and per error. Appends are synchronous (`appendFileSync`),
 * so a line is on disk before the event it describes has consequences (an
 * exit, a closed socket); events are rare, so the cost does not matter.
 *
 * Line format: `<ISO-8601 UTC> <pid> <event> key=value key="value with spaces"`.
 *
 * This is zccache-ts's own file; the Rust daemon's JSONL
 * `logs/daemon-lifecycle.log` in the shared cache root is never written.
 *
 * @module
 */
import { closeSync, fstatSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { openPrivateFile, writeAll } from "./private_fs.ts";

/** Field values a log line can carry. */
export type LogValue = string | number | bigint | boolean | null | undefined;

/** Rotate `daemon.log` to `daemon.log.1` once it reaches this size (10 MiB). */
export const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/** Options of {@link DaemonLog}. */
export interface DaemonLogOptions {
  /** Size at which the file is rotated to `<path>.1` (default {@link LOG_ROTATE_BYTES}). */
  rotateBytes?: number;
}

/**
 * Append-only daemon log. A failed write never throws.
 *
 * The file is created 0600 and opened with `O_NOFOLLOW` on every append: a
 * symlink planted in its place is never written through (the line is
 * dropped). At {@link LOG_ROTATE_BYTES} it is renamed to `daemon.log.1`
 * (replacing the previous one), so the log never holds more than two files.
 * Every value is escaped ({@link escapeLogText}) before it is written.
 */
export class DaemonLog {
  readonly path: string | null;
  readonly #mirror: ((line: string) => void) | null;
  readonly #rotateBytes: number;

  /**
   * @param path File to append to (`null` = no file).
   * @param mirror Optional sink that also receives every line (foreground mode: stderr).
   */
  constructor(
    path: string | null,
    mirror: ((line: string) => void) | null = null,
    options: DaemonLogOptions = {},
  ) {
    this.path = path;
    this.#mirror = mirror;
    this.#rotateBytes = options.rotateBytes ?? LOG_ROTATE_BYTES;
    if (path !== null) {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch {
        // Reported by the first failed append (which is swallowed too).
      }
    }
  }

  /** Write one event line. */
  event(event: string, fields: Record<string, LogValue> = {}): void {
    const parts = [new Date().toISOString(), String(process.pid), escapeLogText(event)];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      parts.push(`${escapeLogText(k)}=${formatValue(v)}`);
    }
    const line = parts.join(" ");
    if (this.#mirror !== null) this.#mirror(line);
    if (this.path === null) return;
    try {
      this.#append(line + "\n");
    } catch {
      // Logging must never take the daemon down.
    }
  }

  #append(text: string): void {
    const path = this.path!;
    let fd = openPrivateFile(path, true);
    try {
      if (fstatSync(fd).size >= this.#rotateBytes) {
        closeSync(fd);
        fd = -1;
        renameSync(path, path + ".1");
        fd = openPrivateFile(path, true);
      }
      writeAll(fd, text);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /** Write an `error` line with a message and optional context. */
  error(context: string, err: unknown, fields: Record<string, LogValue> = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    this.event("error", { context, ...fields, message });
  }
}

/**
 * Make text safe for a one-line log: backslash as `\\`, control
 * characters (C0, DEL, C1) as `\xNN`, line/paragraph separators and bidi
 * controls as `\u{NNNN}`, and lone surrogates as `\u{DNNN}`; everything
 * else is kept.
 *
 * @example
 * ```ts
 * import { escapeLogText } from "./log.ts";
 * escapeLogText("a\nb\x1b[31m"); // "a\\x0ab\\x1b[31m"
 * ```
 */
export function escapeLogText(s: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/.test(s)) {
    return s;
  }
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (
      c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
    ) {
      out += "\\u{" + c.toString(16) + "}";
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += "\\u{" + c.toString(16) + "}";
    } else if (c >= 0xd800 && c <= 0xdfff) out += "\\u{" + c.toString(16) + "}";
    else out += s[i];
  }
  return out;
}

function formatValue(v: LogValue): string {
  const s = escapeLogText(String(v));
  return /^[^\s"=]*$/.test(s) && s !== "" ? s : `"${s.replaceAll('"', '\\"')}"`;
}
