/**
 * The in-memory artifact index and header graph, persisted as one JSON file
 * (`index.json`, rewritten via temp file + rename on flush).
 *
 * - `artifacts`: artifact key -> outputs (blob hashes), captured stdout,
 *   stderr, exit code, the (path, content hash) inputs that produced it, size,
 *   last use (for LRU eviction) and compile time (for time-saved).
 * - `contexts`: context key -> artifact keys, most recently used first (a
 *   context keeps several entries, so a reverted header hits again).
 * - blob and input-path reference counts (blobs are shared by content).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { CompilerIdentityRecord, FileRecord } from "../hash.ts";
import type { ProbeGroup } from "../compiler/includes.ts";
import { type EntryOrigin, validOrigin } from "./why.ts";

/** One stored output of an artifact. */
export interface StoredOutput {
  /** `object`, `depfile`, or the caller's name for direct `store()` entries. */
  name: string;
  /** SHA-256 hex of the content = blob name. */
  blob: string;
  size: number;
}

/** One cached artifact. */
export interface ArtifactEntry {
  key: string;
  /** Context key, or null for direct `store()` entries. */
  context: string | null;
  /** (absolute path, SHA-256 hex) of the source and every header read. */
  inputs: [string, string][];
  outputs: StoredOutput[];
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
  /** Output bytes (what `cache_size_bytes` sums). */
  size: number;
  /** ms since epoch. */
  created: number;
  /** ms since epoch; updated on every hit. */
  lastUse: number;
  /** How long the compile took (ms); time saved per hit is this minus the hit. */
  compileMs: number;
  /** Negative (and positive) include entries checked on every hit. */
  probes?: ProbeGroup[];
  /** `__DATE__` value the object embeds (the entry is valid only that day), or null. */
  date?: string | null;
  /** Files using `__TIMESTAMP__` with their mtime (ms) at store time. */
  stamps?: [string, number][];
  /** The printed make targets of the stored depfile, when one is stored. */
  depTargets?: string[];
  /** Depfile printer to re-target with (`gcc` or `clang`). */
  flavor?: string;
  /** The context fields it was stored under (why a later compile missed). */
  origin?: EntryOrigin;
  /**
   * rustc entries: every `env!`/`option_env!` variable the compile read
   * (its dep-info's `# env-dep:`) with the value it saw, null when unset;
   * a hit needs the same values.
   */
  envDeps?: [string, string | null][];
}

/**
 * A new entry stored at `now`: its size is its outputs' total, and it was
 * created and last used then.
 */
export function newEntry(
  fields: Omit<ArtifactEntry, "size" | "created" | "lastUse">,
  now: number,
): ArtifactEntry {
  const size = fields.outputs.reduce((n, o) => n + o.size, 0);
  return { ...fields, size, created: now, lastUse: now };
}

/** Version of the persisted index format. */
export const INDEX_VERSION = 2;

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * True when `e` is an entry this store could have written: blob names are
 * the store's own SHA-256 hex digests, sizes are sane, paths are absolute.
 * A tampered index can then never name a file outside the cache root.
 */
export function validEntry(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const a = e as Record<string, unknown>;
  if (typeof a.key !== "string" || a.key.length === 0 || a.key.length > 4096) return false;
  if (a.context !== null && (typeof a.context !== "string" || !HEX64.test(a.context))) return false;
  if (!Array.isArray(a.outputs) || !Array.isArray(a.inputs)) return false;
  for (const o of a.outputs) {
    if (typeof o !== "object" || o === null) return false;
    const out = o as Record<string, unknown>;
    if (typeof out.blob !== "string" || !HEX64.test(out.blob)) return false;
    if (typeof out.name !== "string" || !Number.isSafeInteger(out.size)) return false;
  }
  for (const i of a.inputs) {
    if (!Array.isArray(i) || typeof i[0] !== "string" || typeof i[1] !== "string") return false;
    // Absolute, or relative to the cwd (ZCCACHE_BASEDIR entries); inputs are only read.
    if (i[0] === "" || i[0].includes("\0")) return false;
  }
  for (const f of ["size", "created", "lastUse", "exitCode"]) {
    if (!Number.isSafeInteger(a[f])) return false;
  }
  if ((a.size as number) < 0 || a.outputs.some((o) => o.size < 0)) return false;
  if (typeof a.compileMs !== "number" || !Number.isFinite(a.compileMs)) return false;
  // Optional fields every hit reads: a wrong type would throw on each hit.
  if (a.probes !== undefined && !validProbes(a.probes)) return false;
  if (a.date !== undefined && a.date !== null && typeof a.date !== "string") return false;
  if (a.stamps !== undefined && !validStamps(a.stamps)) return false;
  if (a.depTargets !== undefined && !stringList(a.depTargets)) return false;
  if (a.flavor !== undefined && typeof a.flavor !== "string") return false;
  if (a.origin !== undefined && !validOrigin(a.origin)) return false;
  if (a.envDeps !== undefined && !validEnvDeps(a.envDeps)) return false;
  return typeof a.stdout === "string" && typeof a.stderr === "string";
}

