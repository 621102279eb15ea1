/**
 * Domain values <-> the `value` JSON of the golden vectors (and of
 * `zccache wire decode|encode`), derived from the descriptors in `schema.ts`.
 *
 * The shape is serde_json's default externally tagged form with two
 * rewrites:
 * - unit variant `"Ping"`; newtype `{"Status": inner}`; struct variant
 *   `{"Lookup": {"cache_key": "..."}}`; struct fields snake_case in
 *   declaration order; `Option` is `null` or the value; tuples are arrays;
 * - byte strings (`Vec<u8>`, `[u8; 32]`) are lowercase hex;
 * - u64 above 2^53 - 1 is a decimal string (else a number).
 *
 * @module
 */
import { fromHex, toHex } from "./bytes.ts";
import { integerToJson } from "./wire_json.ts";
import type { Direction, MessageOf } from "./messages.ts";
import { normalizePath } from "./path.ts";
import { camelCase, type EnumDesc, rootSchema, type TypeDesc } from "./schema.ts";

// deno-lint-ignore no-explicit-any
type ToJson = (v: any) => unknown;
type FromJson = (j: unknown, at: string) => unknown;

const U64_MAX = (1n << 64n) - 1n;

/** A u64 as the vectors write it: a number up to 2^53 - 1, else a decimal string. */
export function u64ToJson(v: bigint): number | string {
  return integerToJson(v);
}

/** Parse a JSON u64 (a non-negative safe integer or a decimal string). */
export function u64FromJson(j: unknown, at = "value"): bigint {
  if (typeof j === "number") {
    if (Number.isSafeInteger(j) && j >= 0) return BigInt(j);
  } else if (typeof j === "string" && /^[0-9]+$/.test(j)) {
    const v = BigInt(j);
    if (v <= U64_MAX) return v;
  }
  throw new TypeError(`${at}: expected a u64 (number or decimal string), got ${show(j)}`);
}

function show(j: unknown): string {
  const s = JSON.stringify(j);
  return s === undefined ? String(j) : s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function isObject(j: unknown): j is Record<string, unknown> {
  return typeof j === "object" && j !== null && !Array.isArray(j);
}

const toCache = new Map<TypeDesc, ToJson>();
const fromCache = new Map<TypeDesc, FromJson>();

function compileTo(t: TypeDesc): ToJson {
  let f = toCache.get(t);
  if (!f) {
    f = buildTo(t);
    toCache.set(t, f);
  }
  return f;
}

function buildTo(t: TypeDesc): ToJson {
  if (typeof t === "string") {
    switch (t) {
      case "u32":
      case "i32":
      case "bool":
      case "string":
      case "path":
        return (v) => v;
      case "u64":
        return (v) => u64ToJson(v);
      case "bytes":
      case "bytes32":
        return (v) => toHex(v);
    }
  }
  switch (t.t) {
    case "option": {
      const inner = compileTo(t.of);
      return (v) => (v === null || v === undefined ? null : inner(v));
    }
    case "vec": {
      const inner = compileTo(t.of);
      return (v) => (v as unknown[]).map(inner);
    }
    case "tuple": {
      const items = t.of.map(compileTo);
      return (v) => items.map((f, i) => f(v[i]));
    }
    case "struct":
      return structTo(t.fields);
    case "units":
      return (v) => v;
    case "enum":
      return enumTo(t);
  }
}

function structTo(fields: readonly (readonly [string, TypeDesc])[]): ToJson {
  const names = fields.map(([n]) => n);
  const keys = names.map(camelCase);
  const fs = fields.map(([, x]) => compileTo(x));
  return (v) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) out[names[i]] = fs[i](v[keys[i]]);
    return out;
  };
}

function enumTo(t: EnumDesc): ToJson {
  const arms = new Map<string, ToJson>();
  for (const variant of t.variants) {
    const name = variant.name;
    if (variant.shape === "unit") {
      arms.set(name, () => name);
    } else if (variant.shape === "newtype") {
      const inner = compileTo(variant.of);
      arms.set(name, (v) => ({ [name]: inner(v.value) }));
    } else {
      const body = structTo(variant.fields);
      arms.set(name, (v) => ({ [name]: body(v) }));
    }
  }
  return (v) => {
    const arm = arms.get(v?.kind);
    if (!arm) throw new TypeError(`unknown ${t.name} kind ${show(v?.kind)}`);
    return arm(v);
  };
}

function compileFrom(t: TypeDesc): FromJson {
  let f = fromCache.get(t);
  if (!f) {
    f = buildFrom(t);
    fromCache.set(t, f);
  }
  return f;
}

