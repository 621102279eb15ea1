/**
 * Running a compiler process: the client's argv, env, cwd and stdin, piped
 * stdout/stderr collected as bytes, bounded by a semaphore, killed on abort.
 *
 * @module
 */
import { spawn } from "node:child_process";

/** A counting semaphore (FIFO). */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];

  /** A semaphore with `permits` permits (at least 1). */
  constructor(permits: number) {
    this.#free = Math.max(1, Math.floor(permits));
  }

  /** Wait for a permit; returns its release function (idempotent). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.#waiters.indexOf(grant);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal!.reason);
        };
        if (signal?.aborted) return reject(signal.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#waiters.push(grant);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/** What a compiler run produced. */
export interface RunResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Wall time of the process in ms. */
  durationMs: number;
}

/** How to run one process. */
export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  signal?: AbortSignal;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return new Uint8Array(chunks[0]);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * Run `program args...`; resolves with its exit code (128+signal when killed
 * by a signal, as a shell reports it) and output. Rejects with the abort
 * reason if `signal` aborts (the process is killed with SIGKILL), or with the
 * spawn error (e.g. ENOENT).
 */
export function runProcess(program: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const started = performance.now();
    const child = spawn(program, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "pipe", "pipe"],
      windowsHide: true,
    });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let outLen = 0;
    let errLen = 0;
    let settled = false;
    const onAbort = (): void => {
      child.kill("SIGKILL");
      if (!settled) {
        settled = true;
        reject(opts.signal!.reason);
      }
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.on("data", (c: Uint8Array) => {
      out.push(c);
      outLen += c.length;
    });
    child.stderr!.on("data", (c: Uint8Array) => {
      err.push(c);
      errLen += c.length;
    });
    child.on("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    child.on("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      let exitCode = code ?? 1;
      if (code === null && sig) {
        const n: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
        exitCode = 128 + (n[sig] ?? 1);
      }
      resolve({
        exitCode,
        stdout: concat(out, outLen),
        stderr: concat(err, errLen),
        durationMs: performance.now() - started,
      });
    });
    child.stdin!.on("error", () => {}); // EPIPE when the compiler ignores stdin
    if (opts.stdin.length > 0) child.stdin!.write(opts.stdin);
    child.stdin!.end();
  });
}
