/**
 * Byte cursors and helpers for the wire codecs: a little-endian
 * {@link BinaryReader} / {@link BinaryWriter} pair, lowercase hex, strict
 * UTF-8 and concatenation.
 *
 * Conventions:
 * - Endianness is in the method name (`u32le`, `u64le`).
 * - `u64`/`i64` are `bigint`; lengths are numbers checked against
 *   `Number.MAX_SAFE_INTEGER` and the bytes remaining.
 * - The reader throws `RangeError` when it needs more bytes than it has; the
 *   frame layer turns that into "incomplete" or a `Deserialization` error.
 *
 * @module
 */
import { ZccacheError } from "./errors.ts";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Encode a string as UTF-8. */
export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Decode UTF-8, rejecting invalid sequences (a `TypeError`), like Rust's
 * `String::from_utf8`.
 */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Lowercase hex of a byte array.
 *
 * @example
 * ```ts
 * import { toHex } from "./bytes.ts";
 * if (toHex(new Uint8Array([0, 255])) !== "00ff") throw new Error();
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Parse hex (either case, even length, no separators) into bytes.
 * Throws `SyntaxError` on anything else.
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) {
    throw new SyntaxError(`Cannot parse hex: odd length ${hex.length}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? 2 * i : 2 * i + 1;
      throw new SyntaxError(
        `Cannot parse hex: invalid character ${JSON.stringify(hex[at])} at offset ${at}`,
      );
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Concatenate byte arrays into one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A forward cursor over a byte array (little-endian).
 *
 * @example
 * ```ts
 * import { BinaryReader } from "./bytes.ts";
 * const r = new BinaryReader(new Uint8Array([1, 0, 0, 0, 7]));
 * if (r.u32le() !== 1 || r.u8() !== 7 || r.remaining !== 0) throw new Error();
 * ```
 */
export class BinaryReader {
  /** The bytes being read. */
  readonly bytes: Uint8Array;
  /** Read position, relative to `bytes`. */
  pos: number;
  #view: DataView;

