/**
 * The compiler-cache engine: orchestration only. A {@link CompilerDriver}
 * plans the request (pass through, or units with key arguments, private run
 * and outputs), `cache/key.ts` says what is in a key, an
 * {@link ArtifactStore} holds the bytes, the {@link ArtifactIndex} the
 * entries. The daemon server calls {@link CompileEngine.compile} once per
 * `Compile`/`CompileEphemeral` request.
 *
 * ## Per unit
 * - **Hit**: for each entry of the unit's context key (most recent first):
 *   every recorded input still has its content hash (stat-validated, re-hash
 *   on change), the `__DATE__` day and `__TIMESTAMP__` mtimes still hold,
 *   and no include candidate that was absent has appeared (negative
 *   entries, `compiler/includes.ts`). Then the stored blobs are read
 *   (hash-verified), the object written to the user's `-o` and the depfile
 *   re-targeted to the user's `-MT`/`-MQ`/`-o` and written, both with the
 *   mode the client's umask gives; stdout/stderr replayed.
 * - **Miss**: identical concurrent misses compile once (the others wait and
 *   then hit). The compiler writes into a private directory; the include
 *   search probe runs beside it. On success the outputs are copied to the
 *   user's paths, the header list parsed, every input hashed and scanned
 *   (time macros, `.incbin`/`#embed`, includes), the negative entries
 *   computed, and the entry stored — unless something makes it unsafe
 *   (`__TIME__`, a precompiled header in use, an unlisted input, an input
 *   changed during the compile, an unexpected side file), in which case
 *   the compile's own result is returned uncached.
 *
 * ## Faults
 * Nothing on the cache side fails a compile: a missing, read-only or full
 * cache directory makes the unit run uncached with the user's own argument
 * list (one log line per fault kind per daemon), `tmp/` and `blobs/` are
 * recreated when missing, and the compiler never runs twice for one result.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import process from "node:process";
import { clearInterval, setInterval } from "node:timers";
import type { ArtifactData, ArtifactOutput, RustArtifactInfo } from "../core/messages.ts";
import { CompilerIdentityCache, FileHashCache } from "./hash.ts";
import { runProcess, type RunResult, Semaphore } from "./compiler/run.ts";
import type {
  CompilerDriver,
  DriverPlan,
  DriverRequest,
  ProcessRunner,
  UnitPlan,
} from "./compiler/driver.ts";
import { GccDriver } from "./compiler/gcc.ts";
import { RustLane, rustOutputNames, type RustStats } from "./rust_lane.ts";
import { type LinkPlan, planLink } from "./compiler/link.ts";
import { parseDepfile, retargetDepfile } from "./compiler/depfile.ts";
import {
  computeProbes,
  DirCache,
  namedPath,
  probeSearchPath,
  type ScanInfo,
  scanText,
  type SearchPath,
  verifyProbes,
} from "./compiler/includes.ts";
import { tmpSuffix } from "./cache/store.ts";
import {
  type ArtifactStore,
  type CompressionOptions,
  LocalArtifactStore,
  type RemoteTally,
} from "./cache/artifact_store.ts";
import type { RemoteStats, RemoteTier } from "./cache/remote.ts";
import { artifactKey, compileDate, contextKey, linkKey, timeRule } from "./cache/key.ts";
import {
  contextDifference,
  type EntryOrigin,
  inputDifference,
  keyEnvOf,
  originKey,
} from "./cache/why.ts";
import {
  type ArtifactEntry,
  ArtifactIndex,
  INDEX_VERSION,
  MAX_ENTRIES_PER_CONTEXT,
  newEntry,
  type StoredOutput,
} from "./cache/index.ts";

export { KEY_ENV_VARS } from "./cache/key.ts";

/** Default size limit: 10 GiB. */
export const DEFAULT_MAX_SIZE: bigint = 10n * 1024n * 1024n * 1024n;

/** How often a dirty index is flushed in the background (ms). */
const FLUSH_INTERVAL_MS = 5_000;

/** (compiler, source) pairs whose last context is remembered for miss reasons. */
const NEAREST_MEMORY = 8192;

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
  /**
   * Load the index this many ms after construction (or at the first request
   * that needs it, whichever comes first) instead of at once: a daemon then
   * answers its first Ping before parsing a large index (tens of ms).
   */
  deferLoadMs?: number;
  /** Process runner (default: a real child process). */
  runProcess?: ProcessRunner;
  /** Artifact store (default: the local content-addressed store under `cacheDir`). */
  store?: ArtifactStore;
  /** Compression of the default local store (default: zstd level 3). */
  compression?: CompressionOptions;
  /**
   * Shared remote tier (`cache/remote.ts`): a context unknown locally is
   * looked up there, and each new entry is pushed. Blobs go through `store`
   * (a `TieredArtifactStore` over the same tier).
   */
  remote?: RemoteTier;
  /**
   * Read the cache, never write it (`zccache explain` in the CLI process):
   * no directories made or repaired, no background flush.
   */
  readOnly?: boolean;
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
  /** PID of the client (its umask and whether its stderr is a terminal are read from /proc). */
  clientPid?: number;
  /** Overrides for what is read from the client process. */
  client?: { umask?: number; stderrTty?: boolean };
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
  /**
   * Why a unit missed (`miss`/`error`): what differs from the nearest entry
   * (`new source`, `changed header <path>`, `changed flag -O2 -> -O3`,
   * `changed env LANG`, `compiler changed`, `evicted`, `corrupt entry`).
   */
  missReason?: string | null;
  /** Units whose objects came from the shared remote tier (0 without one). */
  remoteHits?: number;
  /** Units that missed locally and on the remote tier (0 without one). */
  remoteMisses?: number;
  /** Bytes the remote tier served for this request. */
  remoteBytesDown?: number;
}

/** What {@link CompileEngine.explain} found for one command line, without compiling. */
export interface Explanation {
  /** `hit` when every unit would be served from the cache. */
  kind: "hit" | "miss" | "non_cacheable";
  /** Why not a hit (the first unit that would miss, or why not cacheable), else null. */
  reason: string | null;
  /** Per unit: its source, whether it would hit, and why not. */
  units: { source: string; hit: boolean; reason: string | null }[];
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
  totalLinks: bigint;
  linkHits: bigint;
  linkMisses: bigint;
  linkNonCacheable: bigint;
}

/** One `LinkEphemeral` as the engine receives it. */
export interface LinkRequest {
  tool: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  clientPid?: number;
  client?: { umask?: number };
}

/** The result of one link. */
export interface LinkOutcome {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  cached: boolean;
  /** `hit`, `miss`, `error` (the tool failed; not stored) or `non_cacheable`. */
  kind: OutcomeKind;
  /** zccache's non-determinism warning, or null. */
  warning: string | null;
  /** Why the link was not cached (pass-through, or found unsafe after it ran). */
  reason: string | null;
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
  /** Why an `uncached` unit was not stored. */
  reason?: string;
  /** Why it missed (see {@link CompileOutcome.missReason}). */
  missReason?: string;
  /** Served from the remote tier (a hit whose blobs came from it). */
  remoteHit?: boolean;
  /** Compiled although a remote tier is configured. */
  remoteMiss?: boolean;
  remoteBytes?: number;
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  timeSavedMs: number;
  bytesRead: number;
  bytesWritten: number;
  source: string;
  artifactKey?: string;
}

