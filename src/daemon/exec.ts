/**
 * Generic tool exec (`GenericToolExec`, `zccache exec`): cache an arbitrary
 * tool by what the caller *declares* it reads and writes.
 *
 * - Key (`cache/key.ts` {@link execKey}): the tool's content hash (or the
 *   caller's `tool_hash`), the arguments minus every `key_args_filter` regex
 *   match, the declared env (sorted), the cwd when `cwd_in_key`, the
 *   (absolute path, content hash) of every declared input, the headers found
 *   by scanning `include_scan_files` (quoted includes next to the including
 *   file, then `iquote`, `-I` and system dirs; angle includes in `-I` and
 *   system dirs), the declared output names and `input_extra`. With a
 *   `depfile`, the dependencies the tool listed on its last run are a second
 *   stage ({@link execFullKey}), recorded in a side entry.
 * - The tool runs in `cwd` with *only* the declared environment (zccache's
 *   `env_clear()`); exit codes are part of the cached result, as zccache's.
 * - A hit writes every declared output back byte-identical with the mode it
 *   had (atomic temp file + rename) and answers the stored stdout/stderr
 *   (each only when `output_streams` asks for it).
 * - Identical concurrent requests run the tool once: the others wait for it
 *   and are then served from the cache.
 * - `Bypass` (or `non_deterministic`) neither looks up nor stores;
 *   `ReadOnly` looks up only.
 *
 * Results are stored through the engine's direct artifact API
 * (`lookup`/`store`: the same content-addressed store, index and WAL as
 * compiles and links) under `exec:<key>`; output names carry the mode
 * (`<octal mode>:<declared name>`).
 *
 * Source: zccache@1cc82c3:crates/zccache-daemon-core/src/daemon/server/handle_exec.rs,
 * `handle_exec_key.rs`.
 *
 * @module
 */
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { ArtifactData, ArtifactOutput, ExecCachePolicy } from "../core/messages.ts";
import { execFullKey, execKey } from "./cache/key.ts";
import { parseDepfile } from "./compiler/depfile.ts";
import { scanText } from "./compiler/includes.ts";
import { runProcess } from "./compiler/run.ts";
import { FileHashCache } from "./hash.ts";

/** One `GenericToolExec` as the runner receives it. */
export interface ExecRequest {
  tool: string;
  args: string[];
  cwd: string;
  env: [string, string][];
  inputFiles: string[];
  inputExtra: Uint8Array;
  outputStreams: { stdout: boolean; stderr: boolean };
  outputFiles: string[];
  toolHash: Uint8Array | null;
  cachePolicy: ExecCachePolicy;
  cwdInKey: boolean;
  includeScanFiles: string[];
  includeDirs: string[];
  systemIncludeDirs: string[];
  iquoteDirs: string[];
  depfile: string | null;
  nonDeterministic: boolean;
  keyArgsFilter: string[];
  signal?: AbortSignal;
}

/** The result (`GenericToolExecResult`), or an error message for a request that cannot run. */
export type ExecOutcome =
  | {
    ok: true;
    exitCode: number;
    stdout: Uint8Array;
    stderr: Uint8Array;
    outputFiles: ArtifactOutput[];
    cached: boolean;
    cacheKeyHex: string;
  }
  | { ok: false; message: string };

/** The part of the compile engine exec stores through (its direct artifact API). */
export interface ExecStore {
  lookup(key: string): Promise<ArtifactData | null>;
  store(key: string, artifact: ArtifactData): Promise<"Stored" | "AlreadyExists">;
}

