/**
 * The v16 prost lane against the 1.12.2 golden vectors: every `prost_`
 * encode/decode vector (encode gives `body_hex`/`frame_hex`; decode gives
 * `value` and `request_id`) and every prost decode case (outcome, error kind,
 * message and `consumed`).
 */
import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { fromJsonValue, toJsonValue } from "../../src/core/json_value.ts";
import {
  decodeProst,
  decodeProstFrame,
  defaultRequestId,
  encodeProst,
  encodeProstFrame,
  isControlRequest,
  requestToProst,
  responseToProst,
  supportedControlRequestFromProst,
  supportedControlRequestToProst,
  supportedControlResponseFromProst,
} from "../../src/core/prost.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import type { Request, Response } from "../../src/core/messages.ts";

const file = loadVectors();

for (const v of file.prost) {
  test(`prost vector ${v.name}: encode gives body_hex and frame_hex`, () => {
    const msg = fromJsonValue(v.direction, v.value);
    assert.equal(toHex(encodeProst(v.direction, msg, v.request_id)), v.body_hex);
    assert.equal(toHex(encodeProstFrame(v.direction, msg, v.request_id)), v.frame_hex);
  });
  test(`prost vector ${v.name}: decode gives value and request_id`, () => {
    const frame = fromHex(v.frame_hex);
    const r = decodeProstFrame(frame, v.direction);
    assert.ok(r !== null);
    assert.equal(r.consumed, frame.length);
    assert.equal(r.requestId, v.request_id);
    assert.deepEqual(toJsonValue(v.direction, r.message), v.value);
    const b = decodeProst(v.direction, fromHex(v.body_hex));
    assert.deepEqual(toJsonValue(v.direction, b.message), v.value);
  });
}

for (const v of file.decodeCases.filter((c) => c.codec === "prost")) {
  test(`prost decode case ${v.name}: ${v.expect}`, () => {
    const buf = fromHex(v.frame_hex);
    if (v.expect === "incomplete") {
      assert.equal(decodeProstFrame(buf, v.direction), null);
      return;
    }
    if (v.expect === "ok") {
      const r = decodeProstFrame(buf, v.direction);
      assert.ok(r !== null);
      assert.equal(r.consumed, v.consumed);
      assert.equal(r.requestId, v.decoded_request_id);
      assert.deepEqual(toJsonValue(v.direction, r.message), v.decoded);
      return;
    }
    assert.throws(() => decodeProstFrame(buf, v.direction), (e: unknown) => {
      assert.ok(isZccacheError(e), `not a ZccacheError: ${e}`);
      assert.equal(e.code, v.error_kind);
      assert.equal(e.consumed, v.consumed);
      assert.equal(e.message, v.error_message);
      return true;
    });
  });
}

test("decodeProstFrame() waits for 4 header bytes and for the whole frame", () => {
  const frame = encodeProstFrame("request", { kind: "Ping" });
  for (let i = 0; i < frame.length; i++) {
    assert.equal(decodeProstFrame(frame.subarray(0, i), "request"), null);
  }
  const two = new Uint8Array([...frame, ...frame]);
  const r = decodeProstFrame(two, "request");
  assert.equal(r?.consumed, frame.length);
});

test("decodeProstFrame() checks completeness before len < 4", () => {
  // len = 3 but only 6 bytes: incomplete, not "frame too small"
  assert.equal(decodeProstFrame(fromHex("030000001000"), "request"), null);
  assert.throws(() => decodeProstFrame(fromHex("03000000100000"), "request"), (e: unknown) => {
    assert.ok(isZccacheError(e, "Deserialization"));
    assert.equal(e.consumed, 0);
    return true;
  });
});

test("decodeProstFrame() rejects len > 16 MiB from the header alone", () => {
  assert.throws(() => decodeProstFrame(fromHex("01000001"), "request"), (e: unknown) => {
    assert.ok(isZccacheError(e, "MessageTooLarge"));
    assert.equal(e.consumed, 0);
    return true;
  });
  // exactly 16 MiB is allowed: it is just incomplete
  assert.equal(decodeProstFrame(fromHex("00000001"), "request"), null);
});

