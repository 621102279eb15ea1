/**
 * The v15 bincode lane: bincode 1 "legacy" encoding of `Request`/`Response`
 * derived from the descriptors in `schema.ts`.
 *
 * ```text
 * bincode 1.3.3 defaults (bincode::serialize / bincode::deserialize):
 *   u32/i32      4 bytes LE           u64/usize   8 bytes LE
 *   bool         00 | 01 (else error) Option<T>   00 | 01 T (else error)
 *   String/Path  u64 LE len + UTF-8   Vec<T>      u64 LE count + items
 *   Vec<u8>      u64 LE len + bytes   [u8; 32]    32 bytes, no prefix
 *   (A, B)       A B                  struct      fields in order, no names
 *   enum         u32 LE variant index, then the newtype value or the fields
 *   trailing bytes after the value are ignored on decode
 * frame: [u32 LE 4 + body.len][u32 LE 15][body]
 * ```
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/mod.rs
 * (`encode_message`, `decode_message` = `decode_bincode_message`) over the
 * serde derives of `protocol/messages/*.rs`. Paths are normalized with the
 * `NormalizedPath` rules on decode (as Rust's `Deserialize` does) and on
 * encode (as a Rust client's `NormalizedPath::new` does before sending).
 *
 * @module
 */
import { BinaryReader, BinaryWriter } from "./bytes.ts";
import { isZccacheError, ZccacheError } from "./errors.ts";
import { frameTooSmall, messageTooLarge, versionMismatch } from "./frame.ts";
import {
  BINCODE_PROTOCOL_VERSION,
  type Direction,
  MAX_MESSAGE_SIZE,
  type MessageOf,
} from "./messages.ts";
import { normalizePath } from "./path.ts";
import { camelCase, type EnumDesc, minBincodeSize, rootSchema, type TypeDesc } from "./schema.ts";

// deno-lint-ignore no-explicit-any
type Enc = (w: BinaryWriter, v: any) => void;
type Dec = (r: BinaryReader) => unknown;

/** A body fault found while decoding; thrown without a stack (cheap), reported once. */
class DataError {
  constructor(readonly message: string) {}
}

function dataError(message: string): DataError {
  return new DataError(message);
}

const encCache = new Map<TypeDesc, Enc>();
const decCache = new Map<TypeDesc, Dec>();

function compileEnc(t: TypeDesc): Enc {
  const hit = encCache.get(t);
  if (hit) return hit;
  const enc = buildEnc(t);
  encCache.set(t, enc);
  return enc;
}

function buildEnc(t: TypeDesc): Enc {
  if (typeof t === "string") {
    switch (t) {
      case "u32":
        return (w, v) => w.u32le(v);
      case "i32":
        return (w, v) => w.i32le(v);
      case "u64":
        return (w, v) => w.u64le(v);
      case "bool":
        return (w, v) => {
          if (typeof v !== "boolean") throw new TypeError(`expected boolean, got ${typeof v}`);
          w.bool(v);
        };
      case "string":
        return (w, v) => {
          if (typeof v !== "string") throw new TypeError(`expected string, got ${typeof v}`);
          w.string(v);
        };
      case "path":
        return (w, v) => {
          if (typeof v !== "string") throw new TypeError(`expected path string, got ${typeof v}`);
          w.string(normalizePath(v));
        };
      case "bytes":
        return (w, v) => {
          if (!(v instanceof Uint8Array)) throw new TypeError("expected Uint8Array");
          w.bytes64(v);
        };
      case "bytes32":
        return (w, v) => {
          if (!(v instanceof Uint8Array) || v.length !== 32) {
            throw new TypeError("expected a 32-byte Uint8Array");
          }
          w.raw(v);
        };
    }
  }
  switch (t.t) {
    case "option": {
      const inner = compileEnc(t.of);
      return (w, v) => {
        if (v === null || v === undefined) {
          w.u8(0);
        } else {
          w.u8(1);
          inner(w, v);
        }
      };
    }
    case "vec": {
      const inner = compileEnc(t.of);
      return (w, v) => {
        if (!Array.isArray(v)) throw new TypeError("expected array");
        w.lenU64(v.length);
        for (const x of v) inner(w, x);
      };
    }
    case "tuple": {
      const items = t.of.map(compileEnc);
      return (w, v) => {
        if (!Array.isArray(v) || v.length !== items.length) {
          throw new TypeError(`expected a ${items.length}-tuple`);
        }
        for (let i = 0; i < items.length; i++) items[i](w, v[i]);
      };
    }
    case "struct":
      return structEnc(t.fields);
    case "units": {
      const index = new Map(t.variants.map((n, i) => [n, i]));
      const name = t.name;
      return (w, v) => {
        const i = index.get(v);
        if (i === undefined) throw new TypeError(`unknown ${name} variant ${JSON.stringify(v)}`);
        w.u32le(i);
      };
    }
    case "enum":
      return enumEnc(t);
  }
}

