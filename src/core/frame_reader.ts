/**
 * The one frame reader of every edge (daemon connection, BackendHandle
 * probe, client connection, broker lane): buffer the bytes a stream
 * delivers, then cut whole frames of any of the three lanes out of them.
 * Sans-IO: the caller reads; {@link readFrame} only drives a caller's
 * `read()`.
 *
 * ```text
 * mode "dual" (the 1.12.2 classifier, daemon and recv_wire):
 *   buf[0] != 0x01, or [len >= 4][ver 15|16]  -> zccache frame: 4 + len bytes
 *   otherwise                                 -> running-process envelope: 5 + body_len bytes
 * mode "zccache" (bincode-only recv):  always [u32le len][u32le version][body], 4 + len bytes
 * mode "envelope" (broker, probe replies): always [0x01][u32le body_len][Frame], 5 + body_len;
 *   a first byte other than 0x01 is a Deserialization error
 * len > cap, body_len > cap -> MessageTooLarge; len < 4 -> "frame too small" (checked from the
 *   header, before the body is buffered; cap = 16 MiB unless set)
 * ```
 *
 * Buffering is linear ({@link ByteQueue}). Frames returned by
 * {@link FrameReader.peek} / {@link FrameReader.next} are views; the bytes
 * under them are never written again, so decoded values may alias them.
 * {@link FrameDecoder} is the copying push-parser face of the same reader.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/mod.rs
 * (`take_complete_frame`), wire_frame.rs (`buffer_starts_running_process_frame`)
 * and running-process@b70d70e (4.4.0) broker/protocol/framing.rs (`read_frame`).
 *
 * @module
 */
import { ByteQueue } from "./byte_queue.ts";
import { ZccacheError } from "./errors.ts";
import {
  classifyFrameStart,
  ENVELOPE_HEADER_SIZE,
  type FrameLimits,
  frameTooSmall,
  messageTooLarge,
} from "./frame.ts";
import { MAX_MESSAGE_SIZE } from "./messages.ts";

/** The framing byte of a running-process envelope (`ENVELOPE_VERSION`). */
export const ENVELOPE_FRAMING_BYTE = 0x01;

/** How the frame at the head of the buffer is recognised (see the module docs). */
export type FrameMode = "dual" | "zccache" | "envelope";

