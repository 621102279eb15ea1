/**
 * The compiler-cache engine: everything about caching a gcc/clang compile,
 * with no IPC. The daemon server calls {@link CompileEngine.compile} once per
 * `Compile`/`CompileEphemeral` request.
 *
 * ## Pipeline (direct mode: no preprocessor run, ever)
 * 1. Family by file name ({@link detectFamily}); only gcc/clang are cached.
 * 2. `@file` response files expanded; the expanded args are parsed
 *    ({@link parseInvocation}). Non-cacheable forms run the compiler with the
 *    ORIGINAL args and are counted `nonCacheable`.
 * 3. Context key (SHA-256, domain `zccache-ts-context-v1`) over: compiler
 *    family, the invoked basename (`clang` vs `clang++` behave differently
 *    from one binary), the SHA-256 of the resolved compiler binary (memoised
 *    by path + size + mtime), every expanded argument in order except the
 *    output path and depfile path (the output path is kept when the user
 *    asked for a depfile, whose make target names it), the cwd when
 *    `cwdRelevant` (a relative source/path option, or `-g*` debug info that
 *    embeds the compile dir, or a relative allow-listed env path), and the
 *    allow-listed env vars {@link KEY_ENV_VARS} (present or absent).
 * 4. Hit check: for each artifact entry of the context (most recent first),
 *    every recorded input (source + every header the compiler read) is
 *    checked by stat (size, mtime, ctime, inode) and re-hashed only on a
 *    mismatch; all equal -> the object (and the user's depfile) blobs are read,
 *    SHA-256-verified and written to the requested paths (temp + rename);
 *    stdout/stderr replayed. A corrupt or missing blob drops the entry: miss.
 * 5. Miss: the compiler runs with the client's env/cwd/stdin under the
 *    `maxParallel` semaphore, with `-MD -MF <tmp>` appended unless the user
 *    asked for a depfile (then theirs is parsed and stored). Exit 0 -> the
 *    depfile's inputs are hashed, artifact key = SHA-256(context key, sorted
 *    (path, hash)), outputs stored as content-addressed blobs. Failures are
 *    not cached. An input modified during the compile -> not stored.
 *
 * `gcc -c a.c b.c` (several sources, no `-o`) is split into one compile per
 * source (other sources removed from argv), each checked and cached on its
 * own and run in parallel under the semaphore; stdout/stderr are
 * concatenated in source order, the exit code is the first non-zero one.
 *
 * Storage under `cacheDir`: `blobs/<2 hex>/<sha256>` (content-addressed,
 * read-only, temp + rename), `index.json` (artifacts, contexts, file-hash and
 * compiler-identity memos; rewritten via temp + rename by `flush()`, `close()`
 * and a background timer: every 5 s when entries changed, every 60 s when
 * only last-use times did), `tmp/` (injected depfiles, staging). Eviction is
 * least-recently-USED by entry (hits update the last use), down to 90 % of
 * `maxSize` whenever a store exceeds it.
 *
 * Hit restore writes the SHA-256-verified bytes (not a `copyFile` of the
 * blob), so the bytes served are exactly the bytes checked; the new file's
 * mtime is "now", floored up to the newest input mtime if that is in the
 * future.
 *
 * Known limit: with the user's `-MMD` the depfile omits system headers, so
 * those are not in the artifact key (the compiler binary hash still is).
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { statSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import { clearInterval, setInterval } from "node:timers";
import type { ArtifactData, ArtifactOutput } from "../core/messages.ts";
import { CompilerIdentityCache, FileHashCache, KeyHasher } from "./hash.ts";
import { CompilerFamily, detectFamily } from "./compiler/detect.ts";
import { expandResponseFiles } from "./compiler/response_file.ts";
import {
  type CacheableInvocation,
  compileArgsForUnit,
  type CompileUnit,
  keyArgsForUnit,
  parseInvocation,
  resolveArgPath,
} from "./compiler/args.ts";
import { parseDepfile } from "./compiler/depfile.ts";
import { runProcess, type RunResult, Semaphore } from "./compiler/run.ts";
import { BlobStore, tmpSuffix, writeFileAtomicSync } from "./cache/store.ts";
import {
  type ArtifactEntry,
  ArtifactIndex,
  INDEX_VERSION,
  type StoredOutput,
} from "./cache/index.ts";

/** Environment variables that go into the context key. */
export const KEY_ENV_VARS: readonly string[] = [
  "CPATH",
  "C_INCLUDE_PATH",
  "CPLUS_INCLUDE_PATH",
  "OBJC_INCLUDE_PATH",
  "LIBRARY_PATH",
  "SOURCE_DATE_EPOCH",
  "SDKROOT",
  "MACOSX_DEPLOYMENT_TARGET",
  "LANG",
  "LC_ALL",
  "LC_MESSAGES",
  "LC_CTYPE",
  "GCC_EXEC_PREFIX",
  "COMPILER_PATH",
  "CCC_OVERRIDE_OPTIONS",
];