test("decodeProst() maps the required-field and enum rules to Conversion errors", () => {
  const cases: [string, string][] = [
    // Compile without cwd
    ["3a00", "missing required v16 prost field Compile.cwd"],
    // GenericToolExec with tool, cwd, output_streams but cache_policy omitted (0)
    [
      "9201" + "06" + "0a001a003a00",
      "invalid v16 prost GenericToolExec.cache_policy value 0; expected Normal, Bypass, or ReadOnly",
    ],
    // tool_hash of 2 bytes
    [
      "9201" + "0c" + "0a001a003a00" + "4a02aaaa" + "5001",
      "invalid v16 prost GenericToolExec.tool_hash length 2; expected 32 bytes",
    ],
    ["", "v16 prost request is missing its request body"],
    ["9a0100", "missing required v16 prost field ReleaseWorktreeHandles.path"],
  ];
  for (const [hex, message] of cases) {
    assert.throws(() => decodeProst("request", fromHex(hex)), (e: unknown) => {
      assert.ok(isZccacheError(e, "Conversion"), `${hex}: ${e}`);
      assert.equal(e.message, message);
      return true;
    });
  }
  assert.throws(() => decodeProst("response", fromHex("")), /missing its response body/);
  assert.throws(() => decodeProst("response", fromHex("1a00")), /DaemonStatus.private_daemon/);
  assert.throws(() => decodeProst("response", fromHex("2200")), /LookupResult.body/);
});

test("decodeProst() drops env entries when env_is_set is false and normalizes paths", () => {
  // Compile{cwd "/a/./b/../c/", compiler "/cc", env [("A","1")], env_is_set false}
  const body = "3a" + "1f" + "1a0e0a0c2f612f2e2f622f2e2e2f632f" + "22050a032f6363" +
    "2a060a0141120131";
  const r = decodeProst("request", fromHex(body));
  assert.equal(r.message.kind, "Compile");
  if (r.message.kind !== "Compile") return;
  assert.equal(r.message.cwd, "/a/c");
  assert.equal(r.message.env, null);
});

test("decodeProst() reports prost's error text for protobuf faults", () => {
  const cases: [string, string][] = [
    ["22050a03616263a2", "failed to decode Protobuf message: invalid varint"],
    [
      "2205" + "0a05616263",
      "failed to decode Protobuf message: Lookup.cache_key: Request.body: buffer underflow",
    ],
    // prost checks a nested length against the whole buffer, then the message limit
    [
      "2202" + "0a03616263",
      "failed to decode Protobuf message: Request.body: delimited length exceeded",
    ],
    [
      "2203" + "0a01ff",
      "failed to decode Protobuf message: Lookup.cache_key: Request.body: invalid string value: data is not UTF-8 encoded",
    ],
    [
      "2001",
      "failed to decode Protobuf message: Request.body: invalid wire type: Varint (expected LengthDelimited)",
    ],
    [
      "2204" + "0a036162" + "63",
      "failed to decode Protobuf message: Request.body: delimited length exceeded",
    ],
    ["00", "failed to decode Protobuf message: invalid tag value: 0"],
  ];
  for (const [hex, message] of cases) {
    assert.throws(() => decodeProst("request", fromHex(hex)), (e: unknown) => {
      assert.ok(isZccacheError(e, "Deserialization"), `${hex}: ${e}`);
      assert.equal(e.message, message, hex);
      return true;
    });
  }
});

test("defaultRequestId() and isControlRequest() follow zccache", () => {
  const ids: [Request, string, boolean][] = [
    [{ kind: "Ping" }, "control-ping", true],
    [{ kind: "Status" }, "control-status", true],
    [{ kind: "Shutdown" }, "control-shutdown", true],
    [{ kind: "Clear" }, "control-clear", true],
    [{ kind: "ReleaseWorktreeHandles", path: "/w" }, "control-release-worktree-handles", true],
    [{ kind: "Lookup", cacheKey: "k" }, "lookup", false],
    [{ kind: "SessionEnd", sessionId: "s" }, "session-end", false],
    [{ kind: "ListRustArtifacts" }, "list-rust-artifacts", false],
  ];
  for (const [req, id, control] of ids) {
    assert.equal(defaultRequestId(req), id);
    assert.equal(isControlRequest(req), control);
  }
  // encodeProstFrame defaults the request id for requests
  const f = encodeProstFrame("request", { kind: "Status" });
  assert.equal(toHex(f), "170000001000000" + "01a00a2060e636f6e74726f6c2d737461747573");
});

test("control slice rejects non-control bodies in both directions", () => {
  assert.throws(
    () => supportedControlRequestToProst({ kind: "Lookup", cacheKey: "k" }),
    /unsupported v16 prost control request Lookup/,
  );
  assert.equal(supportedControlRequestToProst({ kind: "Ping" }).requestId, "control-ping");
  assert.throws(
    () =>
      supportedControlRequestFromProst(requestToProst({ kind: "SessionEnd", sessionId: "s" }, "x")),
    /unsupported v16 prost control request body SessionEnd/,
  );
  const lookup: Response = { kind: "LookupResult", value: { kind: "Miss" } };
  assert.throws(
    () => supportedControlResponseFromProst(responseToProst(lookup, "x")),
    /only Pong, Status, ShuttingDown, Cleared, Error, and ReleaseWorktreeHandlesResult/,
  );
  assert.deepEqual(supportedControlResponseFromProst(responseToProst({ kind: "Pong" }, "x")), {
    kind: "Pong",
  });
});
