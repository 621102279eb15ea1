/**
 * The one time-out helper: race a promise against a timer (nats.js
 * `core/src/util.ts` `deadline`). Runtime-free (`setTimeout` only).
 *
 * @module
 */
import { ZccacheError } from "./errors.ts";

/** Options of {@link deadline}. */
export interface DeadlineOptions {
  /** What timed out, for the message `<what> timed out after <ms>ms`. */
  what?: string;
  /** The whole message instead (e.g. `recv timed out after 2s`). */
  message?: string;
  /** Run when the timer fires, before the rejection (e.g. close a connection). */
  onTimeout?: () => void;
}

/**
 * Settle as `p` does, or reject with `ZccacheError` "Timeout" after `ms`
 * milliseconds, whichever comes first. `ms` `undefined` means no time-out.
 * `p` keeps running after a time-out and its later rejection is marked
 * handled, so a pending read can be awaited again by the next call.
 *
 * @example
 * ```ts
 * import { deadline } from "./deadline.ts";
 * import { isZccacheError } from "./errors.ts";
 * const never = new Promise<void>(() => {});
 * try {
 *   await deadline(never, 5, { what: "nothing" });
 * } catch (e) {
 *   if (!isZccacheError(e, "Timeout")) throw e; // "nothing timed out after 5ms"
 * }
 * ```
 */
export async function deadline<T>(
  p: Promise<T>,
  ms: number | undefined,
  options: DeadlineOptions = {},
): Promise<T> {
  p.catch(() => {});
  if (ms === undefined) return await p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.onTimeout?.();
      reject(
        new ZccacheError(
          "Timeout",
          options.message ?? `${options.what ?? "operation"} timed out after ${ms}ms`,
        ),
      );
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
