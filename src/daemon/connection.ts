/**
 * One daemon connection: the lane state machine of zccache 1.12.2
 * (daemon/server/connection.rs `handle_connection`).
 *
 * ```text
 *   first bytes ── 0x01 and not [len>=4][15|16] ──> running-process Frame
 *        │                 payload 0xB232 ──> BackendHandle probe reply, close
 *        │                 payload 0x7A63 ──> FrameV1 request (below)
 *        └─ anything else ─> zccache frame
 *   loop: FrameReader.peek() -> decodeWireMessage(frame, "request")
 *        bincode v15 ──> reply bincode v15
 *        prost   v16 ──> reply prost v16, request_id echoed
 *        FrameV1     ──> reply FrameV1 RESPONSE, frame id + request_id echoed
 *        VersionMismatch ──> bincode v15 Error "protocol version mismatch…", close
 *        Conversion (prost/FrameV1 body maps to no Request) ──> Error, same lane, stay open
 *        anything else undecodable ──> close, no reply
 * ```
 *
 * Deliberate differences from 1.12.2 (which has neither): a connection idle
 * for `connectionIdleMs` between requests is closed (HEAD's 600 s bound),
 * and a client that disconnects while its compile runs aborts that compile.
 *
 * The server (`server.ts`) owns lifecycle; it reaches this file only
 * through {@link ConnectionHost}.
 *
 * @module
 */
import { deadline } from "../core/deadline.ts";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import { classifyFrameStart } from "../core/frame.ts";
import { FrameReader } from "../core/frame_reader.ts";
import type { Request, Response } from "../core/messages.ts";
import { ZCCACHE_WIRE_RELEASE } from "../core/messages.ts";
import { decodeBincodeFrame, encodeBincodeFrame } from "../core/bincode.ts";
import { decodeCompileRequestFrame } from "../core/compile_codec.ts";
import { loadWire } from "../core/lanes.ts";
import { peekFrameVersion } from "../core/frame.ts";
import { BINCODE_PROTOCOL_VERSION } from "../core/messages.ts";
import type { DecodedWire, WireRoute } from "../core/wire.ts";
import type { Conn } from "../transport/types.ts";
import {
  dispatch,
  type HandlerContext,
  type HandlerResult,
  isCompileRequest,
} from "./handlers/mod.ts";
import type { DaemonIdentity } from "./identity.ts";
import type { DaemonLog } from "./log.ts";

/**
 * The prost and FrameV1 lanes (`core/wire.ts`) and the BackendHandle probe
 * (`probe.ts`) build protobuf descriptors when they load (~20 ms): loaded on
 * the first frame that needs them, so a daemon start and every bincode
 * request (the wrapper's, the library's) never pay for them.
 */
let probeModule: Promise<typeof import("./probe.ts")> | null = null;
function probeLane(): Promise<typeof import("./probe.ts")> {
  return (probeModule ??= import("./probe.ts"));
}

/** A bincode (v15) frame at the head of `buf`: decoded here, without the other lanes. */
function isBincodeFrame(buf: Uint8Array): boolean {
  return classifyFrameStart(buf) === false && peekFrameVersion(buf) === BINCODE_PROTOCOL_VERSION;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** The handler context (set once the server has started). */
  readonly ctx: HandlerContext;
  /** The identity the BackendHandle probe answers with (`null`: no probe lane). */
  readonly identity: DaemonIdentity | null;
  /** The server is shutting down: stop reading requests. */
  readonly stopping: boolean;
  /** Idle limit between requests, in ms. */
  readonly connectionIdleMs: number;
  /** The daemon log. */
  readonly log: DaemonLog;
  /** Bytes held in partial frames over all connections. */
  readonly recvHeldBytes: number;
  /** Account `delta` more (or fewer) buffered bytes; false over the daemon-wide budget. */
  holdRecv(delta: number): boolean;
  /** Note activity (idle timer). */
  touch(): void;
  /** A request starts being served (a shutdown waits for its reply). */
  beginRequest(): void;
  /** The request's reply is written. */
  endRequest(): void;
}

const DONE = Symbol("done");