const EMPTY = new Uint8Array();
const encoder = new TextEncoder();

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Write `bytes` to `dest` with exactly `mode`, atomically (temp file + rename). */
function writeExact(dest: string, bytes: Uint8Array, mode: number): void {
  const tmp = join(dirname(dest), `.${basename(dest)}.zccache-tmp-${crypto.randomUUID()}`);
  let fd = -1;
  try {
    fd = openSync(
      tmp,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL |
        (fsConstants.O_NOFOLLOW ?? 0),
      0o600,
    );
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    closeSync(fd);
    fd = -1;
    chmodSync(tmp, mode);
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
 * The generic tool runner: key derivation, coalescing, run, capture,
 * restore. One per daemon (it keeps a file hash cache and the in-flight map).
 */
export class ExecRunner {
  #files = new FileHashCache();
  #inflight = new Map<string, Promise<void>>();
  #store: ExecStore;

  constructor(store: ExecStore) {
    this.#store = store;
  }

  #hash(path: string): string | null {
    return this.#files.hashOf(path);
  }

  /** Headers reached from the scan seeds (transitively), with their hashes. */
  #scanIncludes(req: ExecRequest, at: (p: string) => string): [string, string][] | string {
    const iquote = req.iquoteDirs.map(at);
    const user = req.includeDirs.map(at);
    const system = req.systemIncludeDirs.map(at);
    const seen = new Map<string, string>();
    const queue = req.includeScanFiles.map(at);
    for (const seed of queue) {
      const h = this.#hash(seed);
      if (h === null) return `cannot hash include-scan file ${seed}`;
      seen.set(seed, h);
    }
    while (queue.length > 0) {
      const file = queue.shift()!;
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch {
        continue;
      }
      for (const inc of scanText(bytes).includes) {
        const dirs = inc.angle
          ? [...user, ...system]
          : [dirname(file), ...iquote, ...user, ...system];
        const found = isAbsolute(inc.name)
          ? (existsSync(inc.name) ? inc.name : undefined)
          : dirs.map((d) => join(d, inc.name)).find((p) =>
            statSync(p, { throwIfNoEntry: false })?.isFile()
          );
        if (found === undefined || seen.has(found)) continue;
        const h = this.#hash(found);
        if (h === null) continue;
        seen.set(found, h);
        queue.push(found);
      }
    }
    return [...seen].sort((a, b) => cmp(a[0], b[0]));
  }

  /** Run one `GenericToolExec`. */
  async exec(req: ExecRequest): Promise<ExecOutcome> {
    let keyArgs = req.args;
    if (req.keyArgsFilter.length > 0) {
      let res: RegExp[];
      try {
        res = req.keyArgsFilter.map((p) => new RegExp(p, "u"));
      } catch (e) {
        return { ok: false, message: `invalid key-args-filter regex: ${(e as Error).message}` };
      }
      keyArgs = req.args.filter((a) => !res.some((r) => r.test(a)));
    }
    const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
    let toolHash: string;
    if (req.toolHash !== null) {
      toolHash = Array.from(req.toolHash, (b) => b.toString(16).padStart(2, "0")).join("");
    } else {
      const h = this.#hash(at(req.tool));
      if (h === null) return { ok: false, message: `cannot hash tool ${req.tool}` };
      toolHash = h;
    }
    const inputs: [string, string][] = [];
    for (const p of req.inputFiles) {
      const h = this.#hash(at(p));
      if (h === null) return { ok: false, message: `cannot hash input file ${at(p)}` };
      inputs.push([at(p), h]);
    }
    const scanned = this.#scanIncludes(req, at);
    if (typeof scanned === "string") return { ok: false, message: scanned };
    const primary = execKey({
      toolHash,
      args: keyArgs,
      env: req.env,
      cwd: req.cwdInKey ? resolve(req.cwd) : null,
      inputs,
      scanned,
      outputs: req.outputFiles,
      extra: req.inputExtra,
    });
    const bypass = req.nonDeterministic || req.cachePolicy === "Bypass";
    const canStore = !bypass && req.cachePolicy === "Normal";

    // Second stage: the dependencies the tool's depfile listed last time.
    let recordedDeps: string[] | null = null;
    if (req.depfile !== null && !bypass) {
      const side = await this.#store.lookup(`exec-deps:${primary}`);
      const bytes = side?.outputs[0]?.payload;
      if (bytes?.kind === "Bytes") {
        try {
          recordedDeps = JSON.parse(new TextDecoder().decode(bytes.value)) as string[];
        } catch {
          recordedDeps = null;
        }
      }
    }
    const fullKey = (): string | null => {
      if (recordedDeps === null) return primary;
      const pairs: [string, string][] = [];
      for (const d of recordedDeps) {
        const h = this.#hash(d);
        if (h === null) return null; // a dependency vanished: miss
        pairs.push([d, h]);
      }
      return execFullKey(primary, pairs);
    };
    const key = req.depfile !== null && recordedDeps === null ? null : fullKey();

    if (!bypass && key !== null) {
      const hit = await this.#hit(req, key, at);
      if (hit !== null) return hit;
      for (let round = 0; round < 3; round++) {
        const pending = this.#inflight.get(key);
        if (pending === undefined) break;
        await pending;
        const again = await this.#hit(req, key, at);
        if (again !== null) return again;
      }
    }
    const flightKey = key ?? primary;
    let done!: () => void;
    const flight = new Promise<void>((r) => (done = r));
    if (!bypass) this.#inflight.set(flightKey, flight);
    try {
      const env: Record<string, string> = {};
      for (const [k, v] of req.env) env[k] = v;
      let r;
      try {
        r = await runProcess(at(req.tool), req.args, {
          cwd: req.cwd,
          env,
          stdin: EMPTY,
          signal: req.signal,
        });
      } catch (e) {
        if (req.signal?.aborted) throw e;
        return { ok: false, message: `failed to run ${req.tool}: ${(e as Error).message}` };
      }
      const captured: ArtifactOutput[] = [];
      const stored: ArtifactOutput[] = [];
      let all = true;
      for (const declared of req.outputFiles) {
        try {
          const abs = at(declared);
          const st = statSync(abs);
          if (!st.isFile()) throw new Error("not a regular file");
          const value = new Uint8Array(readFileSync(abs));
          captured.push({ name: declared, payload: { kind: "Bytes", value } });
          const mode = (st.mode & 0o7777).toString(8);
          stored.push({ name: `${mode}:${declared}`, payload: { kind: "Bytes", value } });
        } catch {
          all = false;
        }
      }
      // The dependencies the tool listed now (outside the declared inputs).
      let storeKey: string | null = key ?? primary;
      if (req.depfile !== null) {
        storeKey = null;
        if (r.exitCode === 0) {
          try {
            const listed = parseDepfile(readFileSync(at(req.depfile), "latin1"));
            const declared = new Set(inputs.map(([p]) => p));
            const deps = [...new Set(listed.map(at))].filter((d) => !declared.has(d)).sort(cmp);
            if (recordedDeps === null && canStore) {
              await this.#store.store(`exec-deps:${primary}`, {
                outputs: [{
                  name: "deps.json",
                  payload: { kind: "Bytes", value: encoder.encode(JSON.stringify(deps)) },
                }],
                stdout: EMPTY,
                stderr: EMPTY,
                exitCode: 0,
              });
              recordedDeps = deps;
            }
            // Cached only under the recorded dependency list (a changed list: not stored).
            if (recordedDeps !== null && recordedDeps.join("\0") === deps.join("\0")) {
              storeKey = fullKey();
            }
          } catch {
            storeKey = null;
          }
        }
      }
      if (canStore && all && storeKey !== null) {
        await this.#store.store(`exec:${storeKey}`, {
          outputs: stored,
          stdout: r.stdout,
          stderr: r.stderr,
          exitCode: r.exitCode,
        });
      }
      return {
        ok: true,
        exitCode: r.exitCode,
        stdout: req.outputStreams.stdout ? r.stdout : EMPTY,
        stderr: req.outputStreams.stderr ? r.stderr : EMPTY,
        outputFiles: captured,
        cached: false,
        cacheKeyHex: storeKey ?? key ?? primary,
      };
    } finally {
      if (this.#inflight.get(flightKey) === flight) this.#inflight.delete(flightKey);
      done();
    }
  }

  /** Serve from the cache: every declared output present, then written back with its mode. */
  async #hit(
    req: ExecRequest,
    key: string,
    at: (p: string) => string,
  ): Promise<ExecOutcome | null> {
    const a = await this.#store.lookup(`exec:${key}`);
    if (a === null) return null;
    const byName = new Map<string, [number, Uint8Array]>();
    for (const o of a.outputs) {
      const m = /^([0-7]+):(.*)$/s.exec(o.name);
      if (m === null || o.payload.kind !== "Bytes") return null;
      byName.set(m[2], [parseInt(m[1], 8), o.payload.value]);
    }
    const writes: [string, number, Uint8Array][] = [];
    for (const declared of req.outputFiles) {
      const got = byName.get(declared);
      if (got === undefined) return null;
      writes.push([at(declared), got[0], got[1]]);
    }
    try {
      for (const [dest, mode, bytes] of writes) writeExact(dest, bytes, mode);
    } catch {
      return null;
    }
    return {
      ok: true,
      exitCode: a.exitCode,
      stdout: req.outputStreams.stdout ? a.stdout : EMPTY,
      stderr: req.outputStreams.stderr ? a.stderr : EMPTY,
      outputFiles: writes.map(([dest, , value]) => ({
        name: dest,
        payload: { kind: "Bytes", value },
      })),
      cached: true,
      cacheKeyHex: key,
    };
  }
}
