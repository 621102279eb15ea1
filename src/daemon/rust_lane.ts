/**
 * The rustc lane of the engine (`RUSTC_WRAPPER=zccache cargo build`): one
 * crate per request, planned by `compiler/rustc.ts`, stored in the engine's
 * index and artifact store (so entries go through the same write-ahead
 * log, flush, eviction, clear and remote tier as C/C++ ones).
 *
 * - **Context key** (`cache/key.ts` `rustContextKey`): toolchain identity,
 *   cwd, every argument verbatim, keyed environment, terminal colouring,
 *   the content of every `--extern` file, of the native libraries `-l` can
 *   resolve to in the `-L` directories, of `-C link-arg` files and of the
 *   linker.
 * - **Entry** (artifact key = context + (path, hash) of the source and
 *   every dep-info input): outputs named `rust:<x|f>:<absolute path>`,
 *   stdout/stderr/exit code (errors are stored and replayed, as zccache),
 *   and the `env!` values (`envDeps`) the compile saw.
 * - **Hit**: inputs re-validated (stat, re-hash on change), `envDeps`
 *   equal in the request's environment, every blob verified before any
 *   output is written back (mode kept: binaries executable).
 * - **Miss**: rustc runs in place with the user's arguments (plus a
 *   private dep-info when none was asked for), so its outputs are a plain
 *   run's; identical concurrent misses run once.
 *
 * @module
 */
import { readFileSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { CompilerIdentityCache, FileHashCache } from "./hash.ts";
import type { ProcessRunner } from "./compiler/driver.ts";
import type { RunResult } from "./compiler/run.ts";
import type { ArtifactStore } from "./cache/artifact_store.ts";
import {
  type ArtifactEntry,
  type ArtifactIndex,
  newEntry,
  type StoredOutput,
} from "./cache/index.ts";
import { artifactKey, rustContextKey } from "./cache/key.ts";
import {
  envDepValues,
  findOnPath,
  FRESH_SLACK_MS,
  nativeLibraries,
  parseRustDepInfo,
  planRustc,
  rustcByName,
  RustcIdentities,
  rustKeyEnv,
  rustOutputs,
  type RustPlan,
  rustRunArgs,
} from "./compiler/rustc.ts";
import type { CompileOutcome, CompileRequest } from "./engine.ts";

/** What the lane uses of the engine. */
export interface RustLaneHost {
  index: ArtifactIndex;
  files: FileHashCache;
  compilers: CompilerIdentityCache;
  store: ArtifactStore;
  /** A remote tier is configured. */
  remote: boolean;
  /** Raw process runner (identity probes). */
  run: ProcessRunner;
  /** Run under the engine's parallelism limit. */
  runLimited(
    program: string,
    args: string[],
    req: CompileRequest,
    env: Record<string, string>,
  ): Promise<RunResult>;
  /** Inputs of `e` still hold for `req` (and the newest input mtime). */
  valid(e: ArtifactEntry, req: CompileRequest): { ok: boolean; newest: number };
  addEntry(e: ArtifactEntry): void;
  dropEntry(key: string): void;
  pullRemote(ctx: string): Promise<void>;
  privateDir(): string | null;
  /** Atomic write with `baseMode & ~umask`, mtime floored up to `floorMs`. */
  writeOutput(dest: string, bytes: Uint8Array, umask: number, floorMs: number, mode: number): void;
  log(line: string): void;
  now(): number;
  /** Engine-wide counters. */
  count(kind: "hit" | "miss" | "error" | "nonCacheable", savedMs?: number): void;
}

/** Rust counters (`zccache stats`, `status.json` `rust`). */
export interface RustStats {
  hits: number;
  misses: number;
  /** Failing compiles (stored and replayed later as hits when the dep-info listed their inputs). */
  errors: number;
  nonCacheable: number;
  timeSavedMs: number;
}

/** The rustc environment for a daemon-run rustc: the jobserver fds of cargo are not ours. */
function runEnv(env: Record<string, string>): Record<string, string> {
  if (env.CARGO_MAKEFLAGS === undefined) return env;
  const out = { ...env };
  delete out.CARGO_MAKEFLAGS;
  return out;
}

/** `stderr` without the notification of our private dep-info file. */
function dropPrivateNotice(stderr: Uint8Array, privatePath: string): Uint8Array {
  const text = new TextDecoder().decode(stderr);
  const line = `{"artifact":${JSON.stringify(privatePath)},"emit":"dep-info"}`;
  if (!text.includes(line)) return stderr;
  const kept = text.split("\n").filter((l) => l !== line).join("\n");
  return new TextEncoder().encode(kept);
}

/** The rustc lane (see module doc). */
export class RustLane {
  #h: RustLaneHost;
  #ids: RustcIdentities;
  #flight = new Map<string, Promise<void>>();
  #stats: RustStats = { hits: 0, misses: 0, errors: 0, nonCacheable: 0, timeSavedMs: 0 };

  /** A lane over the engine's services. */
  constructor(host: RustLaneHost) {
    this.#h = host;
    this.#ids = new RustcIdentities(host.run, host.compilers);
  }

  /** True when the tool's name says rustc (identity is confirmed per request). */
  handles(compiler: string): boolean {
    return rustcByName(compiler);
  }

  /** Counters since start or clear. */
  stats(): RustStats {
    return { ...this.#stats };
  }

  /** Zero the counters (`clear`). */
  reset(): void {
    this.#stats = { hits: 0, misses: 0, errors: 0, nonCacheable: 0, timeSavedMs: 0 };
  }

  /** Compile one crate through the cache. */
  async compile(
    req: CompileRequest,
    client: { umask: number; stderrTty: boolean },
  ): Promise<CompileOutcome> {
    const started = performance.now();
    const decision = planRustc(req.args, req.cwd);
    if (decision.kind === "passthrough") return await this.#passthrough(req, decision.reason);
    const plan = decision.plan;
    const identity = await this.#ids.identity(req.compiler, req.env, req.cwd);
    if (identity === null) return await this.#passthrough(req, "not rustc (no rustc -vV identity)");
    const externs: [string, string][] = [];
    for (const e of plan.externs) {
      if (e.path === null) {
        externs.push([e.name, "sysroot"]);
        continue;
      }
      const h = this.#h.files.hashOf(e.path);
      if (h === null) return await this.#passthrough(req, `--extern ${e.name} unreadable`);
      externs.push([e.name, h]);
    }
    const files: [string, string][] = [];
    const extra = [...nativeLibraries(plan), ...plan.linkArgFiles];
    if (plan.links) {
      const linker = findOnPath(plan.linker ?? "cc", req.env, req.cwd);
      if (linker !== null) extra.push(linker);
    }
    for (const p of extra) {
      const h = this.#h.files.hashOf(p);
      if (h === null) return await this.#passthrough(req, `${p} unreadable`);
      files.push([p, h]);
    }
    const color = client.stderrTty && !plan.colorFixed;
    const ctx = rustContextKey({
      identity,
      compiler: req.compiler,
      cwd: req.cwd,
      args: req.args,
      env: rustKeyEnv(req.env),
      color,
      externs,
      files,
    });
    if (this.#h.remote && !this.#h.index.contexts.has(ctx)) await this.#h.pullRemote(ctx);
    const hit = await this.#tryHit(ctx, req, plan, client.umask, started);
    if (hit !== null) return hit;
    for (let round = 0; round < 3; round++) {
      const pending = this.#flight.get(ctx);
      if (pending === undefined) break;
      await pending;
      const again = await this.#tryHit(ctx, req, plan, client.umask, started);
      if (again !== null) return again;
    }
    let done!: () => void;
    const flight = new Promise<void>((r) => (done = r));
    this.#flight.set(ctx, flight);
    try {
      return await this.#miss(req, plan, ctx, color);
    } finally {
      if (this.#flight.get(ctx) === flight) this.#flight.delete(ctx);
      done();
    }
  }

  #outcome(
    r: { exitCode: number; stdout: Uint8Array; stderr: Uint8Array },
    kind: CompileOutcome["kind"],
    source: string,
    extra: Partial<CompileOutcome> = {},
  ): CompileOutcome {
    return {
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      cached: kind === "hit",
      cacheable: kind !== "non_cacheable",
      timeSavedMs: 0,
      bytesRead: 0,
      bytesWritten: 0,
      sources: source === "" ? [] : [source],
      kind,
      unitHits: kind === "hit" ? 1 : 0,
      unitMisses: kind === "miss" ? 1 : 0,
      unitErrors: kind === "error" ? 1 : 0,
      reason: null,
      ...extra,
    };
  }

  async #passthrough(req: CompileRequest, reason: string): Promise<CompileOutcome> {
    this.#stats.nonCacheable++;
    this.#h.count("nonCacheable");
    const r = await this.#h.runLimited(req.compiler, req.args, req, runEnv(req.env));
    return this.#outcome(r, "non_cacheable", "", { reason });
  }

  async #tryHit(
    ctx: string,
    req: CompileRequest,
    plan: RustPlan,
    umask: number,
    started: number,
  ): Promise<CompileOutcome | null> {
    const keys = this.#h.index.contexts.get(ctx);
    if (!keys) return null;
    for (const key of [...keys]) {
      const e = this.#h.index.artifacts.get(key);
      if (!e) continue;
      const deps = e.envDeps ?? [];
      if (deps.some(([n, v]) => (Object.hasOwn(req.env, n) ? req.env[n] : null) !== v)) continue;
      const { ok, newest } = this.#h.valid(e, req);
      if (!ok) continue;
      const writes: [string, Uint8Array, number][] = [];
      let intact = true;
      for (const o of e.outputs) {
        const m = /^rust:([xf]):(\/.*)$/s.exec(o.name);
        // Only into the directories this command writes to.
        if (m === null || !plan.outputDirs.has(dirname(m[2])) || m[2].includes("\0")) {
          intact = false;
          break;
        }
        const bytes = await this.#h.store.get(o.blob);
        if (bytes === null) {
          this.#h.log(`rust artifact ${key.slice(0, 16)}: blob ${o.blob.slice(0, 16)} corrupt`);
          await this.#h.store.remove(o.blob);
          this.#h.dropEntry(key);
          intact = false;
          break;
        }
        writes.push([m[2], bytes, m[1] === "x" ? 0o777 : 0o666]);
      }
      if (!intact) continue;
      let read = 0;
      try {
        for (const [dest, bytes, mode] of writes) {
          this.#h.writeOutput(dest, bytes, umask, newest, mode);
          read += bytes.length;
        }
      } catch (err) {
        this.#h.log(`rust hit for ${plan.source} could not be written: ${err}; compiling`);
        return null;
      }
      this.#h.index.touch(e, this.#h.now());
      const saved = Math.max(0, e.compileMs - (performance.now() - started));
      this.#stats.hits++;
      this.#stats.timeSavedMs += saved;
      this.#h.count("hit", saved);
      return this.#outcome(e, "hit", plan.source, {
        timeSavedMs: saved,
        bytesRead: read,
        sourceKey: key,
      });
    }
    return null;
  }

  async #miss(
    req: CompileRequest,
    plan: RustPlan,
    ctx: string,
    color: boolean,
  ): Promise<CompileOutcome> {
    const dir = this.#h.privateDir();
    if (dir === null) return await this.#passthrough(req, "cache directory unusable");
    const privateDep = join(dir, "zccache-rustc.d");
    try {
      const startMs = Date.now();
      const r0 = await this.#h.runLimited(
        req.compiler,
        rustRunArgs(req.args, plan, privateDep, color),
        req,
        runEnv(req.env),
      );
      const r: RunResult = plan.userDepInfo === null
        ? { ...r0, stderr: dropPrivateNotice(r0.stderr, privateDep) }
        : r0;
      const failed = r.exitCode !== 0;
      // A failure is stored only when rustc itself reported it (exit 1) before
      // any linker ran: a linker's failure depends on the system's libraries.
      if (failed && (r.exitCode !== 1 || plan.links)) {
        this.#stats.errors++;
        this.#h.count("error");
        return this.#outcome(r, "error", plan.source);
      }
      const uncached = (reason: string): CompileOutcome => {
        this.#h.log(`${plan.source}: ${reason}; not cached`);
        if (failed) {
          this.#stats.errors++;
          this.#h.count("error");
          return this.#outcome(r, "error", plan.source);
        }
        this.#stats.nonCacheable++;
        this.#h.count("nonCacheable");
        return this.#outcome(r, "non_cacheable", plan.source, { reason });
      };
      if (plan.userDepInfo === null && new TextDecoder().decode(r.stderr).includes(dir)) {
        return uncached("rustc reported on the private dep-info");
      }
      let text: string;
      try {
        text = await readFile(plan.userDepInfo ?? privateDep, "utf8");
      } catch {
        return uncached("no dep-info");
      }
      if (plan.userDepInfo !== null) {
        const st = statSync(plan.userDepInfo, { throwIfNoEntry: false });
        if (!st || st.mtimeMs < startMs - FRESH_SLACK_MS) return uncached("stale dep-info");
      }
      const info = parseRustDepInfo(text);
      const at = (p: string): string => (isAbsolute(p) ? p : resolve(req.cwd, p));
      const outs = rustOutputs(info, plan, req.cwd, privateDep, startMs);
      if (!failed && outs.missing.length > 0) {
        return uncached(`output ${outs.missing[0]} not written`);
      }
      for (const f of outs.files) {
        if (!plan.outputDirs.has(dirname(f.path))) {
          return uncached(`output ${f.path} outside the output directories`);
        }
      }
      const outputSet = new Set(outs.files.map((f) => f.path));
      const names = [
        plan.sourceName,
        ...info.deps.filter((d) => at(d) !== plan.source && !outputSet.has(at(d))),
      ];
      const inputs: [string, string][] = [];
      for (const p of new Set(names)) {
        const a = at(p);
        const hash = this.#h.files.hashOf(a);
        if (hash === null) return uncached(`input ${p} unreadable`);
        const st = statSync(a, { throwIfNoEntry: false });
        if (!st || st.mtimeMs >= startMs + 1 || st.ctimeMs >= startMs + 1) {
          return uncached(`input ${p} changed during the compile`);
        }
        inputs.push([p, hash]);
      }
      inputs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const outputs: StoredOutput[] = [];
      try {
        for (const f of outs.files) {
          const bytes = readFileSync(f.path);
          outputs.push({
            name: `rust:${f.executable ? "x" : "f"}:${f.path}`,
            blob: await this.#h.store.put(bytes),
            size: bytes.length,
          });
        }
      } catch (e) {
        return uncached(`outputs not stored (${(e as Error).message})`);
      }
      // Entries differing only in an `env!` value must not replace each other.
      const envDeps = envDepValues(info.envDeps, req.env);
      const key = artifactKey(ctx, [
        ...inputs,
        ...envDeps.map(([n, v]): [string, string] => [`\0env:${n}`, v ?? "\0unset"]),
      ]);
      const entry = newEntry({
        key,
        context: ctx,
        inputs,
        outputs,
        stdout: r.stdout,
        stderr: r.stderr,
        exitCode: r.exitCode,
        compileMs: r.durationMs,
        envDeps,
      }, this.#h.now());
      this.#h.addEntry(entry);
      const size = entry.size;
      if (failed) {
        this.#stats.errors++;
        this.#h.count("error");
        return this.#outcome(r, "error", plan.source, { bytesWritten: size, sourceKey: key });
      }
      this.#stats.misses++;
      this.#h.count("miss");
      return this.#outcome(r, "miss", plan.source, { bytesWritten: size, sourceKey: key });
    } finally {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  }
}

/** Output file names of a rust entry (for `ListRustArtifacts`), or null when it is not one. */
export function rustOutputNames(e: ArtifactEntry): string[] | null {
  if (!e.outputs.some((o) => o.name.startsWith("rust:"))) return null;
  return e.outputs.map((o) => basename(o.name.replace(/^rust:[xf]:/, "")));
}
