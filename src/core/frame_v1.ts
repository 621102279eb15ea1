/**
 * The running-process `Frame` envelope (FrameV1 lane) of the zccache 1.12.2
 * daemon wire, plus generic envelope helpers for the other payload
 * protocols that share the endpoint (BackendHandle probe, broker control).
 *
 * ```text
 * offset 0  u8      0x01                 framing / ENVELOPE_VERSION
 * offset 1  u32 LE  body_len             <= 16 MiB (MAX_FRAME_BYTES)
 * offset 5  body    running_process.broker.v1.Frame (protobuf):
 *   1 envelope_version  uint32   1                    08 01
 *   2 kind              FrameKind REQUEST 0 / RESPONSE 1 (10 01 when 1)
 *   3 payload_protocol  uint32   0x7A63 zccache        18 e3 f4 01
 *   4 payload           bytes    zccache.v1.Request/Response, no inner header
 *   5 request_id        uint64   frame correlation id (omitted when 0)
 *   6 payload_encoding  enum     NONE 0 (omitted)
 *   7 deadline_unix_ms  uint64   0 (omitted)
 *   8 traceparent       string   "" (omitted)
 *   9 tracestate        string   "" (omitted)
 * ```
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/wire_frame.rs
 * (`encode_frame_v1_request`/`_response`, `decode_frame_v1_message`: the
 * 1.12.2 decoder consumes the whole `5 + body_len` frame BEFORE validating
 * it) and the envelope of running-process 4.4.0
 * (`proto/broker_v1/broker_v1_envelope.proto`).
 *
 * @module
 */

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FrameSchema } from "./gen/running_process_broker_v1_pb.ts";
import { ErrorCode, ZccacheError } from "./errors.ts";
import { messageTooLarge } from "./frame.ts";
import type { Direction, MessageOf } from "./messages.ts";
import { ZCCACHE_PAYLOAD_PROTOCOL } from "./messages.ts";
import { decodeProstRaw, encodeProst, fromProst, withConsumed } from "./prost.ts";
import { checkProstWire, ProstDecodeError } from "./prost_check.ts";

export { startsRunningProcessFrame } from "./frame_v1_classify.ts";

/** The framing byte and `Frame.envelope_version` of running-process v1. */
export const ENVELOPE_VERSION = 1;
/** running-process `MAX_FRAME_BYTES`: the largest accepted `body_len`. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** `payload_protocol` of the zccache lane (ASCII "zc"). */
export const PAYLOAD_PROTOCOL_ZCCACHE = ZCCACHE_PAYLOAD_PROTOCOL;
/** `payload_protocol` of the BackendHandle identity probe. */
export const PAYLOAD_PROTOCOL_BACKEND_PROBE = 0xb232;
/** `payload_protocol` of broker control (Hello / HelloReply). */
export const PAYLOAD_PROTOCOL_BROKER_CONTROL = 0;
/** `payload_protocol` of broker admin verbs. */
export const PAYLOAD_PROTOCOL_BROKER_ADMIN = 0xad01;
/** `payload_protocol` of broker connection handoff. */
export const PAYLOAD_PROTOCOL_HANDOFF = 0xd0ff;

/** running-process `FrameKind` numbers. */
export const FrameKind = { Request: 0, Response: 1, Event: 2, Cancel: 3 } as const;
/** running-process `PayloadEncoding` numbers. */
export const PayloadEncoding = { None: 0, Zstd: 1, Snappy: 2, Lz4: 3 } as const;

/** The kind of a zccache-lane frame. */
export type FrameV1Kind = "request" | "response";

/** A running-process `Frame` as plain data (enums as their numbers). */
export interface RpFrame {
  envelopeVersion: number;
  kind: number;
  payloadProtocol: number;
  payload: Uint8Array;
  requestId: bigint;
  payloadEncoding: number;
  deadlineUnixMs: bigint;
  traceparent: string;
  tracestate: string;
}

/** A {@link RpFrame} with running-process defaults (version 1, REQUEST, protocol 0, ...). */
export function rpFrame(init: Partial<RpFrame> = {}): RpFrame {
  return {
    envelopeVersion: ENVELOPE_VERSION,
    kind: FrameKind.Request,
    payloadProtocol: PAYLOAD_PROTOCOL_BROKER_CONTROL,
    payload: new Uint8Array(0),
    requestId: 0n,
    payloadEncoding: PayloadEncoding.None,
    deadlineUnixMs: 0n,
    traceparent: "",
    tracestate: "",
    ...init,
  };
}

