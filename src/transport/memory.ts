/**
 * In-memory transport for tests: a connected {@link Conn} pair and a
 * {@link Transport} whose endpoints are names in a private registry. It
 * follows the same contract as the socket adapters (half-close, EOF,
 * "DaemonUnreachable" for a missing endpoint or a vanished peer, bounded
 * buffering: a write waits while the peer has more than the high-water
 * mark unread).
 *
 * @module
 */

import { ZccacheError } from "../core/errors.ts";
import { ChunkQueue, ConnBase, ListenerBase, Serializer } from "./_conn_base.ts";
import { connectTimeoutError } from "./errors.ts";
import type { Conn, ConnectOptions, Listener, Transport } from "./types.ts";

/** Writes are delivered in pieces of at most this many bytes (like a socket). */
const PIECE = 64 * 1024;
/** Default bytes a peer may have unread before writes wait. */
const MEMORY_HIGH_WATER_MARK = 256 * 1024;

/** One end of an in-memory pair. */
export class MemoryConn extends ConnBase {
  /** Incoming data (the peer writes here). */
  readonly _inbox: ChunkQueue = new ChunkQueue();
  #peer: MemoryConn | null = null;
  readonly #name: string;
  readonly #writes = new Serializer();
  readonly #hwm: number;
  #closed = false;
  #writeClosed = false;
  #spaceWaiters: Array<() => void> = [];

  /** Use {@link memoryPair}. */
  constructor(name: string, highWaterMark = MEMORY_HIGH_WATER_MARK) {
    super();
    this.#name = name;
    this.#hwm = highWaterMark;
    this._inbox.lowWater = highWaterMark;
    // The reader consumed data: wake the peer's waiting writer.
    this._inbox.onDrain = () => this.#peer?._wakeWriters();
  }

  /** @internal */
  _link(peer: MemoryConn): void {
    this.#peer = peer;
  }

  /** @internal */
  _wakeWriters(): void {
    const ws = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of ws) w();
  }

  /** @internal The peer closed entirely. */
  _peerClosed(): void {
    this._inbox.end();
    this._wakeWriters();
  }

  #brokenPipe(): ZccacheError {
    return new ZccacheError(
      "DaemonUnreachable",
      `Cannot write on connection to ${this.#name}: broken pipe (EPIPE)`,
    );
  }

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    return this._inbox.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#writes.run(async () => {
      if (this.#closed || this.#writeClosed) {
        throw new ZccacheError("Io", `Cannot write on connection to ${this.#name}: closed`);
      }
      for (let off = 0; off < bytes.byteLength;) {
        const peer = this.#peer!;
        if (peer.#closed) throw this.#brokenPipe();
        if (peer._inbox.size >= this.#hwm) {
          await new Promise<void>((r) => this.#spaceWaiters.push(r));
          continue;
        }
        const n = Math.min(PIECE, bytes.byteLength - off);
        peer._inbox.push(bytes.slice(off, off + n)); // copy: the caller may reuse `bytes`
        off += n;
      }
    });
  }

  closeWrite(): Promise<void> {
    return this.#writes.run(() => {
      if (!this.#closed && !this.#writeClosed) {
        this.#writeClosed = true;
        this.#peer?._inbox.end();
      }
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this._inbox.clear();
    this._wakeWriters();
    this.#peer?._peerClosed();
    return Promise.resolve();
  }
}

/**
 * Two connected in-memory ends.
 *
 * @example
 * ```ts
 * import { memoryPair } from "./memory.ts";
 * const [a, b] = memoryPair();
 * await a.write(new Uint8Array([1, 2, 3]));
 * await b.read(); // Uint8Array [1, 2, 3]
 * ```
 */
export function memoryPair(name = "memory", highWaterMark?: number): [MemoryConn, MemoryConn] {
  const a = new MemoryConn(name, highWaterMark);
  const b = new MemoryConn(name, highWaterMark);
  a._link(b);
  b._link(a);
  return [a, b];
}

/** A listener in a {@link MemoryTransport} registry. */
export class MemoryListener extends ListenerBase {
  readonly path: string;
  readonly _pending: ChunkQueue<Conn> = new ChunkQueue<Conn>(() => 1);
  readonly #onClose: () => void;
  #closed = false;

  /** Use {@link MemoryTransport.listen}. */
  constructor(path: string, onClose: () => void) {
    super();
    this.path = path;
    this.#onClose = onClose;
  }

  accept(): Promise<Conn | null> {
    if (this.#closed) return Promise.resolve(null);
    return this._pending.read();
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#onClose();
    while (this._pending.size > 0) void this._pending.read().then((c) => c?.close());
    this._pending.end();
    return Promise.resolve();
  }
}

/**
 * A transport over an in-process registry of endpoint names. Each instance
 * is its own namespace.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "./memory.ts";
 * const t = new MemoryTransport();
 * const l = await t.listen("/x.sock");
 * const c = await t.connect("/x.sock");
 * const s = (await l.accept())!;
 * await c.write(new Uint8Array([7]));
 * await s.read(); // Uint8Array [7]
 * ```
 */
export class MemoryTransport implements Transport {
  readonly name = "memory";
  readonly #listeners = new Map<string, MemoryListener>();
  /** Endpoints that are "busy": connects wait (and time out) instead of succeeding. */
  readonly busy: Set<string> = new Set<string>();

  connect(path: string, options: ConnectOptions = {}): Promise<Conn> {
    const l = this.#listeners.get(path);
    if (l === undefined) {
      return Promise.reject(
        new ZccacheError(
          "DaemonUnreachable",
          `Cannot connect to daemon at ${path}: No such file or directory (ENOENT)`,
        ),
      );
    }
    if (this.busy.has(path)) {
      const t = options.timeoutMs;
      if (t === undefined) {
        return Promise.reject(
          new ZccacheError(
            "Io",
            `Cannot connect to daemon at ${path}: Resource temporarily unavailable (EAGAIN)`,
          ),
        );
      }
      return new Promise((_, reject) => setTimeout(() => reject(connectTimeoutError(path, t)), t));
    }
    const [client, server] = memoryPair(path);
    l._pending.push(server);
    return Promise.resolve(client);
  }

  listen(path: string): Promise<Listener> {
    if (this.#listeners.has(path)) {
      return Promise.reject(
        new ZccacheError("Io", `Cannot listen on ${path}: Address already in use (EADDRINUSE)`, {
          cause: Object.assign(new Error("Address already in use"), { code: "EADDRINUSE" }),
        }),
      );
    }
    const l = new MemoryListener(path, () => this.#listeners.delete(path));
    this.#listeners.set(path, l);
    return Promise.resolve(l);
  }
}
