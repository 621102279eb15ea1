/**
 * Bun native Unix-socket transport (`Bun.connect` / `Bun.listen` with
 * `unix`), the fastest IPC path under Bun.
 *
 * Bun's socket API is callback based; this adapter turns it into the pull
 * {@link Conn} contract with real backpressure in both directions:
 * - `socket.write()` returns the number of bytes the kernel accepted (it may
 *   be less than asked, e.g. 219 264 of 1 MB); the rest is resent after the
 *   `drain` callback. Writes are serialised.
 * - received chunks are copied (Bun may reuse its buffer) into a queue; the
 *   socket is paused above 1 MiB queued and resumed when the reader catches up.
 * - `allowHalfOpen: true` on both ends; `closeWrite()` is `shutdown()` (FIN),
 *   and the peer can still reply.
 *
 * The Bun types used are declared locally, so this file type-checks under
 * Deno; the global is looked up at run time.
 *
 * @module
 */

import { ZccacheError } from "../core/errors.ts";
import {
  ChunkQueue,
  ConnBase,
  DEFAULT_HIGH_WATER_MARK,
  ListenerBase,
  Serializer,
} from "./_conn_base.ts";
import { dialWithTimeout, toTransportError } from "./errors.ts";
import type { Conn, ConnectOptions, Listener, Transport } from "./types.ts";

/** The subset of Bun's `Socket` this adapter uses. */
interface BunSocketLike {
  data: unknown;
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  pause(): void;
  resume(): void;
}

/** Bun's socket handler set (one per connect, one per listener). */
interface BunHandlers {
  open?(s: BunSocketLike): void;
  data?(s: BunSocketLike, d: Uint8Array): void;
  drain?(s: BunSocketLike): void;
  end?(s: BunSocketLike): void;
  close?(s: BunSocketLike, err?: Error): void;
  error?(s: BunSocketLike, err: Error): void;
  connectError?(s: BunSocketLike, err: Error): void;
}

/** The subset of the `Bun` namespace this adapter uses. */
interface BunLike {
  connect(
    o: { unix: string; allowHalfOpen?: boolean; data?: unknown; socket: BunHandlers },
  ): Promise<BunSocketLike>;
  listen(o: { unix: string; allowHalfOpen?: boolean; socket: BunHandlers }): {
    stop(closeActiveConnections?: boolean): void;
  };
}

function bunNs(): BunLike {
  const b = (globalThis as { Bun?: unknown }).Bun;
  if (b === undefined) {
    throw new ZccacheError("Io", "Cannot use the Bun transport: not running under Bun");
  }
  return b as BunLike;
}

/** A {@link Conn} over a Bun socket. */
export class BunConn extends ConnBase {
  #socket: BunSocketLike | null = null;
  readonly #path: string;
  readonly #queue = new ChunkQueue();
  readonly #writes = new Serializer();
  readonly #hwm: number;
  #paused = false;
  #closed = false;
  #writeClosed = false;
  #gone: ZccacheError | null = null;
  #drainWaiter: (() => void) | null = null;

  /** Create the state for one socket; the adapter wires Bun's callbacks to it. */
  constructor(path: string, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
    super();
    this.#path = path;
    this.#hwm = highWaterMark;
    this.#queue.lowWater = highWaterMark >> 2;
    this.#queue.onDrain = () => {
      if (this.#paused && this.#socket) {
        this.#paused = false;
        this.#socket.resume();
      }
    };
  }

  /** @internal Bun `open`. */
  _open(s: BunSocketLike): void {
    this.#socket = s;
  }

  /** @internal Bun `data`. */
  _data(s: BunSocketLike, d: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(new Uint8Array(d)); // copy: Bun may reuse `d`
    if (!this.#paused && this.#queue.size > this.#hwm) {
      this.#paused = true;
      s.pause();
    }
  }

  /** @internal Bun `drain`. */
  _drain(): void {
    const w = this.#drainWaiter;
    this.#drainWaiter = null;
    w?.();
  }

  /** @internal Bun `end` (peer sent FIN). */
  _end(): void {
    this.#queue.end();
  }

  /** @internal Bun `close` / `error`. */
  _close(err?: Error): void {
    this.#gone ??= err ? toTransportError(err, "write", this.#path) : new ZccacheError(
      "DaemonUnreachable",
      `Cannot write on connection to ${this.#path}: connection closed`,
    );
    if (err) this.#queue.fail(toTransportError(err, "read", this.#path));
    else this.#queue.end();
    this._drain();
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#writes.run(async () => {
      if (this.#closed || this.#writeClosed) {
        throw new ZccacheError("Io", `Cannot write on connection to ${this.#path}: closed`);
      }
      const s = this.#socket!;
      let off = 0;
      while (off < bytes.byteLength) {
        if (this.#gone) throw this.#gone;
        const n = s.write(off === 0 ? bytes : bytes.subarray(off));
        if (n < 0) {
          throw this.#gone ??
            new ZccacheError(
              "DaemonUnreachable",
              `Cannot write on connection to ${this.#path}: closed`,
            );
        }
        off += n;
        if (off < bytes.byteLength) {
          await new Promise<void>((resolve) => {
            this.#drainWaiter = resolve;
          });
        }
      }
    });
  }

  closeWrite(): Promise<void> {
    return this.#writes.run(() => {
      if (!this.#closed && !this.#writeClosed && !this.#gone) {
        this.#writeClosed = true;
        this.#socket?.shutdown();
      }
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#queue.clear();
    if (this.#paused) this.#socket?.resume();
    this.#socket?.end();
    this._drain();
    return Promise.resolve();
  }
}