/** Encode the protobuf `Frame` body (no 5-byte header). */
export function encodeFrameBody(frame: RpFrame): Uint8Array {
  return toBinary(FrameSchema, create(FrameSchema, frame));
}

/**
 * Encode a whole envelope `[0x01][u32le body_len][Frame]`. Throws
 * `MessageTooLarge(body_len)` when the body exceeds {@link MAX_FRAME_BYTES}
 * (running-process `FrameTooLarge`).
 *
 * @example
 * ```ts
 * import { encodeEnvelope, rpFrame } from "./frame_v1.ts";
 * const bytes = encodeEnvelope(rpFrame({ payloadProtocol: 0x7a63, requestId: 7n }));
 * // 01 08 00 00 00 | 08 01 18 e3 f4 01 28 07
 * if (bytes.length !== 13) throw new Error("unexpected length");
 * ```
 */
export function encodeEnvelope(frame: RpFrame): Uint8Array {
  const body = encodeFrameBody(frame);
  if (body.length > MAX_FRAME_BYTES) throw messageTooLarge(body.length);
  const out = new Uint8Array(5 + body.length);
  out[0] = ENVELOPE_VERSION;
  new DataView(out.buffer).setUint32(1, body.length, true);
  out.set(body, 5);
  return out;
}

/**
 * Decode a protobuf `Frame` body with prost's strictness. Throws
 * `Deserialization` with `running-process Frame: <prost error>`.
 */
export function decodeFrameBody(body: Uint8Array): RpFrame {
  try {
    checkProstWire(FrameSchema, body);
    const f = fromBinary(FrameSchema, body);
    return {
      envelopeVersion: f.envelopeVersion,
      kind: f.kind,
      payloadProtocol: f.payloadProtocol,
      payload: f.payload,
      requestId: f.requestId,
      payloadEncoding: f.payloadEncoding,
      deadlineUnixMs: f.deadlineUnixMs,
      traceparent: f.traceparent,
      tracestate: f.tracestate,
    };
  } catch (e) {
    const text = e instanceof ProstDecodeError
      ? e.display()
      : `failed to decode Protobuf message: ${(e as Error).message}`;
    throw new ZccacheError(
      ErrorCode.Deserialization,
      `deserialization error: running-process Frame: ${text}`,
      { cause: e },
    );
  }
}

/** Length of the envelope at the start of `buf`, or null if incomplete; checks the cap. */
function envelopeExtent(buf: Uint8Array): number | null {
  if (buf.length < 5) return null;
  const bodyLen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1, true);
  if (bodyLen > MAX_FRAME_BYTES) throw messageTooLarge(bodyLen, 0);
  if (buf.length < 5 + bodyLen) return null;
  return 5 + bodyLen;
}

function framingByteError(b: number): ZccacheError {
  return new ZccacheError(
    ErrorCode.Deserialization,
    `deserialization error: running-process Frame: unsupported framing version ${b}`,
    { consumed: 0 },
  );
}

/**
 * Decode the first envelope of `buf` for any payload protocol (probe,
 * broker control, ...): `null` while incomplete; `MessageTooLarge` when
 * `body_len` exceeds the cap (nothing consumed); a framing byte other than
 * 0x01 or an undecodable `Frame` body is `Deserialization` (the frame is
 * consumed, as at 1.12.2). No field of the `Frame` is validated.
 */
export function decodeEnvelope(buf: Uint8Array): { frame: RpFrame; consumed: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== ENVELOPE_VERSION) throw framingByteError(buf[0]);
  const consumed = envelopeExtent(buf);
  if (consumed === null) return null;
  try {
    return { frame: decodeFrameBody(buf.subarray(5, consumed)), consumed };
  } catch (e) {
    throw withConsumed(e, consumed, false);
  }
}

/** Options of {@link encodeFrameV1}. */
export interface FrameV1EncodeOptions {
  /** The inner zccache `request_id` string (protobuf field 100). */
  requestId: string;
  /** `Frame.request_id`, the envelope correlation id. */
  frameId: bigint;
  /** Defaults to the direction: requests REQUEST, responses RESPONSE. */
  frameKind?: FrameV1Kind;
}

