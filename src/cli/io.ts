/**
 * The CLI's view of the outside world: argv in, bytes out, exit code back.
 * `cli.ts` builds the real one; tests build one over buffers.
 *
 * @module
 */

/** Standard streams and environment of one CLI invocation. */
export interface CliIo {
  /** Write raw bytes or text to standard output. */
  stdout(data: Uint8Array | string): Promise<void>;
  /** Write raw bytes or text to standard error. */
  stderr(data: Uint8Array | string): Promise<void>;
  /** Read all of standard input (empty when stdin is a TTY or closed). */
  readStdin(): Promise<Uint8Array>;
  /** Environment variables of the invocation. */
  env: Record<string, string>;
  /** Current working directory. */
  cwd: string;
}
