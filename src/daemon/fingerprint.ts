/**
 * Fingerprints: "did these inputs change since the last success?"
 * (`FingerprintCheck` / `FingerprintMarkSuccess` / `FingerprintMarkFailure` /
 * `FingerprintInvalidate`).
 *
 * The state lives in the caller's cache file, so a daemon restart keeps the
 * answer (zccache 1.12.2's daemon keeps it in memory only and answers
 * `run (no cache file)` after a restart; its `zccache-fingerprint` library is
 * the persisted form this module follows):
 *
 * - `check` scans `root`, compares with the last recorded state in
 *   `cache_file`, and writes what it saw to the pending file beside it
 *   (`cache_file` with its extension replaced by `pending`, as Rust's
 *   `Path::with_extension("pending")`).
 * - `mark-success` / `mark-failure` promote the pending state into
 *   `cache_file` with that status; without a pending state they only set the
 *   status of the recorded one (as the daemon's in-memory watch does).
 * - `invalidate` deletes the cache, pending and temporary files.
 *
 * Two cache types: `two-layer` records `(mtime_ns, size, hash)` per file and
 * re-hashes only files whose mtime or size moved (a touch with the same
 * content is not a change); `hash` records one aggregate hash over every
 * file's relative path and content (every check reads every file). Any
 * other type is treated as `two-layer`, as zccache's daemon does.
 *
 * File selection (zccache-fingerprint `scan.rs`): without include globs,
 * files whose extension (case-insensitive, no dot) is one of `extensions`
 * (all files when empty), skipping directories *named* in `exclude`; with
 * include globs, files whose root-relative path (`/`-separated) matches an
 * include glob and no exclude glob, where an exclude glob also excludes
 * everything under a matching directory. Globs are globset's defaults: `*`
 * and `?` cross `/`, `**` any depth, `[...]`/`[!...]` classes, `{a,b}`.
 * Symbolic links are not followed; hidden files are included.
 *
 * Results: `run` with reason `no cache file`, `previous failure`,
 * `content changed` (with the changed, added and removed relative paths for
 * `two-layer`), or `scan error: ...`; `skip` with no reason.
 *
 * Source: zccache@1cc82c3:crates/zccache-fingerprint/src/{scan,two_layer,hash_cache,persist,decision}.rs,
 * crates/zccache-daemon-core/src/daemon/fingerprint.rs.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { sha256Hex } from "./hash.ts";

/** One `FingerprintCheck` as the manager receives it. */
export interface FingerprintQuery {
  cacheFile: string;
  cacheType: string;
  root: string;
  extensions: readonly string[];
  includeGlobs: readonly string[];
  exclude: readonly string[];
}

/** The answer of one check (`FingerprintCheckResult`). */
export interface FingerprintDecision {
  decision: "run" | "skip";
  reason: string | null;
  changedFiles: string[];
}

/** One file of a scan: its path and its root-relative `/`-separated name. */
export interface ScannedFile {
  absolute: string;
  relative: string;
}

interface FileEntry {
  /** Nanoseconds since the epoch, as a decimal string (u64 does not fit a JSON number). */
  mtime_ns: string;
  size: number;
  hash: string;
}

/** The persisted state of a cache file (field names as zccache-fingerprint's JSON). */
interface FpData {
  version: 1;
  cache_type: "two-layer" | "hash";
  status: "pending" | "success" | "failure";
  timestamp_ns: string;
  root: string;
  /** two-layer: per-file state. */
  files?: Record<string, FileEntry>;
  /** hash: the aggregate hash and the file count. */
  hash?: string;
  file_count?: number;
}

/** Rust `Path::with_extension(ext)`: replace the last extension of the file name, or add one. */
export function withExtension(path: string, ext: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return join(dirname(path), `${stem}.${ext}`);
}

/**
 * A globset-style glob (default options: `*` and `?` also match `/`) as an
 * anchored regular expression.
 */
