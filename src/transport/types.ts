/**
 * The transport contract: web-standard types only. Every runtime adapter
 * (Deno, Bun, node:net, Windows pipes, in-memory) implements these, and
 * nothing above `src/transport` knows which one it has.
 *
 * @module
 */

/** A connected, bidirectional byte stream (one Unix socket or named pipe). */
export interface Conn extends AsyncIterable<Uint8Array>, AsyncDisposable {
  /**
   * Next chunk of bytes, or `null` at end of stream. Chunks are owned by the
   * caller (adapters never reuse a returned buffer).
   */
  read(): Promise<Uint8Array | null>;
  /** Write all bytes (honours backpressure; writes are serialised). */
  write(bytes: Uint8Array): Promise<void>;
  /** Half-close: no more writes; reads continue. */
  closeWrite(): Promise<void>;
  /** Close both directions. Idempotent. */
  close(): Promise<void>;
}

/** A bound endpoint accepting connections. */
export interface Listener extends AsyncIterable<Conn>, AsyncDisposable {
  /** The socket path or pipe name this listener is bound to. */
  readonly path: string;
  /** Next accepted connection, or `null` once closed. */
  accept(): Promise<Conn | null>;
  /** Stop accepting. Idempotent. Does not close accepted connections. */
  close(): Promise<void>;
}

/** Options for {@link Transport.connect}. */
export interface ConnectOptions {
  /** Give up after this many milliseconds (ZccacheError code "Timeout"). */
  timeoutMs?: number;
}

/** One runtime's way to reach an endpoint. */
export interface Transport {
  /** A short name, e.g. "deno", "bun", "node", "memory". */
  readonly name: string;
  /**
   * Connect to a Unix socket path or `\\.\pipe\...` name. A missing socket,
   * a refused connection or a broken pipe throws ZccacheError
   * "DaemonUnreachable".
   */
  connect(path: string, options?: ConnectOptions): Promise<Conn>;
  /** Bind and listen (the caller handles stale-socket probing first). */
  listen(path: string): Promise<Listener>;
}