/** Serve one accepted connection: `run()` until it closes. */
export class DaemonConnection {
  readonly #conn: Conn;
  readonly #host: ConnectionHost;
  readonly #reader = new FrameReader();
  /** Bytes of #reader accounted in the server's receive budget. */
  #held = 0;
  #pending: Promise<Uint8Array | null> | null = null;
  #busy = false;
  #closed = false;

  constructor(conn: Conn, host: ConnectionHost) {
    this.#conn = conn;
    this.#host = host;
  }

  /** Close now if no request is being served (used at shutdown). */
  closeIdle(): void {
    if (!this.#busy) void this.#close();
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.clear();
    this.#account();
    await this.#conn.close().catch(() => {});
  }

  #read(): Promise<Uint8Array | null> {
    if (this.#pending === null) {
      this.#pending = this.#conn.read().catch(() => null);
    }
    return this.#pending;
  }

  /** Buffer a chunk; false when the daemon-wide receive budget is exceeded. */
  #append(chunk: Uint8Array): boolean {
    this.#reader.push(chunk);
    if (this.#account()) return true;
    this.#host.log.event("recv-budget-exceeded", {
      held: this.#host.recvHeldBytes,
      connection_bytes: this.#reader.buffered,
    });
    return false;
  }

  /** Drop `n` bytes a decoded request may alias. */
  #consume(n: number): void {
    this.#reader.consume(n);
    this.#account();
  }

  /** Bring the server's receive accounting up to date. */
  #account(): boolean {
    const delta = this.#reader.buffered - this.#held;
    this.#held = this.#reader.buffered;
    return this.#host.holdRecv(delta);
  }

  /** Read one more chunk; false at EOF, idle timeout or shutdown. */
  async #fill(): Promise<boolean> {
    if (this.#closed || this.#host.stopping) return false;
    let chunk: Uint8Array | null;
    try {
      chunk = await deadline(this.#read(), this.#host.connectionIdleMs, { what: "request" });
    } catch {
      return false; // idle: the read stays pending, the connection closes
    }
    this.#pending = null;
    if (chunk === null) return false;
    return this.#append(chunk);
  }

  /** Serve the connection until it closes (always closes it). */
  async run(): Promise<void> {
    try {
      if (!(await this.#maybeProbe())) return;
      await this.#loop();
    } finally {
      await this.#close();
    }
  }

  /**
   * Decide the lane from the first bytes (`answerBackendProbe`): a
   * BackendHandle probe is answered here and the connection ends (false);
   * zccache traffic returns true with every byte still buffered.
   */
  async #maybeProbe(): Promise<boolean> {
    const identity = this.#host.identity;
    let eof = false;
    for (;;) {
      const buf = this.#reader.view();
      if (identity === null) {
        // No identity (hashing the executable failed): no probe lane.
        if (classifyFrameStart(buf) !== null) return true;
      } else if (buf.length >= 8 && classifyFrameStart(buf) === false) {
        return true; // zccache traffic (answerBackendProbe's first test)
      } else {
        const d = (await probeLane()).answerBackendProbe(buf, identity, { eof });
        if (d.lane === "zccache") return true;
        if (d.lane === "error") {
          this.#host.log.error("probe", d.error);
          return false;
        }
        if (d.lane === "probe") {
          this.#host.touch();
          await this.#conn.write(d.response).catch(() => {});
          return false;
        }
      }
      if (eof) return false;
      if (!(await this.#fill())) eof = true;
      if (eof && this.#reader.buffered === 0) return false;
    }
  }

  async #loop(): Promise<void> {
    for (;;) {
      if (this.#host.stopping) return;
      let frame: Uint8Array | null = null;
      let decoded: DecodedWire<"request"> | null;
      try {
        frame = this.#reader.peek();
        if (frame === null) decoded = null;
        else if (isBincodeFrame(frame)) {
          const b = decodeCompileRequestFrame(frame) ?? decodeBincodeFrame(frame, "request");
          decoded = b === null
            ? null
            : { lane: "bincode", message: b.message, consumed: b.consumed };
        } else decoded = (await loadWire()).decodeWireMessage(frame, "request");
      } catch (err) {
        if (!(await this.#onDecodeError(err, frame))) return;
        continue;
      }
      if (decoded === null) {
        if (!(await this.#fill())) return;
        continue;
      }
      this.#consume(decoded.consumed);
      this.#host.touch();
      const route: WireRoute = {
        lane: decoded.lane,
        requestId: decoded.requestId ?? "",
        frameId: decoded.frameId ?? 0n,
      };
      if (!(await this.#serve(decoded.message as Request, route))) return;
    }
  }

  /** Handle a framing or decoder error; true = keep the connection. */
  async #onDecodeError(err: unknown, frame: Uint8Array | null): Promise<boolean> {
    const log = this.#host.log;
    if (isZccacheError(err, "VersionMismatch") && err.received !== undefined) {
      log.event("version_mismatch", {
        daemon_crate_version: ZCCACHE_WIRE_RELEASE,
        daemon_protocol_version: err.expected ?? 16,
        client_protocol_version: err.received,
      });
      const { versionMismatchReply } = await loadWire();
      await this.#conn.write(versionMismatchReply(err.expected ?? 16, err.received)).catch(
        () => {},
      );
      return false;
    }
    if (
      frame !== null && isZccacheError(err, "Conversion") && err.consumed !== undefined &&
      err.consumed > 0
    ) {
      const route = (await loadWire()).wireRouteOf(frame);
      this.#consume(err.consumed);
      log.error("conversion", err);
      if (route === null) return false;
      return await this.#send({ kind: "Error", message: err.message }, route);
    }
    log.error("decode", err);
    return false;
  }

  /** Dispatch one request and reply; false = close the connection. */
  async #serve(req: Request, route: WireRoute): Promise<boolean> {
    // The request counts as in flight until its reply is written, so a
    // shutdown waits for the reply instead of closing under it.
    this.#busy = true;
    this.#host.beginRequest();
    let result: HandlerResult | undefined;
    try {
      try {
        const ac = new AbortController();
        const work = dispatch(this.#host.ctx, req, ac.signal);
        if (isCompileRequest(req)) {
          const disconnected = await this.#watchDisconnect(work, ac);
          if (disconnected) {
            await work.catch(() => {});
            this.#host.log.event("client-disconnected", { request: req.kind });
            return false;
          }
        }
        result = await work;
      } catch (err) {
        this.#host.log.error("handler", err, { request: req.kind });
        result = {
          response: {
            kind: "Error",
            message: `internal error handling ${req.kind}: ${
              err instanceof Error ? err.message : String(err)
            }`,
          },
        };
      }
      const ok = await this.#send(result.response, route);
      if (result.after === "close") await this.#close();
      return ok && result.after !== "close";
    } finally {
      this.#busy = false;
      this.#host.endRequest();
      // After endRequest: a Shutdown must not wait for its own request.
      result?.onSent?.();
    }
  }

  /** While `work` runs, read the socket: EOF aborts the work. True = client gone. */
  async #watchDisconnect(work: Promise<unknown>, ac: AbortController): Promise<boolean> {
    const done: Promise<typeof DONE> = work.then(() => DONE, () => DONE);
    for (;;) {
      const r = await Promise.race([this.#read(), done]);
      if (r === DONE) return false;
      this.#pending = null;
      if (r === null) {
        ac.abort(new ZccacheError("ConnectionClosed", "client disconnected"));
        return true;
      }
      if (!this.#append(r)) {
        ac.abort(new ZccacheError("ConnectionClosed", "receive budget exceeded"));
        return true;
      }
    }
  }

  async #send(resp: Response, route: WireRoute): Promise<boolean> {
    const encodeWireMessage = route.lane === "bincode"
      ? (_d: "response", msg: Response) => encodeBincodeFrame("response", msg)
      : (await loadWire()).encodeWireMessage;
    let bytes: Uint8Array;
    try {
      bytes = encodeWireMessage("response", resp, route);
    } catch (err) {
      this.#host.log.error("encode", err, { response: resp.kind });
      try {
        bytes = encodeWireMessage("response", {
          kind: "Error",
          message: `failed to encode ${resp.kind} response: ${
            err instanceof Error ? err.message : String(err)
          }`,
        }, route);
      } catch {
        return false;
      }
    }
    try {
      await this.#conn.write(bytes);
      return true;
    } catch {
      return false;
    }
  }
}
