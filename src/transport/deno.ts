/**
 * Deno native Unix-socket transport (`Deno.connect` / `Deno.listen` with
 * `transport: "unix"`; Unix only, Deno has no native named pipes).
 *
 * Uses `conn.read()` / `conn.write()` / `conn.closeWrite()` directly, NOT
 * `conn.readable` / `conn.writable`: consuming `readable` to EOF closes the
 * whole resource (a server could no longer reply after the client's
 * half-close), and closing `writable` closes both directions
 * (denoland/deno#22258, #27510). It is also about 2x faster per round trip.
 *
 * Permissions: `--allow-net=unix:<exact socket path>` (Deno >= 2.9; a
 * directory grant such as `unix:/run/zccache` does NOT cover sockets in it,
 * denoland/deno#36762) plus `--allow-read` and `--allow-write` for the path.
 *
 * The Deno types used are declared locally so this file type-checks under
 * Deno's and Bun's type checkers alike; the global is looked up at run time.
 *
 * @module
 */

import { ZccacheError } from "../core/errors.ts";
import { ConnBase, ListenerBase, Serializer } from "./_conn_base.ts";
import { dialWithTimeout, toTransportError } from "./errors.ts";
import type { Conn, ConnectOptions, Listener, Transport } from "./types.ts";

/** The subset of `Deno.UnixConn` this adapter uses. */
interface DenoUnixConnLike {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** The subset of `Deno.Listener` this adapter uses. */
interface DenoUnixListenerLike {
  accept(): Promise<DenoUnixConnLike>;
  close(): void;
}

/** The subset of the `Deno` namespace this adapter uses. */
interface DenoLike {
  connect(options: { transport: "unix"; path: string }): Promise<DenoUnixConnLike>;
  listen(options: { transport: "unix"; path: string }): DenoUnixListenerLike;
}

function denoNs(): DenoLike {
  const d = (globalThis as { Deno?: unknown }).Deno;
  if (d === undefined) {
    throw new ZccacheError("Io", "Cannot use the Deno transport: not running under Deno");
  }
  return d as DenoLike;
}

/** Smallest and first read size of a connection. */
const MIN_READ_SIZE = 1024;
/** Largest read size (reached after full reads). */
const MAX_READ_SIZE = 128 * 1024;

/**
 * Read sizes adapt per connection: start at 1 KiB, x4 after a read that
 * filled the buffer, /2 after one that used at most a quarter of it.
 *
 * Why not one 128 KiB buffer per connection (as before): each
 * `Deno.UnixConn.read(buf)` costs an off-heap allocation of `buf.length`
 * that V8 reclaims late, however the JS buffer is reused, so RSS tracked
 * read size x reads: 20k connect/close cycles grew a daemon from 130 to
 * 1390 MiB with 128 KiB reads, and stay flat with 1 KiB first reads
 * (RELIABILITY.md).
 */
function nextReadSize(size: number, n: number): number {
  if (n >= size) return Math.min(MAX_READ_SIZE, size * 4);
  if (n <= size / 4) return Math.max(MIN_READ_SIZE, size / 2);
  return size;
}

/** A {@link Conn} over a `Deno.UnixConn`. */
export class DenoConn extends ConnBase {
  readonly #conn: DenoUnixConnLike;
  readonly #path: string;
  readonly #writes = new Serializer();
  #buf: Uint8Array | null = null;
  #readSize = MIN_READ_SIZE;
  #reading = false;
  #eof = false;
  #closed = false;
  #writeClosed = false;

  /** Wrap a connected `Deno.UnixConn`. */
  constructor(conn: DenoUnixConnLike, path: string) {
    super();
    this.#conn = conn;
    this.#path = path;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed || this.#eof) return null;
    if (this.#reading) throw new Error("Cannot read: another read is already pending");
    this.#reading = true;
    let buf = this.#buf;
    if (buf === null || buf.length !== this.#readSize) {
      buf = this.#buf = new Uint8Array(this.#readSize);
    }
    try {
      const n = await this.#conn.read(buf);
      if (n === null) {
        this.#eof = true;
        this.#buf = null;
        return null;
      }
      this.#readSize = nextReadSize(buf.length, n);
      return buf.slice(0, n);
    } catch (e) {
      this.#buf = null;
      if (this.#closed) return null;
      throw toTransportError(e, "read", this.#path);
    } finally {
      this.#reading = false;
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#writes.run(async () => {
      if (this.#closed || this.#writeClosed) {
        throw new ZccacheError("Io", `Cannot write on connection to ${this.#path}: closed`);
      }
      try {
        let off = 0;
        while (off < bytes.byteLength) {
          off += await this.#conn.write(off === 0 ? bytes : bytes.subarray(off));
        }
      } catch (e) {
        throw toTransportError(e, "write", this.#path);
      }
    });
  }

  closeWrite(): Promise<void> {
    return this.#writes.run(async () => {
      if (this.#closed || this.#writeClosed) return;
      this.#writeClosed = true;
      try {
        await this.#conn.closeWrite();
      } catch (e) {
        // The peer already went away: the write side is closed either way.
        const mapped = toTransportError(e, "write", this.#path);
        if (mapped.code !== "DaemonUnreachable") throw mapped;
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (!this.#reading) this.#buf = null;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }
}

/** A {@link Listener} over a `Deno.listen({transport: "unix"})` listener. */
export class DenoListener extends ListenerBase {
  readonly path: string;
  readonly #listener: DenoUnixListenerLike;
  #closed = false;

  /** Wrap a listening Deno listener; use {@link denoTransport}`.listen()`. */
  constructor(listener: DenoUnixListenerLike, path: string) {
    super();
    this.#listener = listener;
    this.path = path;
  }

  async accept(): Promise<Conn | null> {
    if (this.#closed) return null;
    try {
      return new DenoConn(await this.#listener.accept(), this.path);
    } catch (e) {
      if (this.#closed) return null;
      throw toTransportError(e, "accept", this.path);
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    try {
      this.#listener.close(); // also unlinks the socket file (Deno >= 2.6.7)
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }
}

/**
 * The Deno native Unix-socket transport.
 *
 * @example
 * ```ts
 * import { denoTransport } from "./deno.ts";
 * denoTransport.name; // "deno"
 * ```
 */
export const denoTransport: Transport = {
  name: "deno",
  async connect(path: string, options: ConnectOptions = {}): Promise<Conn> {
    const D = denoNs();
    const conn = await dialWithTimeout(
      () => D.connect({ transport: "unix", path }),
      (late) => late.close(),
      path,
      options.timeoutMs,
    );
    return new DenoConn(conn, path);
  },
  listen(path: string): Promise<Listener> {
    try {
      return Promise.resolve(new DenoListener(denoNs().listen({ transport: "unix", path }), path));
    } catch (e) {
      return Promise.reject(toTransportError(e, "listen", path));
    }
  },
};