  /** A reader over `bytes`, starting at `pos`. */
  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.pos = pos;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  #need(n: number): number {
    const at = this.pos;
    if (n > this.bytes.length - at) {
      throw new RangeError(
        `Cannot read ${n} bytes at offset ${at}: only ${this.bytes.length - at} remain`,
      );
    }
    this.pos = at + n;
    return at;
  }

  /** One unsigned byte. */
  u8(): number {
    return this.bytes[this.#need(1)];
  }

  /** u32, little-endian. */
  u32le(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  /** i32, little-endian two's complement. */
  i32le(): number {
    return this.#view.getInt32(this.#need(4), true);
  }

  /** u64, little-endian, as bigint. */
  u64le(): bigint {
    return this.#view.getBigUint64(this.#need(8), true);
  }

  /** i64, little-endian two's complement, as bigint. */
  i64le(): bigint {
    return this.#view.getBigInt64(this.#need(8), true);
  }

  /**
   * A bincode bool: exactly `00` or `01`; any other byte is a
   * `Deserialization` error (bincode 1: "invalid u8 while decoding bool").
   */
  bool(): boolean {
    const b = this.u8();
    if (b > 1) {
      throw new ZccacheError(
        "Deserialization",
        `invalid u8 while decoding bool, expected 0 or 1, found ${b}`,
      );
    }
    return b === 1;
  }

  /**
   * A u64 length or count, checked against `Number.MAX_SAFE_INTEGER` and
   * against the bytes remaining times `minItemSize` (so a hostile count can
   * never trigger a large allocation). Throws `RangeError`.
   */
  lenU64(minItemSize = 1): number {
    const at = this.pos;
    const n = this.u64le();
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.pos = at;
      throw new RangeError(`Cannot read length ${n} at offset ${at}: exceeds MAX_SAFE_INTEGER`);
    }
    const len = Number(n);
    if (minItemSize > 0 && len * minItemSize > this.remaining) {
      throw new RangeError(
        `Cannot read ${len} items at offset ${at}: only ${this.remaining} bytes remain`,
      );
    }
    return len;
  }

  /** `n` raw bytes, copied (the result never aliases the input). */
  bytesCopy(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.slice(at, at + n);
  }

  /** `n` raw bytes as a view into the input (no copy). */
  bytesView(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.subarray(at, at + n);
  }

  /** `n` raw bytes (copied). Alias of {@link BinaryReader.bytesCopy}. */
  bytesN(n: number): Uint8Array {
    return this.bytesCopy(n);
  }

  /**
   * A bincode string: u64 byte length then strict UTF-8. Invalid UTF-8 is a
   * `Deserialization` error.
   */
  string(): string {
    const n = this.lenU64();
    const at = this.#need(n);
    if (n === 0) return "";
    if (n <= 64) {
      // Short ASCII strings (paths, args, env): skip the TextDecoder call.
      const b = this.bytes;
      let s = "";
      let i = at;
      for (; i < at + n; i++) {
        const c = b[i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === at + n) return s;
    }
    try {
      return strictDecoder.decode(this.bytes.subarray(at, at + n));
    } catch (e) {
      throw new ZccacheError(
        "Deserialization",
        `string is not valid utf8: invalid utf-8 sequence in ${n} bytes at offset ${at}`,
        { cause: e },
      );
    }
  }

  /** A bincode byte string: u64 length then the bytes (copied). */
  bytes64(): Uint8Array {
    return this.bytesCopy(this.lenU64());
  }
}

/**
 * A growable little-endian byte sink. It grows geometrically and can
 * backfill values at earlier offsets (frame headers, length prefixes).
 *
 * @example
 * ```ts
 * import { BinaryWriter, toHex } from "./bytes.ts";
 * const w = new BinaryWriter();
 * w.u32le(1);
 * w.string("a");
 * if (toHex(w.finish()) !== "01000000010000000000000061") throw new Error();
 * ```
 */
export class BinaryWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** An empty writer whose buffer starts at `initialCapacity` bytes and grows. */
  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** Make room for `n` more bytes; returns the write offset. */
  #grow(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#len = need;
    return at;
  }

  /** Reserve `n` zero bytes (e.g. a header to backfill); returns their offset. */
  reserve(n: number): number {
    const at = this.#grow(n);
    this.#buf.fill(0, at, at + n);
    return at;
  }

  /** One byte (0..255). */
  u8(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`u8 out of range: ${v}`);
    const at = this.#grow(1);
    this.#buf[at] = v;
  }

  /** u32, little-endian. */
  u32le(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`u32 out of range: ${v}`);
    }
    const at = this.#grow(4);
    this.#view.setUint32(at, v, true);
  }

  /** i32, little-endian two's complement. */
  i32le(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new RangeError(`i32 out of range: ${v}`);
    }
    const at = this.#grow(4);
    this.#view.setInt32(at, v, true);
  }

  /** u64, little-endian. */
  u64le(v: bigint): void {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) {
      throw new RangeError(`u64 out of range: ${v}`);
    }
    const at = this.#grow(8);
    this.#view.setBigUint64(at, v, true);
  }

  /** i64, little-endian two's complement. */
  i64le(v: bigint): void {
    if (typeof v !== "bigint" || v < I64_MIN || v > I64_MAX) {
      throw new RangeError(`i64 out of range: ${v}`);
    }
    const at = this.#grow(8);
    this.#view.setBigInt64(at, v, true);
  }

  /** A u64 length or count given as a number. */
  lenU64(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`length out of range: ${n}`);
    const at = this.#grow(8);
    this.#view.setUint32(at, n % 0x100000000, true);
    this.#view.setUint32(at + 4, Math.floor(n / 0x100000000), true);
  }

  /** A bincode bool (`00`/`01`). */
  bool(v: boolean): void {
    const at = this.#grow(1);
    this.#buf[at] = v ? 1 : 0;
  }

  /** Raw bytes, no prefix. */
  raw(bytes: Uint8Array): void {
    const at = this.#grow(bytes.length);
    this.#buf.set(bytes, at);
  }

  /** A bincode byte string: u64 length then the bytes. */
  bytes64(bytes: Uint8Array): void {
    this.lenU64(bytes.length);
    this.raw(bytes);
  }

  /** A bincode string: u64 UTF-8 byte length then the bytes. */
  string(s: string): void {
    const lenAt = this.#grow(8);
    // A UTF-16 code unit needs at most 3 UTF-8 bytes.
    const at = this.#grow(s.length * 3);
    if (s.length <= 64) {
      // Short ASCII strings: write them without the TextEncoder call.
      const b = this.#buf;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === s.length) {
        this.#len = at + i;
        this.#view.setUint32(lenAt, i, true);
        this.#view.setUint32(lenAt + 4, 0, true);
        return;
      }
    }
    const { written } = encoder.encodeInto(s, this.#buf.subarray(at));
    this.#len = at + written;
    this.#view.setUint32(lenAt, written, true);
    this.#view.setUint32(lenAt + 4, 0, true);
  }

  /** Overwrite a u32 at an earlier offset. */
  setU32le(offset: number, v: number): void {
    if (offset < 0 || offset + 4 > this.#len) {
      throw new RangeError(`offset out of range: ${offset}`);
    }
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`u32 out of range: ${v}`);
    }
    this.#view.setUint32(offset, v, true);
  }

  /** The bytes written, as a view of the internal buffer (no copy). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
