import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { chunked, prng } from "./_prng.ts";
import { concatBytes, fromHex, toHex } from "../../src/core/bytes.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import { encodeFrame, peekFrameVersion } from "../../src/core/frame.ts";
import { FrameDecoder } from "../../src/core/frame_reader.ts";

const v = loadVectors();
// Every lane's golden frames, as one byte stream.
const frames = [...v.bincode, ...v.prost, ...v.frame].map((x) => fromHex(x.frame_hex));
const stream = concatBytes(...frames);

function drain(d: FrameDecoder, out: string[]): void {
  for (let f = d.next(); f !== null; f = d.next()) out.push(toHex(f));
}

function feed(chunks: Uint8Array[]): string[] {
  const d = new FrameDecoder();
  const out: string[] = [];
  for (const c of chunks) {
    d.push(c);
    drain(d, out);
  }
  assert.equal(d.buffered, 0);
  return out;
}

const want = frames.map(toHex);

test("FrameDecoder.push() yields every golden frame from one whole chunk", () => {
  assert.deepEqual(feed([stream]), want);
});

test("FrameDecoder.push() yields every golden frame fed byte by byte", () => {
  assert.deepEqual(feed(chunked(stream, () => 1)), want);
});

test("FrameDecoder.push() yields every golden frame fed in 2-byte chunks", () => {
  assert.deepEqual(feed(chunked(stream, () => 2)), want);
});

for (const seed of [1, 7, 42, 1234, 99999]) {
  test(`FrameDecoder.push() yields every golden frame in seeded random chunks (seed ${seed})`, () => {
    const r = prng(seed);
    assert.deepEqual(feed(chunked(stream, () => 1 + Math.floor(r() * 300))), want);
  });
}

test("FrameDecoder.push() yields two frames from one chunk", () => {
  const a = encodeFrame(15, fromHex("00000000"));
  const b = encodeFrame(16, fromHex("0a00"));
  const d = new FrameDecoder();
  d.push(concatBytes(a, b, b.subarray(0, 3)));
  assert.equal(toHex(d.next()!), toHex(a));
  assert.equal(toHex(d.next()!), toHex(b));
  assert.equal(d.next(), null);
  assert.equal(d.buffered, 3);
});

test("FrameDecoder.next() returns copies that later pushes do not change", () => {
  const d = new FrameDecoder();
  const a = encodeFrame(15, fromHex("09000000"));
  d.push(a);
  const got = d.next()!;
  d.push(encodeFrame(15, fromHex("ffffffff")));
  assert.equal(toHex(got), toHex(a));
});

test("FrameDecoder.push() rejects an oversize header before buffering the body", () => {
  const d = new FrameDecoder({ maxMessageSize: 1024 });
  const header = fromHex("01080000" + "0f000000"); // len 2049
  assert.throws(
    () => d.push(header),
    (e) => isZccacheError(e, "MessageTooLarge") && e.consumed === 0,
  );
  assert.equal(d.buffered, 0);
  // Usable for a new stream.
  d.push(encodeFrame(15, fromHex("00000000")));
  assert.equal(toHex(d.next()!), "080000000f00000000000000");
});

test("FrameDecoder.push() rejects len 16 MiB + 1 at the default cap and accepts exactly 16 MiB", () => {
  const d = new FrameDecoder();
  assert.throws(
    () => d.push(fromHex("010000010f000000")),
    (e) => isZccacheError(e, "MessageTooLarge"),
  );
  const ok = new FrameDecoder();
  ok.push(fromHex("000000010f000000"));
  assert.equal(ok.next(), null);
  assert.equal(ok.buffered, 8);
});

test("FrameDecoder.push() rejects a running-process body_len over the cap", () => {
  const d = new FrameDecoder();
  assert.throws(
    () => d.push(fromHex("0101000001080118")),
    (e) => isZccacheError(e, "MessageTooLarge"),
  );
  assert.equal(d.buffered, 0);
});

test("FrameDecoder.push() rejects len < 4 as 'frame too small'", () => {
  const d = new FrameDecoder();
  assert.throws(() => d.push(fromHex("03000000")), (e) => isZccacheError(e, "Deserialization"));
});

test("FrameDecoder waits for 8 bytes before classifying a first byte 0x01", () => {
  const d = new FrameDecoder();
  d.push(fromHex("01190000"));
  assert.equal(d.next(), null);
  d.push(fromHex("00080118"));
  assert.equal(d.next(), null);
  assert.equal(d.buffered, 8);
});

test("FrameDecoder with runningProcessFrames: false reads 0x01 as a zccache length", () => {
  const d = new FrameDecoder({ runningProcessFrames: false });
  d.push(fromHex("0119000000080118e3f401220f0a00a2060a6672616d652d70696e672807"));
  assert.equal(d.next(), null); // len 0x1901 = 6401: waits
});

test("peekFrameVersion() follows zccache's order of checks", () => {
  assert.equal(peekFrameVersion(fromHex("080000")), null);
  assert.throws(
    () => peekFrameVersion(fromHex("010000010f000000")),
    (e) => isZccacheError(e, "MessageTooLarge"),
  );
  assert.throws(
    () => peekFrameVersion(fromHex("03000000")),
    (e) => isZccacheError(e, "Deserialization"),
  );
  assert.equal(peekFrameVersion(fromHex("080000000f000000000000")), null);
  assert.equal(peekFrameVersion(fromHex("0400000063000000")), 99);
});
