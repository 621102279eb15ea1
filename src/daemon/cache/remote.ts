/**
 * The shared remote tier under the local store (issue 15): Redis and
 * HTTP/WebDAV backends, a circuit breaker, a bounded background upload
 * queue, and {@link TieredArtifactStore} (local first, then the remote).
 *
 * Remote record, the same on every backend (namespace `zccache:v1`):
 *
 * - `blob:<sha256>`: the artifact bytes, zstd-compressed when smaller (a
 *   zstd frame), else raw. Whatever comes back is accepted only when the
 *   SHA-256 of the uncompressed bytes equals `<sha256>`.
 * - `ctx:<context key>`: the entries of one context, one
 *   `ArtifactIndex.entryLine` JSON per line, most recent first (at most the
 *   local per-context limit). The engine validates each line (`validEntry`)
 *   and verifies it like a local entry (inputs by hash, then blobs); a
 *   tampered line can make a miss, never a wrong object.
 *
 * Redis speaks RESP over `node:net` (our own ~100 lines: GET, SET with an
 * optional EX TTL, AUTH, SELECT), not an npm client: it runs unchanged in
 * Deno, Bun and the single-file binary and needs no dependency. HTTP uses
 * the runtime's `fetch` (`GET`/`PUT` on `<url>/zccache/v1/<kind>/<key>`), so
 * nginx with `dav_methods PUT`, bazel-remote or any WebDAV server serves it.
 *
 * Never worse than local: every operation has a deadline; the first
 * failure opens the breaker (one log line, local-only work for a back-off
 * that doubles up to 5 minutes), then one probe operation is let through.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { sha256Hex } from "../hash.ts";
import { type ArtifactStore, type RemoteTally, runtimeZstd } from "./artifact_store.ts";

/** One remote backend: opaque keys (`blob:<hex>`, `ctx:<hex>`) to bytes. */
export interface RemoteBackend {
  /** The URL without credentials (for logs and status). */
  readonly label: string;
  /** The bytes under `key`, or null when absent. Throws on any fault. */
  get(key: string, timeoutMs: number): Promise<Uint8Array | null>;
  /** Store bytes under `key`. Throws on any fault. */
  put(key: string, bytes: Uint8Array, timeoutMs: number): Promise<void>;
  /** Release connections. */
  close(): void;
}

/** Key namespace on every backend. */
export const REMOTE_NAMESPACE = "zccache:v1";

/** `url` with any user:password replaced by `***` (for logs and status). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, "$1***@");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- Redis (RESP)

type Reply = Uint8Array | string | number | null | Error | Reply[];

/** Parse one RESP reply from `buf` at `at`; null when incomplete. */
function parseReply(buf: Buffer, at: number): { value: Reply; next: number } | null {
  if (at >= buf.length) return null;
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return null;
  const kind = String.fromCharCode(buf[at]);
  const line = buf.toString("latin1", at + 1, eol);
  const after = eol + 2;
  switch (kind) {
    case "+":
      return { value: line, next: after };
    case "-":
      return { value: new Error(line), next: after };
    case ":":
      return { value: Number(line), next: after };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      if (buf.length < after + n + 2) return null;
      return { value: new Uint8Array(buf.subarray(after, after + n)), next: after + n + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: Reply[] = [];
      let pos = after;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, pos);
        if (r === null) return null;
        items.push(r.value);
        pos = r.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`bad RESP reply type ${JSON.stringify(kind)}`);
  }
}