function structEnc(fields: readonly (readonly [string, TypeDesc])[]): Enc {
  const keys = fields.map(([n]) => camelCase(n));
  const encs = fields.map(([, x]) => compileEnc(x));
  return (w, v) => {
    if (typeof v !== "object" || v === null) throw new TypeError("expected object");
    for (let i = 0; i < keys.length; i++) {
      const x = v[keys[i]];
      if (x === undefined) throw new TypeError(`missing field ${keys[i]}`);
      encs[i](w, x);
    }
  };
}

/**
 * Enum encoders and decoders build each variant's codec on first use: a
 * short-lived wrapper process encodes one `CompileEphemeral` and decodes one
 * `CompileResult`, and should not pay for compiling the other 36 variants.
 */
function enumEnc(t: EnumDesc): Enc {
  const indexOf = new Map(t.variants.map((variant, index) => [variant.name, index]));
  const arms: (Enc | undefined)[] = [];
  const build = (index: number): Enc => {
    const variant = t.variants[index];
    if (variant.shape === "unit") return (w) => w.u32le(index);
    if (variant.shape === "newtype") {
      const inner = compileEnc(variant.of);
      return (w, v) => {
        w.u32le(index);
        if (v.value === undefined) throw new TypeError(`missing field value`);
        inner(w, v.value);
      };
    }
    const body = structEnc(variant.fields);
    return (w, v) => {
      w.u32le(index);
      body(w, v);
    };
  };
  const name = t.name;
  return (w, v) => {
    const index = typeof v === "object" && v !== null ? indexOf.get(v.kind) : undefined;
    if (index === undefined) throw new TypeError(`unknown ${name} kind ${JSON.stringify(v?.kind)}`);
    (arms[index] ??= build(index))(w, v);
  };
}

function compileDec(t: TypeDesc): Dec {
  const hit = decCache.get(t);
  if (hit) return hit;
  const dec = buildDec(t);
  decCache.set(t, dec);
  return dec;
}

function buildDec(t: TypeDesc): Dec {
  if (typeof t === "string") {
    switch (t) {
      case "u32":
        return (r) => r.u32le();
      case "i32":
        return (r) => r.i32le();
      case "u64":
        return (r) => r.u64le();
      case "bool":
        return (r) => {
          const b = r.u8();
          if (b > 1) throw dataError(`invalid u8 while decoding bool, expected 0 or 1, found ${b}`);
          return b === 1;
        };
      case "string":
        return (r) => r.string();
      case "path":
        return (r) => normalizePath(r.string());
      case "bytes":
        return (r) => r.bytes64();
      case "bytes32":
        return (r) => r.bytesCopy(32);
    }
  }
  switch (t.t) {
    case "option": {
      const inner = compileDec(t.of);
      return (r) => {
        const tag = r.u8();
        if (tag === 0) return null;
        if (tag === 1) return inner(r);
        throw dataError(`tag for enum is not valid, found ${tag}`);
      };
    }
    case "vec": {
      const inner = compileDec(t.of);
      const min = minBincodeSize(t.of);
      return (r) => {
        const n = r.lenU64(min);
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = inner(r);
        return out;
      };
    }
    case "tuple": {
      const items = t.of.map(compileDec);
      return (r) => items.map((d) => d(r));
    }
    case "struct": {
      const body = structDec(t.fields);
      return (r) => body(r, {});
    }
    case "units": {
      const variants = t.variants;
      return (r) => {
        const i = r.u32le();
        if (i >= variants.length) throw badVariant(i, variants.length);
        return variants[i];
      };
    }
    case "enum":
      return enumDec(t);
  }
}

function badVariant(i: number, n: number): DataError {
  return dataError(`invalid value: integer \`${i}\`, expected variant index 0 <= i < ${n}`);
}

function structDec(
  fields: readonly (readonly [string, TypeDesc])[],
): (r: BinaryReader, into: Record<string, unknown>) => Record<string, unknown> {
  const keys = fields.map(([n]) => camelCase(n));
  const decs = fields.map(([, x]) => compileDec(x));
  return (r, into) => {
    for (let i = 0; i < keys.length; i++) into[keys[i]] = decs[i](r);
    return into;
  };
}

function enumDec(t: EnumDesc): Dec {
  const arms: (Dec | undefined)[] = [];
  const build = (index: number): Dec => {
    const variant = t.variants[index];
    const kind = variant.name;
    if (variant.shape === "unit") return () => ({ kind });
    if (variant.shape === "newtype") {
      const inner = compileDec(variant.of);
      return (r) => ({ kind, value: inner(r) });
    }
    const body = structDec(variant.fields);
    return (r) => body(r, { kind });
  };
  const count = t.variants.length;
  return (r) => {
    const i = r.u32le();
    if (i >= count) throw badVariant(i, count);
    return (arms[i] ??= build(i))(r);
  };
}

