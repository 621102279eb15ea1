import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import {
  fullFamilyWire,
  isWireMismatchMessage,
  parseDaemonWire,
  rustDebugString,
} from "../../src/core/wire_env.ts";
import { isOldDaemonRejection } from "../../src/core/wire.ts";

const table: [string | undefined, string][] = [
  [undefined, "auto"],
  ["", "auto"],
  ["auto", "auto"],
  ["AUTO", "auto"],
  ["bincode", "bincode"],
  ["bincode-v15", "bincode"],
  ["v15", "bincode"],
  ["V15", "bincode"],
  ["prost", "prost"],
  ["prost-v16", "prost"],
  ["v16", "prost"],
  ["  Prost\n", "prost"],
  ["frame", "frame"],
  ["frame-v1", "frame"],
  ["\tFRAME-V1 ", "frame"],
  ["\u3000v16\u00a0", "prost"],
  ["\u0085bincode\u2028", "bincode"],
];

for (const [input, want] of table) {
  test(`parseDaemonWire(${JSON.stringify(input)}) is ${want}`, () => {
    assert.equal(parseDaemonWire(input), want);
  });
}

const invalid: [string, string][] = [
  ["json", '"json"'],
  ["JSON", '"json"'],
  [" v17 ", '"v17"'],
  ["prost v16", '"prost v16"'],
  ["bincode_v15", '"bincode_v15"'],
  ['a"b\\c', '"a\\"b\\\\c"'],
  ["x\ty", '"x\\ty"'],
  ["\ufeffprost", '"\\u{feff}prost"'], // BOM is not Unicode White_Space: not trimmed
  ["PRÖST", '"prÖst"'], // ASCII-only lowercasing
  ["e\u0301", '"e\\u{301}"'],
];

for (const [input, quoted] of invalid) {
  test(`parseDaemonWire(${JSON.stringify(input)}) is an Endpoint error quoting ${quoted}`, () => {
    assert.throws(
      () => parseDaemonWire(input),
      (e) =>
        isZccacheError(e, "Endpoint") &&
        e.message ===
          `invalid ZCCACHE_DAEMON_WIRE=${quoted}; expected auto, bincode, prost, or frame`,
    );
  });
}

test("fullFamilyWire() maps unset, auto, bincode and invalid values to bincode", () => {
  assert.equal(fullFamilyWire(undefined), "bincode");
  assert.equal(fullFamilyWire("auto"), "bincode");
  assert.equal(fullFamilyWire("v15"), "bincode");
  assert.equal(fullFamilyWire("json"), "bincode");
  assert.equal(fullFamilyWire(" V16 "), "prost");
  assert.equal(fullFamilyWire("frame-v1"), "frame");
});

test("rustDebugString() escapes like Rust's {:?} on str", () => {
  assert.equal(rustDebugString("plain"), '"plain"');
  assert.equal(rustDebugString("\0\r\n"), '"\\0\\r\\n"');
  assert.equal(rustDebugString("\u0007"), '"\\u{7}"');
  assert.equal(rustDebugString("héllo 🦀"), '"héllo 🦀"');
  assert.equal(rustDebugString("a'b"), '"a\'b"');
});

const MISMATCH_CASES: [string, boolean][] = [
  ["protocol version mismatch: daemon zccache v1.12.2 (protocol v16) ...", true],
  ["PROTOCOL VERSION MISMATCH", true],
  ["bad Protocol_Version header", true],
  ["expected v15, received v16", true],
  ["expected v15, received v18", false],
  ["received v16 only", false],
  ["unsupported request", false],
  ["", false],
];
for (const [message, want] of MISMATCH_CASES) {
  test(`isWireMismatchMessage(${JSON.stringify(message)}) is ${want}`, () => {
    assert.equal(isWireMismatchMessage(message), want);
    assert.equal(isOldDaemonRejection({ kind: "Error", message }), want);
  });
}
test("isOldDaemonRejection() is false for any non-Error response", () => {
  assert.equal(isOldDaemonRejection({ kind: "Pong" }), false);
});