function encodeCommand(args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string"
      ? Buffer.from(a)
      : Buffer.from(a.buffer, a.byteOffset, a.length);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Redis over RESP: `redis://[user:pass@]host:port[/db][?ttl=SECS]`. */
export class RedisBackend implements RemoteBackend {
  readonly label: string;
  readonly #host: string;
  readonly #port: number;
  readonly #user: string;
  readonly #pass: string;
  readonly #db: number;
  readonly #ttl: number;
  /** `rediss://`: TLS, verified against the system roots or `tlsCa` (a PEM file). */
  readonly #tls: boolean;
  readonly #tlsCa: string | undefined;
  #sock: Socket | null = null;
  #ready: Promise<void> | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #pending: { resolve(r: Reply): void; reject(e: Error): void }[] = [];

  /** A backend for `url` (no connection until the first operation). */
  constructor(url: string, ttlSecs = 0, tlsCa?: string) {
    const u = new URL(url);
    this.#tls = u.protocol === "rediss:";
    this.#tlsCa = tlsCa;
    this.label = redactUrl(url);
    this.#host = u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    this.#port = Number(u.port || 6379);
    this.#user = decodeURIComponent(u.username);
    this.#pass = decodeURIComponent(u.password);
    const db = u.pathname.replace(/^\//, "");
    this.#db = /^\d+$/.test(db) ? Number(db) : 0;
    const ttl = u.searchParams.get("ttl");
    this.#ttl = ttl !== null && /^\d+$/.test(ttl) ? Number(ttl) : ttlSecs;
  }

  #fail(err: Error): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#sock?.destroy();
    this.#sock = null;
    this.#ready = null;
    this.#buf = Buffer.alloc(0);
    for (const p of pending) p.reject(err);
  }

  #send(args: (string | Uint8Array)[]): Promise<Reply> {
    const sock = this.#sock;
    if (sock === null) return Promise.reject(new Error("redis: not connected"));
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      sock.write(encodeCommand(args));
    });
  }

  #connect(): Promise<void> {
    if (this.#ready !== null) return this.#ready;
    this.#ready = new Promise<void>((resolve, reject) => {
      const sock: Socket = this.#tls
        ? tlsConnect({
          host: this.#host,
          port: this.#port,
          servername: /^[\d.:]+$/.test(this.#host) ? undefined : this.#host,
          ca: this.#tlsCa === undefined ? undefined : readFileSync(this.#tlsCa, "utf8"),
        })
        : connect({ host: this.#host, port: this.#port });
      this.#sock = sock;
      sock.setNoDelay(true);
      sock.on("data", (chunk: Uint8Array) => {
        this.#buf = this.#buf.length === 0
          ? Buffer.from(chunk)
          : Buffer.concat([this.#buf, Buffer.from(chunk)]);
        try {
          for (;;) {
            const r = parseReply(this.#buf, 0);
            if (r === null) break;
            this.#buf = this.#buf.subarray(r.next);
            const p = this.#pending.shift();
            if (p === undefined) throw new Error("redis: unexpected reply");
            p.resolve(r.value);
          }
        } catch (e) {
          this.#fail(e as Error);
        }
      });
      sock.on("error", (e: Error) => {
        reject(e);
        this.#fail(e);
      });
      sock.on("close", () => this.#fail(new Error("redis: connection closed")));
      sock.on("connect", async () => {
        try {
          if (this.#pass !== "") {
            const r = await this.#send(
              this.#user !== "" ? ["AUTH", this.#user, this.#pass] : ["AUTH", this.#pass],
            );
            if (r instanceof Error) throw new Error(`redis: AUTH failed: ${r.message}`);
          }
          if (this.#db !== 0) {
            const r = await this.#send(["SELECT", String(this.#db)]);
            if (r instanceof Error) throw new Error(`redis: SELECT failed: ${r.message}`);
          }
          resolve();
        } catch (e) {
          reject(e);
          this.#fail(e as Error);
        }
      });
    });
    this.#ready.catch(() => {});
    return this.#ready;
  }

  async #command(args: (string | Uint8Array)[], timeoutMs: number): Promise<Reply> {
    const run = async () => {
      await this.#connect();
      return await this.#send(args);
    };
    try {
      const r = await withTimeout(run(), timeoutMs, `redis ${args[0]}`);
      if (r instanceof Error) throw new Error(`redis ${args[0]}: ${r.message}`);
      return r;
    } catch (e) {
      // A timed-out reply would arrive out of order later: start afresh.
      this.#fail(e as Error);
      throw e;
    }
  }

  /** {@inheritDoc RemoteBackend.get} */
  async get(key: string, timeoutMs: number): Promise<Uint8Array | null> {
    const r = await this.#command(["GET", `${REMOTE_NAMESPACE}:${key}`], timeoutMs);
    if (r === null) return null;
    if (!(r instanceof Uint8Array)) throw new Error("redis GET: unexpected reply");
    return r;
  }

  /** {@inheritDoc RemoteBackend.put} */
  async put(key: string, bytes: Uint8Array, timeoutMs: number): Promise<void> {
    const args: (string | Uint8Array)[] = ["SET", `${REMOTE_NAMESPACE}:${key}`, bytes];
    if (this.#ttl > 0) args.push("EX", String(this.#ttl));
    await this.#command(args, timeoutMs);
  }

  /** {@inheritDoc RemoteBackend.close} */
  close(): void {
    this.#fail(new Error("redis: closed"));
  }
}

// ---------------------------------------------------------------- HTTP / WebDAV

/** HTTP/WebDAV: `GET`/`PUT` on `<url>/zccache/v1/<kind>/<key>`. */
export class HttpBackend implements RemoteBackend {
  readonly label: string;
  readonly #base: string;
  readonly #auth: string | null;

  /**
   * A backend for `url`. Credentials: `user:pass@` in the URL (basic), else
   * `token` (bearer). They go in the `Authorization` header, never a log.
   */
  constructor(url: string, token?: string) {
    const u = new URL(url);
    this.label = redactUrl(url);
    let auth: string | null = null;
    if (u.username !== "" || u.password !== "") {
      const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      auth = `Basic ${Buffer.from(cred).toString("base64")}`;
      u.username = "";
      u.password = "";
    } else if (token !== undefined && token !== "") auth = `Bearer ${token}`;
    this.#auth = auth;
    this.#base = u.toString().replace(/\/+$/, "");
  }

  #url(key: string): string {
    const i = key.indexOf(":");
    return `${this.#base}/zccache/v1/${key.slice(0, i)}/${key.slice(i + 1)}`;
  }

  #headers(): Record<string, string> {
    return this.#auth === null ? {} : { authorization: this.#auth };
  }

  /** {@inheritDoc RemoteBackend.get} */
  async get(key: string, timeoutMs: number): Promise<Uint8Array | null> {
    const res = await fetch(this.#url(key), {
      headers: this.#headers(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP GET: status ${res.status}`);
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  /** {@inheritDoc RemoteBackend.put} */
  async put(key: string, bytes: Uint8Array, timeoutMs: number): Promise<void> {
    const res = await fetch(this.#url(key), {
      method: "PUT",
      headers: { ...this.#headers(), "content-type": "application/octet-stream" },
      body: bytes.slice(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`HTTP PUT: status ${res.status}`);
  }

  /** {@inheritDoc RemoteBackend.close} */
  close(): void {}
}

/** A backend for one URL (`redis://`, `rediss://`, `http://`, `https://`); throws on others. */
export function backendFor(
  url: string,
  opts: { token?: string; ttlSecs?: number; tlsCa?: string } = {},
): RemoteBackend {
  const scheme = url.slice(0, url.indexOf(":")).toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    return new RedisBackend(url, opts.ttlSecs, opts.tlsCa);
  }
  if (scheme === "http" || scheme === "https") return new HttpBackend(url, opts.token);
  throw new Error(
    `unsupported remote ${redactUrl(url)} (redis://, rediss://, http:// or https://)`,
  );
}

// ---------------------------------------------------------------- the tier

/** Remote counters (`zccache stats`, `status.json`). */
export interface RemoteStats {
  /** Redacted URLs. */
  urls: string[];
  readOnly: boolean;
  /** Blobs and context lists found (and verified) on the remote. */
  hits: number;
  /** Lookups the remote did not have. */
  misses: number;
  /** Faults: timeouts, refused connections, bad status, data failing the hash check. */
  errors: number;
  bytesUp: number;
  bytesDown: number;
  /** Uploads waiting in the background queue. */
  queued: number;
  /** Uploads dropped (queue full, or the remote unavailable). */
  dropped: number;
  /** True while the circuit breaker keeps the daemon local-only. */
  degraded: boolean;
}

/** Options of {@link RemoteTier}. */
export interface RemoteTierOptions {
  /** Per-operation deadline (default 2000 ms). */
  timeoutMs?: number;
  /** Never write (CI consumers, untrusted clients). */
  readOnly?: boolean;
  /** First back-off after a fault (default 30 s; doubles to 5 min). */
  backoffMs?: number;
  /** Most uploads waiting (default 512); more are dropped. */
  maxQueue?: number;
  log?: (line: string) => void;
  now?: () => number;
}

interface Breaker {
  backend: RemoteBackend;
  downUntil: number;
  backoff: number;
}

/** Most bytes of uploads waiting in the queue (64 MiB). */
const MAX_QUEUE_BYTES = 64 * 1024 * 1024;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * One or more remote backends with a breaker each, counters and the upload
 * queue. Reads try each live backend in order; writes go to every one.
 */
export class RemoteTier {
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly #tiers: Breaker[];
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #backoff: number;
  readonly #maxQueue: number;
  readonly #zstd = runtimeZstd();
  #queue: { key: string; bytes: Uint8Array }[] = [];
  #queuedBytes = 0;
  #worker: Promise<void> | null = null;
  #stats = { hits: 0, misses: 0, errors: 0, bytesUp: 0, bytesDown: 0, dropped: 0 };

  /** A tier over `backends` (tried in order). */
  constructor(backends: RemoteBackend[], opts: RemoteTierOptions = {}) {
    this.readOnly = opts.readOnly === true;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.#backoff = opts.backoffMs ?? 30_000;
    this.#maxQueue = opts.maxQueue ?? 512;
    this.#log = opts.log ?? (() => {});
    this.#now = opts.now ?? Date.now;
    this.#tiers = backends.map((backend) => ({ backend, downUntil: 0, backoff: this.#backoff }));
  }

  #fault(t: Breaker, what: string, err: unknown): void {
    this.#stats.errors++;
    const msg = err instanceof Error ? err.message : String(err);
    t.downUntil = this.#now() + t.backoff;
    this.#log(
      `remote ${t.backend.label}: ${what} failed (${msg}); local-only for ${
        Math.round(t.backoff / 1000)
      } s`,
    );
    t.backoff = Math.min(t.backoff * 2, 300_000);
  }

  #live(): Breaker[] {
    const now = this.#now();
    return this.#tiers.filter((t) => t.downUntil <= now);
  }

  #ok(t: Breaker): void {
    if (t.backoff !== this.#backoff) {
      this.#log(`remote ${t.backend.label}: available again`);
      t.backoff = this.#backoff;
    }
  }

  /** The first backend's bytes under `key` accepted by `accept`, or null. */
  async #get(key: string, accept: (b: Uint8Array) => Uint8Array | null): Promise<
    Uint8Array | null
  > {
    for (const t of this.#live()) {
      let raw: Uint8Array | null;
      try {
        raw = await t.backend.get(key, this.timeoutMs);
      } catch (e) {
        this.#fault(t, `GET ${key.slice(0, 20)}`, e);
        continue;
      }
      this.#ok(t);
      if (raw === null) {
        this.#stats.misses++;
        continue;
      }
      this.#stats.bytesDown += raw.length;
      const v = accept(raw);
      if (v === null) {
        this.#stats.errors++; // garbage: a miss, never served
        this.#log(`remote ${t.backend.label}: ${key.slice(0, 20)}... failed verification`);
        continue;
      }
      this.#stats.hits++;
      return v;
    }
    return null;
  }

  /** Blob `hash` from the remote, verified (SHA-256 of the uncompressed bytes), or null. */
  getBlob(hash: string): Promise<Uint8Array | null> {
    return this.#get(`blob:${hash}`, (raw) => {
      if (sha256Hex(raw) === hash) return raw;
      const z = raw.length >= 4 && ZSTD_MAGIC.every((b, i) => raw[i] === b);
      if (!z || this.#zstd === null) return null;
      try {
        const bytes = this.#zstd.decompress(raw);
        return sha256Hex(bytes) === hash ? bytes : null;
      } catch {
        return null;
      }
    });
  }

  /** The entry lines of context `ctx` on the remote (unvalidated), or null. */
  async getContext(ctx: string): Promise<string[] | null> {
    const raw = await this.#get(`ctx:${ctx}`, (b) => b);
    if (raw === null) return null;
    return new TextDecoder().decode(raw).split("\n").filter((l) => l !== "");
  }

  /** Queue blob `hash` for upload (zstd when smaller). */
  pushBlob(hash: string, bytes: Uint8Array): void {
    if (this.readOnly) return;
    let body = bytes;
    if (this.#zstd !== null) {
      const z = this.#zstd.compress(bytes, 3);
      if (z.length < bytes.length) body = z;
    }
    this.#enqueue(`blob:${hash}`, body);
  }

  /** Queue the entry lines of context `ctx` (most recent first). */
  pushContext(ctx: string, lines: string[]): void {
    if (this.readOnly) return;
    this.#enqueue(`ctx:${ctx}`, new TextEncoder().encode(lines.join("\n") + "\n"));
  }

  #enqueue(key: string, bytes: Uint8Array): void {
    if (this.#tiers.length === 0) return;
    if (
      this.#live().length === 0 || this.#queue.length >= this.#maxQueue ||
      this.#queuedBytes + bytes.length > MAX_QUEUE_BYTES
    ) {
      this.#stats.dropped++;
      return;
    }
    // A newer list for the same context replaces the one still waiting.
    if (key.startsWith("ctx:")) {
      const i = this.#queue.findIndex((q) => q.key === key);
      if (i >= 0) {
        this.#queuedBytes -= this.#queue[i].bytes.length;
        this.#queue.splice(i, 1);
      }
    }
    this.#queue.push({ key, bytes });
    this.#queuedBytes += bytes.length;
    this.#worker ??= this.#drainLoop().finally(() => (this.#worker = null));
  }

  async #drainLoop(): Promise<void> {
    // One upload at a time, in order: a context list lands after its blobs.
    while (this.#queue.length > 0) {
      const item = this.#queue.shift()!;
      this.#queuedBytes -= item.bytes.length;
      const live = this.#live();
      if (live.length === 0) {
        this.#stats.dropped++;
        continue;
      }
      for (const t of live) {
        try {
          await t.backend.put(item.key, item.bytes, this.timeoutMs);
          this.#stats.bytesUp += item.bytes.length;
          this.#ok(t);
        } catch (e) {
          this.#fault(t, `PUT ${item.key.slice(0, 20)}`, e);
        }
      }
    }
  }

  /** Wait for the upload queue to empty (at most `maxMs`). */
  async drain(maxMs = 10_000): Promise<void> {
    const until = Date.now() + maxMs;
    while (this.#worker !== null && Date.now() < until) {
      await Promise.race([this.#worker, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  /** Counters (see {@link RemoteStats}). */
  stats(): RemoteStats {
    const now = this.#now();
    return {
      urls: this.#tiers.map((t) => t.backend.label),
      readOnly: this.readOnly,
      ...this.#stats,
      queued: this.#queue.length,
      degraded: this.#tiers.some((t) => t.downUntil > now),
    };
  }

  /** Drain (bounded) and close every backend. */
  async close(): Promise<void> {
    await this.drain(Math.max(2000, this.timeoutMs * 2));
    for (const t of this.#tiers) t.backend.close();
  }
}

/**
 * Local first, then the remote: a remote hit is verified and written to the
 * local tier; a local put is stored at once and uploaded in the background.
 * `remove` and `removeAll` touch the local tier only (a shared remote is
 * never emptied by one machine).
 */
export class TieredArtifactStore implements ArtifactStore {
  readonly local: ArtifactStore;
  readonly remote: RemoteTier;

  /** Stack `remote` under `local`. */
  constructor(local: ArtifactStore, remote: RemoteTier) {
    this.local = local;
    this.remote = remote;
  }

  /** {@inheritDoc ArtifactStore.put} */
  async put(bytes: Uint8Array): Promise<string> {
    const hash = await this.local.put(bytes);
    this.remote.pushBlob(hash, bytes);
    return hash;
  }

  /** {@inheritDoc ArtifactStore.get} */
  async get(hash: string, tally?: RemoteTally): Promise<Uint8Array | null> {
    const local = await this.local.get(hash);
    if (local !== null) return local;
    const bytes = await this.remote.getBlob(hash);
    if (bytes === null) {
      if (tally) tally.misses++;
      return null;
    }
    if (tally) {
      tally.hits++;
      tally.bytesDown += bytes.length;
    }
    try {
      await this.local.put(bytes);
    } catch {
      // local tier unwritable: still served (verified)
    }
    return bytes;
  }

  /** {@inheritDoc ArtifactStore.remove} */
  remove(hash: string): Promise<void> {
    return this.local.remove(hash);
  }

  /** {@inheritDoc ArtifactStore.diskBytes} */
  diskBytes(): Promise<bigint> {
    return this.local.diskBytes();
  }

  /** {@inheritDoc ArtifactStore.removeAll} */
  removeAll(): Promise<void> {
    return this.local.removeAll();
  }

  /** Drain the upload queue (bounded) and close the remote. */
  close(): Promise<void> {
    return this.remote.close();
  }
}
