/**
 * The FrameV1 lane of the zccache 1.12.2 daemon wire: a zccache.v1 prost
 * message in a running-process `Frame` envelope (the envelope codec itself,
 * shared with the probe and broker lanes, is `envelope.ts`; re-exported here).
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

import type { Direction, MessageOf } from "./messages.ts";
import { ErrorCode, withConsumed, ZccacheError } from "./errors.ts";
import { decodeProstRaw, encodeProst, fromProst } from "./prost.ts";
import {
  decodeFrameBody,
  encodeEnvelope,
  ENVELOPE_VERSION,
  envelopeExtent,
  FrameKind,
  PAYLOAD_PROTOCOL_ZCCACHE,
  PayloadEncoding,
  type RpFrame,
  rpFrame,
} from "./envelope.ts";

export { startsRunningProcessFrame } from "./frame_v1_classify.ts";
export {
  decodeEnvelope,
  decodeFrameBody,
  encodeEnvelope,
  encodeFrameBody,
  ENVELOPE_VERSION,
  FrameKind,
  MAX_FRAME_BYTES,
  PAYLOAD_PROTOCOL_BACKEND_PROBE,
  PAYLOAD_PROTOCOL_BROKER_ADMIN,
  PAYLOAD_PROTOCOL_BROKER_CONTROL,
  PAYLOAD_PROTOCOL_HANDOFF,
  PAYLOAD_PROTOCOL_ZCCACHE,
  PayloadEncoding,
  rpFrame,
} from "./envelope.ts";
export type { RpFrame } from "./envelope.ts";

/** The kind of a zccache-lane frame. */
export type FrameV1Kind = "request" | "response";

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
  /** The domain message the payload carried. */
  message: MessageOf<D>;
  /** The inner zccache `request_id` string. */
  requestId: string;
  /** `Frame.request_id`. */
  frameId: bigint;
  /** Whether the envelope was a REQUEST or a RESPONSE. */
  frameKind: FrameV1Kind;
  /** Bytes the frame occupied. */
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
