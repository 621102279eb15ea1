import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { type DecodeOutcome, jsonU64, loadVectors } from "../_vectors.ts";
import {
  decodeBincode,
  decodeBincodeFrame,
  encodeBincode,
  encodeBincodeFrame,
} from "../../src/core/bincode.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { isZccacheError, type ZccacheError } from "../../src/core/errors.ts";
import { fromJsonValue, toJsonValue } from "../../src/core/json_value.ts";
import type { Direction, Response } from "../../src/core/messages.ts";
import {
  decodeWireMessage,
  isOldDaemonRejection,
  versionMismatchReply,
  wireErrorKind,
} from "../../src/core/wire.ts";

const vectors = loadVectors("v1.12.2");

for (const v of vectors.bincode) {
  test(`encodeBincodeFrame() reproduces ${v.name}`, () => {
    const msg = fromJsonValue(v.direction, v.value);
    assert.equal(toHex(encodeBincode(v.direction, msg)), v.body_hex);
    assert.equal(toHex(encodeBincodeFrame(v.direction, msg)), v.frame_hex);
  });
  test(`decodeBincodeFrame() decodes ${v.name}`, () => {
    const frame = fromHex(v.frame_hex);
    const got = decodeBincodeFrame(frame, v.direction);
    assert.ok(got);
    assert.equal(got.consumed, frame.length);
    assert.deepEqual(toJsonValue(v.direction, got.message), v.value);
    // The JSON mapping keeps the vector's key order too.
    assert.equal(JSON.stringify(toJsonValue(v.direction, got.message)), JSON.stringify(v.value));
    assert.deepEqual(decodeBincode(v.direction, fromHex(v.body_hex)), got.message);
    // The dispatcher sends version 15 to the same decoder.
    const wire = decodeWireMessage(frame, v.direction);
    assert.equal(wire?.lane, "bincode");
    assert.deepEqual(wire?.message, got.message);
    assert.equal(wire?.consumed, frame.length);
  });
}

type Outcome =
  | { expect: "incomplete" }
  | { expect: "error"; error: ZccacheError }
  | {
    expect: "ok";
    message: unknown;
    consumed: number;
    lane?: string;
    requestId?: string;
    frameId?: bigint;
  };

function run(fn: () => Outcome | null): Outcome {
  try {
    return fn() ?? { expect: "incomplete" };
  } catch (e) {
    if (!isZccacheError(e)) throw e;
    return { expect: "error", error: e };
  }
}

function checkOutcome(direction: Direction, got: Outcome, want: DecodeOutcome): void {
  if (got.expect !== want.expect) {
    assert.fail(`expected ${want.expect}, got ${got.expect === "error" ? got.error : got.expect}`);
  }
  if (got.expect === "error") {
    assert.equal(wireErrorKind(got.error), want.error_kind, got.error.message);
    assert.equal(got.error.consumed, want.consumed, "consumed");
    if (want.error_kind === "VersionMismatch") {
      const m = /expected v(\d+), received v(\d+)/.exec(want.error_message ?? "");
      assert.ok(m);
      assert.equal(got.error.expected, Number(m[1]));
      assert.equal(got.error.received, Number(m[2]));
    }
  } else if (got.expect === "ok") {
    assert.equal(got.consumed, want.consumed, "consumed");
    assert.deepEqual(toJsonValue(direction, got.message as never), want.decoded);
    if (want.decoded_lane !== undefined) assert.equal(got.lane, want.decoded_lane);
    if (want.decoded_request_id !== undefined) {
      assert.equal(got.requestId, want.decoded_request_id);
    }
    if (want.decoded_frame_id !== undefined) {
      assert.equal(got.frameId, jsonU64(want.decoded_frame_id));
    }
  }
}

function viaBincode(hex: string, direction: Direction): () => Outcome | null {
  return () => {
    const r = decodeBincodeFrame(fromHex(hex), direction);
    return r && { expect: "ok", message: r.message, consumed: r.consumed, lane: "bincode" };
  };
}

function viaDispatcher(hex: string, direction: Direction): () => Outcome | null {
  return () => {
    const r = decodeWireMessage(fromHex(hex), direction);
    return r && {
      expect: "ok",
      message: r.message,
      consumed: r.consumed,
      lane: r.lane,
      requestId: r.requestId,
      frameId: r.frameId,
    };
  };
}

for (const c of vectors.decodeCases) {
  if (c.codec === "prost") continue; // the prost decoder's own cases: tests/core/prost_*
  const decoder = c.codec === "bincode" ? "decodeBincodeFrame" : "decodeWireMessage";
  test(`${decoder}() decode case ${c.codec}/${c.name}: ${c.expect}`, () => {
    const fn = c.codec === "bincode"
      ? viaBincode(c.frame_hex, c.direction)
      : viaDispatcher(c.frame_hex, c.direction);
    checkOutcome(c.direction, run(fn), c);
  });
}

