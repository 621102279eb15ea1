/**
 * The compile round trip's own bincode (v15) codec: straight-line encoders
 * for the three requests a wrapper sends (`Compile`, `CompileEphemeral`,
 * `LinkEphemeral`) and decoders for their replies (`CompileResult`,
 * `LinkResult`, `Error`), byte for byte what `bincode.ts` produces and
 * accepts for them.
 *
 * Why a second codec: `bincode.ts` is schema-driven (combinators built from
 * `schema.ts` on first use), which costs a short-lived wrapper ~1.5 ms of
 * cold-start work per process for one 2 KB request, about a seventh of a
 * warm hit. This module is plain code with no schema to evaluate. It takes
 * only the well-formed common case: anything else (a value out of range, a
 * frame that is not one of these replies, a malformed or non-UTF-8 body)
 * returns `undefined`, and the caller uses `bincode.ts`, which then gives
 * exactly its own result or error. `tests/core/compile_codec_test.ts` checks
 * both against each other and the variant indices against `schema.ts`.
 *
 * @module
 */
import type { EnvPair, Request, Response } from "./messages.ts";
import { normalizePath } from "./path.ts";

/** `Request` variant indices at 1.12.2 (checked against `schema.ts` by the tests). */
export const REQUEST_INDEX = { Compile: 6, CompileEphemeral: 9, LinkEphemeral: 10 } as const;
/** `Response` variant indices at 1.12.2 (checked against `schema.ts` by the tests). */
export const RESPONSE_INDEX = { CompileResult: 6, LinkResult: 8, Error: 9 } as const;

const VERSION = 15;
const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A growable little-endian writer, just what these three requests need. */
class Out {
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  len = 8; // the frame header, filled in by `frame()`

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }

  len64(n: number): void {
    this.room(8);
    this.view.setUint32(this.len, n % 0x100000000, true);
    this.view.setUint32(this.len + 4, Math.floor(n / 0x100000000), true);
    this.len += 8;
  }

  str(s: string): void {
    const at = this.len + 8;
    this.room(8 + s.length * 3);
    const b = this.buf;
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[at + i] = c;
    }
    const n = i === s.length ? i : encoder.encodeInto(s, b.subarray(at)).written;
    this.view.setUint32(at - 8, n, true);
    this.view.setUint32(at - 4, 0, true);
    this.len = at + n;
  }

  bytes(v: Uint8Array): void {
    this.len64(v.length);
    this.room(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
  }

  strings(list: readonly string[]): void {
    this.len64(list.length);
    for (const s of list) this.str(s);
  }

  env(env: readonly EnvPair[] | null): void {
    this.room(1);
    if (env === null) {
      this.buf[this.len++] = 0;
      return;
    }
    this.buf[this.len++] = 1;
    this.len64(env.length);
    for (const [k, v] of env) {
      this.str(k);
      this.str(v);
    }
  }

  frame(): Uint8Array {
    this.view.setUint32(0, this.len - 4, true);
    this.view.setUint32(4, VERSION, true);
    return this.buf.subarray(0, this.len);
  }
}

const isU32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === "string");
const isEnv = (v: unknown): v is EnvPair[] | null =>
  v === null ||
  (Array.isArray(v) &&
    v.every((p) =>
      Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string"
    ));

/**
 * The whole v15 frame of a `Compile`, `CompileEphemeral` or `LinkEphemeral`
 * request, or `undefined` for any other request or any value `bincode.ts`
 * would reject (encode those with `encodeBincodeFrame`).
 *
 * @example
 * ```ts
 * import { encodeCompileRequestFrame } from "./compile_codec.ts";
 * import { encodeBincodeFrame } from "./bincode.ts";
 * import type { Request } from "./messages.ts";
 * const req: Request = {
 *   kind: "LinkEphemeral", clientPid: 7, tool: "/usr/bin/ar", args: ["rcs", "a.a"],
 *   cwd: "/tmp", env: null,
 * };
 * const fast = encodeCompileRequestFrame(req)!;
 * if (fast.join() !== encodeBincodeFrame("request", req).join()) throw new Error();
 * ```
 */