function u32At(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** The `Deserialization` error of an envelope whose framing byte is not 0x01. */
export function framingByteError(b: number): ZccacheError {
  return new ZccacheError(
    "Deserialization",
    `deserialization error: running-process Frame: unsupported framing version ${b}`,
    { consumed: 0 },
  );
}

/**
 * Size in bytes (header included) of the frame at the start of `buf`, or
 * `null` while it cannot be known yet. Throws `MessageTooLarge`, "frame too
 * small" or (mode "envelope") a framing-byte error, each with `consumed` 0.
 *
 * @example
 * ```ts
 * import { frameExtent } from "./frame_reader.ts";
 * import { fromHex } from "./bytes.ts";
 * if (frameExtent(fromHex("080000000f000000"), "dual") !== 12) throw new Error();
 * ```
 */
export function frameExtent(
  buf: Uint8Array,
  mode: FrameMode,
  maxMessageSize: number = MAX_MESSAGE_SIZE,
): number | null {
  if (buf.length === 0) return null;
  let envelope: boolean | null;
  if (mode === "envelope") {
    if (buf[0] !== ENVELOPE_FRAMING_BYTE) throw framingByteError(buf[0]);
    envelope = true;
  } else {
    envelope = mode === "dual" ? classifyFrameStart(buf) : false;
  }
  if (envelope === null) return null;
  if (envelope) {
    if (buf.length < ENVELOPE_HEADER_SIZE) return null;
    const bodyLen = u32At(buf, 1);
    if (bodyLen > maxMessageSize) throw messageTooLarge(bodyLen);
    return ENVELOPE_HEADER_SIZE + bodyLen;
  }
  if (buf.length < 4) return null;
  const len = u32At(buf, 0);
  if (len > maxMessageSize) throw messageTooLarge(len);
  if (len < 4) throw frameTooSmall();
  return 4 + len;
}

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions extends FrameLimits {
  /** Default mode of {@link FrameReader.peek} / {@link FrameReader.next} (default `"dual"`). */
  mode?: FrameMode;
}

/**
 * Receive buffer plus frame cutter. `push()` never throws; `peek()` /
 * `next()` throw the header's size violations (the stream cannot be
 * resynchronised after one: close it, or `clear()` and start over).
 *
 * @example
 * ```ts
 * import { FrameReader } from "./frame_reader.ts";
 * import { fromHex } from "./bytes.ts";
 * const r = new FrameReader();
 * const ping = fromHex("080000000f00000000000000");
 * r.push(ping.subarray(0, 7));
 * if (r.peek() !== null) throw new Error("incomplete");
 * r.push(ping.subarray(7));
 * if (r.next()?.length !== 12 || r.buffered !== 0) throw new Error("one frame");
 * ```
 */
export class FrameReader {
  readonly #q = new ByteQueue();
  readonly #mode: FrameMode;
  readonly #max: number;

  /** A reader with an empty buffer (lanes: `options.mode`, default `"dual"`). */
  constructor(options: FrameReaderOptions = {}) {
    this.#mode = options.mode ?? "dual";
    this.#max = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#q.length;
  }

  /** Every unread byte (a view, valid until the next push/consume/clear). */
  view(): Uint8Array {
    return this.#q.view();
  }

  /** Append bytes read from the stream. */
  push(chunk: Uint8Array): void {
    this.#q.push(chunk);
  }

  /** Size of the head frame, or `null` while unknown (throws on a size violation). */
  extent(mode: FrameMode = this.#mode): number | null {
    return frameExtent(this.#q.view(), mode, this.#max);
  }

  /** The whole head frame (a view, header included) without consuming it, or `null`. */
  peek(mode: FrameMode = this.#mode): Uint8Array | null {
    const size = this.extent(mode);
    if (size === null || this.#q.length < size) return null;
    return this.#q.view().subarray(0, size);
  }

  /** The whole head frame, consumed; `null` while incomplete. */
  next(mode: FrameMode = this.#mode): Uint8Array | null {
    const frame = this.peek(mode);
    if (frame !== null) this.#q.consumeShared(frame.length);
    return frame;
  }

  /**
   * Drop the first `n` bytes. By default decoded values may keep aliasing
   * them (they are never written again); `aliased: false` lets the storage
   * be reused (the caller copied what it keeps).
   */
  consume(n: number, aliased = true): void {
    if (aliased) this.#q.consumeShared(n);
    else this.#q.consume(n);
  }

  /** Drop everything buffered. */
  clear(): void {
    this.#q.clear();
  }
}

/** What {@link readFrame} reads from: a {@link Conn}-like pull source. */
export interface ByteSource {
  /** Next chunk, or `null` at end of stream. */
  read(): Promise<Uint8Array | null>;
}

/**
 * Read from `source` until `reader` holds one whole frame, and return it
 * (consumed, a view). EOF before or inside it throws `ConnectionClosed`;
 * size violations throw as {@link frameExtent} does.
 */
export async function readFrame(
  source: ByteSource,
  reader: FrameReader,
  mode?: FrameMode,
): Promise<Uint8Array> {
  for (;;) {
    const frame = reader.next(mode);
    if (frame !== null) return frame;
    const chunk = await source.read();
    if (chunk === null) {
      throw new ZccacheError("ConnectionClosed", "connection closed before a whole frame");
    }
    reader.push(chunk);
  }
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions extends FrameLimits {
  /**
   * Also cut running-process Frames (`[0x01][u32le body_len][body]`), using
   * the 1.12.2 classifier, as the daemon's dual dispatcher does. Default
   * `true`. With `false` every frame is read as a zccache frame (the
   * bincode-only client `recv`).
   */
  runningProcessFrames?: boolean;
}

/**
 * An incremental frame splitter: `push()` bytes as they arrive, then call
 * `next()` until it returns `null`. Each frame returned is a fresh copy of one
 * whole raw frame including its header, ready for `decodeWireMessage`,
 * `decodeBincodeFrame` and friends.
 *
 * Sizes are checked from the header as soon as it is visible, before the
 * body is buffered: a declared length over the cap (or a zccache `len < 4`)
 * throws a `ZccacheError` from `push()`/`next()`. The stream cannot be
 * resynchronised after that, so the decoder drops what it buffered and is
 * ready for a new stream.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./frame_reader.ts";
 * import { encodeFrame } from "./frame.ts";
 * const d = new FrameDecoder();
 * const f = encodeFrame(15, new Uint8Array(4));
 * d.push(f.subarray(0, 5));
 * if (d.next() !== null) throw new Error("incomplete");
 * d.push(f.subarray(5));
 * if (d.next()?.length !== 12) throw new Error("one frame");
 * ```
 */
export class FrameDecoder {
  readonly #r: FrameReader;

  /** A decoder with an empty buffer (running-process frames accepted unless turned off). */
  constructor(options: FrameDecoderOptions = {}) {
    this.#r = new FrameReader({
      maxMessageSize: options.maxMessageSize,
      mode: (options.runningProcessFrames ?? true) ? "dual" : "zccache",
    });
  }

  /** Bytes buffered and not yet returned. */
  get buffered(): number {
    return this.#r.buffered;
  }

  /** Drop everything buffered. */
  reset(): void {
    this.#r.clear();
  }

  /** Append bytes read from the stream. Throws if the next frame's header is over the cap. */
  push(chunk: Uint8Array): void {
    this.#r.push(chunk);
    // Check the pending frame's header now, so a hostile length is refused
    // before its body is buffered.
    this.#guard(() => this.#r.extent());
  }

  /** The next whole frame (header included, a copy), or `null` if more bytes are needed. */
  next(): Uint8Array | null {
    return this.#guard(() => {
      const frame = this.#r.peek()?.slice() ?? null;
      if (frame !== null) this.#r.consume(frame.length, false);
      return frame;
    });
  }

  #guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      this.#r.clear();
      throw e;
    }
  }
}
