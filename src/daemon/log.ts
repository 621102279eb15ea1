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
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";

/** Field values a log line can carry. */
export type LogValue = string | number | bigint | boolean | null | undefined;

/** Append-only daemon log. A failed write never throws. */
export class DaemonLog {
  readonly path: string | null;
  readonly #mirror: ((line: string) => void) | null;

  /**
   * @param path File to append to (`null` = no file).
   * @param mirror Optional sink that also receives every line (foreground mode: stderr).
   */
  constructor(path: string | null, mirror: ((line: string) => void) | null = null) {
    this.path = path;
    this.#mirror = mirror;
    if (path !== null) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch {
        // Reported by the first failed append (which is swallowed too).
      }
    }
  }

  /** Write one event line. */
  event(event: string, fields: Record<string, LogValue> = {}): void {
    const parts = [new Date().toISOString(), String(process.pid), event];
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      parts.push(`${k}=${formatValue(v)}`);
    }
    const line = parts.join(" ");
    if (this.#mirror !== null) this.#mirror(line);
    if (this.path === null) return;
    try {
      appendFileSync(this.path, line + "\n", { mode: 0o600 });
    } catch {
      // Logging must never take the daemon down.
    }
  }

  /** Write an `error` line with a message and optional context. */
  error(context: string, err: unknown, fields: Record<string, LogValue> = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    this.event("error", { context, ...fields, message });
  }
}

function formatValue(v: LogValue): string {
  const s = String(v);
  return /^[^\s"=]*$/.test(s) && s !== "" ? s : JSON.stringify(s);
}