/**
 * Encode a domain message on the FrameV1 lane (zccache
 * `encode_frame_v1_request`/`_response`): payload protocol 0x7A63, encoding
 * NONE, no deadline, empty trace fields.
 */
export function encodeFrameV1<D extends Direction>(
  direction: D,
  msg: MessageOf<D>,
  opts: FrameV1EncodeOptions,
): Uint8Array {
  const kind = opts.frameKind ?? direction;
  return encodeEnvelope(rpFrame({
    kind: kind === "response" ? FrameKind.Response : FrameKind.Request,
    payloadProtocol: PAYLOAD_PROTOCOL_ZCCACHE,
    payload: encodeProst(direction, msg, opts.requestId),
    requestId: opts.frameId,
  }));
}

/** A decoded FrameV1 message. */
export interface FrameV1Decoded<D extends Direction> {
  message: MessageOf<D>;
  /** The inner zccache `request_id` string. */
  requestId: string;
  /** `Frame.request_id`. */
  frameId: bigint;
  frameKind: FrameV1Kind;
  consumed: number;
}

function hex4(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
}

function invalid(text: string, consumed: number): ZccacheError {
  return new ZccacheError(ErrorCode.Deserialization, `deserialization error: ${text}`, {
    consumed,
  });
}

/**
 * zccache 1.12.2 `decode_frame_v1_message` + `*_from_prost`, for a buffer the
 * classifier ({@link startsRunningProcessFrame}) called a running-process Frame.
 *
 * 1. fewer than 5 bytes, or fewer than `5 + body_len`: `null`;
 *    `body_len > 16 MiB`: `MessageTooLarge(body_len)`, nothing consumed;
 * 2. the whole frame is consumed, then (all `Deserialization`): `Frame`
 *    protobuf, `envelope_version == 1`, `payload_protocol == 0x7A63`,
 *    `kind` REQUEST or RESPONSE (either, in both directions),
 *    `payload_encoding == NONE`, the payload as `zccache.v1` protobuf;
 * 3. conversion to the domain type (`Conversion`).
 *
 * Errors carry `consumed`. A first byte other than 0x01 (a caller that skipped
 * the classifier) is a `Deserialization` error with nothing consumed.
 */
export function decodeFrameV1<D extends Direction>(
  buf: Uint8Array,
  direction: D,
): FrameV1Decoded<D> | null {
  if (buf.length === 0) return null;
  if (buf[0] !== ENVELOPE_VERSION) throw framingByteError(buf[0]);
  const consumed = envelopeExtent(buf);
  if (consumed === null) return null;
  let frame: RpFrame;
  try {
    frame = decodeFrameBody(buf.subarray(5, consumed));
  } catch (e) {
    throw withConsumed(e, consumed, false);
  }
  if (frame.envelopeVersion !== ENVELOPE_VERSION) {
    throw invalid(
      `unsupported running-process Frame envelope_version ${frame.envelopeVersion}`,
      consumed,
    );
  }
  if (frame.payloadProtocol !== PAYLOAD_PROTOCOL_ZCCACHE) {
    throw invalid(
      `running-process Frame payload_protocol ${
        hex4(frame.payloadProtocol)
      } is not the zccache payload protocol ${hex4(PAYLOAD_PROTOCOL_ZCCACHE)}`,
      consumed,
    );
  }
  if (frame.kind !== FrameKind.Request && frame.kind !== FrameKind.Response) {
    throw invalid(
      `unsupported running-process Frame kind ${frame.kind} on the zccache lane`,
      consumed,
    );
  }
  if (frame.payloadEncoding !== PayloadEncoding.None) {
    throw invalid(
      `unsupported running-process Frame payload_encoding ${frame.payloadEncoding} on the zccache lane`,
      consumed,
    );
  }
  let decoded;
  try {
    decoded = fromProst(direction, decodeProstRaw(direction, frame.payload));
  } catch (e) {
    throw withConsumed(e, consumed, true);
  }
  return {
    message: decoded.message,
    requestId: decoded.requestId,
    frameId: frame.requestId,
    frameKind: frame.kind === FrameKind.Response ? "response" : "request",
    consumed,
  };
}
