/**
 * The domain <-> protobuf-es mapping of the v16 prost lane, derived from the
 * schema (`schema.ts`) and the generated descriptors (`gen/zccache_v1_pb.ts`).
 *
 * One walker, compiled once per root: each schema descriptor is paired with
 * the protobuf field that carries it and turned into a {@link Codec} (domain
 * value -> protobuf-es init value, protobuf-es value -> domain value). The
 * pairing rules between the two wires are stated once, in {@link RULES}
 * (values) and {@link structSlot} (struct fields). A schema that does not fit
 * the proto (a missing or extra field, a scalar of the wrong type, an enum
 * without the `index + 1` numbers) throws when the mapping is built, that is
 * when `prost.ts` is first imported.
 *
 * Decoding walks schema fields in declaration order, so the first failing
 * check is the one zccache's `*_from_prost` struct literals hit first.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/wire_prost.rs
 * (`request_to_prost`, `request_from_prost`, `response_to_prost`,
 * `response_from_prost` and their helpers).
 *
 * @module
 */

import type { DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { create, ScalarType } from "@bufbuild/protobuf";
import { ErrorCode, ZccacheError } from "./errors.ts";
import { normalizePath } from "./path.ts";
import type { EnumDesc, FieldDesc, ScalarDesc, TypeDesc, VariantDesc } from "./schema.ts";
import { camelCase, listNames } from "./schema.ts";

/** A protobuf-es message (or init object) seen as a plain record. */
type Rec = Record<string, unknown>;
/** A protobuf-es oneof ADT. */
interface Adt {
  case: string | undefined;
  value?: unknown;
}

/** One mapped value: domain -> protobuf-es init value, protobuf-es value -> domain. */
interface Codec {
  readonly to: (v: unknown) => unknown;
  readonly from: (v: unknown) => unknown;
}

/** Where a value sits on the protobuf side. */
interface At {
  /** The protobuf field holding the value (singular, oneof member or list). */
  readonly field: DescField;
  /** Mapping one element of a repeated field. */
  readonly element: boolean;
}

/** `Msg.field` (proto names) for error texts. */
function whereOf(at: At): string {
  return `${at.field.parent.name}.${at.field.name}`;
}

function conversion(message: string): ZccacheError {
  return new ZccacheError(ErrorCode.Conversion, message, {});
}

/** A schema that does not fit the proto: a programming error, thrown at import. */
function mismatch(what: string): Error {
  return new TypeError(`prost mapping: ${what}`);
}

const IDENTITY: Codec = { to: (v) => v, from: (v) => v };

// ---------------------------------------------------------------------------
// What the protobuf side holds at `at`.

function scalarAt(at: At): ScalarType | undefined {
  const f = at.field;
  return f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")
    ? f.scalar
    : undefined;
}

function messageAt(at: At, why: string): DescMessage {
  const f = at.field;
  if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) {
    return f.message;
  }
  throw mismatch(`${whereOf(at)} must be a message (${why})`);
}

function isMessageAt(at: At): boolean {
  const f = at.field;
  return f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message");
}

/** The singular field `name` of `m` (proto name). */
function fieldOf(m: DescMessage, name: string): DescField {
  const f = m.fields.find((x) => x.name === name);
  if (f === undefined) throw mismatch(`${m.name} has no field ${name}`);
  return f;
}

function singleField(m: DescMessage, why: string): DescField {
  if (m.fields.length !== 1) throw mismatch(`${m.name} must have exactly one field (${why})`);
  return m.fields[0];
}

/** Every field of `m` must be claimed by the schema. */
function allClaimed(m: DescMessage, claimed: Set<DescField>): void {
  for (const f of m.fields) {
    if (!claimed.has(f)) throw mismatch(`${m.name}.${f.name} has no schema counterpart`);
  }
}

function soleOneof(m: DescMessage): DescOneof {
  if (m.oneofs.length !== 1) throw mismatch(`${m.name} must have exactly one oneof`);
  return m.oneofs[0];
}

// ---------------------------------------------------------------------------
// The rules, stated once.

const SCALARS: Record<Exclude<ScalarDesc, "path" | "bytes32">, ScalarType> = {
  u32: ScalarType.UINT32,
  i32: ScalarType.INT32,
  u64: ScalarType.UINT64,
  bool: ScalarType.BOOL,
  string: ScalarType.STRING,
  bytes: ScalarType.BYTES,
};

function sameScalar(t: keyof typeof SCALARS, at: At): Codec {
  if (scalarAt(at) !== SCALARS[t]) throw mismatch(`${whereOf(at)} must be a ${t} scalar`);
  return IDENTITY; // u64 is a bigint on both sides
}

