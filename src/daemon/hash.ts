/**
 * Hashing for the compile cache: SHA-256 from `node:crypto` (the fastest
 * cryptographic hash in Deno, Bun and Node here; BLAKE3 exists only as WASM,
 * see reference/runtime.md section 6), a domain-separated key hasher, a
 * stat-validated file content-hash cache, and the compiler identity cache.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";

const encoder = new TextEncoder();

/** SHA-256 of bytes or a UTF-8 string, as lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * A cache-key builder: a domain tag, then length-prefixed fields, so that no
 * two different field lists hash the same (`["ab","c"]` != `["a","bc"]`).
 *
 * @example
 * ```ts
 * import { KeyHasher } from "./hash.ts";
 * const k = new KeyHasher("zccache-ts-context-v1").field("-O2").field("a.c").hex();
 * ```
 */
export class KeyHasher {
  #h: Hash = createHash("sha256");
  #len = new Uint8Array(8);

  /** Start a key under a domain tag. */
  constructor(domain: string) {
    this.field(domain);
  }

  /** Append one field (string as UTF-8, or bytes). */
  field(value: string | Uint8Array): this {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    new DataView(this.#len.buffer).setBigUint64(0, BigInt(bytes.length), true);
    this.#h.update(this.#len);
    this.#h.update(bytes);
    return this;
  }

  /** Finish and return the lowercase hex digest. */
  hex(): string {
    return this.#h.digest("hex");
  }
}

/** A persisted stat + hash record of one file. */
export interface FileRecord {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  /** SHA-256 hex of the contents. */
  hash: string;
  /** Wall time (ns since epoch) when the hash was taken. */
  hashedAtNs: bigint;
}

/**
 * Files modified within this window before they were hashed are "racy": a
 * later write in the same timestamp tick with the same size would be
 * invisible to stat, so their hash is re-taken until it is older than this.
 */
const RACY_WINDOW_NS = 2_000_000_000n;

/**
 * Content hashes of files, re-validated by `stat` (size, mtime, ctime, inode)
 * on every use; any mismatch (or a racily-clean record) re-hashes the file.
 * Synchronous on purpose: it is on the hit path, and a stat is microseconds.
 */
export class FileHashCache {
  #map = new Map<string, FileRecord>();
  /** Files re-hashed since construction (for tests and stats). */
  rehashes = 0;

  /** Number of cached records. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The current content hash of `path`, or null if it cannot be read.
   * Reuses the cached hash when the stat matches.
   */
  hashOf(path: string): string | null {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st || !st.isFile()) {
      this.#map.delete(path);
      return null;
    }
    const rec = this.#map.get(path);
    if (
      rec && rec.size === st.size && rec.mtimeNs === st.mtimeNs && rec.ctimeNs === st.ctimeNs &&
      rec.ino === st.ino && rec.hashedAtNs - st.mtimeNs > RACY_WINDOW_NS &&
      rec.hashedAtNs - st.ctimeNs > RACY_WINDOW_NS
    ) {
      return rec.hash;
    }
    let bytes: Uint8Array;
    const hashedAtNs = BigInt(Date.now()) * 1_000_000n;
    try {
      bytes = readFileSync(path);
    } catch {
      this.#map.delete(path);
      return null;
    }
    const after = statSync(path, { bigint: true, throwIfNoEntry: false });
    const hash = sha256Hex(bytes);
    this.rehashes++;
    if (
      after && after.size === st.size && after.mtimeNs === st.mtimeNs &&
      after.ctimeNs === st.ctimeNs && after.ino === st.ino
    ) {
      this.#map.set(path, {
        size: st.size,
        mtimeNs: st.mtimeNs,
        ctimeNs: st.ctimeNs,
        ino: st.ino,
        hash,
        hashedAtNs,
      });
    } else {
      // Changed while being read: do not remember a hash that may be torn.
      this.#map.delete(path);
    }
    return hash;
  }

  /** The newest mtime (ms) of a cached record, or 0. */
  mtimeMsOf(path: string): number {
    const rec = this.#map.get(path);
    return rec ? Number(rec.mtimeNs / 1_000_000n) : 0;
  }

  /** Forget every record. */
  clear(): void {
    this.#map.clear();
  }

  /** Records for persistence. */
  entries(): IterableIterator<[string, FileRecord]> {
    return this.#map.entries();
  }

  /** Restore a persisted record. */
  set(path: string, rec: FileRecord): void {
    this.#map.set(path, rec);
  }
}

/** A memoised compiler identity. */
export interface CompilerIdentityRecord {
  size: number;
  mtimeMs: number;
  hash: string;
}

/**
 * Compiler identity = SHA-256 of the resolved compiler binary, memoised by
 * path + size + mtime (closes zccache spec 2.12 gap 1: an in-place upgrade or
 * another compiler never shares entries).
 */
export class CompilerIdentityCache {
  #map = new Map<string, CompilerIdentityRecord>();
  #pending = new Map<string, Promise<string>>();

  /** The identity hash of the compiler at `path` (follows symlinks). */
  async identity(path: string): Promise<string> {
    const st = await stat(path);
    const rec = this.#map.get(path);
    if (rec && rec.size === st.size && rec.mtimeMs === st.mtimeMs) return rec.hash;
    const memoKey = `${path}\0${st.size}\0${st.mtimeMs}`;
    let p = this.#pending.get(memoKey);
    if (!p) {
      p = (async () => {
        const hash = sha256Hex(await readFile(path));
        this.#map.set(path, { size: st.size, mtimeMs: st.mtimeMs, hash });
        return hash;
      })();
      this.#pending.set(memoKey, p);
      p.finally(() => this.#pending.delete(memoKey)).catch(() => {});
    }
    return await p;
  }

  /** Records for persistence. */
  entries(): IterableIterator<[string, CompilerIdentityRecord]> {
    return this.#map.entries();
  }

  /** Restore a persisted record. */
  set(path: string, rec: CompilerIdentityRecord): void {
    this.#map.set(path, rec);
  }
}
