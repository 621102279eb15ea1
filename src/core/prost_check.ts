/**
 * A strict protobuf wire walker that reproduces prost's decode errors.
 *
 * `@bufbuild/protobuf`'s `fromBinary` is lenient where prost is strict: it
 * does not check a field's wire type, does not notice a submessage whose
 * contents overrun its declared length, and reads string/bytes lengths
 * against the whole buffer. prost rejects all of these. {@link checkProstWire}
 * walks the bytes once against a message descriptor with prost's rules and
 * throws {@link ProstDecodeError} carrying prost's `Display` text
 * (`failed to decode Protobuf message: Request.body: buffer underflow`), so a
 * subsequent `fromBinary` only ever sees input prost accepts.
 *
 * Rules reproduced from prost 0.11–0.14 (`encoding.rs`: `decode_varint`,
 * `decode_key`, `check_wire_type`, `merge_loop`, `skip_field`,
 * `string::merge`; `error.rs`: `DecodeError` display with its field stack,
 * innermost first; recursion limit 100).
 *
 * @module
 */

import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";

/** A prost `DecodeError`: description plus the `(Message, field)` stack. */
export class ProstDecodeError extends Error {
  override readonly name = "ProstDecodeError";
  /** prost's description, e.g. `buffer underflow`. */
  readonly description: string;
  /** `Msg.field` entries, innermost first (prost push order). */
  readonly stack_: string[] = [];

  constructor(description: string) {
    super(description);
    this.description = description;
  }

  /** prost `DecodeError::push`: record the enclosing field and refresh the text. */
  push(message: string, field: string): this {
    this.stack_.push(`${message}.${field}`);
    return this;
  }

  /** prost's `Display`: `failed to decode Protobuf message: A.b: C.d: <description>`. */
  display(): string {
    let s = "failed to decode Protobuf message: ";
    for (const e of this.stack_) s += `${e}: `;
    return s + this.description;
  }
}

// prost WireType and its Debug names.
const VARINT = 0, I64 = 1, LEN = 2, SGROUP = 3, EGROUP = 4, I32 = 5;
const WIRE_NAMES = [
  "Varint",
  "SixtyFourBit",
  "LengthDelimited",
  "StartGroup",
  "EndGroup",
  "ThirtyTwoBit",
];
const RECURSION_LIMIT = 100;

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** How one known field is read. */
interface Rule {
  /** The wire type prost's merge function expects. */
  wire: number;
  /** Repeated numeric scalar: LEN (packed) is accepted too. */
  packable: boolean;
  /** For LEN fields: what the bytes are. */
  content: "bytes" | "string" | "message" | "map" | "packed-none";
  /** Nested message for `message`. */
  message?: DescMessage;
  /** For maps: key and value rules. */
  mapKey?: Rule;
  mapValue?: Rule;
  /** prost pushes `(Struct, field)`; oneof members push the oneof name. */
  pushName: string;
}

const rulesCache = new WeakMap<DescMessage, Map<number, Rule>>();

function scalarWire(t: ScalarType): number {
  switch (t) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return I32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LEN;
    default:
      return VARINT;
  }
}

function scalarRule(t: ScalarType, pushName: string): Rule {
  const wire = scalarWire(t);
  return {
    wire,
    packable: false,
    content: t === ScalarType.STRING ? "string" : t === ScalarType.BYTES ? "bytes" : "packed-none",
    pushName,
  };
}

function ruleFor(f: DescField): Rule {
  const pushName = f.oneof ? f.oneof.name : f.name;
  switch (f.fieldKind) {
    case "scalar":
      return scalarRule(f.scalar, pushName);
    case "enum":
      return { wire: VARINT, packable: false, content: "packed-none", pushName };
    case "message":
      return { wire: LEN, packable: false, content: "message", message: f.message, pushName };
    case "list": {
      if (f.listKind === "message") {
        return { wire: LEN, packable: false, content: "message", message: f.message, pushName };
      }
      const t = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
      const r = scalarRule(t, pushName);
      if (r.wire !== LEN) r.packable = true;
      return r;
    }
    case "map": {
      const key = scalarRule(f.mapKey, "key");
      let value: Rule;
      if (f.mapKind === "message") {
        value = {
          wire: LEN,
          packable: false,
          content: "message",
          message: f.message,
          pushName: "value",
        };
      } else if (f.mapKind === "enum") {
        value = { wire: VARINT, packable: false, content: "packed-none", pushName: "value" };
      } else {
        value = scalarRule(f.scalar, "value");
      }
      return { wire: LEN, packable: false, content: "map", mapKey: key, mapValue: value, pushName };
    }
  }
}

function rulesOf(desc: DescMessage): Map<number, Rule> {
  let m = rulesCache.get(desc);
  if (m === undefined) {
    m = new Map();
    for (const f of desc.fields) m.set(f.number, ruleFor(f));
    rulesCache.set(desc, m);
  }
  return m;
}

/** A cursor over the whole buffer (prost checks lengths against all remaining bytes). */
class Cursor {
  pos: number;
  constructor(readonly buf: Uint8Array, pos: number, readonly end: number) {
    this.pos = pos;
  }

