/**
 * Shared pieces of the adapters: a chunk queue for callback-driven sockets
 * (Bun, node:net, memory), a write serializer, and a base class supplying
 * the async iterator and `asyncDispose` of {@link Conn} / {@link Listener}.
 *
 * @module
 */

import type { Conn, Listener } from "./types.ts";

/** Default read-side high-water mark: pause the socket above this many queued bytes. */
export const DEFAULT_HIGH_WATER_MARK = 1 << 20;

/**
 * FIFO of received chunks with one pending reader. Data queued before an
 * error or EOF is delivered first.
 */
export class ChunkQueue<T = Uint8Array> {
  #items: T[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #waiter: { resolve: (v: T | null) => void; reject: (e: unknown) => void } | null = null;
  readonly #size: (item: T) => number;
  /** Called after a read when the queued size fell to or below `lowWater`. */
  onDrain: (() => void) | null = null;
  /** Threshold for {@link ChunkQueue.onDrain}. */
  lowWater = 0;

  constructor(size: (item: T) => number = (item) => (item as Uint8Array).byteLength ?? 1) {
    this.#size = size;
  }

  /** Queued size (bytes for chunks). */
  get size(): number {
    return this.#bytes;
  }

  /** True once `end()` or `fail()` was called. */
  get done(): boolean {
    return this.#ended || this.#failed;
  }

  /** Add an item (ignored after end/fail). */
  push(item: T): void {
    if (this.#ended || this.#failed) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w.resolve(item);
      return;
    }
    this.#items.push(item);
    this.#bytes += this.#size(item);
  }

  /** No more items: readers get `null` after the queue drains. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = null;
    w?.resolve(null);
  }

  /** Fail: readers get `err` after the queue drains. */
  fail(err: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = err;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(err);
  }

  /** Drop queued items and end (used by close). */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.end();
  }

  /** Next item, `null` at end; throws the `fail()` error. One reader at a time. */
  read(): Promise<T | null> {
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head];
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      this.#bytes -= this.#size(item);
      if (this.onDrain && this.#bytes <= this.lowWater) this.onDrain();
      return Promise.resolve(item);
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    if (this.#waiter) {
      return Promise.reject(new Error("Cannot read: another read is already pending"));
    }
    if (this.onDrain) this.onDrain();
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/** Runs async operations one after another (adapters serialise writes with it). */
export class Serializer {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `fn` after every previously queued operation settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

/** Supplies `for await` and `await using` for a {@link Conn}. */
export abstract class ConnBase implements Conn {
  abstract read(): Promise<Uint8Array | null>;
  abstract write(bytes: Uint8Array): Promise<void>;
  abstract closeWrite(): Promise<void>;
  abstract close(): Promise<void>;

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Supplies `for await` and `await using` for a {@link Listener}. */
export abstract class ListenerBase implements Listener {
  abstract readonly path: string;
  abstract accept(): Promise<Conn | null>;
  abstract close(): Promise<void>;

  async *[Symbol.asyncIterator](): AsyncIterator<Conn> {
    for (;;) {
      const conn = await this.accept();
      if (conn === null) return;
      yield conn;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
