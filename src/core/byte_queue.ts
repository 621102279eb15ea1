/**
 * A growable receive buffer: `push()` appends, `view()` is the unread
 * bytes as one contiguous `Uint8Array` (for `decodeWireMessage` and
 * friends), `consume(n)` drops the first `n`.
 *
 * Linear in the bytes received: capacity doubles, unread bytes are moved
 * to the front only when that frees at least half the buffer, so a frame
 * dribbled in N chunks costs O(frame size) copies, not O(N x size) as a
 * concat-per-chunk buffer does.
 *
 * @example
 * ```ts
 * import { ByteQueue } from "./byte_queue.ts";
 * const q = new ByteQueue();
 * q.push(new Uint8Array([1, 2]));
 * q.push(new Uint8Array([3]));
 * q.consume(1);
 * if (q.view().join() !== "2,3") throw new Error();
 * ```
 */
export class ByteQueue {
  #buf: Uint8Array = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** `#buf` is a caller's chunk: never write into it. */
  #borrowed = false;

  /** Unread bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** The unread bytes (a view, valid until the next push/consume/clear). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Append a chunk. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    const live = this.#end - this.#start;
    if (live === 0 && this.#buf.length < n) {
      // Nothing buffered: keep the chunk itself (no copy) until more comes.
      this.#buf = chunk;
      this.#borrowed = true;
      this.#start = 0;
      this.#end = n;
      return;
    }
    if (this.#borrowed || this.#buf.length - this.#end < n) {
      if (
        !this.#borrowed && live + n <= this.#buf.length && this.#start >= this.#buf.length / 2
      ) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        // Shared storage is left behind, not outgrown: size from what is live.
        let cap = Math.max(1024, this.#borrowed ? 2 * (live + n) : this.#buf.length * 2);
        while (cap < live + n) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
        this.#borrowed = false;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  /** Drop the first `n` unread bytes. */
  consume(n: number): void {
    this.#start = Math.min(this.#end, this.#start + Math.max(0, n));
    if (this.#start === this.#end) this.clear();
  }

  /**
   * Drop the first `n` bytes that decoded values may still alias (protobuf
   * `bytes` fields are views): the current storage is never written again,
   * the next push copies the unread rest into a new buffer.
   */
  consumeShared(n: number): void {
    this.#borrowed = true;
    this.consume(n);
  }

  /** Drop everything (and a large buffer with it). */
  clear(): void {
    this.#start = 0;
    this.#end = 0;
    if (this.#borrowed || this.#buf.length > 65536) {
      this.#buf = new Uint8Array(0);
      this.#borrowed = false;
    }
  }
}