/**
 * Encode a message as a bincode body (no frame header).
 * A value that does not fit its type throws `ZccacheError` "Serialization".
 *
 * @example
 * ```ts
 * import { encodeBincode } from "./bincode.ts";
 * import { toHex } from "./bytes.ts";
 * const body = encodeBincode("request", { kind: "Lookup", cacheKey: "abc" });
 * if (toHex(body) !== "030000000300000000000000616263") throw new Error();
 * ```
 */
export function encodeBincode<D extends Direction>(direction: D, msg: MessageOf<D>): Uint8Array {
  const w = new BinaryWriter();
  encodeInto(w, direction, msg);
  return w.finish();
}

function encodeInto(w: BinaryWriter, direction: Direction, msg: unknown): void {
  const enc = compileEnc(rootSchema(direction));
  try {
    enc(w, msg);
  } catch (e) {
    if (isZccacheError(e)) throw e;
    throw new ZccacheError(
      "Serialization",
      `serialization error: ${(e as Error).message ?? String(e)}`,
      { cause: e },
    );
  }
}

/**
 * Decode a bincode body (trailing bytes are ignored, as in bincode 1).
 * Any failure is a `ZccacheError` "Deserialization" (a short body included).
 */
export function decodeBincode<D extends Direction>(direction: D, body: Uint8Array): MessageOf<D> {
  return decodeBody(direction, body, undefined);
}

function decodeBody<D extends Direction>(
  direction: D,
  body: Uint8Array,
  consumed: number | undefined,
): MessageOf<D> {
  const dec = compileDec(rootSchema(direction));
  try {
    return dec(new BinaryReader(body)) as MessageOf<D>;
  } catch (e) {
    let text: string;
    if (e instanceof DataError) text = e.message;
    else if (e instanceof RangeError) text = `io error: unexpected end of file (${e.message})`;
    else if (isZccacheError(e, "Deserialization")) text = e.message;
    else throw e;
    throw new ZccacheError("Deserialization", `deserialization error: ${text}`, {
      consumed,
      cause: e instanceof DataError ? undefined : e,
    });
  }
}

/**
 * Encode a whole bincode frame: `[u32le len][u32le 15][body]`, the header
 * backfilled after the body is written.
 *
 * @example
 * ```ts
 * import { encodeBincodeFrame } from "./bincode.ts";
 * import { toHex } from "./bytes.ts";
 * if (toHex(encodeBincodeFrame("request", { kind: "Ping" })) !== "080000000f00000000000000") {
 *   throw new Error();
 * }
 * ```
 */
export function encodeBincodeFrame<D extends Direction>(
  direction: D,
  msg: MessageOf<D>,
  version: number = BINCODE_PROTOCOL_VERSION,
): Uint8Array {
  const w = new BinaryWriter();
  w.reserve(8);
  encodeInto(w, direction, msg);
  const out = w.finish();
  const len = out.length - 4;
  if (len > 0xffffffff) throw messageTooLarge(out.length - 8);
  w.setU32le(0, len);
  w.setU32le(4, version);
  return out;
}

/** Options of {@link decodeBincodeFrame}. */
export interface DecodeFrameOptions {
  /** Largest accepted `len` (default 16 MiB). */
  maxMessageSize?: number;
}

/**
 * Decode the bincode frame at the start of `buf` with zccache's
 * `decode_message` order of checks:
 *
 * 1. fewer than 4 bytes: `null` (incomplete);
 * 2. `len > 16 MiB`: `MessageTooLarge` (consumed 0);
 * 3. `len < 4`: `Deserialization` "frame too small" (consumed 0);
 * 4. fewer than `4 + len` bytes: `null`;
 * 5. the frame is consumed; version not 15: `VersionMismatch{15, v}`;
 *    a bad body: `Deserialization`. Both carry `consumed = 4 + len`.
 *
 * @example
 * ```ts
 * import { decodeBincodeFrame } from "./bincode.ts";
 * import { fromHex } from "./bytes.ts";
 * const r = decodeBincodeFrame(fromHex("080000000f00000000000000"), "response");
 * if (r?.message.kind !== "Pong" || r.consumed !== 12) throw new Error();
 * ```
 */
export function decodeBincodeFrame<D extends Direction>(
  buf: Uint8Array,
  direction: D,
  options: DecodeFrameOptions = {},
): { message: MessageOf<D>; consumed: number } | null {
  const max = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
  if (buf.length < 4) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(0, true);
  if (len > max) throw messageTooLarge(len);
  if (len < 4) throw frameTooSmall();
  if (buf.length < 4 + len) return null;
  const consumed = 4 + len;
  const version = view.getUint32(4, true);
  if (version !== BINCODE_PROTOCOL_VERSION) {
    throw versionMismatch(BINCODE_PROTOCOL_VERSION, version, consumed);
  }
  return { message: decodeBody(direction, buf.subarray(8, consumed), consumed), consumed };
}
