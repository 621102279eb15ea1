/**
 * `IpcConnection`: one client connection to a zccache daemon, speaking the
 * three 1.12.2 lanes on one byte stream.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/ipc/transport.rs
 * (`IpcConnection` / `IpcClientConnection`): `send` = bincode v15,
 * `send_prost` = prost v16, `send_frame_v1_request` = running-process Frame
 * with a per-connection u64 counter starting at 1 (wrapping), `recv` =
 * bincode-only decoder, `recv_wire` = the lane-dispatching decoder, an
 * optional receive timeout, `Ok(None)` on clean EOF and `ConnectionClosed`
 * on EOF mid-frame.
 *
 * Start-up cost: the bincode path (`send`/`recv`) only loads `bincode.ts`.
 * The prost, FrameV1 and dispatcher modules (and the generated protobuf code
 * behind them) are loaded with a dynamic `import()` the first time a
 * prost/frame method runs, so the compiler wrapper stays lean.
 *
 * @module
 */
import { decodeCompileReplyFrame, encodeCompileRequestFrame } from "../core/compile_codec.ts";
import { loadBincode, loadFrameV1, loadProst, loadWire } from "../core/lanes.ts";
import { deadline } from "../core/deadline.ts";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import { type FrameMode, FrameReader } from "../core/frame_reader.ts";
import type { Request, Response } from "../core/messages.ts";
import type { Conn } from "../transport/types.ts";
import { connectDaemonWithRoute } from "./connect.ts";
import type { DaemonConnectRoute, DecodedWireResponse, IpcConnectOptions } from "./types.ts";

export type { DecodedWireResponse, IpcConnectOptions, WireLane } from "./types.ts";

/** zccache `DEFAULT_CLIENT_RECV_TIMEOUT`: 300 s, opt-in. */
export const DEFAULT_CLIENT_RECV_TIMEOUT_MS = 300_000;

const U64_MASK = (1n << 64n) - 1n;

/**
 * Render a timeout the way Rust's `Duration` `Debug` does in
 * `recv timed out after {:?}` (`2s`, `500ms`, `1.5s`).
 */
function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return `${ms / 1000}s`;
}

/**
 * One connection to the daemon. Not safe for concurrent receives: like the
 * Rust type, callers send a request and then receive its reply.
 *
 * @example
 * ```ts ignore
 * const conn = await IpcConnection.connect("/tmp/zccache-alice/sock");
 * await conn.send({ kind: "Ping" });
 * const reply = await conn.recv(); // { kind: "Pong" }
 * await conn.close();
 * ```
 */
export class IpcConnection {
  readonly #conn: Conn;
  readonly #reader = new FrameReader();
  #pendingRead: Promise<Uint8Array | null> | null = null;
  #eof = false;
  #nextFrameId = 1n;
  #recvTimeoutMs: number | undefined;
  #closed = false;
  /** How this connection reached the daemon (direct or the broker lane). */
  readonly route: DaemonConnectRoute;

  /** Wrap an already connected {@link Conn} (FrameV1 counter = 1, no timeout). */
  constructor(conn: Conn, route: DaemonConnectRoute = { kind: "Direct" }) {
    this.#conn = conn;
    this.route = route;
  }

  /**
   * Connect to a daemon endpoint through `connectDaemon` (the broker lane
   * applies when `ZCCACHE_BROKER_CONNECT=1` or the test seam is set).
   * Connect failures throw ZccacheError "DaemonUnreachable" / "Timeout".
   */
  static async connect(endpoint: string, options: IpcConnectOptions = {}): Promise<IpcConnection> {
    const { conn, route } = await connectDaemonWithRoute(endpoint, {
      transport: options.transport,
      timeoutMs: options.timeoutMs,
      env: options.env,
    });
    const ipc = new IpcConnection(conn, route);
    if (options.recvTimeoutMs !== undefined) ipc.setRecvTimeout(options.recvTimeoutMs);
    return ipc;
  }

  /** Default timeout (ms) for later `recv`/`recvWire`/`recvFrame` calls. */
  setRecvTimeout(ms: number): void {
    this.#recvTimeoutMs = ms;
  }
  /** Remove the default receive timeout (wait forever). */
  clearRecvTimeout(): void {
    this.#recvTimeoutMs = undefined;
  }
  /** The current default receive timeout in ms, if any. */
  get recvTimeoutMs(): number | undefined {
    return this.#recvTimeoutMs;
  }
  /** The frame id the next {@link sendFrame} will use. */
  get nextFrameId(): bigint {
    return this.#nextFrameId;
  }

  /** Write raw bytes (one whole frame). */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  /** Send `req` as a bincode v15 frame (`[u32 len][u32 15][bincode]`). */
  async send(req: Request): Promise<void> {
    const bytes = encodeCompileRequestFrame(req) ??
      (await loadBincode()).encodeBincodeFrame("request", req);
    await this.#conn.write(bytes);
  }