type Tag = ScalarDesc | Exclude<TypeDesc, string>["t"];
type DescOf<K extends Tag> = Extract<TypeDesc, K | { readonly t: K }>;

/**
 * Value rules: how one schema descriptor maps to what a protobuf field holds.
 * The keys are every descriptor kind of `schema.ts` (adding one fails to
 * compile here until it has a rule).
 */
const RULES: { readonly [K in Tag]: (t: DescOf<K>, at: At) => Codec } = {
  /** Integers, bools, strings and bytes: the same protobuf scalar, as is. */
  u32: (t, at) => sameScalar(t, at),
  i32: (t, at) => sameScalar(t, at),
  u64: (t, at) => sameScalar(t, at),
  bool: (t, at) => sameScalar(t, at),
  string: (t, at) => sameScalar(t, at),
  bytes: (t, at) => sameScalar(t, at),

  /** `[u8; 32]`: `bytes`, length-checked on decode. */
  bytes32: (_, at) => {
    if (scalarAt(at) !== ScalarType.BYTES) throw mismatch(`${whereOf(at)} must be bytes`);
    const where = whereOf(at);
    return {
      to: IDENTITY.to,
      from: (v) => {
        const b = v as Uint8Array;
        if (b.length !== 32) {
          throw conversion(`invalid v16 prost ${where} length ${b.length}; expected 32 bytes`);
        }
        return b;
      },
    };
  },

  /** `NormalizedPath`: a `Path { value }` message, normalized on decode. */
  path: (_, at) => {
    const f = singleField(messageAt(at, "path"), "path");
    if (f.fieldKind !== "scalar" || f.scalar !== ScalarType.STRING) {
      throw mismatch(`${f.parent.name}.${f.name} must be a string`);
    }
    const k = f.localName;
    return {
      to: (p) => ({ [k]: p }),
      from: (m) => normalizePath((m as Rec)[k] as string),
    };
  },

  /**
   * `Option<T>`: an unset message field or an unset proto3 `optional` field.
   * (`Option<Vec<T>>` as a struct field is the list plus `<name>_is_set`,
   * see {@link structSlot}.)
   */
  option: (t, at) => {
    const f = at.field;
    if (at.element || f.fieldKind === "list" || (f.fieldKind !== "message" && f.presence !== 1)) {
      throw mismatch(`${whereOf(at)} must be a message or proto3 optional field (option)`);
    }
    const inner = ruleOf(t.of, at);
    return {
      to: (v) => v === null ? undefined : inner.to(v),
      from: (v) => v === undefined ? null : inner.from(v),
    };
  },

  /** `Vec<T>`: a repeated field of what `T` maps to. */
  vec: (t, at) => {
    if (at.element || at.field.fieldKind !== "list") {
      throw mismatch(`${whereOf(at)} must be a repeated field (vec)`);
    }
    const el = codecOf(t.of, { field: at.field, element: true });
    if (el === IDENTITY) return IDENTITY;
    return {
      to: (v) => (v as unknown[]).map(el.to),
      from: (v) => (v as unknown[]).map(el.from),
    };
  },

  /** A tuple: a message whose fields are the elements in order (`EnvVar { name, value }`). */
  tuple: (t, at) => {
    const m = messageAt(at, "tuple");
    if (m.fields.length !== t.of.length) {
      throw mismatch(`${m.name} must have ${t.of.length} fields`);
    }
    const parts = t.of.map((x, i) => {
      const field = m.fields[i];
      return { k: field.localName, c: codecOf(x, { field, element: false }) };
    });
    return {
      to: (v) => {
        const o: Rec = {};
        for (let i = 0; i < parts.length; i++) o[parts[i].k] = parts[i].c.to((v as unknown[])[i]);
        return o;
      },
      from: (v) => parts.map((p) => p.c.from((v as Rec)[p.k])),
    };
  },

  /** A struct: a message with the same (snake_case) field names. */
  struct: (t, at) => structCodec(t.fields, messageAt(at, t.name), undefined),

  /**
   * An enum of unit variants: the protobuf enum number `index + 1` (0 is
   * `UNSPECIFIED`); where the proto has a message instead, its only field
   * (`StoreResult { kind }`).
   */
  units: (t, at) => {
    if (isMessageAt(at)) {
      const field = singleField(messageAt(at, t.name), t.name);
      const inner = codecOf(t, { field, element: false });
      const k = field.localName;
      return { to: (v) => ({ [k]: inner.to(v) }), from: (m) => inner.from((m as Rec)[k]) };
    }
    const f = at.field;
    const e = f.fieldKind === "enum" ? f.enum : f.fieldKind === "list" ? f.enum : undefined;
    if (e === undefined) throw mismatch(`${whereOf(at)} must be an enum (${t.name})`);
    t.variants.forEach((_, i) => {
      if (e.values.find((x) => x.number === i + 1) === undefined) {
        throw mismatch(`${e.name} has no number ${i + 1}`);
      }
    });
    const numbers = new Map(t.variants.map((v, i) => [v, i + 1]));
    const expected = listNames(t.variants, "or");
    const where = whereOf(at);
    return {
      to: (v) => numbers.get(v as string),
      from: (n) => {
        const v = t.variants[(n as number) - 1];
        if (v === undefined) {
          throw conversion(`invalid v16 prost ${where} value ${n}; expected ${expected}`);
        }
        return v;
      },
    };
  },

  /** An enum with data: the message's oneof (see {@link oneofCodec}). */
  enum: (t, at) => {
    const m = messageAt(at, t.name);
    const oneof = soleOneof(m);
    allClaimed(m, new Set(oneof.fields));
    const adt = oneofCodec(t, oneof, false);
    const k = oneof.localName;
    return { to: (v) => ({ [k]: adt.to(v) }), from: (v) => adt.from((v as Rec)[k]) };
  },
};

