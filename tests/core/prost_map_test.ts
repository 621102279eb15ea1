/**
 * The derived prost mapping refuses a schema that does not fit the proto:
 * building it throws (at import of `prost.ts`), so a half-added variant or
 * field cannot ship silently.
 */
import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import * as pb from "../../src/core/gen/zccache_v1_pb.ts";
import { rootMapping } from "../../src/core/prost_map.ts";
import { type EnumDesc, RequestSchema, type VariantDesc } from "../../src/core/schema.ts";

const MISSING = "v16 prost request is missing its request body";

function withVariants(variants: readonly VariantDesc[]): EnumDesc {
  return { ...RequestSchema, variants };
}

function replaced(name: string, v: VariantDesc): EnumDesc {
  return withVariants(RequestSchema.variants.map((x) => (x.name === name ? v : x)));
}

test("prost mapping: the 1.12.2 schema fits the proto", () => {
  rootMapping(RequestSchema, pb.RequestSchema, MISSING);
});

test("prost mapping: a oneof case with no schema variant is refused", () => {
  const e = withVariants(RequestSchema.variants.filter((v) => v.name !== "Lookup"));
  assert.throws(() => rootMapping(e, pb.RequestSchema, MISSING), /Request\.lookup has no variant/);
});

test("prost mapping: a schema variant with no oneof case is refused", () => {
  const e = withVariants([...RequestSchema.variants, { name: "NewThing", shape: "unit" }]);
  assert.throws(() => rootMapping(e, pb.RequestSchema, MISSING), /has no case newThing/);
});

test("prost mapping: a schema field missing from the proto is refused", () => {
  const e = replaced("Lookup", {
    name: "Lookup",
    shape: "struct",
    fields: [["cache_key", "string"], ["extra", "bool"]],
  });
  assert.throws(() => rootMapping(e, pb.RequestSchema, MISSING), /Lookup has no field extra/);
});

test("prost mapping: a proto field the schema does not name is refused", () => {
  const e = replaced("Store", {
    name: "Store",
    shape: "struct",
    fields: [["cache_key", "string"]],
  });
  assert.throws(
    () => rootMapping(e, pb.RequestSchema, MISSING),
    /Store\.artifact has no schema counterpart/,
  );
});

test("prost mapping: a scalar of the wrong type is refused", () => {
  const e = replaced("Lookup", { name: "Lookup", shape: "struct", fields: [["cache_key", "u64"]] });
  assert.throws(
    () => rootMapping(e, pb.RequestSchema, MISSING),
    /Lookup\.cache_key must be a u64 scalar/,
  );
});

test("prost mapping: Option on a proto3 field without presence is refused", () => {
  const e = replaced("Lookup", {
    name: "Lookup",
    shape: "struct",
    fields: [["cache_key", { t: "option", of: "string" }]],
  });
  assert.throws(() => rootMapping(e, pb.RequestSchema, MISSING), /Lookup\.cache_key must be a/);
});
