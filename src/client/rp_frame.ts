/**
 * running-process `Frame` framing shared by the broker lane (Hello) and the
 * BackendHandle probe (both ends).
 *
 * ```
 * offset 0  u8     0x01          framing byte (ENVELOPE_VERSION)
 * offset 1  u32le  body_len      <= 16 MiB (MAX_FRAME_BYTES)
 * offset 5  bytes  Frame         protobuf running_process.broker.v1.Frame
 * ```
 *
 * Reproduces running-process@b70d70e (4.4.0)
 * crates/running-process/src/broker/protocol/framing.rs (`write_frame`,
 * `read_frame`). The protobuf bodies use the generated schemas in
 * `src/core/gen/running_process_broker_v1_pb.ts`.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ZccacheError } from "../core/errors.ts";
import { type Frame, FrameSchema } from "../core/gen/running_process_broker_v1_pb.ts";
import type { Conn } from "../transport/types.ts";

/** The framing byte (`ENVELOPE_VERSION` = `FRAMING_VERSION_V1`). */
export const RP_FRAMING_BYTE = 0x01;
/** `MAX_FRAME_BYTES`: the cap on `body_len`. */
export const RP_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Payload protocol of broker control (Hello / HelloReply). */
export const PAYLOAD_PROTOCOL_CONTROL = 0x0000;
/** Payload protocol of the BackendHandle endpoint probe. */
export const PAYLOAD_PROTOCOL_BACKEND_PROBE = 0xb232;
/** Length of the probe nonce. */
export const PROBE_NONCE_BYTES = 32;

/** Fields of a Frame to build (defaults are proto3 defaults). */
export type FrameInit = Partial<Omit<Frame, "$typeName" | "$unknown">>;

/** Encode `01 · u32le len · Frame` (ascending tags, defaults omitted). */
export function encodeRpFrame(init: FrameInit): Uint8Array {
  const body = toBinary(FrameSchema, create(FrameSchema, init));
  if (body.length > RP_MAX_FRAME_BYTES) {
    throw new ZccacheError(
      "MessageTooLarge",
      `running-process frame too large: ${body.length} bytes`,
    );
  }
  const out = new Uint8Array(5 + body.length);
  out[0] = RP_FRAMING_BYTE;
  new DataView(out.buffer).setUint32(1, body.length, true);
  out.set(body, 5);
  return out;
}

/**
 * Split one framed body out of `buf`: `null` while incomplete, else the
 * body bytes and how many bytes the frame used. Throws on a framing byte
 * other than 0x01 or a body over the cap.
 */
export function takeRpFrameBody(buf: Uint8Array): { body: Uint8Array; consumed: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== RP_FRAMING_BYTE) {
    throw new ZccacheError(
      "Deserialization",
      `unsupported framing version ${buf[0]} (expected ${RP_FRAMING_BYTE})`,
    );
  }
  if (buf.length < 5) return null;
  const bodyLen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1, true);
  if (bodyLen > RP_MAX_FRAME_BYTES) {
    throw new ZccacheError(
      "MessageTooLarge",
      `frame body ${bodyLen} bytes exceeds cap ${RP_MAX_FRAME_BYTES}`,
    );
  }
  if (buf.length < 5 + bodyLen) return null;
  return { body: buf.subarray(5, 5 + bodyLen), consumed: 5 + bodyLen };
}

/** Decode a Frame protobuf body (ZccacheError "Deserialization" on failure). */
export function decodeRpFrameBody(body: Uint8Array): Frame {
  try {
    return fromBinary(FrameSchema, body);
  } catch (cause) {
    throw new ZccacheError("Deserialization", `failed to decode Frame: ${String(cause)}`, {
      cause,
    });
  }
}

/**
 * Read exactly one running-process frame from `conn` (running-process
 * `read_frame`); EOF before or inside it throws "ConnectionClosed".
 */
export async function readRpFrame(conn: Conn): Promise<Frame> {
  let buf = new Uint8Array(0);
  for (;;) {
    const taken = takeRpFrameBody(buf);
    if (taken !== null) return decodeRpFrameBody(taken.body);
    const chunk = await conn.read();
    if (chunk === null) {
      throw new ZccacheError("ConnectionClosed", "connection closed before a whole frame");
    }
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf, 0);
    next.set(chunk, buf.length);
    buf = next;
  }
}

/** Race `p` against a timer; on timeout run `onTimeout` and throw "Timeout". */
export async function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new ZccacheError("Timeout", `${what} timed out after ${ms}ms`));
    }, ms);
  });
  p.catch(() => {});
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