function tagOf(t: TypeDesc): Tag {
  return typeof t === "string" ? t : t.t;
}

/** The value rule for `t` at `at`. */
function ruleOf(t: TypeDesc, at: At): Codec {
  return (RULES[tagOf(t)] as (t: TypeDesc, at: At) => Codec)(t, at);
}

/**
 * {@link ruleOf}, plus: a non-`Option` value on a singular message field
 * (outside a oneof) is required; unset gives `missing required v16 prost
 * field Msg.field`.
 */
function codecOf(t: TypeDesc, at: At): Codec {
  const c = ruleOf(t, at);
  const f = at.field;
  if (tagOf(t) === "option" || at.element || f.fieldKind !== "message" || f.oneof !== undefined) {
    return c;
  }
  const missing = `missing required v16 prost field ${whereOf(at)}`;
  return {
    to: c.to,
    from: (v) => {
      if (v === undefined) throw conversion(missing);
      return c.from(v);
    },
  };
}

/** One struct field: writes its protobuf field(s) into an init, reads them back. */
interface Slot {
  /** The domain key (camelCase). */
  readonly key: string;
  readonly put: (init: Rec, v: unknown) => void;
  readonly get: (m: Rec) => unknown;
}

/**
 * Struct field rules: field `name` maps to the protobuf field `name`, except
 * `Option<Vec<T>>`, which maps to the list `name` plus the bool
 * `name_is_set` (`false` gives `None` and drops any entries sent anyway).
 */
function structSlot(m: DescMessage, [name, t]: FieldDesc, claimed: Set<DescField>): Slot {
  const key = camelCase(name);
  const field = fieldOf(m, name);
  claimed.add(field);
  if (typeof t !== "string" && t.t === "option" && tagOf(t.of) === "vec") {
    const flag = fieldOf(m, `${name}_is_set`);
    if (flag.fieldKind !== "scalar" || flag.scalar !== ScalarType.BOOL) {
      throw mismatch(`${m.name}.${flag.name} must be a bool`);
    }
    claimed.add(flag);
    const list = codecOf(t.of, { field, element: false });
    const lk = field.localName, fk = flag.localName;
    return {
      key,
      put: (o, v) => {
        o[lk] = v === null ? [] : list.to(v);
        o[fk] = v !== null;
      },
      get: (mm) => mm[fk] ? list.from(mm[lk]) : null,
    };
  }
  const c = codecOf(t, { field, element: false });
  const k = field.localName;
  if (c === IDENTITY) {
    return {
      key,
      put: (o, v) => {
        o[k] = v;
      },
      get: (mm) => mm[k],
    };
  }
  const { to, from } = c;
  return {
    key,
    put: (o, v) => {
      o[k] = to(v);
    },
    get: (mm) => from(mm[k]),
  };
}

/** A struct (or a struct variant when `kind` is given) to and from message `m`. */
function structCodec(
  fields: readonly FieldDesc[],
  m: DescMessage,
  kind: string | undefined,
): Codec {
  const claimed = new Set<DescField>();
  const slots = fields.map((f) => structSlot(m, f, claimed));
  allClaimed(m, claimed);
  const n = slots.length;
  return {
    to: (v) => {
      const o: Rec = {};
      for (let i = 0; i < n; i++) slots[i].put(o, (v as Rec)[slots[i].key]);
      return o;
    },
    from: kind === undefined
      ? (mm) => {
        const o: Rec = {};
        for (let i = 0; i < n; i++) o[slots[i].key] = slots[i].get(mm as Rec);
        return o;
      }
      : (mm) => {
        const o: Rec = { kind };
        for (let i = 0; i < n; i++) o[slots[i].key] = slots[i].get(mm as Rec);
        return o;
      },
  };
}