/** What the client process contributes: its umask and terminal. */
interface ClientView {
  umask: number;
  stderrTty: boolean;
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

/** The context fields of one unit (what {@link contextKey} reads), for miss reasons. */
function originOf(
  req: CompileRequest,
  plan: Extract<DriverPlan, { kind: "cacheable" }>,
  u: UnitPlan,
): EntryOrigin {
  return {
    compiler: req.compiler,
    source: u.source,
    family: plan.family,
    flavor: plan.flavor,
    invokedName: basename(req.compiler),
    compilerHash: plan.compilerHash,
    cwd: u.cwdRelevant ? req.cwd : null,
    colored: plan.colored,
    env: keyEnvOf(req.env),
    args: [...u.keyArgs],
  };
}

/** The client's umask and whether its stderr is a terminal, from /proc (Linux). */
function readClient(req: CompileRequest): ClientView {
  let umask = req.client?.umask;
  let stderrTty = req.client?.stderrTty;
  const pid = req.clientPid;
  if (pid !== undefined && pid > 0) {
    if (umask === undefined) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, "latin1");
        const m = /^Umask:\s*([0-7]+)/m.exec(status);
        if (m) umask = parseInt(m[1], 8);
      } catch {
        // not Linux, or the client is gone
      }
    }
    if (stderrTty === undefined) {
      try {
        const st = statSync(`/proc/${pid}/fd/2`);
        // Terminals are character devices with major 136-143 (pts) or 4/5 (tty, console).
        const major = Math.floor(Number(st.rdev) / 256) & 0xfff;
        stderrTty = st.isCharacterDevice() && ((major >= 136 && major <= 143) || major === 4 ||
          major === 5);
      } catch {
        stderrTty = false;
      }
    }
  }
  return { umask: umask ?? 0o022, stderrTty: stderrTty ?? false };
}

/** True when `bytes` (compiler output) mentions `path`. */
/** Output names that are Rust artifacts. */
const RUST_ARTIFACT = /\.(rlib|rmeta|d|so|dylib|dll)$/;

let ownUmask: number | undefined;

/** The daemon's own umask (-1 when the runtime cannot tell). */
function daemonUmask(): number {
  if (ownUmask === undefined) {
    try {
      const m = process.umask();
      process.umask(m);
      ownUmask = m;
    } catch {
      ownUmask = -1;
    }
  }
  return ownUmask;
}

/** name -> "mtime:size:ino" of the regular files in `dir` (null when unreadable). */
function dirSnapshot(dir: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const n of names) {
    const st = lstatSync(join(dir, n), { throwIfNoEntry: false });
    if (st?.isFile()) out.set(n, `${st.mtimeMs}:${st.size}:${st.ino}`);
  }
  return out;
}

/** `abs` relative to `dir` (for side files restored beside the output). */
function relativeTo(dir: string, abs: string): string {
  const r = relative(dir, abs);
  return r === "" ? basename(abs) : r;
}

function mentions(bytes: Uint8Array, path: string): boolean {
  return bytes.length > 0 && new TextDecoder().decode(bytes).includes(path);
}

/**
 * Make `dir` a real directory of ours with mode 0700: a symlink or a file in
 * its place is removed first (never followed), a wider mode is tightened.
 */
export function ensureOwnDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && st.isDirectory()) {
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return;
  }
  if (st !== undefined) unlinkSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Like {@link ensureOwnDir}, but also clears a directory that cannot be written. */
function repairDir(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) unlinkSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Write bytes to `dest` as a compiler would leave it: atomically (temp file
 * in the same directory, then rename) with mode `0666 & ~umask`. The new
 * file's mtime is "now", floored up to `mtimeFloorMs` when that is in the
 * future (so make/ninja stay correct with future-dated inputs).
 */
