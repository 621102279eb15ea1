/**
 * The running-process `Frame` envelope, the one codec of it: the FrameV1
 * lane (`frame_v1.ts`), the BackendHandle probe (both ends) and the broker
 * lane (Hello / HelloReply) all encode and decode envelopes here.
 *
 * ```text
 * offset 0  u8      0x01                 framing / ENVELOPE_VERSION
 * offset 1  u32 LE  body_len             <= 16 MiB (MAX_FRAME_BYTES)
 * offset 5  body    running_process.broker.v1.Frame (protobuf):
 *   1 envelope_version  uint32   1                    08 01
 *   2 kind              FrameKind REQUEST 0 / RESPONSE 1 (10 01 when 1)
 *   3 payload_protocol  uint32   0x7A63 zccache, 0xB232 probe, 0 broker control
 *   4 payload           bytes
 *   5 request_id        uint64   frame correlation id (omitted when 0)
 *   6 payload_encoding  enum     NONE 0 (omitted)
 *   7 deadline_unix_ms  uint64   0 (omitted)
 *   8 traceparent       string   "" (omitted)
 *   9 tracestate        string   "" (omitted)
 * ```
 *
 * Reproduces running-process@b70d70e (4.4.0)
 * `proto/broker_v1/broker_v1_envelope.proto` and
 * crates/running-process/src/broker/protocol/framing.rs (`write_frame`,
 * `read_frame`), decoded with prost's strictness.
 *
 * @module
 */

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FrameSchema } from "./gen/running_process_broker_v1_pb.ts";
import { ErrorCode, withConsumed, ZccacheError } from "./errors.ts";
import { messageTooLarge } from "./frame.ts";
import { frameExtent } from "./frame_reader.ts";
import { ZCCACHE_PAYLOAD_PROTOCOL } from "./messages.ts";
import { checkProstWire, ProstDecodeError } from "./prost_check.ts";

/** The framing byte and `Frame.envelope_version` of running-process v1. */
export const ENVELOPE_VERSION = 1;
/** running-process `MAX_FRAME_BYTES`: the largest accepted `body_len`. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** `payload_protocol` of the zccache lane (ASCII "zc"). */
export const PAYLOAD_PROTOCOL_ZCCACHE: typeof ZCCACHE_PAYLOAD_PROTOCOL = ZCCACHE_PAYLOAD_PROTOCOL;
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

/** A running-process `Frame` as plain data (enums as their numbers). */
export interface RpFrame {
  /** `envelope_version` (1). */
  envelopeVersion: number;
  /** `kind`: a {@link FrameKind} number. */
  kind: number;
  /** `payload_protocol`: which protocol the payload speaks (`0x7a63` for zccache). */
  payloadProtocol: number;
  /** The payload bytes. */
  payload: Uint8Array;
  /** `request_id` (u64). */
  requestId: bigint;
  /** `payload_encoding`: a {@link PayloadEncoding} number. */
  payloadEncoding: number;
  /** `deadline_unix_ms` (u64, 0 = none). */
  deadlineUnixMs: bigint;
  /** W3C `traceparent` ("" = none). */
  traceparent: string;
  /** W3C `tracestate` ("" = none). */
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
export function envelopeExtent(buf: Uint8Array): number | null {
  const size = frameExtent(buf, "envelope", MAX_FRAME_BYTES);
  return size === null || buf.length < size ? null : size;
}

/**
 * Decode the first envelope of `buf` for any payload protocol (probe,
 * broker control, ...): `null` while incomplete; `MessageTooLarge` when
 * `body_len` exceeds the cap (nothing consumed); a framing byte other than
 * 0x01 or an undecodable `Frame` body is `Deserialization` (the frame is
 * consumed, as at 1.12.2). No field of the `Frame` is validated.
 */
export function decodeEnvelope(buf: Uint8Array): { frame: RpFrame; consumed: number } | null {
  const consumed = envelopeExtent(buf);
  if (consumed === null) return null;
  try {
    return { frame: decodeFrameBody(buf.subarray(5, consumed)), consumed };
  } catch (e) {
    throw withConsumed(e, consumed, false);
  }
}