export function encodeCompileRequestFrame(req: Request): Uint8Array | undefined {
  const o = new Out();
  switch (req.kind) {
    case "Compile":
      if (
        typeof req.sessionId !== "string" || !isStrings(req.args) || typeof req.cwd !== "string" ||
        typeof req.compiler !== "string" || !isEnv(req.env) || !(req.stdin instanceof Uint8Array)
      ) return undefined;
      o.u32(REQUEST_INDEX.Compile);
      o.str(req.sessionId);
      o.strings(req.args);
      o.str(normalizePath(req.cwd));
      o.str(normalizePath(req.compiler));
      o.env(req.env);
      o.bytes(req.stdin);
      break;
    case "CompileEphemeral":
      if (
        !isU32(req.clientPid) || typeof req.workingDir !== "string" ||
        typeof req.compiler !== "string" || !isStrings(req.args) || typeof req.cwd !== "string" ||
        !isEnv(req.env) || !(req.stdin instanceof Uint8Array)
      ) return undefined;
      o.u32(REQUEST_INDEX.CompileEphemeral);
      o.u32(req.clientPid);
      o.str(normalizePath(req.workingDir));
      o.str(normalizePath(req.compiler));
      o.strings(req.args);
      o.str(normalizePath(req.cwd));
      o.env(req.env);
      o.bytes(req.stdin);
      break;
    case "LinkEphemeral":
      if (
        !isU32(req.clientPid) || typeof req.tool !== "string" || !isStrings(req.args) ||
        typeof req.cwd !== "string" || !isEnv(req.env)
      ) return undefined;
      o.u32(REQUEST_INDEX.LinkEphemeral);
      o.u32(req.clientPid);
      o.str(normalizePath(req.tool));
      o.strings(req.args);
      o.str(normalizePath(req.cwd));
      o.env(req.env);
      break;
    default:
      return undefined;
  }
  return o.len - 8 > MAX_MESSAGE_SIZE ? undefined : o.frame();
}

/** A malformed body: the caller falls back to `bincode.ts` for the exact error. */
class Unusual {}
const UNUSUAL = new Unusual();

/** A reader over one frame body; any anomaly throws {@link UNUSUAL}. */
class In {
  pos: number;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.end) throw UNUSUAL;
    this.pos = at + n;
    return at;
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  len(): number {
    const at = this.need(8);
    if (this.view.getUint32(at + 4, true) !== 0) throw UNUSUAL;
    return this.view.getUint32(at, true);
  }
  bool(): boolean {
    const b = this.buf[this.need(1)];
    if (b > 1) throw UNUSUAL;
    return b === 1;
  }
  bytes(): Uint8Array {
    const n = this.len();
    const at = this.need(n);
    return this.buf.slice(at, at + n);
  }
  str(): string {
    const n = this.len();
    const at = this.need(n);
    try {
      return strictDecoder.decode(this.buf.subarray(at, at + n));
    } catch {
      throw UNUSUAL;
    }
  }
}

/**
 * Decode the v15 reply frame at the start of `buf` when it is a
 * `CompileResult`, `LinkResult` or `Error`: the message and the bytes the
 * frame occupied; `null` while the frame is incomplete; `undefined` for
 * anything else (another variant, another version, an oversized or
 * malformed frame: decode those with `decodeBincodeFrame`).
 *
 * @example
 * ```ts
 * import { decodeCompileReplyFrame } from "./compile_codec.ts";
 * import { encodeBincodeFrame } from "./bincode.ts";
 * const bytes = encodeBincodeFrame("response", { kind: "Error", message: "no" });
 * if (decodeCompileReplyFrame(bytes)?.message.kind !== "Error") throw new Error();
 * ```
 */
export function decodeCompileReplyFrame(
  buf: Uint8Array,
): { message: Response; consumed: number } | null | undefined {
  if (buf.length < 4) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(0, true);
  if (len > MAX_MESSAGE_SIZE || len < 8) return undefined;
  if (buf.length < 4 + len) return null;
  if (view.getUint32(4, true) !== VERSION) return undefined;
  const r = new In(buf, 8, 4 + len);
  let message: Response;
  try {
    const index = r.u32();
    if (index === RESPONSE_INDEX.CompileResult) {
      message = {
        kind: "CompileResult",
        exitCode: r.i32(),
        stdout: r.bytes(),
        stderr: r.bytes(),
        cached: r.bool(),
      };
    } else if (index === RESPONSE_INDEX.LinkResult) {
      const exitCode = r.i32();
      const stdout = r.bytes();
      const stderr = r.bytes();
      const cached = r.bool();
      const tag = r.buf[r.need(1)];
      if (tag > 1) return undefined;
      message = {
        kind: "LinkResult",
        exitCode,
        stdout,
        stderr,
        cached,
        warning: tag === 1 ? r.str() : null,
      };
    } else if (index === RESPONSE_INDEX.Error) {
      message = { kind: "Error", message: r.str() };
    } else return undefined;
  } catch (e) {
    if (e === UNUSUAL) return undefined;
    throw e;
  }
  return { message, consumed: 4 + len };
}