  /** prost `decode_varint`: at most 10 bytes, the 10th at most 0x01. Values above
   *  2^53 lose precision, which only matters for the `key > u32::MAX` check. */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let count = 0; count < 10; count++) {
      if (this.pos >= this.end) throw new ProstDecodeError("invalid varint");
      const b = buf[this.pos++];
      if (count === 9 && b >= 0x02) throw new ProstDecodeError("invalid varint");
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new ProstDecodeError("invalid varint");
  }

  /** The length prefix of a LEN field, checked against what is left. */
  len(): number {
    const n = this.varint();
    if (n > this.end - this.pos) throw new ProstDecodeError("buffer underflow");
    return n;
  }
}

function checkWire(expected: number, actual: number): void {
  if (expected !== actual) {
    throw new ProstDecodeError(
      `invalid wire type: ${WIRE_NAMES[actual]} (expected ${WIRE_NAMES[expected]})`,
    );
  }
}

/** prost `decode_key`. */
function readKey(c: Cursor): [tag: number, wire: number] {
  const key = c.varint();
  if (key > 0xffffffff) throw new ProstDecodeError(`invalid key value: ${key}`);
  const wire = key % 8;
  if (wire > 5) throw new ProstDecodeError(`invalid wire type value: ${wire}`);
  const tag = Math.floor(key / 8);
  if (tag < 1) throw new ProstDecodeError("invalid tag value: 0");
  return [tag, wire];
}

/** prost `skip_field` for unknown fields. */
function skipField(c: Cursor, wire: number, tag: number, depth: number): void {
  let n: number;
  switch (wire) {
    case VARINT:
      c.varint();
      n = 0;
      break;
    case I32:
      n = 4;
      break;
    case I64:
      n = 8;
      break;
    case LEN:
      n = c.varint();
      break;
    case SGROUP: {
      if (depth >= RECURSION_LIMIT) throw new ProstDecodeError("recursion limit reached");
      for (;;) {
        const [t, w] = readKey(c);
        if (w === EGROUP) {
          if (t !== tag) throw new ProstDecodeError("unexpected end group tag");
          break;
        }
        skipField(c, w, t, depth + 1);
      }
      n = 0;
      break;
    }
    default:
      throw new ProstDecodeError("unexpected end group tag");
  }
  if (n > c.end - c.pos) throw new ProstDecodeError("buffer underflow");
  c.pos += n;
}

function readScalarValue(c: Cursor, rule: Rule): void {
  switch (rule.wire) {
    case VARINT:
      c.varint();
      return;
    case I32:
      if (c.end - c.pos < 4) throw new ProstDecodeError("buffer underflow");
      c.pos += 4;
      return;
    case I64:
      if (c.end - c.pos < 8) throw new ProstDecodeError("buffer underflow");
      c.pos += 8;
      return;
    default: {
      const n = c.len();
      if (rule.content === "string") {
        const start = c.pos;
        for (let i = start; i < start + n; i++) {
          if (c.buf[i] > 0x7f) {
            try {
              fatalUtf8.decode(c.buf.subarray(start, start + n));
            } catch {
              throw new ProstDecodeError("invalid string value: data is not UTF-8 encoded");
            }
            break;
          }
        }
      }
      c.pos += n;
    }
  }
}

/** prost `merge_loop` body over `[c.pos, limitEnd)` (limit measured on the whole buffer). */
function walkFields(
  c: Cursor,
  desc: DescMessage,
  until: number,
  depth: number,
): void {
  const rules = rulesOf(desc);
  while (c.pos < until) {
    const [tag, wire] = readKey(c);
    const rule = rules.get(tag);
    if (rule === undefined) {
      skipField(c, wire, tag, depth);
      continue;
    }
    try {
      readField(c, rule, wire, depth);
    } catch (e) {
      if (e instanceof ProstDecodeError) e.push(desc.name, rule.pushName);
      throw e;
    }
  }
}

/** Walk a length-delimited nested region the way prost's `merge_loop` does. */
function walkDelimited(c: Cursor, inner: (until: number) => void): void {
  const n = c.len();
  const limit = c.pos + n;
  inner(limit);
  if (c.pos !== limit) throw new ProstDecodeError("delimited length exceeded");
}

function readField(c: Cursor, rule: Rule, wire: number, depth: number): void {
  if (rule.packable && wire === LEN) {
    walkDelimited(c, (until) => {
      while (c.pos < until) readScalarValue(c, rule);
    });
    return;
  }
  checkWire(rule.wire, wire);
  if (rule.content === "message") {
    if (depth >= RECURSION_LIMIT) throw new ProstDecodeError("recursion limit reached");
    walkDelimited(c, (until) => walkFields(c, rule.message!, until, depth + 1));
    return;
  }
  if (rule.content === "map") {
    if (depth >= RECURSION_LIMIT) throw new ProstDecodeError("recursion limit reached");
    walkDelimited(c, (until) => {
      while (c.pos < until) {
        const [tag, w] = readKey(c);
        const r = tag === 1 ? rule.mapKey! : tag === 2 ? rule.mapValue! : undefined;
        if (r === undefined) skipField(c, w, tag, depth + 1);
        else readField(c, r, w, depth + 1);
      }
    });
    return;
  }
  readScalarValue(c, rule);
}

/**
 * Check that `bytes` decode as `desc` under prost's rules; throws
 * {@link ProstDecodeError} on the first fault prost would report.
 */
export function checkProstWire(desc: DescMessage, bytes: Uint8Array): void {
  const c = new Cursor(bytes, 0, bytes.length);
  walkFields(c, desc, bytes.length, 0);
}