function connHandlers(): BunHandlers {
  const of = (s: BunSocketLike) => s.data as BunConn;
  return {
    open(s) {
      of(s)?._open(s);
    },
    data(s, d) {
      of(s)?._data(s, d);
    },
    drain(s) {
      of(s)?._drain();
    },
    end(s) {
      of(s)?._end();
    },
    close(s, err) {
      of(s)?._close(err);
    },
    error(s, err) {
      of(s)?._close(err);
    },
    connectError() {
      // The connect promise rejects; nothing to do here.
    },
  };
}

/** A {@link Listener} over `Bun.listen({unix})`. */
export class BunListener extends ListenerBase {
  readonly path: string;
  #server: { stop(closeActiveConnections?: boolean): void } | null = null;
  readonly #pending = new ChunkQueue<BunConn>(() => 1);
  #closed = false;

  /** Bind `path`; use {@link bunTransport}`.listen()`. */
  constructor(path: string, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
    super();
    this.path = path;
    const base = connHandlers();
    this.#server = bunNs().listen({
      unix: path,
      allowHalfOpen: true,
      socket: {
        ...base,
        open: (s) => {
          const conn = new BunConn(path, highWaterMark);
          s.data = conn;
          conn._open(s);
          if (this.#closed) void conn.close();
          else this.#pending.push(conn);
        },
      },
    });
  }

  async accept(): Promise<Conn | null> {
    if (this.#closed) return null;
    return await this.#pending.read();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#server?.stop(false); // stops accepting, unlinks the socket file
    this.#server = null;
    while (this.#pending.size > 0) void this.#pending.read().then((c) => c?.close());
    this.#pending.end();
    return Promise.resolve();
  }
}

/** Options of {@link createBunTransport}. */
export interface BunTransportOptions {
  /** Read-side high-water mark in bytes (default 1 MiB). */
  highWaterMark?: number;
}

/**
 * Create a Bun native transport.
 *
 * @example
 * ```ts
 * import { createBunTransport } from "./bun.ts";
 * createBunTransport().name; // "bun"
 * ```
 */
export function createBunTransport(options: BunTransportOptions = {}): Transport {
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  return {
    name: "bun",
    async connect(path: string, opts: ConnectOptions = {}): Promise<Conn> {
      const B = bunNs();
      const dial = async (): Promise<BunConn> => {
        const conn = new BunConn(path, hwm);
        const handlers = connHandlers();
        const s = await B.connect({
          unix: path,
          allowHalfOpen: true,
          data: conn,
          socket: {
            ...handlers,
            open(sock) {
              sock.data = conn;
              conn._open(sock);
            },
          },
        });
        s.data = conn;
        conn._open(s);
        return conn;
      };
      return await dialWithTimeout(dial, (late) => void late.close(), path, opts.timeoutMs);
    },
    listen(path: string): Promise<Listener> {
      try {
        return Promise.resolve(new BunListener(path, hwm));
      } catch (e) {
        return Promise.reject(toTransportError(e, "listen", path));
      }
    },
  };
}

/** The shared Bun native transport. */
export const bunTransport: Transport = createBunTransport();