const PATH_ENV_VARS = new Set([
  "CPATH",
  "C_INCLUDE_PATH",
  "CPLUS_INCLUDE_PATH",
  "OBJC_INCLUDE_PATH",
  "LIBRARY_PATH",
  "GCC_EXEC_PREFIX",
  "COMPILER_PATH",
]);

/** Default size limit: 10 GiB. */
export const DEFAULT_MAX_SIZE: bigint = 10n * 1024n * 1024n * 1024n;

/** How often a dirty index is flushed in the background (ms). */
const FLUSH_INTERVAL_MS = 5_000;

/** Last-use updates alone (hits) are flushed at most this often (ms). */
const TOUCH_FLUSH_MS = 60_000;

/** Options of {@link CompileEngine}. */
export interface CompileEngineOptions {
  /** This project's own cache directory (e.g. `<root>/zccache-ts`). */
  cacheDir: string;
  /** Size limit of stored outputs in bytes (default 10 GiB). */
  maxSize?: bigint;
  /** Concurrent compiler processes (default: the number of cores). */
  maxParallel?: number;
  /** Receives one line per notable event (corruption, eviction, load errors). */
  log?: (line: string) => void;
  /** Clock in ms since epoch (default `Date.now`). */
  now?: () => number;
  /** Background flush interval in ms (default 5000; 0 disables). */
  flushIntervalMs?: number;
}

/** One compile request, as the daemon receives it. */
export interface CompileRequest {
  /** Resolved absolute path of the compiler. */
  compiler: string;
  /** Arguments after the compiler. */
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  /** Aborting kills the compiler and rejects with the reason. */
  signal?: AbortSignal;
}

/** How a compile was served. */
export type OutcomeKind = "hit" | "miss" | "error" | "non_cacheable";

/** The result of {@link CompileEngine.compile}. */
export interface CompileOutcome {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** True when every unit was served from the cache. */
  cached: boolean;
  /** False for pass-through (non-cacheable) compiles. */
  cacheable: boolean;
  /** Sum over hit units of (stored compile time - hit time), at least 0. */
  timeSavedMs: number;
  /** Artifact bytes served from the cache. */
  bytesRead: number;
  /** Artifact bytes written to the cache. */
  bytesWritten: number;
  /** Absolute paths of the compiled sources. */
  sources: string[];
  /** Summary: `hit` (all units hit), `miss`, `error` (a compile failed), `non_cacheable`. */
  kind: OutcomeKind;
  /** Units served from the cache. */
  unitHits: number;
  /** Units compiled and stored. */
  unitMisses: number;
  /** Units whose compile failed. */
  unitErrors: number;
  /** Why the compile was not cacheable (for `non_cacheable`), else null. */
  reason: string | null;
  /** Artifact key of the first unit when known (hex), else undefined. */
  sourceKey?: string;
}