/** `SessionStart` -> `sessionStart`: the oneof case of a variant. */
export function caseOf(kind: string): string {
  return kind[0].toLowerCase() + kind.slice(1);
}

/**
 * Enum variants to and from oneof cases (the ADT `{ case, value }`), case =
 * variant name with a lowercase first letter:
 * - a unit variant is an empty message;
 * - a newtype variant is the value itself (`Status(DaemonStatus)` is the
 *   `DaemonStatus` message, `Bytes(Vec<u8>)` the `bytes` scalar);
 * - a struct variant is a message with its fields, except that inside a
 *   nested enum a single-field struct variant is that field's value
 *   (`LookupResult::Hit { artifact }` is the `ArtifactData` message).
 *
 * No case set: `missing` (root) or `missing required v16 prost field
 * Msg.oneof`.
 */
function oneofCodec(e: EnumDesc, oneof: DescOneof, root: boolean, missing?: string): Codec {
  const toByKind = new Map<string, (v: Rec) => Adt>();
  const fromByCase = new Map<string, (v: unknown) => unknown>();
  const claimed = new Set<DescField>();
  for (const v of e.variants as readonly VariantDesc[]) {
    const kind = v.name;
    const c = caseOf(kind);
    const field = oneof.fields.find((f) => f.localName === c);
    if (field === undefined) throw mismatch(`${oneof.parent.name}.${oneof.name} has no case ${c}`);
    claimed.add(field);
    const at: At = { field, element: false };
    switch (v.shape) {
      case "unit": {
        const m = messageAt(at, `unit variant ${kind}`);
        if (m.fields.length !== 0) throw mismatch(`${m.name} must be empty (unit variant ${kind})`);
        toByKind.set(kind, () => ({ case: c, value: {} }));
        fromByCase.set(c, () => ({ kind }));
        break;
      }
      case "newtype": {
        const inner = codecOf(v.of, at);
        toByKind.set(kind, (x) => ({ case: c, value: inner.to(x.value) }));
        fromByCase.set(c, (x) => ({ kind, value: inner.from(x) }));
        break;
      }
      case "struct": {
        if (!root && v.fields.length === 1) {
          const [name, t] = v.fields[0];
          const key = camelCase(name);
          const inner = codecOf(t, at);
          toByKind.set(kind, (x) => ({ case: c, value: inner.to(x[key]) }));
          fromByCase.set(c, (x) => ({ kind, [key]: inner.from(x) }));
        } else {
          const inner = structCodec(v.fields, messageAt(at, kind), kind);
          toByKind.set(kind, (x) => ({ case: c, value: inner.to(x) }));
          fromByCase.set(c, inner.from);
        }
        break;
      }
    }
  }
  for (const f of oneof.fields) {
    if (!claimed.has(f)) throw mismatch(`${oneof.parent.name}.${f.name} has no variant`);
  }
  const noCase = missing ?? `missing required v16 prost field ${oneof.parent.name}.${oneof.name}`;
  return {
    to: (v) => toByKind.get((v as Rec).kind as string)!(v as Rec),
    from: (v) => {
      const adt = v as Adt;
      const f = adt.case === undefined ? undefined : fromByCase.get(adt.case);
      if (f === undefined) throw conversion(noCase);
      return f(adt.value);
    },
  };
}

/** A root enum (`Request`/`Response`) to and from its top-level message. */
export interface RootMapping<D, M> {
  /** `*_to_prost`: total. */
  readonly to: (msg: D, requestId: string) => M;
  /** `*_from_prost`: throws `ZccacheError` code `Conversion`. */
  readonly from: (m: M) => D;
}

/**
 * Derive the mapping of a root enum: its variants are the cases of the
 * message's one oneof, and the message's other field is `request_id`.
 * `missing` is the error text for a message with no case set.
 */
export function rootMapping<D, M>(
  e: EnumDesc,
  schema: DescMessage,
  missing: string,
): RootMapping<D, M> {
  const oneof = soleOneof(schema);
  const id = fieldOf(schema, "request_id");
  allClaimed(schema, new Set([...oneof.fields, id]));
  const adt = oneofCodec(e, oneof, true, missing);
  const bk = oneof.localName, ik = id.localName;
  return {
    to: (msg, requestId) => create(schema, { [bk]: adt.to(msg), [ik]: requestId }) as M,
    from: (m) => adt.from((m as Rec)[bk]) as D,
  };
}
