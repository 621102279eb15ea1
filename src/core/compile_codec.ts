/**
 * The compile round trip's own bincode (v15) codec: straight-line code for
 * the three requests a wrapper sends (`Compile`, `CompileEphemeral`,
 * `LinkEphemeral`; encoded by the client, decoded by the daemon) and their
 * replies (`CompileResult`, `LinkResult`, `Error`; decoded by the client),
 * byte for byte what `bincode.ts` produces and accepts for them.
 *
 * Why a second codec: `bincode.ts` is schema-driven (combinators built from
 * `schema.ts` on first use), which costs a short-lived wrapper ~1.5 ms of
 * cold-start work per process for one 2 KB request, about a seventh of a
 * warm hit, and the daemon a quarter of a warm hit's time (decoding the
 * request's environment). This module is plain code with no schema to
 * evaluate. It takes
 * only the well-formed common case: anything else (a value out of range, a
 * frame that is not one of these replies, a malformed or non-UTF-8 body)
 * returns `undefined`, and the caller uses `bincode.ts`, which then gives
 * exactly its own result or error. `tests/core/compile_codec_test.ts` checks
 * both against each other and the variant indices against `schema.ts`.
 *
 * @module
 */
import type { EnvPair, Request, Response } from "./messages.ts";
import { BinaryWriter } from "./bytes.ts";
import { normalizePath } from "./path.ts";

/** `Request` variant indices at 1.12.2 (checked against `schema.ts` by the tests). */
export const REQUEST_INDEX = { Compile: 6, CompileEphemeral: 9, LinkEphemeral: 10 } as const;
/** `Response` variant indices at 1.12.2 (checked against `schema.ts` by the tests). */
export const RESPONSE_INDEX = { CompileResult: 6, LinkResult: 8, Error: 9 } as const;

const VERSION = 15;
const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The request writer: `bytes.ts`'s own, plus the two compound fields these requests have. */
class Out extends BinaryWriter {
  constructor() {
    super(4096);
    this.reserve(8); // the frame header, filled in by `frame()`
  }

  strings(list: readonly string[]): void {
    this.lenU64(list.length);
    for (const s of list) this.string(s);
  }

  env(env: readonly EnvPair[] | null): void {
    if (env === null) {
      this.u8(0);
      return;
    }
    this.u8(1);
    this.lenU64(env.length);
    for (const [k, v] of env) {
      this.string(k);
      this.string(v);
    }
  }

  frame(): Uint8Array {
    this.setU32le(0, this.length - 4);
    this.setU32le(4, VERSION);
    return this.finish();
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
      o.u32le(REQUEST_INDEX.Compile);
      o.string(req.sessionId);
      o.strings(req.args);
      o.string(normalizePath(req.cwd));
      o.string(normalizePath(req.compiler));
      o.env(req.env);
      o.bytes64(req.stdin);
      break;
    case "CompileEphemeral":
      if (
        !isU32(req.clientPid) || typeof req.workingDir !== "string" ||
        typeof req.compiler !== "string" || !isStrings(req.args) || typeof req.cwd !== "string" ||
        !isEnv(req.env) || !(req.stdin instanceof Uint8Array)
      ) return undefined;
      o.u32le(REQUEST_INDEX.CompileEphemeral);
      o.u32le(req.clientPid);
      o.string(normalizePath(req.workingDir));
      o.string(normalizePath(req.compiler));
      o.strings(req.args);
      o.string(normalizePath(req.cwd));
      o.env(req.env);
      o.bytes64(req.stdin);
      break;
    case "LinkEphemeral":
      if (
        !isU32(req.clientPid) || typeof req.tool !== "string" || !isStrings(req.args) ||
        typeof req.cwd !== "string" || !isEnv(req.env)
      ) return undefined;
      o.u32le(REQUEST_INDEX.LinkEphemeral);
      o.u32le(req.clientPid);
      o.string(normalizePath(req.tool));
      o.strings(req.args);
      o.string(normalizePath(req.cwd));
      o.env(req.env);
      break;
    default:
      return undefined;
  }
  return o.length - 8 > MAX_MESSAGE_SIZE ? undefined : o.frame();
}

/** A malformed body: the caller falls back to `bincode.ts` for the exact error. */
class Unusual {}
const UNUSUAL = new Unusual();

