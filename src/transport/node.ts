/**
 * `node:net` transport: Unix sockets and Windows named pipes
 * (`\\.\pipe\...`) in Node, Deno (pipes need Deno >= 2.8) and Bun. The
 * portable fallback and the only Windows transport.
 *
 * Sockets are opened with `allowHalfOpen: true` so `closeWrite()` sends FIN
 * and the peer can still reply. Read side: `data` events feed a queue; the
 * socket is paused above 1 MiB queued and resumed when the reader catches up.
 * Write side: writes are serialised; a `false` from `socket.write` waits for
 * `drain`.
 *
 * Deno permissions: `--allow-net=unix:<exact socket path>` plus read and
 * write access to that path (a directory grant does not cover the socket).
 *
 * @module
 */

import type * as net from "node:net";

/**
 * `node:net`, loaded on first use: importing it costs ~2 ms of start-up in a
 * Bun binary, and Bun and Deno processes normally use their native adapter.
 */
let netModule: Promise<typeof net> | undefined;
function loadNet(): Promise<typeof net> {
  return netModule ??= import("node:net");
}
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

/** A {@link Conn} over a `node:net` socket. */
export class NodeConn extends ConnBase {
  readonly #socket: net.Socket;
  readonly #path: string;
  readonly #queue = new ChunkQueue();
  readonly #writes = new Serializer();
  #paused = false;
  #closed = false;
  #writeError: unknown = undefined;
  #drainWaiters: Array<() => void> = [];

  /** Wrap a connected socket (client side or accepted). */
  constructor(socket: net.Socket, path: string, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
    super();
    this.#socket = socket;
    this.#path = path;
    this.#queue.lowWater = highWaterMark >> 2;
    this.#queue.onDrain = () => {
      if (this.#paused) {
        this.#paused = false;
        socket.resume();
      }
    };
    socket.on("data", (d: Uint8Array) => {
      // Copy into a plain Uint8Array: the caller owns it, and not every
      // runtime's node:net promises not to reuse the Buffer.
      this.#queue.push(new Uint8Array(d));
      if (!this.#paused && this.#queue.size > highWaterMark) {
        this.#paused = true;
        socket.pause();
      }
    });
    socket.on("end", () => this.#queue.end());
    socket.on("error", (e: Error) => {
      const err = toTransportError(e, "read", path);
      this.#writeError ??= err;
      this.#queue.fail(err);
      this.#wakeWriters();
    });
    socket.on("close", () => {
      this.#queue.end();
      this.#writeError ??= new ZccacheError(
        "DaemonUnreachable",
        `Cannot write on connection to ${path}: connection closed`,
      );
      this.#wakeWriters();
    });
    socket.on("drain", () => this.#wakeWriters());
  }

  #wakeWriters(): void {
    const ws = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of ws) w();
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    return this.#queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#writes.run(async () => {
      if (this.#closed) {
        throw new ZccacheError("Io", `Cannot write on connection to ${this.#path}: closed`);
      }
      if (this.#writeError !== undefined) throw this.#writeError;
      if (bytes.byteLength === 0) return;
      const s = this.#socket;
      if (s.writableEnded) {
        throw new ZccacheError(
          "Io",
          `Cannot write on connection to ${this.#path}: write side closed`,
        );
      }
      const flushed = s.write(bytes);
      if (!flushed) {
        await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
        if (this.#writeError !== undefined && s.destroyed) throw this.#writeError;
      }
    });
  }

  closeWrite(): Promise<void> {
    return this.#writes.run(async () => {
      const s = this.#socket;
      if (this.#closed || s.writableEnded || s.destroyed) return;
      await new Promise<void>((resolve) => s.end(resolve));
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#queue.clear();
    const s = this.#socket;
    if (s.writableLength > 0 && !s.destroyed && !s.writableEnded) {
      // A resolved write() may still sit in node's buffer: flush it, send
      // FIN, then tear down (destroy() alone would drop those bytes).
      s.end(() => s.destroy());
      setTimeout(() => s.destroy(), 5000).unref?.();
    } else {
      s.destroy();
    }
    this.#wakeWriters();
    return Promise.resolve();
  }
}

/** A {@link Listener} over a `node:net` server. */
export class NodeListener extends ListenerBase {
  readonly path: string;
  readonly #server: net.Server;
  readonly #pending = new ChunkQueue<net.Socket>(() => 1);
  #closed = false;

  /** Wrap a listening server; use {@link nodeTransport}`.listen()`. */
  constructor(server: net.Server, path: string) {
    super();
    this.#server = server;
    this.path = path;
    server.on("connection", (s: net.Socket) => {
      if (this.#closed) s.destroy();
      else this.#pending.push(s);
    });
    server.on("error", (e: Error) => this.#pending.fail(toTransportError(e, "accept", path)));
  }

  async accept(): Promise<Conn | null> {
    if (this.#closed) return null;
    const s = await this.#pending.read();
    if (s === null) return null;
    return new NodeConn(s, this.path);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    // Stops accepting and unlinks the socket file; the callback would wait
    // for accepted connections, which stay open, so do not await it.
    this.#server.close();
    for (;;) {
      // Drain sockets accepted by the OS but never handed out.
      const p = this.#pending;
      if (p.size === 0) break;
      void p.read().then((s) => s?.destroy());
    }
    this.#pending.end();
    return Promise.resolve();
  }
}

async function connectNode(path: string): Promise<net.Socket> {
  const { createConnection } = await loadNet();
  return await new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    const onError = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.once("error", onError);
    s.once("connect", () => {
      s.off("error", onError);
      resolve(s);
    });
  });
}

/** Options of {@link createNodeTransport}. */
export interface NodeTransportOptions {
  /** Read-side high-water mark in bytes (default 1 MiB). */
  highWaterMark?: number;
}

/**
 * Create a `node:net` transport.
 *
 * @example
 * ```ts
 * import { createNodeTransport } from "./node.ts";
 * const t = createNodeTransport();
 * t.name; // "node"
 * ```
 */
export function createNodeTransport(options: NodeTransportOptions = {}): Transport {
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  return {
    name: "node",
    async connect(path: string, opts: ConnectOptions = {}): Promise<Conn> {
      const s = await dialWithTimeout(
        () => connectNode(path),
        (late) => late.destroy(),
        path,
        opts.timeoutMs,
      );
      return new NodeConn(s, path, hwm);
    },
    async listen(path: string): Promise<Listener> {
      const { createServer } = await loadNet();
      return await new Promise((resolve, reject) => {
        const server = createServer({ allowHalfOpen: true });
        const onError = (e: Error) => reject(toTransportError(e, "listen", path));
        server.once("error", onError);
        server.listen(path, () => {
          server.off("error", onError);
          resolve(new NodeListener(server, path));
        });
      });
    },
  };
}

/** The shared `node:net` transport. */
export const nodeTransport: Transport = createNodeTransport();