function writeOutput(
  dest: string,
  bytes: Uint8Array,
  umask: number,
  mtimeFloorMs = 0,
  baseMode = 0o666,
): void {
  const tmp = join(dirname(dest), `.${basename(dest)}.zccache-tmp-${tmpSuffix()}`);
  const mode = baseMode & ~umask;
  let fd = -1;
  try {
    fd = openSync(
      tmp,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL |
        (fsConstants.O_NOFOLLOW ?? 0),
      mode,
    );
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if ((fstatSync(fd).mode & 0o777) !== mode) chmodSync(tmp, mode);
    closeSync(fd);
    fd = -1;
    if (mtimeFloorMs > Date.now()) {
      const t = new Date(mtimeFloorMs);
      utimesSync(tmp, t, t);
    }
    // Unlink first: on ext4 a rename over an existing file forces the new
    // file's blocks out to disk (auto_da_alloc), ~190 µs of a ~400 µs hit;
    // renaming onto a free name does not. The name is absent only between
    // the two calls, and whatever is there is always a complete file.
    try {
      unlinkSync(dest);
    } catch {
      // absent (or not removable: the rename then reports it)
    }
    renameSync(tmp, dest);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw e;
  }
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
  #run: ProcessRunner;
  #index = new ArtifactIndex();
  #files = new FileHashCache();
  #compilers = new CompilerIdentityCache();
  #dirs = new DirCache();
  #scans = new Map<string, ScanInfo>();
  #drivers: CompilerDriver[];
  #store: ArtifactStore;
  #remote: RemoteTier | null;
  #tmpDir: string;
  #indexPath: string;
  #walPath: string;
  #ready: Promise<void> | null = null;
  #dirty = false;
  #touched = false;
  #lastFlush = 0;
  #persisted = false;
  #indexDiskSize = 0n;
  #flushing: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #inflight = new Set<Promise<unknown>>();
  #missFlight = new Map<string, Promise<void>>();
  #pathLocks = new Map<string, Promise<void>>();
  #warned = new Set<string>();
  #hits = 0n;
  #misses = 0n;
  #total = 0n;
  #nonCacheable = 0n;
  #errors = 0n;
  #timeSaved = 0;
  #links = { total: 0n, hits: 0n, misses: 0n, nonCacheable: 0n };
  #readOnly: boolean;
  /** Each unit's context fields, for the entry it stores. */
  #origins = new WeakMap<UnitPlan, EntryOrigin>();
  /** (compiler, source) -> the context last stored for it (bounded, oldest dropped). */
  #nearest = new Map<string, { ctx: string; origin: EntryOrigin }>();
  /** Contexts whose entry was just dropped as corrupt. */
  #corrupt = new Set<string>();
  /** rustc requests (`rust_lane.ts`), over this engine's index and store. */
  #rust: RustLane;

  /** Open (or create) the cache at `opts.cacheDir`; the index loads in the background. */
  constructor(opts: CompileEngineOptions) {
    this.cacheDir = opts.cacheDir;
    const max = opts.maxSize ?? DEFAULT_MAX_SIZE;
    this.#maxSize = max > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(max);
    this.#log = opts.log ?? (() => {});
    this.#now = opts.now ?? Date.now;
    this.#sem = new Semaphore(opts.maxParallel ?? availableParallelism());
    this.#run = opts.runProcess ?? runProcess;
    this.#tmpDir = join(this.cacheDir, "tmp");
    this.#store = opts.store ?? new LocalArtifactStore(
      join(this.cacheDir, "blobs"),
      this.#tmpDir,
      opts.compression,
    );
    this.#remote = opts.remote ?? null;
    this.#indexPath = join(this.cacheDir, "index.json");
    this.#walPath = join(this.cacheDir, "index.wal");
    this.#drivers = [new GccDriver(this.#compilers, this.#run)];
    this.#rust = new RustLane({
      index: this.#index,
      files: this.#files,
      compilers: this.#compilers,
      store: this.#store,
      remote: this.#remote !== null,
      run: this.#run,
      runLimited: (program, args, req, env) => this.#runLimited(program, args, req, env),
      valid: (e, req) => this.#valid(e, req),
      addEntry: (e) => this.#addEntry(e),
      dropEntry: (key) => this.#dropEntry(key),
      pullRemote: (ctx) => this.#pullRemote(ctx),
      privateDir: () => this.#privateDir(),
      writeOutput,
      log: (line) => this.#log(line),
      now: () => this.#now(),
      count: (kind, savedMs = 0) => {
        this.#total++;
        if (kind === "hit") {
          this.#hits++;
          this.#timeSaved += savedMs;
          this.#touched = true;
        } else if (kind === "miss") this.#misses++;
        else if (kind === "error") this.#errors++;
        else this.#nonCacheable++;
      },
    });
    this.#readOnly = opts.readOnly === true;
    if (opts.deferLoadMs === undefined) void this.ready();
    else {
      const t = setTimeout(() => void this.ready(), opts.deferLoadMs);
      (t as { unref?: () => void }).unref?.();
    }
    const every = this.#readOnly ? 0 : opts.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    if (every > 0) {
      this.#timer = setInterval(() => {
        const touchDue = this.#touched && Date.now() - this.#lastFlush >= TOUCH_FLUSH_MS;
        if (this.#dirty || touchDue) {
          this.flush().catch((e) => this.#warnOnce("flush", `index flush failed: ${e}`));
        }
      }, every);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /**
   * The index loaded (started now if it was deferred, see
   * {@link CompileEngineOptions.deferLoadMs}); every request reading it waits for this.
   */
  ready(): Promise<void> {
    return (this.#ready ??= this.#load());
  }

  /** Log a fault once per kind for the life of the engine. */
  #warnOnce(kind: string, line: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#log(line);
  }

  async #load(): Promise<void> {
    await this.#loadIndex();
    const byAge = [...this.#index.artifacts.values()].sort((a, b) => a.created - b.created);
    for (const e of byAge) if (e.context !== null && e.origin) this.#remember(e.context, e.origin);
  }

  /** Record the context last stored for a (compiler, source) pair. */
  #remember(ctx: string, origin: EntryOrigin): void {
    const k = originKey(origin);
    this.#nearest.delete(k);
    this.#nearest.set(k, { ctx, origin });
    if (this.#nearest.size > NEAREST_MEMORY) {
      const oldest = this.#nearest.keys().next().value;
      if (oldest !== undefined) this.#nearest.delete(oldest);
    }
  }

  async #loadIndex(): Promise<void> {
    if (!this.#readOnly) {
      try {
        await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
        // Our own directories: a symlink or file planted in their place is
        // removed, never followed.
        ensureOwnDir(this.#tmpDir);
        ensureOwnDir(join(this.cacheDir, "blobs"));
      } catch (e) {
        this.#warnOnce(
          "tmp",
          `cache directory ${this.cacheDir} unusable: ${e}; compiling uncached`,
        );
      }
    }
    let text: string | null = null;
    try {
      text = await readFile(this.#indexPath, "utf8");
    } catch {
      // no index yet (or not a file)
    }
    if (text !== null) {
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
    // Entries stored since the last full write (a daemon killed before its flush).
    let replayed = 0;
    for (const wal of [`${this.#walPath}.old`, this.#walPath]) {
      try {
        replayed += this.#index.replay(await readFile(wal, "utf8"));
      } catch {
        // none
      }
    }
    if (replayed > 0) this.#dirty = true;
  }

  /** Append one stored entry to the write-ahead log (durable before the next flush). */
  #logEntry(e: ArtifactEntry): void {
    try {
      const fd = openSync(
        this.#walPath,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND |
          (fsConstants.O_NOFOLLOW ?? 0),
        0o600,
      );
      try {
        writeSync(fd, ArtifactIndex.entryLine(e) + "\n");
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      this.#warnOnce("wal", `index log ${this.#walPath} unwritable: ${err}`);
    }
  }

  /** Compile through the cache (see module doc). */
  compile(req: CompileRequest): Promise<CompileOutcome> {
    return this.#track(() => this.#compile(req));
  }

  /** Run one request unless closed, counted in flight until it settles (`close()` waits). */
  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("CompileEngine is closed"));
    const p = work();
    this.#inflight.add(p);
    p.then(() => this.#inflight.delete(p), () => this.#inflight.delete(p));
    return p;
  }

  async #compile(req: CompileRequest): Promise<CompileOutcome> {
    await this.ready();
    if (this.#rust.handles(req.compiler)) return await this.#rust.compile(req, readClient(req));
    const driver = this.#drivers.find((d) => d.handles(req.compiler));
    if (driver === undefined) {
      return await this.#passthrough(req, `compiler ${basename(req.compiler)} is not cached`);
    }
    const client = readClient(req);
    const dreq: DriverRequest = { ...req, stderrTty: client.stderrTty };
    const plan = await driver.plan(dreq);
    if (plan.kind === "passthrough") return await this.#passthrough(req, plan.reason);
    const single = plan.units.length === 1;
    const results = await Promise.all(plan.units.map((u) => {
      const ctx = contextKey({
        family: plan.family,
        flavor: plan.flavor,
        invokedName: basename(req.compiler),
        compilerHash: plan.compilerHash,
        cwd: u.cwdRelevant ? req.cwd : null,
        colored: plan.colored,
        env: req.env,
        args: u.keyArgs,
      });
      this.#origins.set(u, originOf(req, plan, u));
      return this.#unit(req, client, plan.flavor, u, ctx, single);
    }));
    let exitCode = 0;
    for (const r of results) {
      if (r.exitCode !== 0) {
        exitCode = r.exitCode;
        break;
      }
    }
    const hits = results.filter((r) => r.kind === "hit").length;
    const misses = results.filter((r) => r.kind === "miss" || r.kind === "uncached").length;
    const errors = results.filter((r) => r.kind === "error").length;
    const uncached = results.filter((r) => r.kind === "uncached");
    if (uncached.length === results.length) {
      // Found uncacheable only once it ran (__TIME__, a PCH, .incbin, a broken
      // cache dir): counted as non-cacheable, as a pass-through is.
      return {
        exitCode,
        stdout: concatAll(results.map((r) => r.stdout)),
        stderr: concatAll(results.map((r) => r.stderr)),
        cached: false,
        cacheable: false,
        timeSavedMs: 0,
        bytesRead: 0,
        bytesWritten: 0,
        sources: results.map((r) => r.source),
        kind: "non_cacheable",
        unitHits: 0,
        unitMisses: 0,
        unitErrors: 0,
        reason: uncached[0].reason ?? "not cacheable",
      };
    }
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
      missReason: results.find((r) => r.missReason !== undefined)?.missReason ?? null,
      remoteHits: results.filter((r) => r.remoteHit).length,
      remoteMisses: results.filter((r) => r.remoteMiss).length,
      remoteBytesDown: results.reduce((n, r) => n + (r.remoteBytes ?? 0), 0),
    };
  }

  async #passthrough(req: CompileRequest, reason: string): Promise<CompileOutcome> {
    this.#nonCacheable++;
    this.#total++;
    const r = await this.#runLimited(req.compiler, req.args, req, req.env);
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

  async #runLimited(
    program: string,
    args: string[],
    req: CompileRequest,
    env: Record<string, string>,
  ): Promise<RunResult> {
    const release = await this.#sem.acquire(req.signal);
    try {
      return await this.#run(program, args, {
        cwd: req.cwd,
        env,
        stdin: req.stdin,
        signal: req.signal,
      });
    } finally {
      release();
    }
  }

  /** Does entry `e` still describe what a compile would produce now? */
  #valid(e: ArtifactEntry, req: CompileRequest): { ok: boolean; newest: number } {
    let newest = 0;
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    for (const [p, h] of e.inputs) {
      const abs = at(p);
      if (this.#files.hashOf(abs) !== h) return { ok: false, newest };
      const m = this.#files.mtimeMsOf(abs);
      if (m > newest) newest = m;
    }
    if (e.date != null && compileDate(req.env, this.#now()) !== e.date) {
      return { ok: false, newest };
    }
    for (const [p, m] of e.stamps ?? []) {
      const st = statSync(at(p), { throwIfNoEntry: false });
      if (!st || Math.floor(st.mtimeMs / 1000) !== m) return { ok: false, newest };
    }
    if (e.probes && e.probes.length > 0 && !verifyProbes(e.probes, this.#dirs, req.cwd)) {
      return { ok: false, newest };
    }
    return { ok: true, newest };
  }

  /** Try to serve one unit from the cache. */
  async #tryHit(
    ctx: string,
    req: CompileRequest,
    client: ClientView,
    unit: UnitPlan,
    started: number,
    tally?: RemoteTally,
  ): Promise<UnitResult | null> {
    const keys = this.#index.contexts.get(ctx);
    if (!keys) return null;
    for (const key of [...keys]) {
      const e = this.#index.artifacts.get(key);
      if (!e) continue;
      const { ok, newest } = this.#valid(e, req);
      if (!ok) continue;
      // Verify every blob before writing anything.
      const payloads: [StoredOutput, Uint8Array][] = [];
      let intact = true;
      for (const o of e.outputs) {
        const bytes = await this.#store.get(o.blob, tally);
        if (bytes === null) {
          this.#log(`artifact ${key.slice(0, 16)}: blob ${o.blob.slice(0, 16)} missing or corrupt`);
          await this.#store.remove(o.blob); // a corrupt blob is never kept
          this.#dropEntry(key);
          this.#corrupt.add(ctx);
          intact = false;
          break;
        }
        payloads.push([o, bytes]);
      }
      if (!intact) continue;
      const writes: [string, Uint8Array][] = [];
      for (const [o, bytes] of payloads) {
        if (o.name === "object") {
          if (unit.object.path !== null) writes.push([unit.object.path, bytes]);
        } else if (o.name === "depfile") {
          if (unit.depfile === null || unit.depfile.path === null) continue;
          let out = bytes;
          const stored = e.depTargets ?? [];
          const want = unit.depTargets;
          if (stored.length !== want.length || stored.some((t, i) => t !== want[i])) {
            const text = retargetDepfile(
              e.flavor === "clang" ? "clang" : "gcc",
              new TextDecoder().decode(bytes),
              want,
            );
            if (text === null) return null; // cannot re-target: compile instead
            out = new TextEncoder().encode(text);
          }
          writes.push([unit.depfile.path, out]);
        }
      }
      let read = 0;
      try {
        for (const [dest, bytes] of writes) {
          writeOutput(dest, bytes, client.umask, newest);
          read += bytes.length;
        }
      } catch (err) {
        this.#log(`hit for ${unit.source} could not be written: ${err}; compiling`);
        return null;
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
        source: unit.source,
        artifactKey: key,
      };
    }
    return null;
  }

  /** Why unit `unit` of context `ctx` finds no usable entry (see `cache/why.ts`). */
  #whyMiss(ctx: string, req: CompileRequest, unit: UnitPlan): string {
    if (this.#corrupt.delete(ctx)) return "corrupt entry (dropped)";
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    const entries = (this.#index.contexts.get(ctx) ?? [])
      .map((k) => this.#index.artifacts.get(k))
      .filter((e): e is ArtifactEntry => e !== undefined);
    if (entries.length > 0) {
      const changed = inputDifference(
        entries,
        (p) => this.#files.hashOf(at(p)),
        (p) => at(p) === unit.source,
      );
      if (changed !== null) return changed;
      const e = entries[0];
      if (e.date != null && compileDate(req.env, this.#now()) !== e.date) {
        return "__DATE__ changed (entry of another day)";
      }
      if ((e.stamps ?? []).length > 0) return "changed __TIMESTAMP__ file";
      if ((e.probes ?? []).length > 0) return "a header appeared earlier in the include path";
      return "entry unusable";
    }
    const origin = this.#origins.get(unit);
    const near = origin === undefined ? undefined : this.#nearest.get(originKey(origin));
    if (origin === undefined || near === undefined) return "new source";
    if (near.ctx === ctx) return "evicted";
    return contextDifference(near.origin, origin) ?? "changed context";
  }

  /**
   * Would this command line hit? The key is computed as for a compile
   * (the compiler is identified, nothing is compiled or written).
   */
  async explain(req: CompileRequest): Promise<Explanation> {
    await this.ready();
    const driver = this.#drivers.find((d) => d.handles(req.compiler));
    if (this.#rust.handles(req.compiler)) {
      return { kind: "non_cacheable", reason: "explain does not cover rustc", units: [] };
    }
    if (driver === undefined) {
      return {
        kind: "non_cacheable",
        reason: `compiler ${basename(req.compiler)} is not cached`,
        units: [],
      };
    }
    const client = readClient(req);
    const plan = await driver.plan({ ...req, stderrTty: client.stderrTty });
    if (plan.kind === "passthrough") {
      return { kind: "non_cacheable", reason: plan.reason, units: [] };
    }
    const units: Explanation["units"] = [];
    for (const u of plan.units) {
      const origin = originOf(req, plan, u);
      const ctx = contextKey({ ...origin, env: req.env });
      this.#origins.set(u, origin);
      let hit = false;
      for (const key of this.#index.contexts.get(ctx) ?? []) {
        const e = this.#index.artifacts.get(key);
        if (e === undefined || !this.#valid(e, req).ok) continue;
        const blobs = await Promise.all(e.outputs.map((o) => this.#store.get(o.blob)));
        if (blobs.every((b) => b !== null)) {
          hit = true;
          break;
        }
        this.#corrupt.add(ctx);
      }
      units.push({ source: u.source, hit, reason: hit ? null : this.#whyMiss(ctx, req, u) });
    }
    const miss = units.find((u) => !u.hit);
    return { kind: miss === undefined ? "hit" : "miss", reason: miss?.reason ?? null, units };
  }

  #dropEntry(key: string): void {
    const freed = this.#index.remove(key);
    this.#dirty = true;
    for (const b of freed) this.#store.remove(b).catch(() => {});
  }

  async #unit(
    req: CompileRequest,
    client: ClientView,
    flavor: "gcc" | "clang",
    unit: UnitPlan,
    ctx: string,
    single: boolean,
  ): Promise<UnitResult> {
    const started = performance.now();
    if (this.#remote !== null && !this.#index.contexts.has(ctx)) await this.#pullRemote(ctx);
    const tally: RemoteTally = { hits: 0, misses: 0, bytesDown: 0 };
    const hit = await this.#tryHit(ctx, req, client, unit, started, tally);
    if (hit) {
      if (tally.hits > 0) {
        hit.remoteHit = true;
        hit.remoteBytes = tally.bytesDown;
      }
      return hit;
    }
    // Identical concurrent misses: wait for the one in flight, then try again.
    for (let round = 0; round < 3; round++) {
      const pending = this.#missFlight.get(ctx);
      if (pending === undefined) break;
      await pending;
      const again = await this.#tryHit(ctx, req, client, unit, started);
      if (again) return again;
    }
    let done!: () => void;
    const flight = new Promise<void>((r) => (done = r));
    this.#missFlight.set(ctx, flight);
    try {
      const why = this.#whyMiss(ctx, req, unit);
      const r = await this.#miss(req, client, flavor, unit, ctx, single);
      if (r.kind === "miss" || r.kind === "error") r.missReason = why;
      if (this.#remote !== null && r.kind === "miss") r.remoteMiss = true;
      return r;
    } finally {
      if (this.#missFlight.get(ctx) === flight) this.#missFlight.delete(ctx);
      done();
    }
  }

  /** A private directory for one run, or null when the cache side cannot give one. */
  #privateDir(): string | null {
    const dir = join(this.#tmpDir, `run-${tmpSuffix()}`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (attempt > 0) repairDir(this.#tmpDir);
        else ensureOwnDir(this.#tmpDir);
        mkdirSync(dir, { mode: 0o700 });
        return dir;
      } catch (e) {
        if (attempt === 0) continue;
        this.#warnOnce(
          "tmp",
          `cache directory ${this.cacheDir} unusable (${(e as Error).message}); compiling uncached`,
        );
      }
    }
    return null;
  }

  async #miss(
    req: CompileRequest,
    client: ClientView,
    flavor: "gcc" | "clang",
    unit: UnitPlan,
    ctx: string,
    single: boolean,
  ): Promise<UnitResult> {
    const result = (r: RunResult, kind: UnitResult["kind"]): UnitResult => ({
      kind,
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      timeSavedMs: 0,
      bytesRead: 0,
      bytesWritten: 0,
      source: unit.source,
    });
    // The user's own command, uncached: the result is then exactly theirs.
    const userCommand = async (reason: string): Promise<UnitResult> => {
      const again = await this.#runLimited(
        req.compiler,
        single ? req.args : unit.userArgs,
        req,
        req.env,
      );
      if (again.exitCode !== 0) this.#errors++;
      else this.#nonCacheable++;
      return { ...result(again, again.exitCode === 0 ? "uncached" : "error"), reason };
    };
    const dir = this.#privateDir();
    if (dir === null) {
      // The cache side is broken: the user's own command, uncached.
      this.#total++;
      return await userCommand("cache directory unusable");
    }
    const objName = unit.object.path === null ? "out.o" : basename(unit.object.path);
    const paths = {
      dir,
      object: join(dir, objName),
      depfile: join(dir, "zccache-deps.d"),
      discovery: join(dir, "zccache-discovery.d"),
    };
    const plan = unit.run(paths);
    const search = unit.searchLang === null ? Promise.resolve(null) : probeSearchPath(
      req.compiler,
      "",
      unit.searchArgs,
      unit.searchLang,
      req.cwd,
      req.env,
    ).catch(() => null);
    let unlock: (() => void) | null = null;
    try {
      if (plan.inPlace) unlock = await this.#lockPaths(unit);
      const compileStartMs = Date.now();
      const [r, disc] = await Promise.all([
        this.#runLimited(req.compiler, plan.args, req, plan.env),
        plan.discoveryArgs === null
          ? Promise.resolve(null)
          : this.#run(req.compiler, plan.discoveryArgs, {
            cwd: req.cwd,
            env: req.env,
            stdin: req.stdin,
            signal: req.signal,
          }).catch(() => null),
      ]);
      this.#total++;
      if (!plan.inPlace) {
        const copied = this.#deliver(r, unit, paths, client);
        if (copied !== null) {
          // The compile succeeded but its outputs could not reach the user's paths:
          // run the user's own command so the result is exactly theirs.
          this.#log(`could not deliver outputs of ${unit.source}: ${copied}; compiling in place`);
          return await userCommand("outputs could not be written privately");
        }
      }
      if (r.exitCode !== 0) {
        if (!plan.inPlace && mentions(r.stderr, dir)) {
          // The failure is about our private directory (full disk, quota): the
          // user's own command decides, uncached.
          this.#warnOnce("tmpwrite", `private output in ${dir} failed; compiling uncached`);
          return await userCommand("outputs could not be written privately");
        }
        this.#errors++;
        return result(r, "error");
      }
      const stored = await this.#storeMiss(
        req,
        flavor,
        unit,
        ctx,
        plan,
        paths,
        r,
        disc,
        await search,
        compileStartMs,
      );
      if ("reason" in stored) {
        this.#nonCacheable++;
        const out = result(r, "uncached");
        out.reason = stored.reason;
        return out;
      }
      const out = result(r, "miss");
      this.#misses++;
      out.bytesWritten = stored.bytes;
      out.artifactKey = stored.key;
      return out;
    } finally {
      unlock?.();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Serialise in-place compiles per output path (their outputs are read back). */
  async #lockPaths(unit: UnitPlan): Promise<() => void> {
    const key = unit.object.path ?? unit.source;
    for (;;) {
      const held = this.#pathLocks.get(key);
      if (held === undefined) break;
      await held;
    }
    let release!: () => void;
    const p = new Promise<void>((r) => (release = r));
    this.#pathLocks.set(key, p);
    return () => {
      if (this.#pathLocks.get(key) === p) this.#pathLocks.delete(key);
      release();
    };
  }

  /**
   * Copy what a private run produced to the user's paths, as the compiler
   * would have left them. Returns null on success, else why it failed.
   */
  #deliver(
    r: RunResult,
    unit: UnitPlan,
    paths: { object: string; depfile: string },
    client: ClientView,
  ): string | null {
    try {
      if (unit.object.path !== null) {
        const obj = readFileSync(paths.object, { flag: "r" });
        writeOutput(unit.object.path, obj, client.umask);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") return String(e);
      // No object (a failed compile): the plain compiler leaves none either.
      if (r.exitCode === 0 && unit.object.path !== null) return "the compiler wrote no object";
    }
    if (unit.depfile !== null && unit.depfile.path !== null) {
      try {
        writeOutput(unit.depfile.path, readFileSync(paths.depfile), client.umask);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") return String(e);
      }
    }
    return null;
  }

  /** Scan a file (memoised by content hash). */
  #scan(path: string, hash: string): ScanInfo | null {
    const memo = this.#scans.get(hash);
    if (memo) return memo;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      return null;
    }
    const info = scanText(bytes);
    if (this.#scans.size > 20_000) this.#scans.clear();
    this.#scans.set(hash, info);
    return info;
  }

  async #storeMiss(
    req: CompileRequest,
    flavor: "gcc" | "clang",
    unit: UnitPlan,
    ctx: string,
    plan: { headerList: string; inPlace: boolean },
    paths: { dir: string; object: string; depfile: string; discovery: string },
    r: RunResult,
    disc: RunResult | null,
    search: SearchPath | null,
    compileStartMs: number,
  ): Promise<{ key: string; bytes: number } | { reason: string }> {
    const notCached = (why: string): { reason: string } => {
      this.#log(`${unit.source}: ${why}; not cached`);
      return { reason: why };
    };
    // Unexpected side files of a private run: deliver them beside the object, do not cache.
    if (!plan.inPlace) {
      const known = new Set([basename(paths.object), "zccache-deps.d", "zccache-discovery.d"]);
      const extra = readdirSync(paths.dir).filter((n) => !known.has(n));
      if (extra.length > 0) {
        const destDir = unit.object.path === null ? req.cwd : dirname(unit.object.path);
        for (const n of extra) {
          try {
            renameSync(join(paths.dir, n), join(destDir, n));
          } catch {
            // best effort
          }
        }
        return notCached(`side output ${extra.join(", ")}`);
      }
    }
    // The header list.
    let listPath: string | null = null;
    if (plan.headerList === "depfile") {
      listPath = plan.inPlace ? (unit.depfile?.path ?? null) : paths.depfile;
    } else if (plan.headerList === "discovery") {
      if (disc === null || disc.exitCode !== 0) return notCached("dependency discovery failed");
      listPath = paths.discovery;
    }
    let listed: string[] = [];
    if (listPath !== null) {
      let text: string;
      try {
        text = await readFile(listPath, "utf8");
      } catch {
        if (!unit.rawAssembly) return notCached("no header list");
        text = "";
      }
      listed = parseDepfile(text).map(namedPath);
    }
    // Inputs are named as the compiler named them: relative to the cwd
    // (verified where they are for each request) or absolute.
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    const files = [unit.sourceName, ...listed.filter((p) => at(p) !== unit.source)];
    const all = [...new Set([...files, ...unit.optionInputs])];
    const inputs: [string, string][] = [];
    const scans = new Map<string, ScanInfo>();
    for (const p of all) {
      const a = at(p);
      const hash = this.#files.hashOf(a);
      if (hash === null) return notCached(`input ${p} unreadable`);
      // An input changed while the compiler ran: the object may not match.
      const st = statSync(a, { throwIfNoEntry: false });
      if (!st || st.mtimeMs >= compileStartMs + 1 || st.ctimeMs >= compileStartMs + 1) {
        return notCached(`input ${p} changed during the compile`);
      }
      inputs.push([p, hash]);
      if (files.includes(p)) {
        const s = this.#scan(a, hash);
        if (s === null) return notCached(`input ${p} unreadable`);
        if (s.embed) return notCached(`${p} embeds files the depfile does not list`);
        scans.set(p, s);
      }
    }
    inputs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const time = timeRule(files, scans, req.env, this.#now());
    if (!time.store) return notCached(time.reason);
    let probes: ArtifactEntry["probes"] = [];
    if (!unit.rawAssembly) {
      if (search === null) return notCached("include search path unknown");
      const pr = computeProbes({
        cwd: req.cwd,
        files,
        scans,
        search,
        forced: unit.forcedIncludes,
        gch: true,
      }, this.#dirs);
      if (pr.pch !== null) return notCached(`precompiled header ${pr.pch} in use`);
      probes = pr.groups;
    }
    const stamps: [string, number][] = [];
    for (const f of time.stampFiles) {
      const st = statSync(at(f), { throwIfNoEntry: false });
      if (!st) return notCached(`input ${f} vanished`);
      stamps.push([f, Math.floor(st.mtimeMs / 1000)]);
    }
    const key = artifactKey(ctx, inputs);
    let obj: Uint8Array;
    let dep: Uint8Array | null = null;
    try {
      obj = plan.inPlace ? await readFile(unit.object.path!) : await readFile(paths.object);
      if (unit.depfile !== null) {
        const dp = plan.inPlace ? unit.depfile.path! : paths.depfile;
        dep = await readFile(dp).catch((e) => {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
          throw e;
        });
      }
    } catch (e) {
      return notCached(`output unreadable: ${e}`);
    }
    const outputs: StoredOutput[] = [];
    try {
      outputs.push({ name: "object", blob: await this.#store.put(obj), size: obj.length });
      if (dep !== null) {
        outputs.push({ name: "depfile", blob: await this.#store.put(dep), size: dep.length });
      }
    } catch (e) {
      this.#warnOnce("store", `artifact store unwritable (${(e as Error).message}); not caching`);
      return { reason: "artifact store unwritable" };
    }
    const entry = newEntry({
      key,
      context: ctx,
      inputs,
      outputs,
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      compileMs: r.durationMs,
      probes,
      date: time.date,
      stamps,
      depTargets: dep !== null ? unit.depTargets : undefined,
      flavor,
      origin: this.#origins.get(unit),
    }, this.#now());
    this.#addEntry(entry);
    return { key, bytes: entry.size };
  }

  /** Entries of context `ctx` from the remote tier, validated, into the local index. */
  async #pullRemote(ctx: string): Promise<void> {
    const lines = await this.#remote!.getContext(ctx);
    if (lines === null || this.#index.contexts.has(ctx)) return;
    for (const line of lines.slice(0, MAX_ENTRIES_PER_CONTEXT).reverse()) {
      const e = ArtifactIndex.parseEntryLine(line);
      // Another context's entry, or a tampered one, is never added.
      if (e === null || e.context !== ctx || this.#index.artifacts.has(e.key)) continue;
      this.#addEntry({ ...e, lastUse: this.#now() }, false);
    }
  }

  /** Remote counters, or null without a remote tier. */
  remoteStats(): RemoteStats | null {
    return this.#remote?.stats() ?? null;
  }

  #addEntry(e: ArtifactEntry, push = true): void {
    this.#logEntry(e);
    if (e.context !== null && e.origin) this.#remember(e.context, e.origin);
    const freed = this.#index.add(e);
    this.#dirty = true;
    if (this.#index.totalSize > this.#maxSize) {
      const { blobs, evicted } = this.#index.evictTo(Math.floor(this.#maxSize * 0.9));
      freed.push(...blobs);
      this.#log(`evicted ${evicted} artifact(s) to stay under ${this.#maxSize} bytes`);
    }
    // A blob freed by one entry may be referenced again by the new one.
    for (const b of freed) {
      if (!this.#index.blobReferenced(b)) this.#store.remove(b).catch(() => {});
    }
    if (push && this.#remote !== null && e.context !== null && !this.#readOnly) {
      const lines = (this.#index.contexts.get(e.context) ?? [])
        .map((k) => this.#index.artifacts.get(k))
        .filter((x): x is ArtifactEntry => x !== undefined)
        .map((x) => ArtifactIndex.entryLine(x));
      if (lines.length > 0) this.#remote.pushContext(e.context, lines);
    }
  }

  /** Link or archive through the cache (one `LinkEphemeral`, planned by `compiler/link.ts`). */
  link(req: LinkRequest): Promise<LinkOutcome> {
    return this.#track(() => this.#link(req));
  }

  async #link(req: LinkRequest): Promise<LinkOutcome> {
    await this.ready();
    this.#links.total++;
    const { umask } = readClient({
      compiler: req.tool,
      args: req.args,
      cwd: req.cwd,
      env: req.env,
      stdin: EMPTY,
      clientPid: req.clientPid,
      client: req.client,
    });
    const plan = planLink(req.tool, req.args, req.cwd, req.env);
    if (plan.kind === "passthrough") return await this.#linkPassthrough(req, umask, plan.reason);
    const warning = plan.nonDeterministic === null ? null : `non-deterministic invocation ` +
      `(missing ${plan.nonDeterministic} flag) — output is cached but may differ from a fresh link`;
    let toolHash: string;
    try {
      toolHash = await this.#compilers.identity(req.tool);
    } catch {
      return await this.#linkPassthrough(req, umask, `tool ${req.tool} unreadable`);
    }
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    const inputs: [string, string][] = [];
    for (const p of plan.inputs) {
      const h = this.#files.hashOf(at(p));
      if (h === null) return await this.#linkPassthrough(req, umask, `input ${p} unhashable`);
      inputs.push([p, h]);
    }
    let prior: string | null = null;
    if (plan.family === "ar") {
      // A replace operation starts from the archive that is there.
      const st = lstatSync(plan.output, { throwIfNoEntry: false });
      if (st === undefined) prior = "absent";
      else {
        prior = st.isFile() ? this.#files.hashOf(plan.output) : null;
        if (prior === null) {
          return await this.#linkPassthrough(req, umask, `archive ${plan.output} unreadable`);
        }
      }
    }
    const key = `link\0${
      linkKey({
        family: plan.family,
        invokedName: basename(req.tool),
        toolHash,
        args: plan.keyArgs,
        inputs,
        prior,
        cwd: plan.lto ? req.cwd : null,
        env: req.env,
      })
    }`;
    const hit = await this.#linkHit(key, plan, umask);
    if (hit) return { ...hit, warning };
    for (let round = 0; round < 3; round++) {
      const pending = this.#missFlight.get(key);
      if (pending === undefined) break;
      await pending;
      const again = await this.#linkHit(key, plan, umask);
      if (again) return { ...again, warning };
    }
    let done!: () => void;
    const flight = new Promise<void>((r) => (done = r));
    this.#missFlight.set(key, flight);
    try {
      return { ...await this.#linkMiss(req, plan, key, umask, inputs), warning };
    } finally {
      if (this.#missFlight.get(key) === flight) this.#missFlight.delete(key);
      done();
    }
  }

  /** Run a link tool with the client's umask (through `sh` when the daemon's differs). */
  async #runLink(req: LinkRequest, umask: number): Promise<RunResult> {
    let program = req.tool;
    let args = req.args;
    if (umask !== daemonUmask()) {
      program = "/bin/sh";
      args = [
        "-c",
        'umask "$0" && exec "$@"',
        umask.toString(8).padStart(4, "0"),
        req.tool,
        ...args,
      ];
    }
    const release = await this.#sem.acquire(req.signal);
    try {
      return await this.#run(program, args, {
        cwd: req.cwd,
        env: req.env,
        stdin: EMPTY,
        signal: req.signal,
      });
    } finally {
      release();
    }
  }

  async #linkPassthrough(req: LinkRequest, umask: number, reason: string): Promise<LinkOutcome> {
    this.#links.nonCacheable++;
    const r = await this.#runLink(req, umask);
    return {
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      cached: false,
      kind: "non_cacheable",
      warning: null,
      reason,
    };
  }

  /** Serve a link from the cache: every blob verified before anything is written. */
  async #linkHit(
    key: string,
    plan: LinkPlan,
    umask: number,
  ): Promise<Omit<LinkOutcome, "warning"> | null> {
    const e = this.#index.artifacts.get(key);
    if (!e) return null;
    const writes: [string, Uint8Array, number][] = [];
    const dir = dirname(plan.output);
    for (const o of e.outputs) {
      const bytes = await this.#store.get(o.blob);
      if (bytes === null) {
        this.#log(`link ${key.slice(5, 21)}: blob ${o.blob.slice(0, 16)} missing or corrupt`);
        await this.#store.remove(o.blob);
        this.#dropEntry(key);
        return null;
      }
      const m = /^link:([xf]):(.*)$/s.exec(o.name);
      if (m === null) return null;
      const dest = m[2] === "" ? plan.output : resolve(dir, m[2]);
      writes.push([dest, bytes, m[1] === "x" ? 0o777 : 0o666]);
    }
    try {
      for (const [dest, bytes, mode] of writes) writeOutput(dest, bytes, umask, 0, mode);
    } catch (err) {
      this.#log(`link hit for ${plan.output} could not be written: ${err}; linking`);
      return null;
    }
    this.#index.touch(e, this.#now());
    this.#touched = true;
    this.#links.hits++;
    return {
      exitCode: e.exitCode,
      stdout: e.stdout,
      stderr: e.stderr,
      cached: true,
      kind: "hit",
      reason: null,
    };
  }

  /** Run the link in place, then store the output and the side files it created. */
  async #linkMiss(
    req: LinkRequest,
    plan: LinkPlan,
    key: string,
    umask: number,
    inputs: [string, string][],
  ): Promise<Omit<LinkOutcome, "warning">> {
    const dir = dirname(plan.output);
    const outName = basename(plan.output);
    // Snapshot the output directory: side files are what the link adds or changes there.
    const snapshot = plan.family === "ar" ? null : dirSnapshot(dir);
    const startMs = Date.now();
    const r = await this.#runLink(req, umask);
    this.#links.misses++;
    const result = (kind: OutcomeKind, reason: string | null): Omit<LinkOutcome, "warning"> => ({
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      cached: false,
      kind,
      reason,
    });
    if (r.exitCode !== 0) return result("error", null);
    const notStored = (why: string): Omit<LinkOutcome, "warning"> => {
      this.#log(`link ${plan.output}: ${why}; not cached`);
      return result("miss", why);
    };
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    for (const [p] of inputs) {
      const st = statSync(at(p), { throwIfNoEntry: false });
      if (!st || st.mtimeMs >= startMs + 1 || st.ctimeMs >= startMs + 1) {
        return notStored(`input ${p} changed during the link`);
      }
    }
    const files: [string, string][] = [["", plan.output]];
    const side = new Set<string>();
    for (const s of plan.sideOutputs) side.add(s);
    if (snapshot !== null) {
      const stem = outName.replace(/\.[^.]*$/, "");
      const after = dirSnapshot(dir) ?? new Map<string, string>();
      for (const [name, sig] of after) {
        if (name === outName || name.includes(".zccache-tmp-")) continue;
        if (snapshot.get(name) === sig || stem === "" || !name.startsWith(stem)) continue;
        side.add(join(dir, name));
      }
    }
    for (const s of side) {
      if (s === plan.output) continue;
      const st = lstatSync(s, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (!st.isFile()) return notStored(`side output ${s} is not a regular file`);
      files.push([relativeTo(dir, s), s]);
    }
    const outputs: StoredOutput[] = [];
    try {
      for (const [rel, abs] of files) {
        const st = lstatSync(abs);
        if (!st.isFile()) return notStored(`output ${abs} is not a regular file`);
        const bytes = await readFile(abs);
        const x = (st.mode & 0o111) !== 0 ? "x" : "f";
        outputs.push({
          name: `link:${x}:${rel}`,
          blob: await this.#store.put(bytes),
          size: bytes.length,
        });
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return notStored("an output vanished");
      this.#warnOnce("store", `artifact store unwritable (${(e as Error).message}); not caching`);
      return result("miss", "artifact store unwritable");
    }
    this.#addEntry(newEntry({
      key,
      context: null,
      inputs: [],
      outputs,
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: 0,
      compileMs: r.durationMs,
    }, this.#now()));
    return result("miss", null);
  }

  /** The size limit in bytes. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** Change the size limit (e.g. `zccache max-size`); evicts at once when over it. */
  setMaxSize(bytes: bigint): void {
    const max = bytes === 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)
      ? Number.MAX_SAFE_INTEGER
      : Number(bytes);
    this.#maxSize = max;
    if (this.#index.totalSize > max) void this.evict({ maxSize: BigInt(max) });
  }

  /**
   * One-shot eviction (`zccache evict`): entries unused for `olderThanMs`,
   * then least recently used ones until at most `maxSize` bytes remain.
   */
  async evict(opts: { olderThanMs?: number; maxSize?: bigint }): Promise<{
    evicted: number;
    bytesFreed: number;
  }> {
    await this.ready();
    const before = this.#index.totalSize;
    const freed: string[] = [];
    let evicted = 0;
    if (opts.olderThanMs !== undefined) {
      const cutoff = this.#now() - opts.olderThanMs;
      for (const e of [...this.#index.artifacts.values()]) {
        if (e.lastUse < cutoff) {
          freed.push(...this.#index.remove(e.key));
          evicted++;
        }
      }
    }
    if (opts.maxSize !== undefined) {
      const r = this.#index.evictTo(Number(opts.maxSize));
      freed.push(...r.blobs);
      evicted += r.evicted;
    }
    for (const b of freed) {
      if (!this.#index.blobReferenced(b)) await this.#store.remove(b).catch(() => {});
    }
    if (evicted > 0) {
      this.#dirty = true;
      this.#log(`evicted ${evicted} artifact(s) on request`);
      await this.flush();
    }
    return { evicted, bytesFreed: before - this.#index.totalSize };
  }

  /**
   * Index entries of rustc compiles (their output file names) and direct
   * `Store` entries whose outputs are Rust artifacts (`.rlib`, `.rmeta`,
   * `.d`, `.so`, `.dylib`, `.dll`), as zccache's `ListRustArtifacts` answers.
   */
  async rustArtifacts(): Promise<RustArtifactInfo[]> {
    await this.ready();
    const out: RustArtifactInfo[] = [];
    for (const e of this.#index.artifacts.values()) {
      const rust = rustOutputNames(e);
      const names = rust ?? e.outputs.map((o) => o.name);
      if (rust === null && !names.some((n) => RUST_ARTIFACT.test(n))) continue;
      out.push({
        cacheKey: e.key.startsWith("direct\0") ? e.key.slice(7) : e.key,
        outputNames: names,
        payloadCount: BigInt(e.outputs.length),
      });
    }
    return out;
  }

  /** rustc counters (hits, misses, errors, pass-throughs), for `status.json`. */
  rustStats(): RustStats {
    return this.#rust.stats();
  }

  /** Zero the rustc counters (`zccache zero`). */
  zeroRustStats(): void {
    this.#rust.reset();
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
      totalLinks: this.#links.total,
      linkHits: this.#links.hits,
      linkMisses: this.#links.misses,
      linkNonCacheable: this.#links.nonCacheable,
    };
  }

  /** Remove every artifact, the header graph and metadata; reset counters. */
  async clear(): Promise<ClearCounts> {
    await this.ready();
    const counts: ClearCounts = {
      artifactsRemoved: BigInt(this.#index.artifacts.size),
      metadataCleared: BigInt(this.#files.size),
      depGraphContextsCleared: BigInt(this.#index.contexts.size),
      onDiskBytesFreed: await this.#store.diskBytes(),
    };
    this.#index.clear();
    this.#nearest.clear();
    this.#files.clear();
    this.#dirs.clear();
    this.#scans.clear();
    await this.#store.removeAll();
    this.#hits =
      this.#misses =
      this.#total =
      this.#nonCacheable =
      this.#errors =
        0n;
    this.#timeSaved = 0;
    this.#links = { total: 0n, hits: 0n, misses: 0n, nonCacheable: 0n };
    this.#rust.reset();
    this.#dirty = true;
    await this.flush();
    return counts;
  }

  /** Direct artifact lookup (the wire `Lookup`), verified like a hit. */
  async lookup(key: string): Promise<ArtifactData | null> {
    await this.ready();
    const e = this.#index.artifacts.get(directKey(key));
    if (!e) return null;
    const outputs: ArtifactOutput[] = [];
    for (const o of e.outputs) {
      const bytes = await this.#store.get(o.blob);
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
    await this.ready();
    if (this.#index.artifacts.has(directKey(key))) return "AlreadyExists";
    const outputs: StoredOutput[] = [];
    for (const o of a.outputs) {
      const bytes = o.payload.kind === "Bytes" ? o.payload.value : await readFile(o.payload.value);
      outputs.push({ name: o.name, blob: await this.#store.put(bytes), size: bytes.length });
    }
    if (this.#index.artifacts.has(directKey(key))) return "AlreadyExists";
    this.#addEntry(newEntry({
      key: directKey(key),
      context: null,
      inputs: [],
      outputs,
      stdout: a.stdout,
      stderr: a.stderr,
      exitCode: a.exitCode,
      compileMs: 0,
    }, this.#now()));
    return "Stored";
  }

  /** Write the index (and file/compiler hash caches) to disk if changed. */
  async flush(): Promise<void> {
    // Never loaded: nothing changed, and writing now would replace the index with an empty one.
    if (this.#ready === null) return;
    await this.#ready;
    if (this.#readOnly) return;
    while (this.#flushing) await this.#flushing;
    if (!this.#dirty && !this.#touched && this.#persisted) return;
    this.#flushing = (async () => {
      this.#dirty = false;
      this.#touched = false;
      this.#lastFlush = Date.now();
      // Entries logged from here on go to a fresh log; the old one is dropped
      // only once the full index that contains its entries is on disk.
      try {
        renameSync(this.#walPath, `${this.#walPath}.old`);
      } catch {
        // no log
      }
      const text = this.#index.serialize(this.#files.entries(), this.#compilers.entries());
      const tmp = join(this.#tmpDir, `index-${tmpSuffix()}.json`);
      try {
        ensureOwnDir(this.#tmpDir);
        await writeFile(tmp, text, { mode: 0o600 });
        try {
          await rename(tmp, this.#indexPath);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== "EISDIR" && code !== "ENOTEMPTY" && code !== "ENOTDIR") throw e;
          // A directory where the index belongs: ours to replace.
          await rm(this.#indexPath, { recursive: true, force: true });
          await rename(tmp, this.#indexPath);
        }
        await rm(`${this.#walPath}.old`, { force: true });
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
    try {
      await this.flush();
    } catch (e) {
      this.#warnOnce("flush", `index flush failed: ${e}`);
    }
    await this.#store.close?.();
  }
}