function stringList(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

function validEnvDeps(v: unknown): boolean {
  return Array.isArray(v) &&
    v.every((d) =>
      Array.isArray(d) && d.length === 2 && typeof d[0] === "string" && d[0] !== "" &&
      (d[1] === null || typeof d[1] === "string")
    );
}

function validProbes(v: unknown): boolean {
  return Array.isArray(v) &&
    v.every((g) =>
      typeof g === "object" && g !== null && typeof g.dir === "string" && g.dir !== "" &&
      stringList(g.absent) && stringList(g.present)
    );
}

function validStamps(v: unknown): boolean {
  return Array.isArray(v) &&
    v.every((s) =>
      Array.isArray(s) && typeof s[0] === "string" && s[0] !== "" && Number.isFinite(s[1])
    );
}

/** Most entries kept per context (older ones are dropped when exceeded). */
export const MAX_ENTRIES_PER_CONTEXT = 16;

interface PersistedIndex {
  format: "zccache-ts-index";
  version: number;
  artifacts: {
    key: string;
    context: string | null;
    inputs: [string, string][];
    outputs: StoredOutput[];
    stdout: string;
    stderr: string;
    exitCode: number;
    size: number;
    created: number;
    lastUse: number;
    compileMs: number;
  }[];
  contexts: [string, string[]][];
  files: [string, string, string, string, string, string, string][];
  compilers: [string, CompilerIdentityRecord][];
}

function b64(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64");
}

function unb64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

/** The artifact index (see module doc). */
export class ArtifactIndex {
  readonly artifacts = new Map<string, ArtifactEntry>();
  readonly contexts = new Map<string, string[]>();
  #blobRefs = new Map<string, number>();
  #pathRefs = new Map<string, number>();
  #totalSize = 0;

  /** Sum of `size` over all entries. */
  get totalSize(): number {
    return this.#totalSize;
  }

  /** Distinct input paths tracked. */
  get fileCount(): number {
    return this.#pathRefs.size;
  }

  /** True when some entry still stores this blob. */
  blobReferenced(hash: string): boolean {
    return (this.#blobRefs.get(hash) ?? 0) > 0;
  }

  /**
   * Insert an entry (replacing one with the same key). Returns blobs and
   * artifact keys that became unreferenced (dropped per-context overflow).
   */
  add(e: ArtifactEntry): string[] {
    const freed: string[] = [];
    if (this.artifacts.has(e.key)) freed.push(...this.remove(e.key));
    this.artifacts.set(e.key, e);
    this.#totalSize += e.size;
    for (const o of e.outputs) this.#blobRefs.set(o.blob, (this.#blobRefs.get(o.blob) ?? 0) + 1);
    for (const [p] of e.inputs) this.#pathRefs.set(p, (this.#pathRefs.get(p) ?? 0) + 1);
    if (e.context !== null) {
      const list = this.contexts.get(e.context) ?? [];
      list.unshift(e.key);
      this.contexts.set(e.context, list);
      while (list.length > MAX_ENTRIES_PER_CONTEXT) {
        freed.push(...this.remove(list[list.length - 1]));
      }
    }
    return freed;
  }

  /** Remove an entry; returns the blobs no longer referenced. */
  remove(key: string): string[] {
    const e = this.artifacts.get(key);
    if (!e) return [];
    this.artifacts.delete(key);
    this.#totalSize -= e.size;
    const freed: string[] = [];
    for (const o of e.outputs) {
      const n = (this.#blobRefs.get(o.blob) ?? 1) - 1;
      if (n <= 0) {
        this.#blobRefs.delete(o.blob);
        freed.push(o.blob);
      } else this.#blobRefs.set(o.blob, n);
    }
    for (const [p] of e.inputs) {
      const n = (this.#pathRefs.get(p) ?? 1) - 1;
      if (n <= 0) this.#pathRefs.delete(p);
      else this.#pathRefs.set(p, n);
    }
    if (e.context !== null) {
      const list = this.contexts.get(e.context);
      if (list) {
        const i = list.indexOf(key);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.contexts.delete(e.context);
      }
    }
    return freed;
  }

  /** Mark an entry used now: LRU time and front of its context list. */
  touch(e: ArtifactEntry, now: number): void {
    e.lastUse = now;
    if (e.context !== null) {
      const list = this.contexts.get(e.context);
      if (list && list[0] !== e.key) {
        const i = list.indexOf(e.key);
        if (i > 0) {
          list.splice(i, 1);
          list.unshift(e.key);
        }
      }
    }
  }

  /**
   * Evict least-recently-used entries until the total is at most `target`.
   * Returns the blobs no longer referenced and the number of evicted entries.
   */
  evictTo(target: number): { blobs: string[]; evicted: number } {
    const blobs: string[] = [];
    let evicted = 0;
    if (this.#totalSize <= target) return { blobs, evicted };
    const byAge = [...this.artifacts.values()].sort((a, b) => a.lastUse - b.lastUse);
    for (const e of byAge) {
      if (this.#totalSize <= target) break;
      blobs.push(...this.remove(e.key));
      evicted++;
    }
    return { blobs, evicted };
  }

  /** Forget everything. */
  clear(): void {
    this.artifacts.clear();
    this.contexts.clear();
    this.#blobRefs.clear();
    this.#pathRefs.clear();
    this.#totalSize = 0;
  }

  /** One entry as a write-ahead-log line (JSON, no newline). */
  static entryLine(e: ArtifactEntry): string {
    return JSON.stringify({ ...e, stdout: b64(e.stdout), stderr: b64(e.stderr) });
  }

  /** Parse one {@link ArtifactIndex.entryLine}; null when torn or invalid (`validEntry`). */
  static parseEntryLine(line: string): ArtifactEntry | null {
    let a: unknown;
    try {
      a = JSON.parse(line);
    } catch {
      return null;
    }
    if (!validEntry(a)) return null;
    const e = a as PersistedIndex["artifacts"][number];
    return { ...e, stdout: unb64(e.stdout), stderr: unb64(e.stderr) } as ArtifactEntry;
  }

  /**
   * Replay write-ahead-log text (one entry per line): valid entries not yet
   * present are added; torn or tampered lines are skipped. Returns the
   * number of entries added.
   */
  replay(text: string): number {
    let added = 0;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let a: unknown;
      try {
        a = JSON.parse(line);
      } catch {
        continue; // torn last line
      }
      if (!validEntry(a)) continue;
      const e = a as PersistedIndex["artifacts"][number];
      if (this.artifacts.has(e.key)) continue;
      this.add({ ...e, stdout: unb64(e.stdout), stderr: unb64(e.stderr) } as ArtifactEntry);
      added++;
    }
    return added;
  }

  /** Serialise (with the file-hash and compiler-identity caches). */
  serialize(
    files: Iterable<[string, FileRecord]>,
    compilers: Iterable<[string, CompilerIdentityRecord]>,
  ): string {
    const p: PersistedIndex = {
      format: "zccache-ts-index",
      version: INDEX_VERSION,
      artifacts: [...this.artifacts.values()].map((e) => ({
        ...e,
        stdout: b64(e.stdout),
        stderr: b64(e.stderr),
      })),
      contexts: [...this.contexts.entries()],
      files: [...files].map(([path, r]) => [
        path,
        r.size.toString(),
        r.mtimeNs.toString(),
        r.ctimeNs.toString(),
        r.ino.toString(),
        r.hash,
        r.hashedAtNs.toString(),
      ]),
      compilers: [...compilers],
    };
    return JSON.stringify(p);
  }

  /**
   * Load a serialised index into this (empty) one; returns the file and
   * compiler records to restore. Throws on a bad format or version.
   */
  load(text: string): {
    files: [string, FileRecord][];
    compilers: [string, CompilerIdentityRecord][];
  } {
    const p = JSON.parse(text) as PersistedIndex;
    if (p.format !== "zccache-ts-index" || p.version !== INDEX_VERSION) {
      throw new Error(`Unsupported index format ${String(p.format)} v${String(p.version)}`);
    }
    if (!Array.isArray(p.artifacts) || !Array.isArray(p.contexts)) {
      throw new Error("index has no artifact list");
    }
    p.artifacts = p.artifacts.filter((a) => validEntry(a));
    p.contexts = p.contexts.filter((c) => Array.isArray(c) && Array.isArray(c[1]));
    if (!Array.isArray(p.files)) p.files = [];
    if (!Array.isArray(p.compilers)) p.compilers = [];
    const order = new Map<string, number>();
    for (const [, keys] of p.contexts) keys.forEach((k, i) => order.set(k, i));
    // Re-add oldest first per context so MRU order is rebuilt by unshift.
    const arts = [...p.artifacts].sort((a, b) => (order.get(b.key) ?? 0) - (order.get(a.key) ?? 0));
    for (const a of arts) {
      this.add({ ...a, stdout: unb64(a.stdout), stderr: unb64(a.stderr) });
    }
    return {
      files: p.files.map(([path, size, m, c, ino, hash, at]) => [path, {
        size: BigInt(size),
        mtimeNs: BigInt(m),
        ctimeNs: BigInt(c),
        ino: BigInt(ino),
        hash,
        hashedAtNs: BigInt(at),
      }]),
      compilers: p.compilers,
    };
  }
}
