/**
 * The 1.12.2 dual-wire dispatcher and the pure parts of version negotiation.
 *
 * ```text
 * buf[0] != 0x01                        -> zccache frame [len][version][body]
 * buf[0] == 0x01, < 8 bytes             -> wait (could be either)
 * buf[0] == 0x01, len >= 4, ver 15|16   -> zccache frame
 * buf[0] == 0x01, otherwise             -> running-process Frame [01][body_len][Frame]
 * zccache frame version 15 -> bincode, 16 -> prost, other -> VersionMismatch{16, v}
 * ```
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/mod.rs
 * (`decode_wire_message`), the daemon's mismatch reply from
 * `daemon/server/connection.rs`, and the auto client's "old daemon rejected
 * prost" test from `crates/zccache/src/ipc/mod.rs` (1.12.2 layout).
 *
 * @module
 */
import { decodeBincodeFrame, encodeBincodeFrame } from "./bincode.ts";
import { type ErrorCode, isZccacheError } from "./errors.ts";
import { peekFrameVersion, versionMismatch } from "./frame.ts";
import { decodeEnvelope } from "./envelope.ts";
import { decodeFrameV1, encodeFrameV1, startsRunningProcessFrame } from "./frame_v1.ts";
import {
  BINCODE_PROTOCOL_VERSION,
  type Direction,
  type MessageOf,
  PROST_PROTOCOL_VERSION,
  type Response,
  ZCCACHE_WIRE_RELEASE,
} from "./messages.ts";
import { decodeProstFrame, encodeProstFrame, peekProstRequestId } from "./prost.ts";
import { isWireMismatchMessage } from "./wire_env.ts";

/** The three frame families of one daemon endpoint. */
export type Lane = "bincode" | "prost" | "frame";

/** One message decoded by {@link decodeWireMessage}. */
export interface DecodedWire<D extends Direction = Direction> {
  /** The lane the frame arrived on (answer on the same lane). */
  lane: Lane;
  /** The decoded domain message. */
  message: MessageOf<D>;
  /** The inner prost `request_id` (prost and frame lanes). */
  requestId?: string;
  /** The running-process Frame `request_id` (frame lane). */
  frameId?: bigint;
  /** The running-process Frame kind (frame lane). */
  frameKind?: "request" | "response";
  /** Bytes of `buf` the frame occupied. */
  consumed: number;
}

/**
 * Decode the first message in `buf`, whatever its lane (zccache
 * `decode_wire_message` at 1.12.2). Returns `null` when more bytes are
 * needed (nothing consumed). Errors are `ZccacheError`s with `consumed`:
 *
 * - a running-process Frame goes to the FrameV1 decoder;
 * - otherwise the header is peeked (`MessageTooLarge`, "frame too small",
 *   incomplete), then version 15 is decoded as bincode and 16 as prost,
 *   each with its own decoder's checks;
 * - any other version: `VersionMismatch{expected: 16, received}` with the
 *   buffer left untouched (`consumed` 0).
 *
 * @example
 * ```ts
 * import { decodeWireMessage } from "./wire.ts";
 * import { fromHex } from "./bytes.ts";
 * const d = decodeWireMessage(fromHex("080000000f00000000000000"), "request");
 * if (d?.lane !== "bincode" || d.message.kind !== "Ping") throw new Error();
 * ```
 */
export function decodeWireMessage<D extends Direction>(
  buf: Uint8Array,
  direction: D,
): DecodedWire<D> | null {
  const envelope = startsRunningProcessFrame(buf);
  if (envelope === null) return null;
  if (envelope) {
    const f = decodeFrameV1(buf, direction);
    if (f === null) return null;
    return {
      lane: "frame",
      message: f.message,
      requestId: f.requestId,
      frameId: f.frameId,
      frameKind: f.frameKind,
      consumed: f.consumed,
    };
  }
  const version = peekFrameVersion(buf);
  if (version === null) return null;
  if (version === BINCODE_PROTOCOL_VERSION) {
    const b = decodeBincodeFrame(buf, direction);
    return b === null ? null : { lane: "bincode", message: b.message, consumed: b.consumed };
  }
  if (version === PROST_PROTOCOL_VERSION) {
    const p = decodeProstFrame(buf, direction);
    return p === null
      ? null
      : { lane: "prost", message: p.message, requestId: p.requestId, consumed: p.consumed };
  }
  throw versionMismatch(PROST_PROTOCOL_VERSION, version, 0);
}

/** Where a message goes: its lane and the ids a reply echoes. */
export interface WireRoute {
  /** The lane (a daemon answers on the lane of the request). */
  lane: Lane;
  /** The inner prost `request_id` (prost and frame lanes; default `""`). */
  requestId?: string;
  /** The running-process `Frame.request_id` (frame lane; default 0). */
  frameId?: bigint;
}

