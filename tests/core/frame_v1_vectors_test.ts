/**
 * The running-process Frame lane (FrameV1) against the 1.12.2 golden
 * vectors: every `frame_` encode/decode vector (including the three frozen
 * zccache goldens), every frame decode case through the 1.12.2 classifier
 * and FrameV1 decoder, the classifier itself, and the generic envelope for
 * the other payload protocols (broker Hello, BackendHandle probe).
 */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { test } from "../_harness.ts";
import { jsonU64, loadVectors } from "../_vectors.ts";
import { encodeUtf8, fromHex, toHex } from "../../src/core/bytes.ts";
import { fromJsonValue, toJsonValue } from "../../src/core/json_value.ts";
import { encodeFrame, peekFrameVersion } from "../../src/core/frame.ts";
import {
  decodeEnvelope,
  decodeFrameV1,
  encodeEnvelope,
  encodeFrameV1,
  FrameKind,
  MAX_FRAME_BYTES,
  PAYLOAD_PROTOCOL_BACKEND_PROBE,
  PAYLOAD_PROTOCOL_BROKER_CONTROL,
  PAYLOAD_PROTOCOL_ZCCACHE,
  rpFrame,
  startsRunningProcessFrame,
} from "../../src/core/frame_v1.ts";
import { startsRunningProcessFrame as classifyOnly } from "../../src/core/frame_v1_classify.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import type { Direction } from "../../src/core/messages.ts";
import {
  DaemonProcessSchema,
  HelloReplySchema,
  HelloSchema,
} from "../../src/core/gen/running_process_broker_v1_pb.ts";

const file = loadVectors();

for (const v of file.frame) {
  test(`frame vector ${v.name}: encode gives payload, body and frame bytes`, () => {
    const msg = fromJsonValue(v.direction, v.value);
    const bytes = encodeFrameV1(v.direction, msg, {
      requestId: v.request_id,
      frameId: jsonU64(v.frame_id),
      frameKind: v.frame_kind,
    });
    assert.equal(toHex(bytes), v.frame_hex);
    assert.equal(toHex(bytes.subarray(5)), v.body_hex);
    const env = decodeEnvelope(bytes);
    assert.ok(env !== null);
    assert.equal(toHex(env.frame.payload), v.payload_hex);
  });
  test(`frame vector ${v.name}: decode gives value, request_id, frame_id and kind`, () => {
    const buf = fromHex(v.frame_hex);
    assert.equal(startsRunningProcessFrame(buf), true);
    const r = decodeFrameV1(buf, v.direction);
    assert.ok(r !== null);
    assert.equal(r.consumed, buf.length);
    assert.equal(r.requestId, v.request_id);
    assert.equal(r.frameId, jsonU64(v.frame_id));
    assert.equal(r.frameKind, v.frame_kind);
    assert.deepEqual(toJsonValue(v.direction, r.message), v.value);
  });
}

/** The FrameV1 path of the 1.12.2 dispatcher: classify, then decode. */
function dispatchFrame(buf: Uint8Array, direction: Direction) {
  const c = startsRunningProcessFrame(buf);
  if (c === null) return null;
  if (c === false) {
    // a zccache frame: this lane only needs to know it is incomplete or not ours
    if (peekFrameVersion(buf) === null) return null;
    throw new Error("zccache frame reached the FrameV1 test path");
  }
  return decodeFrameV1(buf, direction);
}

const frameCases = file.decodeCases.filter((c) =>
  c.codec === "frame" || c.name === "dispatch_v18_len_257_misread_as_frame"
);
for (const v of frameCases) {
  test(`frame decode case ${v.name}: ${v.expect}`, () => {
    const buf = fromHex(v.frame_hex);
    if (v.expect === "incomplete") {
      assert.equal(dispatchFrame(buf, v.direction), null);
      return;
    }
    if (v.expect === "ok") {
      const r = dispatchFrame(buf, v.direction);
      assert.ok(r !== null);
      assert.equal(v.decoded_lane, "frame");
      assert.equal(r.consumed, v.consumed);
      assert.equal(r.requestId, v.decoded_request_id);
      assert.equal(r.frameId, jsonU64(v.decoded_frame_id!));
      assert.deepEqual(toJsonValue(v.direction, r.message), v.decoded);
      return;
    }
    assert.throws(() => dispatchFrame(buf, v.direction), (e: unknown) => {
      assert.ok(isZccacheError(e), `not a ZccacheError: ${e}`);
      assert.equal(e.code, v.error_kind);
      assert.equal(e.consumed, v.consumed);
      assert.equal(e.message, v.error_message);
      return true;
    });
  });
}

test("startsRunningProcessFrame() is the 1.12.2 classifier (known versions 15 and 16)", () => {
  const cases: [string, boolean | null][] = [
    ["", null],
    ["01", null],
    ["0102", null],
    ["01010000100000", null], // 7 bytes: still ambiguous
    ["0101000010000000", false], // len 257, v16: zccache prost frame
    ["010100000f000000", false], // len 257, v15: zccache bincode frame
    ["0101000013000000", true], // len 257, v19 (1.12.16+): a Frame at 1.12.2
    ["0101000012000000", true], // v18
    ["0300000010000000", false], // first byte not 0x01
    ["0100000010000000", true], // len 1 < 4: not a plausible zccache header
  ];
  for (const [hex, want] of cases) {
    assert.equal(startsRunningProcessFrame(fromHex(hex)), want, hex);
    assert.equal(classifyOnly(fromHex(hex)), want, hex);
  }
  assert.equal(startsRunningProcessFrame(encodeFrame(15, new Uint8Array(4))), false);
  assert.equal(startsRunningProcessFrame(encodeProstFrame("request", { kind: "Ping" })), false);
  for (const v of file.frame) assert.equal(startsRunningProcessFrame(fromHex(v.frame_hex)), true);
  for (const v of file.prost) {
    assert.equal(startsRunningProcessFrame(fromHex(v.frame_hex)), false, v.name);
  }
});

