/**
 * BLAKE3 for inputs of at most one chunk (1024 bytes), 32-byte output:
 * enough for running-process's `user_sid_hash` (`<uid>:<machine-id>`) and
 * the macOS socket-leaf hash, which never exceed a chunk. Written from the
 * BLAKE3 specification (single chunk, ROOT flag on the last block).
 *
 * @module
 */

const IV = new Uint32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

function g(s: Uint32Array, a: number, b: number, c: number, d: number, x: number, y: number) {
  s[a] = s[a] + s[b] + x;
  s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + y;
  s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 7);
}

function compress(
  cv: Uint32Array,
  m: Uint32Array,
  blockLen: number,
  flags: number,
): Uint32Array {
  const s = new Uint32Array(16);
  s.set(cv, 0);
  s.set(IV.subarray(0, 4), 8);
  s[12] = 0; // chunk counter (low), single chunk
  s[13] = 0;
  s[14] = blockLen;
  s[15] = flags;
  let w = Uint32Array.from(m);
  for (let r = 0; r < 7; r++) {
    g(s, 0, 4, 8, 12, w[0], w[1]);
    g(s, 1, 5, 9, 13, w[2], w[3]);
    g(s, 2, 6, 10, 14, w[4], w[5]);
    g(s, 3, 7, 11, 15, w[6], w[7]);
    g(s, 0, 5, 10, 15, w[8], w[9]);
    g(s, 1, 6, 11, 12, w[10], w[11]);
    g(s, 2, 7, 8, 13, w[12], w[13]);
    g(s, 3, 4, 9, 14, w[14], w[15]);
    const next = new Uint32Array(16);
    for (let i = 0; i < 16; i++) next[i] = w[PERM[i]];
    w = next;
  }
  const out = new Uint32Array(8);
  for (let i = 0; i < 8; i++) out[i] = s[i] ^ s[i + 8];
  return out;
}

/** BLAKE3 hash (32 bytes) of `input`, which must be at most 1024 bytes. */
export function blake3Small(input: Uint8Array): Uint8Array {
  if (input.length > 1024) throw new RangeError("blake3Small: input longer than one chunk");
  let cv: Uint32Array = Uint32Array.from(IV);
  const blocks = Math.max(1, Math.ceil(input.length / 64));
  for (let b = 0; b < blocks; b++) {
    const block = new Uint8Array(64);
    const part = input.subarray(b * 64, b * 64 + 64);
    block.set(part);
    const m = new Uint32Array(16);
    const dv = new DataView(block.buffer);
    for (let i = 0; i < 16; i++) m[i] = dv.getUint32(i * 4, true);
    let flags = b === 0 ? CHUNK_START : 0;
    if (b === blocks - 1) flags |= CHUNK_END | ROOT;
    cv = compress(cv, m, part.length, flags);
  }
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(i * 4, cv[i], true);
  return out;
}

/** running-process `hash_to_16_hex`: lowercase hex of the first 8 bytes. */
export function hashTo16Hex(input: Uint8Array): string {
  const h = blake3Small(input);
  let s = "";
  for (let i = 0; i < 8; i++) s += h[i].toString(16).padStart(2, "0");
  return s;
}
