/**
 * The zccache frame header: encode, peek, classify, size errors. The
 * incremental reader of all three lanes is `frame_reader.ts`.
 *
 * ```text
 * zccache frame (bincode lane v15, prost lane v16):
 *   offset 0  u32 LE  len       = 4 + body.length (does not count itself)
 *   offset 4  u32 LE  version   15 = bincode body, 16 = prost body
 *   offset 8  body    len - 4 bytes
 *   len > 16 MiB (MAX_MESSAGE_SIZE) is rejected; len == 16 MiB is allowed.
 *
 * running-process Frame (FrameV1 lane), cut by `frame_reader.ts` too:
 *   offset 0  u8      0x01
 *   offset 1  u32 LE  body_len  (> 16 MiB is rejected)
 *   offset 5  protobuf running_process.broker.v1.Frame, body_len bytes
 * ```
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/mod.rs
 * (`encode_message`, `take_complete_frame`, `peek_frame_protocol_version`,
 * `buffer_starts_running_process_frame`).
 *
 * @module
 */
import { ZccacheError } from "./errors.ts";
import { BINCODE_PROTOCOL_VERSION, MAX_MESSAGE_SIZE, PROST_PROTOCOL_VERSION } from "./messages.ts";

/** Size of the `[len][version]` header of a zccache frame. */
export const FRAME_HEADER_SIZE = 8;
/** Size of the `[0x01][body_len]` header of a running-process Frame. */
export const ENVELOPE_HEADER_SIZE = 5;

/** Options shared by the frame helpers. */
export interface FrameLimits {
  /** Largest accepted `len` / `body_len` (default 16 MiB, zccache `MAX_MESSAGE_SIZE`). */
  maxMessageSize?: number;
}

/** `message too large: N bytes` (zccache `ProtocolError::MessageTooLarge`). */
export function messageTooLarge(len: number, consumed = 0): ZccacheError {
  return new ZccacheError("MessageTooLarge", `message too large: ${len} bytes`, { consumed });
}

/** `frame too small for protocol version` (a `len` below 4). */
export function frameTooSmall(consumed = 0): ZccacheError {
  return new ZccacheError(
    "Deserialization",
    "deserialization error: frame too small for protocol version",
    { consumed },
  );
}

/** zccache's `VersionMismatch` error (Display text of `ProtocolError`). */
export function versionMismatch(
  expected: number,
  received: number,
  consumed: number,
): ZccacheError {
  return new ZccacheError(
    "VersionMismatch",
    `protocol version mismatch: expected v${expected}, received v${received}. Run \`zccache stop\` first.`,
    { expected, received, consumed },
  );
}

function u32At(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/**
 * Build a zccache frame: `[u32le 4 + body.length][u32le version][body]`.
 * Like zccache's encoders it does not check the 16 MiB cap (only u32 overflow).
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./frame.ts";
 * import { toHex } from "./bytes.ts";
 * // bincode Request::Ping
 * if (toHex(encodeFrame(15, new Uint8Array(4))) !== "080000000f00000000000000") throw new Error();
 * ```
 */
export function encodeFrame(version: number, body: Uint8Array): Uint8Array {
  const len = 4 + body.length;
  if (len > 0xffffffff) throw messageTooLarge(body.length);
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, len, true);
  view.setUint32(4, version >>> 0, true);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Peek the header version of the zccache frame at the start of `buf`
 * without consuming anything (zccache `peek_frame_protocol_version`):
 * fewer than 4 bytes -> `null`; `len > max` -> `MessageTooLarge`;
 * `len < 4` -> `Deserialization` ("frame too small"); incomplete -> `null`;
 * otherwise the u32 at bytes 4..8.
 */
export function peekFrameVersion(buf: Uint8Array, limits: FrameLimits = {}): number | null {
  const max = limits.maxMessageSize ?? MAX_MESSAGE_SIZE;
  if (buf.length < 4) return null;
  const len = u32At(buf, 0);
  if (len > max) throw messageTooLarge(len);
  if (len < 4) throw frameTooSmall();
  if (buf.length < 4 + len) return null;
  return u32At(buf, 4);
}

/**
 * The 1.12.2 lane classifier (`buffer_starts_running_process_frame`):
 * `null` = cannot tell yet, `true` = running-process Frame, `false` = zccache
 * frame. A buffer starting with 0x01 is a zccache frame only when bytes 0..4
 * read as `len >= 4` and bytes 4..8 as version 15 or 16.
 */
export function classifyFrameStart(buf: Uint8Array): boolean | null {
  if (buf.length === 0) return null;
  if (buf[0] !== 0x01) return false;
  if (buf.length < 8) return null;
  const zlen = u32At(buf, 0);
  const zver = u32At(buf, 4);
  return !(zlen >= 4 && (zver === BINCODE_PROTOCOL_VERSION || zver === PROST_PROTOCOL_VERSION));
}