function buildFrom(t: TypeDesc): FromJson {
  if (typeof t === "string") {
    switch (t) {
      case "u32":
        return (j, at) => {
          if (typeof j === "number" && Number.isInteger(j) && j >= 0 && j <= 0xffffffff) return j;
          throw new TypeError(`${at}: expected a u32, got ${show(j)}`);
        };
      case "i32":
        return (j, at) => {
          if (typeof j === "number" && Number.isInteger(j) && j >= -0x80000000 && j <= 0x7fffffff) {
            return j;
          }
          throw new TypeError(`${at}: expected an i32, got ${show(j)}`);
        };
      case "u64":
        return (j, at) => u64FromJson(j, at);
      case "bool":
        return (j, at) => {
          if (typeof j === "boolean") return j;
          throw new TypeError(`${at}: expected a boolean, got ${show(j)}`);
        };
      case "string":
        return (j, at) => {
          if (typeof j === "string") return j;
          throw new TypeError(`${at}: expected a string, got ${show(j)}`);
        };
      case "path":
        return (j, at) => {
          if (typeof j === "string") return normalizePath(j);
          throw new TypeError(`${at}: expected a path string, got ${show(j)}`);
        };
      case "bytes":
      case "bytes32":
        return (j, at) => {
          if (typeof j !== "string") {
            throw new TypeError(`${at}: expected a hex string, got ${show(j)}`);
          }
          let b: Uint8Array;
          try {
            b = fromHex(j);
          } catch (e) {
            throw new TypeError(`${at}: ${(e as Error).message}`);
          }
          if (t === "bytes32" && b.length !== 32) {
            throw new TypeError(`${at}: expected 32 bytes (64 hex digits), got ${b.length}`);
          }
          return b;
        };
    }
  }
  switch (t.t) {
    case "option": {
      const inner = compileFrom(t.of);
      return (j, at) => (j === null ? null : inner(j, at));
    }
    case "vec": {
      const inner = compileFrom(t.of);
      return (j, at) => {
        if (!Array.isArray(j)) throw new TypeError(`${at}: expected an array, got ${show(j)}`);
        return j.map((x, i) => inner(x, `${at}[${i}]`));
      };
    }
    case "tuple": {
      const items = t.of.map(compileFrom);
      return (j, at) => {
        if (!Array.isArray(j) || j.length !== items.length) {
          throw new TypeError(`${at}: expected a ${items.length}-element array, got ${show(j)}`);
        }
        return items.map((f, i) => f(j[i], `${at}[${i}]`));
      };
    }
    case "struct": {
      const body = structFrom(t.fields);
      return (j, at) => body(j, at, {});
    }
    case "units": {
      const names = new Set<string>(t.variants);
      return (j, at) => {
        if (typeof j === "string" && names.has(j)) return j;
        throw new TypeError(
          `${at}: expected one of ${[...names].map((n) => `"${n}"`).join(", ")}, got ${show(j)}`,
        );
      };
    }
    case "enum":
      return enumFrom(t);
  }
}

function structFrom(
  fields: readonly (readonly [string, TypeDesc])[],
): (j: unknown, at: string, into: Record<string, unknown>) => Record<string, unknown> {
  const names = fields.map(([n]) => n);
  const known = new Set(names);
  const keys = names.map(camelCase);
  const fs = fields.map(([, x]) => compileFrom(x));
  return (j, at, into) => {
    if (!isObject(j)) throw new TypeError(`${at}: expected an object, got ${show(j)}`);
    for (let i = 0; i < names.length; i++) {
      if (!(names[i] in j)) throw new TypeError(`${at}: missing field "${names[i]}"`);
      into[keys[i]] = fs[i](j[names[i]], `${at}.${names[i]}`);
    }
    for (const k of Object.keys(j)) {
      if (!known.has(k)) throw new TypeError(`${at}: unknown field "${k}"`);
    }
    return into;
  };
}

function enumFrom(t: EnumDesc): FromJson {
  const arms = new Map<string, { unit: boolean; f: FromJson }>();
  for (const variant of t.variants) {
    const kind = variant.name;
    if (variant.shape === "unit") {
      arms.set(kind, { unit: true, f: () => ({ kind }) });
    } else if (variant.shape === "newtype") {
      const inner = compileFrom(variant.of);
      arms.set(kind, { unit: false, f: (j, at) => ({ kind, value: inner(j, `${at}.${kind}`) }) });
    } else {
      const body = structFrom(variant.fields);
      arms.set(kind, { unit: false, f: (j, at) => body(j, `${at}.${kind}`, { kind }) });
    }
  }
  return (j, at) => {
    if (typeof j === "string") {
      const arm = arms.get(j);
      if (arm?.unit) return arm.f(null, at);
      throw new TypeError(`${at}: ${show(j)} is not a unit variant of ${t.name}`);
    }
    if (isObject(j)) {
      const ks = Object.keys(j);
      if (ks.length === 1) {
        const arm = arms.get(ks[0]);
        if (arm && !arm.unit) return arm.f(j[ks[0]], at);
        throw new TypeError(`${at}: ${show(ks[0])} is not a data variant of ${t.name}`);
      }
    }
    throw new TypeError(
      `${at}: expected a ${t.name} (a variant name or a one-key object), got ${show(j)}`,
    );
  };
}

/**
 * A domain message as vector `value` JSON.
 *
 * @example
 * ```ts
 * import { toJsonValue } from "./json_value.ts";
 * const j = toJsonValue("request", { kind: "Lookup", cacheKey: "k" });
 * if (JSON.stringify(j) !== '{"Lookup":{"cache_key":"k"}}') throw new Error();
 * ```
 */
export function toJsonValue<D extends Direction>(direction: D, msg: MessageOf<D>): unknown {
  return compileTo(rootSchema(direction))(msg);
}

/**
 * Vector `value` JSON as a domain message. Throws `TypeError` naming the
 * offending JSON location (`value.Compile.args[0]: expected a string ...`).
 */
export function fromJsonValue<D extends Direction>(direction: D, json: unknown): MessageOf<D> {
  return compileFrom(rootSchema(direction))(json, "value") as MessageOf<D>;
}