/**
 * Encode a domain message on a lane: bincode v15, prost v16 with the
 * `request_id`, or a FrameV1 envelope whose kind is the direction's
 * (REQUEST / RESPONSE), with both ids. The inverse of
 * {@link decodeWireMessage}.
 *
 * @example
 * ```ts
 * import { encodeWireMessage } from "./wire.ts";
 * import { toHex } from "./bytes.ts";
 * const pong = encodeWireMessage("response", { kind: "Pong" }, { lane: "bincode" });
 * if (toHex(pong) !== "080000000f00000000000000") throw new Error();
 * ```
 */
export function encodeWireMessage<D extends Direction>(
  direction: D,
  msg: MessageOf<D>,
  route: WireRoute,
): Uint8Array {
  switch (route.lane) {
    case "bincode":
      return encodeBincodeFrame(direction, msg);
    case "prost":
      return encodeProstFrame(direction, msg, route.requestId ?? "");
    case "frame":
      return encodeFrameV1(direction, msg, {
        requestId: route.requestId ?? "",
        frameId: route.frameId ?? 0n,
        frameKind: direction,
      });
  }
}

/**
 * The route of the whole frame `frame` without decoding its message: the
 * lane, the prost `request_id` (field 100, read straight from the protobuf
 * body) and the FrameV1 frame id. For the `Error` reply to a request whose
 * body maps to no domain message (`Conversion`). `null` when the frame is
 * not readable that far.
 */
export function wireRouteOf(frame: Uint8Array): WireRoute | null {
  try {
    if (startsRunningProcessFrame(frame) === true) {
      const env = decodeEnvelope(frame);
      if (env === null) return null;
      return {
        lane: "frame",
        requestId: peekProstRequestId(env.frame.payload),
        frameId: env.frame.requestId,
      };
    }
    if (frame.length < 8) return null;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    if (view.getUint32(4, true) === BINCODE_PROTOCOL_VERSION) return { lane: "bincode" };
    const len = view.getUint32(0, true);
    return { lane: "prost", requestId: peekProstRequestId(frame.subarray(8, 4 + len)) };
  } catch {
    return null;
  }
}

/**
 * The message a zccache daemon sends before closing a connection whose
 * frame had a version it does not know (`daemon/server/connection.rs`,
 * identical in 1.11.21, 1.12.2 and 1.12.18).
 */
export function versionMismatchMessage(
  expected: number,
  received: number,
  daemonVersion: string = ZCCACHE_WIRE_RELEASE,
): string {
  return `protocol version mismatch: daemon zccache v${daemonVersion} (protocol v${expected}) ` +
    `received a request at protocol v${received}. Run \`zccache stop\` and retry \u2014 the CLI ` +
    `you connected with is built against a different PROTOCOL_VERSION than this daemon.`;
}

/**
 * The whole reply frame of a daemon to a `VersionMismatch{expected,
 * received}`: `Response::Error{message}` as a bincode frame at the daemon's
 * own bincode header version (15 for 1.12.2). A 1.12.2 daemon passes the
 * dispatcher's `expected` (16, its prost version).
 *
 * @example
 * ```ts
 * import { versionMismatchReply } from "./wire.ts";
 * const frame = versionMismatchReply(16, 99);
 * if (frame.length !== 244 || frame[4] !== 15) throw new Error();
 * ```
 */
export function versionMismatchReply(
  expected: number,
  received: number,
  daemonVersion: string = ZCCACHE_WIRE_RELEASE,
  bincodeVersion: number = BINCODE_PROTOCOL_VERSION,
): Uint8Array {
  return encodeBincodeFrame(
    "response",
    { kind: "Error", message: versionMismatchMessage(expected, received, daemonVersion) },
    bincodeVersion,
  );
}

/**
 * The auto client's test for "an old daemon rejected my prost frame, retry
 * with bincode": a `Response::Error` whose lowercased message contains
 * `protocol version mismatch`, or `protocol_version`, or both
 * `expected v15` and `received v16`. (Clean EOF and `VersionMismatch` /
 * connection errors also trigger the retry; those are the caller's to see.)
 */
export function isOldDaemonRejection(resp: Response): boolean {
  return resp.kind === "Error" && isWireMismatchMessage(resp.message);
}

/** The error kinds a wire decoder reports (the decode-case vectors' `error_kind`). */
export type WireErrorKind =
  | "VersionMismatch"
  | "MessageTooLarge"
  | "Deserialization"
  | "Conversion";

const WIRE_KINDS: ReadonlySet<string> = new Set<ErrorCode>([
  "VersionMismatch",
  "MessageTooLarge",
  "Deserialization",
  "Conversion",
]);

/** The {@link WireErrorKind} of a decoder error, or `null` for anything else. */
export function wireErrorKind(e: unknown): WireErrorKind | null {
  return isZccacheError(e) && WIRE_KINDS.has(e.code) ? e.code as WireErrorKind : null;
}
