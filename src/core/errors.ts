/**
 * One error type for the whole library, with a stable `code`.
 *
 * Codecs throw `RangeError` for "need more bytes"; the frame layer turns that
 * into "incomplete" (a `null` result) or a `ZccacheError`.
 *
 * @module
 */

/** Stable error codes. Match on these, never on message text. */
export const ErrorCode = {
  /** Frame header version is not the one the decoder expects. */
  VersionMismatch: "VersionMismatch",
  /** A declared length exceeds the 16 MiB cap. */
  MessageTooLarge: "MessageTooLarge",
  /** The body could not be decoded (bincode/protobuf/envelope). */
  Deserialization: "Deserialization",
  /** A protobuf message decoded but does not map to a domain value. */
  Conversion: "Conversion",
  /** A value could not be encoded (e.g. a string that is not valid UTF-8). */
  Serialization: "Serialization",
  /** The daemon endpoint is not reachable (missing socket, refused, broken pipe). */
  DaemonUnreachable: "DaemonUnreachable",
  /** The peer closed the connection with a partial frame buffered. */
  ConnectionClosed: "ConnectionClosed",
  /** A receive or connect did not finish in time. */
  Timeout: "Timeout",
  /** The peer broke the protocol (unexpected response, bad lane). */
  Protocol: "Protocol",
  /** Endpoint / configuration error (e.g. invalid ZCCACHE_DAEMON_WIRE). */
  Endpoint: "Endpoint",
  /** Any other I/O failure. */
  Io: "Io",
} as const;

/** The union of {@link ErrorCode} values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Extra fields some errors carry. */
export interface ZccacheErrorDetails {
  /** For VersionMismatch: the version the decoder wanted. */
  expected?: number;
  /** For VersionMismatch: the version found in the header. */
  received?: number;
  /** Bytes the decoder removed from its buffer before failing. */
  consumed?: number;
  /** The underlying error. */
  cause?: unknown;
}

/** The error every part of zccache-ts throws for protocol and IPC faults. */
export class ZccacheError extends Error {
  /** Always `"ZccacheError"`. */
  override readonly name = "ZccacheError";
  /** The stable {@link ErrorCode} of the fault. */
  readonly code: ErrorCode;
  /** The size or count the decoder expected, when it applies. */
  readonly expected?: number;
  /** The size or count the decoder received, when it applies. */
  readonly received?: number;
  /** Bytes the decoder removed from its buffer before failing. */
  readonly consumed?: number;

  /** An error with `code`, a message and optional size details and cause. */
  constructor(code: ErrorCode, message: string, details: ZccacheErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.received !== undefined) this.received = details.received;
    if (details.consumed !== undefined) this.consumed = details.consumed;
  }
}

/**
 * Structural guard: true for any `ZccacheError`, even one from a second copy
 * of this package.
 *
 * @example
 * ```ts
 * import { isZccacheError, ZccacheError } from "./errors.ts";
 * const e = new ZccacheError("Timeout", "too slow");
 * if (!isZccacheError(e, "Timeout")) throw new Error("unreachable");
 * ```
 */
export function isZccacheError(e: unknown, code?: ErrorCode): e is ZccacheError {
  if (typeof e !== "object" || e === null) return false;
  const r = e as { name?: unknown; code?: unknown };
  if (r.name !== "ZccacheError" || typeof r.code !== "string") return false;
  return code === undefined || r.code === code;
}

/**
 * Re-issue a codec error with `consumed` set. Deserialization texts get
 * zccache's `ProtocolError` display prefix (`deserialization error: `).
 */
export function withConsumed(e: unknown, consumed: number, prefix: boolean): unknown {
  if (!(e instanceof ZccacheError)) return e;
  const message = prefix && e.code === ErrorCode.Deserialization
    ? `deserialization error: ${e.message}`
    : e.message;
  return new ZccacheError(e.code, message, {
    expected: e.expected,
    received: e.received,
    consumed,
    cause: e.cause ?? e,
  });
}
