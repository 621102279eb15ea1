/**
 * Helpers for the daemon process tests: start `_run_daemon.ts` as a real
 * child process on a temp cache root, and talk to it with raw bytes over a
 * real Unix socket (node:net, available in Deno and Bun alike).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { decodeWireMessage } from "../../src/core/wire.ts";
import type { Response } from "../../src/core/messages.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..", "..");
const RUNNER = join(HERE, "_run_daemon.ts");

/** A daemon child process and its paths. */
export interface TestDaemon {
  dir: string;
  endpoint: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** Kill (SIGKILL) if still running, then remove the temp dir. */
  dispose(): Promise<void>;
}

/** Options of {@link startDaemon}. */
export interface StartOptions {
  /** Reuse this cache root (default: a new temp dir). */
  dir?: string;
  env?: Record<string, string>;
  /** Run with the real compile engine (default: no engine). */
  engine?: boolean;
  /** Wait until the socket accepts connections (default true). */
  waitReady?: boolean;
  args?: string[];
}

/** The command that runs a TS entry in the current runtime. */
export function runtimeCommand(script: string, args: string[]): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) {
    return [deno.execPath(), ["run", "-A", "--config", join(REPO, "deno.json"), script, ...args]];
  }
  return [process.execPath, [script, ...args]];
}

/** A fresh temp directory (realpath'd, short enough for a socket path). */
export function tempDir(prefix = "zcd-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Start a daemon on `<dir>/daemon.sock`. */
export async function startDaemon(opts: StartOptions = {}): Promise<TestDaemon> {
  const dir = opts.dir ?? tempDir();
  const endpoint = join(dir, "daemon.sock");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ZCCACHE_")) env[k] = v;
  }
  env.ZCCACHE_CACHE_DIR = dir;
  env.RUNNING_PROCESS_DISABLE = "1";
  Object.assign(env, opts.env ?? {});
  const [cmd, args] = runtimeCommand(RUNNER, [
    ...(opts.engine ? [] : ["--no-engine"]),
    "--foreground",
    ...(opts.args ?? []),
  ]);
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const d: TestDaemon = {
    dir,
    endpoint,
    child,
    exited,
    output: () => out,
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.waitReady ?? true) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`daemon exited early (${child.exitCode}):\n${out}`);
      }
      // Ready = connectable, plus the identity file: the daemon accepts before
      // the executable's hash is known (first start on a cache dir) and writes
      // the identity when it is.
      if (
        existsSync(endpoint) && (await canConnect(endpoint)) &&
        existsSync(join(dir, "daemon.running-process.json"))
      ) break;
      if (Date.now() > deadline) {
        await d.dispose();
        throw new Error(`daemon not ready after 30 s:\n${out}`);
      }
      await sleep(25);
    }
  }
  return d;
}

/** Sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True when a connect to `path` succeeds. */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A raw byte-level client. */
export class RawClient {
  #sock: Socket;
  #buf = new Uint8Array(0);
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (d: Uint8Array) => {
      const b = new Uint8Array(this.#buf.length + d.length);
      b.set(this.#buf);
      b.set(d, this.#buf.length);
      this.#buf = b;
      this.#wake();
    });
    const end = () => {
      this.#closed = true;
      this.#wake();
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", end);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Connect to a Unix socket. */
  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ path });
      s.once("connect", () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  /** Write bytes. */
  send(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#sock.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  async #wait(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return false;
    let t: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      new Promise<boolean>((r) => this.#waiters.push(() => r(true))),
      new Promise<boolean>((r) => (t = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(t);
    return ok;
  }

  /** Next decoded response (any lane); throws on close or timeout. */
  async recv(timeoutMs = 30_000): Promise<DecodedReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = decodeWireMessage(this.#buf, "response");
      if (d !== null) {
        const raw = this.#buf.slice(0, d.consumed);
        this.#buf = this.#buf.subarray(d.consumed);
        return {
          lane: d.lane,
          message: d.message as Response,
          requestId: d.requestId,
          frameId: d.frameId,
          frameKind: d.frameKind,
          raw,
        };
      }
      if (this.#closed) throw new Error("connection closed before a reply");
      if (!(await this.#wait(deadline - Date.now())) && !this.#closed) {
        if (Date.now() >= deadline) throw new Error("timed out waiting for a reply");
      }
    }
  }

  /** Wait until the peer closes; returns every byte received. */
  async readToClose(timeoutMs = 30_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (Date.now() >= deadline) throw new Error("peer did not close");
      await this.#wait(deadline - Date.now());
    }
    return this.#buf;
  }

  /** True once the peer closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Close our side. */
  close(): void {
    this.#sock.destroy();
  }
}

/** One decoded reply. */
export interface DecodedReply {
  lane: "bincode" | "prost" | "frame";
  message: Response;
  requestId?: string;
  frameId?: bigint;
  frameKind?: string;
  raw: Uint8Array;
}