/**
 * A reader over one frame body; any anomaly throws {@link UNUSUAL}. With
 * `sliced` (requests, not replies with their output bytes), when the whole
 * body is ASCII (the usual request: paths, arguments and
 * environment), it is decoded once and strings are slices of it (one
 * native call instead of one per string: ~10x less for 80 strings).
 */
class In {
  pos: number;
  readonly view: DataView;
  readonly start: number;
  readonly ascii: string | null;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number, sliced = false) {
    this.pos = start;
    this.start = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let ascii = sliced;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    this.ascii = ascii ? strictDecoder.decode(buf.subarray(start, end)) : null;
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
    if (this.ascii !== null) return this.ascii.slice(at - this.start, at - this.start + n);
    try {
      return strictDecoder.decode(this.buf.subarray(at, at + n));
    } catch {
      throw UNUSUAL;
    }
  }
}

/** A UTF-8 string, normalised as a `path` field is (`NormalizedPath`). */
function path(r: In): string {
  return normalizePath(r.str());
}

function strings(r: In): string[] {
  const n = r.len();
  if (n * 8 > r.end - r.pos) throw UNUSUAL; // each string takes at least its 8-byte length
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = r.str();
  return out;
}

function env(r: In): EnvPair[] | null {
  const tag = r.buf[r.need(1)];
  if (tag === 0) return null;
  if (tag !== 1) throw UNUSUAL;
  const n = r.len();
  if (n * 16 > r.end - r.pos) throw UNUSUAL;
  const out = new Array<EnvPair>(n);
  for (let i = 0; i < n; i++) out[i] = [r.str(), r.str()];
  return out;
}

/** Where a frame at the start of `buf` ends, `null` while incomplete, `undefined` if not v15. */
function frameEnd(buf: Uint8Array): number | null | undefined {
  if (buf.length < 4) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(0, true);
  if (len > MAX_MESSAGE_SIZE || len < 8) return undefined;
  if (buf.length < 4 + len) return null;
  if (view.getUint32(4, true) !== VERSION) return undefined;
  return 4 + len;
}

/**
 * Decode the v15 request frame at the start of `buf` when it is a `Compile`,
 * `CompileEphemeral` or `LinkEphemeral` (the daemon's hot path): the
 * message and the bytes the frame occupied; `null` while incomplete;
 * `undefined` for anything else (decode those with `decodeBincodeFrame`).
 *
 * @example
 * ```ts
 * import { decodeCompileRequestFrame } from "./compile_codec.ts";
 * import { encodeBincodeFrame } from "./bincode.ts";
 * const bytes = encodeBincodeFrame("request", {
 *   kind: "LinkEphemeral", clientPid: 7, tool: "/usr/bin/ar", args: [], cwd: "/", env: null,
 * });
 * if (decodeCompileRequestFrame(bytes)?.message.kind !== "LinkEphemeral") throw new Error();
 * ```
 */
export function decodeCompileRequestFrame(
  buf: Uint8Array,
): { message: Request; consumed: number } | null | undefined {
  const end = frameEnd(buf);
  if (typeof end !== "number") return end;
  const r = new In(buf, 8, end, true);
  let message: Request;
  try {
    const index = r.u32();
    if (index === REQUEST_INDEX.CompileEphemeral) {
      message = {
        kind: "CompileEphemeral",
        clientPid: r.u32(),
        workingDir: path(r),
        compiler: path(r),
        args: strings(r),
        cwd: path(r),
        env: env(r),
        stdin: r.bytes(),
      };
    } else if (index === REQUEST_INDEX.Compile) {
      message = {
        kind: "Compile",
        sessionId: r.str(),
        args: strings(r),
        cwd: path(r),
        compiler: path(r),
        env: env(r),
        stdin: r.bytes(),
      };
    } else if (index === REQUEST_INDEX.LinkEphemeral) {
      message = {
        kind: "LinkEphemeral",
        clientPid: r.u32(),
        tool: path(r),
        args: strings(r),
        cwd: path(r),
        env: env(r),
      };
    } else return undefined;
  } catch (e) {
    if (e === UNUSUAL) return undefined;
    throw e;
  }
  return { message, consumed: end };
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
  const end = frameEnd(buf);
  if (typeof end !== "number") return end;
  const r = new In(buf, 8, end);
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
  return { message, consumed: end };
}