  /**
   * Send `req` as a prost v16 frame (`[u32 len][u32 16][protobuf]`) with the
   * inner `request_id` (default: zccache's `default_request_id`).
   */
  async sendProst(req: Request, requestId?: string): Promise<void> {
    const prost = await loadProst();
    await this.#conn.write(prost.encodeProstFrame("request", req, requestId));
  }

  /**
   * Send `req` as a FrameV1 request (`[u8 1][u32 body_len][Frame]`,
   * payload_protocol 0x7A63). The frame id comes from the per-connection
   * counter (1, 2, 3, ... wrapping at 2^64); it is returned.
   */
  async sendFrame(req: Request, requestId?: string): Promise<bigint> {
    const [prost, frameV1] = await Promise.all([loadProst(), loadFrameV1()]);
    const frameId = this.#nextFrameId;
    this.#nextFrameId = (this.#nextFrameId + 1n) & U64_MASK;
    const bytes = frameV1.encodeFrameV1("request", req, {
      requestId: requestId ?? prost.defaultRequestId(req),
      frameId,
      frameKind: "request",
    });
    await this.#conn.write(bytes);
    return frameId;
  }

  /**
   * Receive one bincode v15 response (zccache `recv`). Any other header
   * version throws VersionMismatch{15, v} after consuming the frame.
   * Returns `null` on a clean EOF; EOF mid-frame throws "ConnectionClosed".
   */
  recv(timeoutMs: number | undefined = this.#recvTimeoutMs): Promise<Response | null> {
    return this.#recvLoop("zccache", async (frame) => {
      const fast = decodeCompileReplyFrame(frame);
      if (fast !== undefined) {
        return fast === null ? null : { value: fast.message, consumed: fast.consumed };
      }
      const r = (await loadBincode()).decodeBincodeFrame(frame, "response");
      return r === null ? null : { value: r.message, consumed: r.consumed };
    }, timeoutMs);
  }

  /**
   * Receive one response on any lane (zccache `recv_wire`): bincode v15,
   * prost v16 or FrameV1, told apart by the first bytes.
   */
  async recvWire(
    timeoutMs: number | undefined = this.#recvTimeoutMs,
  ): Promise<DecodedWireResponse | null> {
    const wire = await loadWire();
    return this.#recvLoop("dual", (frame) => {
      const r = wire.decodeWireMessage(frame, "response");
      if (r === null) return null;
      const value: DecodedWireResponse = { lane: r.lane, message: r.message as Response };
      if (r.requestId !== undefined) value.requestId = r.requestId;
      if (r.frameId !== undefined) value.frameId = r.frameId;
      if (r.frameKind !== undefined) value.frameKind = r.frameKind;
      return { value, consumed: r.consumed };
    }, timeoutMs);
  }

  /**
   * Receive the reply to a {@link sendFrame} request. Like zccache's control
   * path this accepts any lane (a daemon answers on the request's lane).
   */
  recvFrame(
    timeoutMs: number | undefined = this.#recvTimeoutMs,
  ): Promise<DecodedWireResponse | null> {
    return this.recvWire(timeoutMs);
  }

  /** Close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#conn.close();
  }

  /** `await using` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Cut the next whole frame (`mode`), decode it, consume what the decoder used. */
  async #recvLoop<T>(
    mode: FrameMode,
    decode: (
      frame: Uint8Array,
    ) =>
      | { value: T; consumed: number }
      | null
      | Promise<{ value: T; consumed: number } | null>,
    timeoutMs: number | undefined,
  ): Promise<T | null> {
    const until = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const reader = this.#reader;
    for (;;) {
      if (reader.buffered > 0) {
        let r: { value: T; consumed: number } | null = null;
        try {
          const frame = reader.peek(mode);
          if (frame !== null) r = await decode(frame);
        } catch (e) {
          const consumed = (e as { consumed?: unknown }).consumed;
          if (typeof consumed === "number" && consumed > 0) reader.consume(consumed);
          throw e;
        }
        if (r !== null) {
          // Decoded replies may alias these bytes (protobuf bytes fields).
          reader.consume(r.consumed);
          return r.value;
        }
      }
      if (this.#eof) {
        if (reader.buffered === 0) return null;
        throw new ZccacheError("ConnectionClosed", "connection closed");
      }
      const chunk = await this.#readChunk(until, timeoutMs);
      if (chunk === null) {
        this.#eof = true;
        continue;
      }
      reader.push(chunk);
    }
  }

  /** One read, bounded by the deadline; a timed-out read stays pending. */
  async #readChunk(
    until: number | undefined,
    timeoutMs: number | undefined,
  ): Promise<Uint8Array | null> {
    // A read left pending by a timeout is awaited again by the next receive.
    const read = this.#pendingRead ??= this.#conn.read();
    try {
      const chunk = await deadline(read, until === undefined ? undefined : until - Date.now(), {
        message: `recv timed out after ${formatDuration(timeoutMs ?? 0)}`,
      });
      this.#pendingRead = null;
      return chunk;
    } catch (e) {
      if (!isZccacheError(e, "Timeout")) this.#pendingRead = null;
      throw e;
    }
  }
}