test("decodeFrameV1() is incomplete until 5 + body_len bytes and consumes one frame", () => {
  const one = encodeFrameV1("request", { kind: "Ping" }, {
    requestId: "frame-ping",
    frameId: 7n,
  });
  for (let i = 0; i < one.length; i++) {
    assert.equal(decodeFrameV1(one.subarray(0, i), "request"), null);
  }
  const two = new Uint8Array([...one, ...one]);
  assert.equal(decodeFrameV1(two, "request")?.consumed, one.length);
});

test("decodeFrameV1() accepts body_len == 16 MiB as incomplete and rejects one more", () => {
  const at = new Uint8Array(5);
  at[0] = 1;
  new DataView(at.buffer).setUint32(1, MAX_FRAME_BYTES, true);
  assert.equal(decodeFrameV1(at, "request"), null);
  new DataView(at.buffer).setUint32(1, MAX_FRAME_BYTES + 1, true);
  assert.throws(() => decodeFrameV1(at, "request"), (e: unknown) => {
    assert.ok(isZccacheError(e, "MessageTooLarge"));
    assert.equal(e.consumed, 0);
    return true;
  });
});

test("encodeFrameV1() defaults the kind to the direction", () => {
  const resp = encodeFrameV1("response", { kind: "Pong" }, {
    requestId: "frame-ping",
    frameId: 7n,
  });
  assert.equal(
    toHex(resp),
    "011b0000000801100118e3f401220f0a00a2060a6672616d652d70696e672807",
  );
});

test("encodeEnvelope() writes the broker Hello of running-process 4.4.0 byte for byte", () => {
  const hello = create(HelloSchema, {
    clientMinProtocol: 1,
    clientMaxProtocol: 1,
    serviceName: "zccache",
    wantedVersion: "1.12.2",
    clientCapabilities: 1n,
    requestId: "hello",
    peerPid: 4242,
    clientLibName: "running-process",
    clientLibVersion: "4.4.0",
  });
  const bytes = encodeEnvelope(rpFrame({
    payloadProtocol: PAYLOAD_PROTOCOL_BROKER_CONTROL,
    payload: toBinary(HelloSchema, hello),
    requestId: 1n,
  }));
  const want = "013f000000" + "0801" + "2239" +
    "08011001" + "1a07" + toHex(encodeUtf8("zccache")) + "2206" + toHex(encodeUtf8("1.12.2")) +
    "3001" + "4205" + toHex(encodeUtf8("hello")) + "509221" +
    "5a0f" + toHex(encodeUtf8("running-process")) + "6205" + toHex(encodeUtf8("4.4.0")) +
    "2801";
  assert.equal(toHex(bytes), want);
  const back = decodeEnvelope(bytes);
  assert.ok(back !== null);
  assert.equal(back.consumed, bytes.length);
  assert.equal(fromBinary(HelloSchema, back.frame.payload).peerPid, 4242);
});

test("decodeEnvelope() reads a BackendHandle probe response with a DaemonProcess", () => {
  const nonce = new Uint8Array(32).map((_, i) => i + 1);
  const identity = create(DaemonProcessSchema, {
    pid: 4242,
    exePath: "/usr/bin/zccache",
    exeSha256: new Uint8Array(32).fill(0xab),
    ipcEndpoint: { namespaceId: "", path: "/run/user/1000/zccache.sock" },
    startedAtUnixMs: 1_700_000_000_000n,
    bootId: "b",
  });
  const payload = new Uint8Array([...nonce, ...toBinary(DaemonProcessSchema, identity)]);
  const bytes = encodeEnvelope(rpFrame({
    kind: FrameKind.Response,
    payloadProtocol: PAYLOAD_PROTOCOL_BACKEND_PROBE,
    payload,
    requestId: new DataView(nonce.buffer).getBigUint64(0, true),
    traceparent: "00-abc-def-01",
  }));
  // "18 b2 e4 02": payload_protocol 0xB232 as a varint
  assert.equal(toHex(bytes.subarray(5, 13)), "0801100118b2e402");
  const r = decodeEnvelope(bytes);
  assert.ok(r !== null);
  assert.equal(r.frame.payloadProtocol, 0xb232);
  assert.equal(r.frame.traceparent, "00-abc-def-01");
  const back = fromBinary(DaemonProcessSchema, r.frame.payload.subarray(32));
  assert.equal(back.ipcEndpoint?.path, "/run/user/1000/zccache.sock");
  assert.equal(back.idleTimeoutSecs, undefined);
  // On the zccache lane the probe protocol is just a wrong payload_protocol.
  assert.throws(() => decodeFrameV1(bytes, "request"), /payload_protocol 0xB232/);
  // HelloReply decodes through the same schema module.
  assert.equal(fromBinary(HelloReplySchema, new Uint8Array()).result.case, undefined);
});

test("decodeEnvelope() rejects a framing byte other than 0x01 and a bad body", () => {
  assert.throws(() => decodeEnvelope(fromHex("0200000000")), (e: unknown) => {
    assert.ok(isZccacheError(e, "Deserialization"));
    return true;
  });
  // body "28" = field 5 varint with no value: the whole frame is consumed
  assert.throws(() => decodeEnvelope(fromHex("010100000028")), (e: unknown) => {
    assert.ok(isZccacheError(e, "Deserialization"));
    assert.equal(e.consumed, 6);
    assert.match(e.message, /^deserialization error: running-process Frame: /);
    return true;
  });
  assert.equal(PAYLOAD_PROTOCOL_ZCCACHE, 0x7a63);
});