/** Engine-wide statistics (u64 wire fields as bigint). */
export interface EngineStats {
  artifactCount: bigint;
  cacheSizeBytes: bigint;
  metadataEntries: bigint;
  depGraphContexts: bigint;
  depGraphFiles: bigint;
  depGraphDiskSize: bigint;
  depGraphPersisted: boolean;
  depGraphVersion: number;
  cacheDir: string;
  /** Units served from the cache since start/clear. */
  cacheHits: bigint;
  /** Units compiled and stored since start/clear. */
  cacheMisses: bigint;
  /** Cacheable units + non-cacheable invocations handled. */
  totalCompilations: bigint;
  nonCacheable: bigint;
  compileErrors: bigint;
  timeSavedMs: bigint;
}

/** What {@link CompileEngine.clear} removed. */
export interface ClearCounts {
  artifactsRemoved: bigint;
  metadataCleared: bigint;
  depGraphContextsCleared: bigint;
  onDiskBytesFreed: bigint;
}

interface UnitResult {
  kind: "hit" | "miss" | "error" | "uncached";
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  timeSavedMs: number;
  bytesRead: number;
  bytesWritten: number;
  source: string;
  artifactKey?: string;
}

const EMPTY = new Uint8Array(0);

function concatAll(parts: Uint8Array[]): Uint8Array {
  const nonEmpty = parts.filter((p) => p.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0];
  const out = new Uint8Array(nonEmpty.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of nonEmpty) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function directKey(key: string): string {
  return `direct\0${key}`;
}

/**
 * The compiler-cache engine (see module doc).
 *
 * @example
 * ```ts ignore
 * import { CompileEngine } from "./engine.ts";
 * const engine = new CompileEngine({ cacheDir: "/tmp/zc/zccache-ts" });
 * const r = await engine.compile({
 *   compiler: "/usr/bin/gcc", args: ["-c", "a.c", "-o", "a.o"],
 *   cwd: "/src", env: { PATH: "/usr/bin" }, stdin: new Uint8Array(),
 * });
 * await engine.close();
 * ```
 */
export class CompileEngine {
  readonly cacheDir: string;
  #maxSize: number;
  #log: (line: string) => void;
  #now: () => number;
  #sem: Semaphore;
  #index = new ArtifactIndex();
  #files = new FileHashCache();
  #compilers = new CompilerIdentityCache();
  #blobs: BlobStore;
  #tmpDir: string;
  #indexPath: string;
  #ready: Promise<void>;
  #dirty = false;
  #touched = false;
  #lastFlush = 0;
  #persisted = false;
  #indexDiskSize = 0n;
  #flushing: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #inflight = new Set<Promise<unknown>>();
  #hits = 0n;
  #misses = 0n;
  #total = 0n;
  #nonCacheable = 0n;
  #errors = 0n;
  #timeSaved = 0;

  /** Open (or create) the cache at `opts.cacheDir`; the index loads in the background. */
  constructor(opts: CompileEngineOptions) {
    this.cacheDir = opts.cacheDir;
    const max = opts.maxSize ?? DEFAULT_MAX_SIZE;
    this.#maxSize = max > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(max);
    this.#log = opts.log ?? (() => {});
    this.#now = opts.now ?? Date.now;
    this.#sem = new Semaphore(opts.maxParallel ?? availableParallelism());
    this.#tmpDir = join(this.cacheDir, "tmp");
    this.#blobs = new BlobStore(join(this.cacheDir, "blobs"), this.#tmpDir);
    this.#indexPath = join(this.cacheDir, "index.json");
    this.#ready = this.#load();
    const every = opts.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    if (every > 0) {
      this.#timer = setInterval(() => {
        const touchDue = this.#touched && Date.now() - this.#lastFlush >= TOUCH_FLUSH_MS;
        if (this.#dirty || touchDue) {
          this.flush().catch((e) => this.#log(`index flush failed: ${e}`));
        }
      }, every);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  async #load(): Promise<void> {
    await mkdir(this.#tmpDir, { recursive: true });
    let text: string;
    try {
      text = await readFile(this.#indexPath, "utf8");
    } catch {
      return;
    }
    try {
      const { files, compilers } = this.#index.load(text);
      for (const [p, r] of files) this.#files.set(p, r);
      for (const [p, r] of compilers) this.#compilers.set(p, r);
      this.#persisted = true;
      this.#indexDiskSize = BigInt(text.length);
    } catch (e) {
      this.#index.clear();
      this.#log(`index ${this.#indexPath} unreadable, starting empty: ${e}`);
    }
  }

  /** Compile through the cache (see module doc). */
  compile(req: CompileRequest): Promise<CompileOutcome> {
    if (this.#closed) return Promise.reject(new Error("CompileEngine is closed"));
    const p = this.#compile(req);
    this.#inflight.add(p);
    p.then(() => this.#inflight.delete(p), () => this.#inflight.delete(p));
    return p;
  }

  async #compile(req: CompileRequest): Promise<CompileOutcome> {
    await this.#ready;
    const family = detectFamily(req.compiler);
    if (family !== CompilerFamily.Gcc && family !== CompilerFamily.Clang) {
      return await this.#passthrough(req, `compiler family ${family} is not cached`);
    }
    const { args } = expandResponseFiles(req.args, req.cwd);
    const inv = parseInvocation(args);
    if (inv.kind === "non_cacheable") return await this.#passthrough(req, inv.reason);
    if (req.env.DEPENDENCIES_OUTPUT !== undefined || req.env.SUNPRO_DEPENDENCIES !== undefined) {
      return await this.#passthrough(req, "DEPENDENCIES_OUTPUT/SUNPRO_DEPENDENCIES side output");
    }
    const identity = await this.#compilers.identity(req.compiler);
    let cwdRelevant = inv.cwdRelevant;
    const envFields: string[] = [];
    for (const name of KEY_ENV_VARS) {
      const v = req.env[name];
      envFields.push(v === undefined ? `${name}\0unset` : `${name}=${v}`);
      if (v !== undefined && PATH_ENV_VARS.has(name)) {
        if (v.split(":").some((p) => p !== "" && !isAbsolute(p))) cwdRelevant = true;
      }
    }
    const base = [
      family,
      basename(req.compiler),
      identity,
      cwdRelevant ? `cwd=${req.cwd}` : "cwd-independent",
      ...envFields,
    ];
    const single = inv.units.length === 1;
    const results = await Promise.all(
      inv.units.map((u) => this.#unit(req, inv, u, base, single)),
    );
    let exitCode = 0;
    for (const r of results) {
      if (r.exitCode !== 0) {
        exitCode = r.exitCode;
        break;
      }
    }
    const hits = results.filter((r) => r.kind === "hit").length;
    const misses = results.filter((r) => r.kind === "miss").length;
    const errors = results.filter((r) => r.kind === "error").length;
    const kind: OutcomeKind = errors > 0 ? "error" : hits === results.length ? "hit" : "miss";
    return {
      exitCode,
      stdout: concatAll(results.map((r) => r.stdout)),
      stderr: concatAll(results.map((r) => r.stderr)),
      cached: hits === results.length,
      cacheable: true,
      timeSavedMs: results.reduce((n, r) => n + r.timeSavedMs, 0),
      bytesRead: results.reduce((n, r) => n + r.bytesRead, 0),
      bytesWritten: results.reduce((n, r) => n + r.bytesWritten, 0),
      sources: results.map((r) => r.source),
      kind,
      unitHits: hits,
      unitMisses: misses,
      unitErrors: errors,
      reason: null,
      sourceKey: results[0]?.artifactKey,
    };
  }

  async #passthrough(req: CompileRequest, reason: string): Promise<CompileOutcome> {
    this.#nonCacheable++;
    this.#total++;
    const release = await this.#sem.acquire(req.signal);
    let r: RunResult;
    try {
      r = await runProcess(req.compiler, req.args, req);
    } finally {
      release();
    }
    return {
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      cached: false,
      cacheable: false,
      timeSavedMs: 0,
      bytesRead: 0,
      bytesWritten: 0,
      sources: [],
      kind: "non_cacheable",
      unitHits: 0,
      unitMisses: 0,
      unitErrors: 0,
      reason,
    };
  }

  /** Try to serve one unit from the cache. */
  #tryHit(
    ctx: string,
    outAbs: string,
    depAbs: string | null,
    started: number,
    source: string,
  ): UnitResult | null {
    const keys = this.#index.contexts.get(ctx);
    if (!keys) return null;
    for (const key of [...keys]) {
      const e = this.#index.artifacts.get(key);
      if (!e) continue;
      let ok = true;
      let newest = 0;
      for (const [p, h] of e.inputs) {
        if (this.#files.hashOf(p) !== h) {
          ok = false;
          break;
        }
        const m = this.#files.mtimeMsOf(p);
        if (m > newest) newest = m;
      }
      if (!ok) continue;
      // Verify every blob before writing anything.
      const payloads: [StoredOutput, Uint8Array][] = [];
      for (const o of e.outputs) {
        const bytes = this.#blobs.readVerified(o.blob);
        if (bytes === null) {
          this.#log(`artifact ${key.slice(0, 16)}: blob ${o.blob.slice(0, 16)} missing or corrupt`);
          this.#dropEntry(key);
          ok = false;
          break;
        }
        payloads.push([o, bytes]);
      }
      if (!ok) continue;
      let read = 0;
      for (const [o, bytes] of payloads) {
        const dest = o.name === "depfile" ? depAbs : outAbs;
        if (dest === null) continue;
        writeFileAtomicSync(dest, bytes, newest);
        read += bytes.length;
      }
      this.#index.touch(e, this.#now());
      this.#touched = true;
      const hitMs = performance.now() - started;
      const saved = Math.max(0, e.compileMs - hitMs);
      this.#hits++;
      this.#total++;
      this.#timeSaved += saved;
      return {
        kind: "hit",
        exitCode: e.exitCode,
        stdout: e.stdout,
        stderr: e.stderr,
        timeSavedMs: saved,
        bytesRead: read,
        bytesWritten: 0,
        source,
        artifactKey: key,
      };
    }
    return null;
  }

  #dropEntry(key: string): void {
    const freed = this.#index.remove(key);
    this.#dirty = true;
    for (const b of freed) this.#blobs.removeSync(b);
  }

  async #unit(
    req: CompileRequest,
    inv: CacheableInvocation,
    unit: CompileUnit,
    base: string[],
    single: boolean,
  ): Promise<UnitResult> {
    const started = performance.now();
    const h = new KeyHasher("zccache-ts-context-v1");
    for (const f of base) h.field(f);
    h.field("args");
    for (const a of keyArgsForUnit(inv, unit)) h.field(a);
    const ctx = h.hex();
    const source = resolveArgPath(req.cwd, unit.source);
    const outAbs = resolveArgPath(req.cwd, unit.output);
    const depAbs = unit.userDepfile === null ? null : resolveArgPath(req.cwd, unit.userDepfile);

    const hit = this.#tryHit(ctx, outAbs, depAbs, started, source);
    if (hit) return hit;

    // Miss: compile with a depfile we can read.
    const baseArgs = single ? req.args : compileArgsForUnit(inv, unit);
    let injected: string | null = null;
    let runArgs = baseArgs;
    if (!inv.userDeps) {
      injected = join(this.#tmpDir, `dep-${tmpSuffix()}.d`);
      runArgs = [...baseArgs, "-MD", "-MF", injected];
    }
    const release = await this.#sem.acquire(req.signal);
    const compileStartMs = Date.now();
    let r: RunResult;
    try {
      r = await runProcess(req.compiler, runArgs, req);
    } catch (e) {
      if (injected) await unlink(injected).catch(() => {});
      throw e;
    } finally {
      release();
    }
    const result: UnitResult = {
      kind: "miss",
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      timeSavedMs: 0,
      bytesRead: 0,
      bytesWritten: 0,
      source,
    };
    try {
      if (r.exitCode !== 0) {
        this.#errors++;
        result.kind = "error";
        return result;
      }
      this.#total++;
      const stored = await this.#storeMiss(
        ctx,
        injected ?? depAbs!,
        req.cwd,
        source,
        outAbs,
        depAbs,
        r,
        compileStartMs,
      );
      if (stored === null) {
        result.kind = "uncached";
        this.#misses++;
        return result;
      }
      this.#misses++;
      result.bytesWritten = stored.bytes;
      result.artifactKey = stored.key;
      return result;
    } finally {
      if (injected) await unlink(injected).catch(() => {});
    }
  }

  async #storeMiss(
    ctx: string,
    depfilePath: string,
    cwd: string,
    source: string,
    outAbs: string,
    depAbs: string | null,
    r: RunResult,
    compileStartMs: number,
  ): Promise<{ key: string; bytes: number } | null> {
    let depText: string;
    try {
      depText = await readFile(depfilePath, "utf8");
    } catch (e) {
      this.#log(`no depfile ${depfilePath} after compiling ${source}: ${e}; not cached`);
      return null;
    }
    const paths = parseDepfile(depText).map((p) => resolveArgPath(cwd, p));
    if (!paths.includes(source)) paths.push(source);
    const inputs: [string, string][] = [];
    for (const p of [...new Set(paths)].sort()) {
      const hash = this.#files.hashOf(p);
      if (hash === null) {
        this.#log(`input ${p} of ${source} unreadable; not cached`);
        return null;
      }
      // An input changed while the compiler ran: the object may not match
      // the hash just taken.
      // (Date.now() has ms resolution, file times ns: a file written earlier
      // in the start millisecond is not flagged.)
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st || st.mtimeMs >= compileStartMs + 1 || st.ctimeMs >= compileStartMs + 1) {
        this.#log(`input ${p} changed during the compile of ${source}; not cached`);
        return null;
      }
      inputs.push([p, hash]);
    }
    const ak = new KeyHasher("zccache-ts-artifact-v1").field(ctx);
    for (const [p, hash] of inputs) ak.field(p).field(hash);
    const key = ak.hex();
    let obj: Uint8Array;
    let dep: Uint8Array | null = null;
    try {
      obj = await readFile(outAbs);
      if (depAbs !== null) dep = await readFile(depAbs);
    } catch (e) {
      this.#log(`output of ${source} unreadable: ${e}; not cached`);
      return null;
    }
    const outputs: StoredOutput[] = [
      { name: "object", blob: await this.#blobs.put(obj), size: obj.length },
    ];
    if (dep !== null) {
      outputs.push({ name: "depfile", blob: await this.#blobs.put(dep), size: dep.length });
    }
    const now = this.#now();
    const size = outputs.reduce((n, o) => n + o.size, 0);
    this.#addEntry({
      key,
      context: ctx,
      inputs,
      outputs,
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      size,
      created: now,
      lastUse: now,
      compileMs: r.durationMs,
    });
    return { key, bytes: size };
  }

  #addEntry(e: ArtifactEntry): void {
    const freed = this.#index.add(e);
    this.#dirty = true;
    if (this.#index.totalSize > this.#maxSize) {
      const { blobs, evicted } = this.#index.evictTo(Math.floor(this.#maxSize * 0.9));
      freed.push(...blobs);
      this.#log(`evicted ${evicted} artifact(s) to stay under ${this.#maxSize} bytes`);
    }
    // A blob freed by one entry may be referenced again by the new one.
    for (const b of freed) {
      if (!this.#index.blobReferenced(b)) this.#blobs.removeSync(b);
    }
  }

  /** Engine statistics. */
  stats(): EngineStats {
    return {
      artifactCount: BigInt(this.#index.artifacts.size),
      cacheSizeBytes: BigInt(this.#index.totalSize),
      metadataEntries: BigInt(this.#files.size),
      depGraphContexts: BigInt(this.#index.contexts.size),
      depGraphFiles: BigInt(this.#index.fileCount),
      depGraphDiskSize: this.#indexDiskSize,
      depGraphPersisted: this.#persisted && !this.#dirty,
      depGraphVersion: INDEX_VERSION,
      cacheDir: this.cacheDir,
      cacheHits: this.#hits,
      cacheMisses: this.#misses,
      totalCompilations: this.#total,
      nonCacheable: this.#nonCacheable,
      compileErrors: this.#errors,
      timeSavedMs: BigInt(Math.round(this.#timeSaved)),
    };
  }

  /** Remove every artifact, the header graph and metadata; reset counters. */
  async clear(): Promise<ClearCounts> {
    await this.#ready;
    const counts: ClearCounts = {
      artifactsRemoved: BigInt(this.#index.artifacts.size),
      metadataCleared: BigInt(this.#files.size),
      depGraphContextsCleared: BigInt(this.#index.contexts.size),
      onDiskBytesFreed: await this.#blobs.diskBytes(),
    };
    this.#index.clear();
    this.#files.clear();
    await this.#blobs.removeAll();
    this.#hits =
      this.#misses =
      this.#total =
      this.#nonCacheable =
      this.#errors =
        0n;
    this.#timeSaved = 0;
    this.#dirty = true;
    await this.flush();
    return counts;
  }

  /** Direct artifact lookup (the wire `Lookup`), verified like a hit. */
  async lookup(key: string): Promise<ArtifactData | null> {
    await this.#ready;
    const e = this.#index.artifacts.get(directKey(key));
    if (!e) return null;
    const outputs: ArtifactOutput[] = [];
    for (const o of e.outputs) {
      const bytes = this.#blobs.readVerified(o.blob);
      if (bytes === null) {
        this.#dropEntry(e.key);
        return null;
      }
      outputs.push({ name: o.name, payload: { kind: "Bytes", value: bytes } });
    }
    this.#index.touch(e, this.#now());
    this.#touched = true;
    return { outputs, stdout: e.stdout, stderr: e.stderr, exitCode: e.exitCode };
  }

  /** Direct artifact store (the wire `Store`); `Path` payloads are read from disk. */
  async store(key: string, a: ArtifactData): Promise<"Stored" | "AlreadyExists"> {
    await this.#ready;
    if (this.#index.artifacts.has(directKey(key))) return "AlreadyExists";
    const outputs: StoredOutput[] = [];
    for (const o of a.outputs) {
      const bytes = o.payload.kind === "Bytes" ? o.payload.value : await readFile(o.payload.value);
      outputs.push({ name: o.name, blob: await this.#blobs.put(bytes), size: bytes.length });
    }
    if (this.#index.artifacts.has(directKey(key))) return "AlreadyExists";
    const now = this.#now();
    this.#addEntry({
      key: directKey(key),
      context: null,
      inputs: [],
      outputs,
      stdout: a.stdout,
      stderr: a.stderr,
      exitCode: a.exitCode,
      size: outputs.reduce((n, o) => n + o.size, 0),
      created: now,
      lastUse: now,
      compileMs: 0,
    });
    return "Stored";
  }

  /** Write the index (and file/compiler hash caches) to disk if changed. */
  async flush(): Promise<void> {
    await this.#ready;
    while (this.#flushing) await this.#flushing;
    if (!this.#dirty && !this.#touched && this.#persisted) return;
    this.#flushing = (async () => {
      this.#dirty = false;
      this.#touched = false;
      this.#lastFlush = Date.now();
      const text = this.#index.serialize(this.#files.entries(), this.#compilers.entries());
      await mkdir(this.#tmpDir, { recursive: true });
      const tmp = join(this.#tmpDir, `index-${tmpSuffix()}.json`);
      try {
        await writeFile(tmp, text);
        await rename(tmp, this.#indexPath);
      } catch (e) {
        this.#dirty = true;
        await rm(tmp, { force: true });
        throw e;
      }
      this.#persisted = true;
      this.#indexDiskSize = BigInt((await stat(this.#indexPath)).size);
    })();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  /** Wait for in-flight compiles, flush, and stop the background timer. */
  async close(): Promise<void> {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    await this.flush();
  }
}
