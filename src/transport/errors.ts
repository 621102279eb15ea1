/**
 * Map the OS errors of every runtime onto {@link ZccacheError} codes.
 *
 * zccache 1.12.2 treats `NotFound`, `ConnectionRefused` and `BrokenPipe` as
 * "daemon unreachable" (zccache@3eae627:crates/zccache/src/cli/client.rs
 * `is_daemon_unreachable_err`); we add `ECONNRESET` (the peer vanished
 * mid-exchange), which a wrapper must treat the same way. Timeouts are their
 * own code; anything else is "Io" with the original error as `cause`.
 *
 * Error shapes per runtime: Node and Bun set `code` ("ENOENT",
 * "ECONNREFUSED", ...); Deno's native errors are classes named `NotFound`,
 * `ConnectionRefused`, `BrokenPipe`, ... and usually carry `code` too.
 *
 * @module
 */

import { deadline } from "../core/deadline.ts";
import { isZccacheError, ZccacheError } from "../core/errors.ts";

/** OS error codes and Deno error names that mean "nobody is serving this endpoint". */
const UNREACHABLE = new Set([
  "ENOENT",
  "NotFound",
  "ECONNREFUSED",
  "ConnectionRefused",
  "EPIPE",
  "BrokenPipe",
  "ECONNRESET",
  "ConnectionReset",
  "ECONNABORTED",
  "ConnectionAborted",
  "ENOTSOCK",
  "ENOTCONN",
  "NotConnected",
]);

/** Codes and names that mean "try again later" (a full accept backlog, a busy pipe). */
const BUSY = new Set(["EAGAIN", "WouldBlock", "EBUSY", "ERROR_PIPE_BUSY"]);

/** Codes and names that mean a timeout. */
const TIMED_OUT = new Set(["ETIMEDOUT", "TimedOut"]);

/**
 * The OS error code (`"ENOENT"`, `"EADDRINUSE"`, ...) or Deno error class
 * name (`"NotFound"`, `"AddrInUse"`, ...) of `e`, looking through
 * `ZccacheError` causes; `undefined` if there is none.
 *
 * @example
 * ```ts
 * import { osErrorCode } from "./errors.ts";
 * const e = Object.assign(new Error("in use"), { code: "EADDRINUSE" });
 * osErrorCode(e); // "EADDRINUSE"
 * ```
 */
export function osErrorCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    if (typeof cur !== "object") return undefined;
    const r = cur as { code?: unknown; name?: unknown; cause?: unknown };
    if (!isZccacheError(cur)) {
      if (typeof r.code === "string" && r.code !== "") return r.code;
      if (typeof r.name === "string" && r.name !== "" && !r.name.endsWith("Error")) {
        return r.name;
      }
    }
    cur = r.cause;
  }
  return undefined;
}

/** Every code/name `e` carries (both `code` and Deno's class `name`). */
function codesOf(e: unknown): string[] {
  if (typeof e !== "object" || e === null) return [];
  const r = e as { code?: unknown; name?: unknown };
  const out: string[] = [];
  if (typeof r.code === "string") out.push(r.code);
  if (typeof r.name === "string") out.push(r.name);
  return out;
}

/** True if `e` says the endpoint is busy (full backlog / all pipe instances busy). */
export function isBusyError(e: unknown): boolean {
  return codesOf(e).some((c) => BUSY.has(c));
}

/** True if `e` is a "nobody serves this endpoint" OS error. */
export function isUnreachableError(e: unknown): boolean {
  return codesOf(e).some((c) => UNREACHABLE.has(c));
}

function describe(e: unknown): string {
  const code = osErrorCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** What the failing call was doing, for the message. */
export type TransportOp = "connect" | "read" | "write" | "close" | "listen" | "accept";

/**
 * Convert any error thrown by a runtime socket API into a `ZccacheError`:
 * "DaemonUnreachable" for missing/refused/broken/reset, "Timeout" for
 * timeouts, "Io" otherwise. A `ZccacheError` passes through unchanged.
 *
 * @example
 * ```ts
 * import { toTransportError } from "./errors.ts";
 * const os = Object.assign(new Error("connect ENOENT /tmp/x.sock"), { code: "ENOENT" });
 * toTransportError(os, "connect", "/tmp/x.sock").code; // "DaemonUnreachable"
 * ```
 */
export function toTransportError(e: unknown, op: TransportOp, path: string): ZccacheError {
  if (isZccacheError(e)) return e;
  const codes = codesOf(e);
  const what = op === "connect"
    ? `Cannot connect to daemon at ${path}`
    : op === "listen"
    ? `Cannot listen on ${path}`
    : `Cannot ${op} on connection to ${path}`;
  if (codes.some((c) => UNREACHABLE.has(c))) {
    return new ZccacheError("DaemonUnreachable", `${what}: ${describe(e)}`, { cause: e });
  }
  if (codes.some((c) => TIMED_OUT.has(c))) {
    return new ZccacheError("Timeout", `${what}: ${describe(e)}`, { cause: e });
  }
  return new ZccacheError("Io", `${what}: ${describe(e)}`, { cause: e });
}

/** The "Timeout" error a connect with `timeoutMs` raises. */
export function connectTimeoutError(path: string, timeoutMs: number): ZccacheError {
  return new ZccacheError(
    "Timeout",
    `Cannot connect to daemon at ${path}: timed out after ${timeoutMs} ms`,
  );
}

/**
 * Run `dial` with zccache-like connect semantics and a deadline.
 *
 * - Without `timeoutMs`: one attempt, errors mapped by {@link toTransportError}
 *   (zccache 1.12.2's Unix connect has no timeout).
 * - With `timeoutMs`: a busy endpoint (`EAGAIN` from a full accept backlog,
 *   a busy pipe) is retried with 10 ms doubling to 500 ms (the 1.12.2
 *   `ERROR_PIPE_BUSY` schedule) until the deadline; a dial still pending at
 *   the deadline is abandoned (its late result is passed to `discard`); both
 *   raise "Timeout".
 *
 * @example
 * ```ts
 * import { dialWithTimeout } from "./errors.ts";
 * const never = () => new Promise<number>(() => {});
 * await dialWithTimeout(never, () => {}, "/tmp/x.sock", 10).catch((e) => e.code); // "Timeout"
 * ```
 */
export async function dialWithTimeout<T>(
  dial: () => Promise<T>,
  discard: (late: T) => void,
  path: string,
  timeoutMs?: number,
): Promise<T> {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) {
    try {
      return await dial();
    } catch (e) {
      throw toTransportError(e, "connect", path);
    }
  }
  const until = performance.now() + Math.max(0, timeoutMs);
  let backoff = 10;
  for (;;) {
    const remaining = until - performance.now();
    if (remaining <= 0) throw connectTimeoutError(path, timeoutMs);
    const attempt = dial();
    try {
      return await deadline(attempt, remaining, {
        message: connectTimeoutError(path, timeoutMs).message,
        onTimeout: () => void attempt.then(discard, () => {}),
      });
    } catch (e) {
      if (isZccacheError(e)) throw e;
      if (!isBusyError(e)) throw toTransportError(e, "connect", path);
      const left = until - performance.now();
      if (left <= 0) throw connectTimeoutError(path, timeoutMs);
      await new Promise((r) => setTimeout(r, Math.min(backoff, left)));
      backoff = Math.min(backoff * 2, 500);
    }
  }
}