for (const r of vectors.replies) {
  test(`versionMismatchReply() reproduces ${r.name}`, () => {
    let expected = r.expected_version;
    let received = r.received_version;
    if (r.daemon_release === "1.12.2") {
      // A 1.12.2 daemon runs the dual dispatcher on the trigger.
      const got = run(viaDispatcher(r.trigger_hex, "request"));
      assert.equal(got.expect, "error");
      assert.equal(got.error.code, "VersionMismatch");
      assert.equal(got.error.consumed, 0);
      expected = got.error.expected!;
      received = got.error.received!;
    } else if (r.daemon_release === "1.11.21") {
      // A v15-only daemon runs the bincode-only decoder (expected = 15).
      const got = run(viaBincode(r.trigger_hex, "request"));
      assert.equal(got.expect, "error");
      assert.equal(got.error.code, "VersionMismatch");
      expected = got.error.expected!;
      received = got.error.received!;
    }
    assert.equal(expected, r.expected_version);
    assert.equal(received, r.received_version);
    const frame = versionMismatchReply(
      expected,
      received,
      r.daemon_release,
      r.daemon_bincode_version,
    );
    assert.equal(toHex(frame), r.frame_hex);
    assert.equal(toHex(frame.subarray(8)), r.body_hex);
  });

  test(`a 1.12.2 client decodes reply ${r.name} as recorded`, () => {
    const auto = run(viaDispatcher(r.frame_hex, "response"));
    checkOutcome("response", auto, r.client_outcome);
    const bincodeOnly = run(viaBincode(r.frame_hex, "response"));
    checkOutcome("response", bincodeOnly, r.client_bincode_recv_outcome);
    if (auto.expect === "ok") {
      assert.equal(
        isOldDaemonRejection(auto.message as Response),
        r.client_outcome.auto_fallback_to_bincode === true,
      );
    }
    if (r.auto_fallback) {
      const retry = run(viaBincode(r.auto_fallback.retry_reply_hex, "response"));
      checkOutcome("response", retry, r.auto_fallback.retry_client_outcome);
      assert.equal(
        toHex(encodeBincodeFrame("request", { kind: "Ping" })),
        r.auto_fallback.retry_request_hex,
      );
    }
  });
}

test("isOldDaemonRejection() matches zccache's three substrings only on Error", () => {
  const err = (message: string): Response => ({ kind: "Error", message });
  assert.equal(isOldDaemonRejection(err("Protocol Version Mismatch: x")), true);
  assert.equal(isOldDaemonRejection(err("bad PROTOCOL_VERSION")), true);
  assert.equal(isOldDaemonRejection(err("Expected v15, Received v16")), true);
  assert.equal(isOldDaemonRejection(err("expected v15")), false);
  assert.equal(isOldDaemonRejection(err("compile failed")), false);
  assert.equal(isOldDaemonRejection({ kind: "Pong" }), false);
});

test("decodeBincode() rejects a bad Option tag and invalid UTF-8 as Deserialization", () => {
  // SessionEnded { stats: tag 2 }
  assert.throws(
    () => decodeBincode("response", fromHex("0700000002")),
    (e) =>
      isZccacheError(e, "Deserialization") && /tag for enum is not valid, found 2/.test(e.message),
  );
  // Lookup { cache_key: "\xff" }
  assert.throws(
    () => decodeBincode("request", fromHex("030000000100000000000000ff")),
    (e) => isZccacheError(e, "Deserialization"),
  );
  // Vec<String> count far beyond the body: refused before allocating.
  assert.throws(
    () => decodeBincode("response", fromHex("0c00000000000000000000000000ffffffffffffff7f")),
    (e) => isZccacheError(e, "Deserialization"),
  );
});

test("decodeBincode() normalizes paths like NormalizedPath and encode does too", () => {
  const body = encodeBincode("request", { kind: "ReleaseWorktreeHandles", path: "/a/./b/../c/" });
  assert.deepEqual(decodeBincode("request", body), {
    kind: "ReleaseWorktreeHandles",
    path: "/a/c",
  });
  // Wire string "/a/./b/../c/" decodes to "/a/c".
  const raw = fromHex("120000000c000000000000002f612f2e2f622f2e2e2f632f");
  assert.deepEqual(decodeBincode("request", raw), { kind: "ReleaseWorktreeHandles", path: "/a/c" });
});

test("encodeBincode() refuses values that do not fit their type", () => {
  assert.throws(
    () =>
      encodeBincode("response", {
        kind: "Backpressure",
        queueDepth: -1,
        retryAfterMs: 0,
        reason: "",
      }),
    (e) => isZccacheError(e, "Serialization"),
  );
  assert.throws(
    () => encodeBincode("request", { kind: "Nope" } as never),
    (e) => isZccacheError(e, "Serialization"),
  );
});