export function globToRegExp(glob: string): RegExp {
  const g = glob.replace(/\\/g, "/");
  let re = "";
  let i = 0;
  let depth = 0;
  while (i < g.length) {
    const c = g[i];
    if (c === "*") {
      if (g[i + 1] === "*") {
        const atStart = i === 0 || g[i - 1] === "/";
        i += 2;
        if (atStart && g[i] === "/") {
          re += "(?:.*/)?";
          i++;
        } else re += ".*";
        continue;
      }
      re += ".*";
    } else if (c === "?") re += ".";
    else if (c === "[") {
      const end = g.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = g.slice(i + 1, end);
        let neg = false;
        if (body.startsWith("!") || body.startsWith("^")) {
          neg = true;
          body = body.slice(1);
        }
        re += `[${neg ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end + 1;
        continue;
      }
    } else if (c === "{") {
      depth++;
      re += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (c === "," && depth > 0) re += "|";
    else re += c.replace(/[.+^$()|\\\]{}]/g, "\\$&");
    i++;
  }
  if (depth > 0) throw new Error(`invalid glob pattern ${JSON.stringify(glob)}: unclosed {`);
  return new RegExp(`^${re}$`, "s");
}

function compileGlobs(patterns: readonly string[]): RegExp[] {
  return patterns.map(globToRegExp);
}

function anyMatch(set: RegExp[], s: string): boolean {
  return set.some((r) => r.test(s));
}

function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1) : null;
}

/**
 * The files of a fingerprint, sorted by relative path (zccache `walk_files`
 * without include globs, `walk_files_glob` with them). Throws when the root
 * cannot be resolved or a glob is invalid.
 */
export function scanFiles(
  root: string,
  extensions: readonly string[],
  includeGlobs: readonly string[],
  exclude: readonly string[],
): ScannedFile[] {
  let canonRoot: string;
  try {
    canonRoot = realpathSync(root);
  } catch (e) {
    throw new Error(`cannot canonicalize root ${root}: ${(e as Error).message}`);
  }
  if (!statSync(canonRoot).isDirectory()) throw new Error(`root ${root} is not a directory`);
  const out: ScannedFile[] = [];
  const useGlobs = includeGlobs.length > 0;
  const exts = extensions.map((e) => e.replace(/^\./, "").toLowerCase());
  const include = useGlobs ? compileGlobs(includeGlobs) : [];
  const excludeGlobs = useGlobs ? compileGlobs(exclude) : [];
  const dirExclude = useGlobs
    ? compileGlobs(exclude.filter((p) => p.endsWith("/**")).map((p) => p.slice(0, -3)))
    : [];
  const dirNames = new Set(useGlobs ? [] : exclude);
  const walk = (dir: string, rel: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (!useGlobs && dirNames.has(e.name)) continue;
        if (useGlobs && (anyMatch(dirExclude, r) || anyMatch(excludeGlobs, r))) continue;
        walk(abs, r);
      } else if (e.isFile()) {
        if (useGlobs) {
          if (anyMatch(excludeGlobs, r) || !anyMatch(include, r)) continue;
        } else if (exts.length > 0) {
          const x = extensionOf(e.name);
          if (x === null || !exts.includes(x.toLowerCase())) continue;
        }
        out.push({ absolute: abs, relative: r });
      }
    }
  };
  walk(canonRoot, "");
  out.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  return out;
}

function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

async function readState(path: string): Promise<FpData | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  try {
    const d = JSON.parse(text) as FpData;
    if (d === null || typeof d !== "object" || d.version !== 1) return null;
    if (d.status !== "pending" && d.status !== "success" && d.status !== "failure") return null;
    if (d.cache_type === "two-layer") {
      if (d.files === null || typeof d.files !== "object") return null;
      for (const f of Object.values(d.files)) {
        if (
          typeof f !== "object" || f === null || typeof f.mtime_ns !== "string" ||
          typeof f.size !== "number" || typeof f.hash !== "string"
        ) return null;
      }
    } else if (d.cache_type === "hash") {
      if (typeof d.hash !== "string" || typeof d.file_count !== "number") return null;
    } else return null;
    return d;
  } catch {
    // A corrupt cache file is treated as absent (zccache-fingerprint `read_json`).
    return null;
  }
}

async function writeState(path: string, data: FpData): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(data));
  await rename(tmp, path);
}

async function hashFile(path: string): Promise<string | null> {
  try {
    return sha256Hex(await readFile(path));
  } catch {
    return null;
  }
}

function statEntry(path: string): { mtimeNs: string; size: number } | null {
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) return null;
  return { mtimeNs: st.mtimeNs.toString(), size: Number(st.size) };
}

/** zccache-fingerprint `compute_aggregate_hash`, over SHA-256. */
async function aggregateHash(files: readonly ScannedFile[]): Promise<string | null> {
  const h = createHash("sha256");
  h.update("zccache-fingerprint-v1");
  for (const f of files) {
    let content: Uint8Array;
    try {
      content = await readFile(f.absolute);
    } catch {
      return null;
    }
    h.update(f.relative);
    h.update("\0");
    h.update(content);
  }
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(files.length), true);
  h.update("\0file_count:");
  h.update(n);
  return h.digest("hex");
}

/**
 * The daemon's fingerprint manager: state in the cache files, one
 * operation at a time per cache file.
 */
export class FingerprintManager {
  #locks = new Map<string, Promise<void>>();

  /** Canonical form of a cache file path that may not exist yet. */
  static canonicalCacheFile(path: string): string {
    const abs = resolve(path);
    try {
      return realpathSync(abs);
    } catch {
      try {
        return join(realpathSync(dirname(abs)), basename(abs));
      } catch {
        return abs;
      }
    }
  }

  async #locked<T>(cacheFile: string, fn: (path: string) => Promise<T>): Promise<T> {
    const path = FingerprintManager.canonicalCacheFile(cacheFile);
    const prev = this.#locks.get(path) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = prev.then(() => mine);
    this.#locks.set(path, chain);
    await prev;
    try {
      return await fn(path);
    } finally {
      release();
      if (this.#locks.get(path) === chain) this.#locks.delete(path);
    }
  }

  /** `FingerprintCheck`: compare the inputs with the last recorded state. */
  check(q: FingerprintQuery): Promise<FingerprintDecision> {
    return this.#locked(q.cacheFile, async (cacheFile) => {
      const run = (reason: string, changedFiles: string[] = []): FingerprintDecision => ({
        decision: "run",
        reason,
        changedFiles,
      });
      let files: ScannedFile[];
      try {
        files = scanFiles(q.root, q.extensions, q.includeGlobs, q.exclude);
      } catch (e) {
        return run(`scan error: ${(e as Error).message}`);
      }
      const root = realpathSync(q.root);
      const cacheType = q.cacheType === "hash" ? "hash" : "two-layer";
      const cached = await readState(cacheFile);
      const prior = cached !== null && cached.cache_type === cacheType && cached.root === root &&
          cached.status !== "pending"
        ? cached
        : null;
      let pending: FpData;
      let changed: string[] | null;
      if (cacheType === "hash") {
        const hash = await aggregateHash(files);
        if (hash === null) return run("scan error: an input file could not be read");
        pending = {
          version: 1,
          cache_type: "hash",
          status: "pending",
          timestamp_ns: nowNs(),
          root,
          hash,
          file_count: files.length,
        };
        changed = prior !== null && prior.hash === hash ? [] : null;
      } else {
        const entries: Record<string, FileEntry> = {};
        const diff: string[] = [];
        const before = prior?.files ?? {};
        for (const f of files) {
          const st = statEntry(f.absolute);
          if (st === null) return run(`scan error: ${f.relative} could not be read`);
          const old = Object.hasOwn(before, f.relative) ? before[f.relative] : undefined;
          if (old !== undefined && old.mtime_ns === st.mtimeNs && old.size === st.size) {
            entries[f.relative] = old;
            continue;
          }
          const hash = await hashFile(f.absolute);
          if (hash === null) return run(`scan error: ${f.relative} could not be read`);
          entries[f.relative] = { mtime_ns: st.mtimeNs, size: st.size, hash };
          if (old === undefined || old.hash !== hash) diff.push(f.relative);
        }
        for (const rel of Object.keys(before)) {
          if (!Object.hasOwn(entries, rel)) diff.push(rel);
        }
        pending = {
          version: 1,
          cache_type: "two-layer",
          status: "pending",
          timestamp_ns: nowNs(),
          root,
          files: entries,
        };
        changed = prior === null ? null : diff.sort();
      }
      try {
        await writeState(withExtension(cacheFile, "pending"), pending);
      } catch (e) {
        return run(`cannot write ${withExtension(cacheFile, "pending")}: ${(e as Error).message}`);
      }
      if (prior === null) return run("no cache file");
      if (prior.status === "failure") return run("previous failure");
      if (changed === null) return run("content changed");
      if (changed.length > 0) return run("content changed", changed);
      return { decision: "skip", reason: null, changedFiles: [] };
    });
  }

  /** `FingerprintMarkSuccess` / `FingerprintMarkFailure`: record the last check's state. */
  mark(cacheFile: string, status: "success" | "failure"): Promise<void> {
    return this.#locked(cacheFile, async (path) => {
      const pendingPath = withExtension(path, "pending");
      const pending = await readState(pendingPath);
      const data = pending ?? await readState(path);
      if (data === null) return;
      await writeState(path, { ...data, status, timestamp_ns: nowNs() });
      if (pending !== null) await rm(pendingPath, { force: true });
    });
  }

  /** `FingerprintInvalidate`: forget everything about the cache file. */
  invalidate(cacheFile: string): Promise<void> {
    return this.#locked(cacheFile, async (path) => {
      for (const p of [path, withExtension(path, "pending"), `${path}.tmp`]) {
        await rm(p, { force: true });
      }
    });
  }
}
