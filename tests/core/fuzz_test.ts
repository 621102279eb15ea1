import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { prng } from "./_prng.ts";
import { decodeBincode, decodeBincodeFrame } from "../../src/core/bincode.ts";
import { fromHex } from "../../src/core/bytes.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import { FrameDecoder } from "../../src/core/frame_reader.ts";
import type { Direction } from "../../src/core/messages.ts";
import { decodeWireMessage } from "../../src/core/wire.ts";

const v = loadVectors();
const seeds = [...v.bincode, ...v.prost, ...v.frame, ...v.decodeCases]
  .map((x) => fromHex(x.frame_hex))
  .filter((f) => f.length < 4096);

/** Only ZccacheError (protocol) and RangeError (need more bytes) may escape. */
function allowed(e: unknown): boolean {
  return isZccacheError(e) || e instanceof RangeError;
}

function mutate(r: () => number, base: Uint8Array): Uint8Array {
  const pick = r();
  if (pick < 0.15) {
    // Pure random bytes, sometimes with a plausible zccache header.
    const n = Math.floor(r() * 64);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
    if (n >= 8 && r() < 0.5) {
      new DataView(out.buffer).setUint32(0, n - 4, true);
      out[4] = r() < 0.5 ? 15 : 16;
      out[5] = out[6] = out[7] = 0;
    }
    return out;
  }
  const out = base.slice();
  if (pick < 0.3) return out.subarray(0, Math.floor(r() * out.length)); // truncation
  const flips = 1 + Math.floor(r() * 4);
  for (let k = 0; k < flips; k++) {
    // Mostly body bytes, so the header survives and the body decoders run.
    const lo = r() < 0.8 ? Math.min(8, out.length - 1) : 0;
    const at = lo + Math.floor(r() * (out.length - lo));
    if (at >= 0 && at < out.length) {
      out[at] = r() < 0.5 ? Math.floor(r() * 256) : out[at] ^ (1 << Math.floor(r() * 8));
    }
  }
  return out;
}

const ITERATIONS = 100_000;

test(`decodeWireMessage() and decodeBincode() on ${ITERATIONS} random and mutated frames throw only ZccacheError/RangeError`, () => {
  const r = prng(0x5eed);
  let ok = 0, errors = 0, incomplete = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const buf = mutate(r, seeds[Math.floor(r() * seeds.length)]);
    const direction: Direction = r() < 0.5 ? "request" : "response";
    try {
      const d = decodeWireMessage(buf, direction);
      if (d === null) incomplete++;
      else {
        ok++;
        assert.ok(d.consumed > 0 && d.consumed <= buf.length);
      }
    } catch (e) {
      if (!allowed(e)) throw e;
      errors++;
      if (isZccacheError(e)) assert.ok((e.consumed ?? 0) <= buf.length);
    }
    try {
      decodeBincodeFrame(buf, direction);
    } catch (e) {
      if (!allowed(e)) throw e;
    }
    try {
      decodeBincode(direction, buf.subarray(8));
    } catch (e) {
      if (!allowed(e)) throw e;
    }
  }
  // The corpus exercises all three outcomes.
  assert.ok(ok > 1000 && errors > 1000 && incomplete > 1000, `${ok}/${errors}/${incomplete}`);
});

test("FrameDecoder stays usable and never buffers past the cap on a mutated stream", () => {
  const r = prng(0xfeed);
  const cap = 4096;
  const d = new FrameDecoder({ maxMessageSize: cap });
  let frames = 0, rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const buf = mutate(r, seeds[Math.floor(r() * seeds.length)]);
    for (let at = 0; at < buf.length;) {
      const n = 1 + Math.floor(r() * 64);
      const chunk = buf.subarray(at, at + n);
      at += n;
      try {
        d.push(chunk);
        for (let f = d.next(); f !== null; f = d.next()) frames++;
      } catch (e) {
        if (!isZccacheError(e)) throw e;
        rejected++;
        assert.equal(d.buffered, 0);
      }
      // One frame of at most 5 + cap bytes, plus the chunk that completed it.
      assert.ok(d.buffered <= cap + 8 + 64, `buffered ${d.buffered}`);
    }
  }
  // Still works after all that.
  d.reset();
  d.push(fromHex("080000000f00000000000000"));
  assert.equal(d.next()?.length, 12);
  assert.ok(frames > 100 && rejected > 100, `${frames}/${rejected}`);
});
