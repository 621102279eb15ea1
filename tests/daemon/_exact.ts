/**
 * "Observable result" harness: exit code, stdout, stderr and every file a
 * compile creates or changes (bytes and mode), for a plain compiler run and
 * for the same command through the cache engine, in the same directory with
 * the same environment.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CompileEngine,
  type CompileEngineOptions,
  type CompileOutcome,
  type CompileRequest,
} from "../../src/daemon/engine.ts";
import { baseEnv } from "./_engine_fixture.ts";

export { CLANG, GCC } from "./_engine_fixture.ts";

/** path -> (mode, bytes hex-ish digest) of every file below `dir`. */
export type Snapshot = Map<string, { mode: number; bytes: Uint8Array; kind: string }>;

/** Snapshot every entry under `dir` (relative paths). */
export function snapshot(dir: string, rel = ""): Snapshot {
  const out: Snapshot = new Map();
  for (const name of readdirSync(join(dir, rel))) {
    const r = rel === "" ? name : `${rel}/${name}`;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) {
      out.set(r, { mode: st.mode & 0o7777, bytes: new Uint8Array(), kind: "dir" });
      for (const [k, v] of snapshot(dir, r)) out.set(k, v);
    } else if (st.isFile()) {
      out.set(r, { mode: st.mode & 0o7777, bytes: readFileSync(join(dir, r)), kind: "file" });
    } else {
      out.set(r, { mode: st.mode & 0o7777, bytes: new Uint8Array(), kind: "other" });
    }
  }
  return out;
}

/** Put `dir` back to `snap` (remove what is new, rewrite what changed). */
export function restore(dir: string, snap: Snapshot): void {
  const now = snapshot(dir);
  for (const k of [...now.keys()].sort().reverse()) {
    if (!snap.has(k)) rmSync(join(dir, k), { recursive: true, force: true });
  }
  for (const [k, v] of snap) {
    if (v.kind !== "file") continue;
    const cur = now.get(k);
    if (!cur || cur.kind !== "file" || !Buffer.from(cur.bytes).equals(Buffer.from(v.bytes))) {
      mkdirSync(dirname(join(dir, k)), { recursive: true });
      rmSync(join(dir, k), { force: true });
      writeFileSync(join(dir, k), v.bytes, { mode: v.mode });
    }
  }
}

/** Assert two snapshots are equal (names, kinds, modes, bytes). */
export function assertSameFiles(got: Snapshot, want: Snapshot, label: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${label}: file set`);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.equal(g.kind, w.kind, `${label}: kind of ${k}`);
    if (w.kind === "file") {
      assert.equal(g.mode.toString(8), w.mode.toString(8), `${label}: mode of ${k}`);
      assert.ok(
        Buffer.from(g.bytes).equals(Buffer.from(w.bytes)),
        `${label}: bytes of ${k} differ\n--- got\n${
          new TextDecoder().decode(g.bytes).slice(0, 400)
        }\n--- want\n${new TextDecoder().decode(w.bytes).slice(0, 400)}`,
      );
    }
  }
}

/** A project directory plus an engine on a cache outside it. */
export interface ExactProject {
  dir: string;
  engine: CompileEngine;
  write(name: string, text: string | Uint8Array): void;
  env: Record<string, string>;
  /** A plain run: result and snapshot. */
  plain(compiler: string, args: string[], env?: Record<string, string>): PlainResult;
  /** A run through the engine: outcome and snapshot. */
  cached(
    compiler: string,
    args: string[],
    extra?: Partial<CompileRequest>,
  ): Promise<{ r: CompileOutcome; files: Snapshot }>;
  done(): Promise<void>;
}

/** What a plain run left behind. */
export interface PlainResult {
  status: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: Snapshot;
}

/** Make a project (cache dir beside it, not inside). */
export function exactProject(opts: Partial<CompileEngineOptions> = {}): ExactProject {
  const root = mkdtempSync(join(tmpdir(), "zccache-exact-"));
  const dir = join(root, "p");
  mkdirSync(dir);
  const cacheDir = join(root, "cache");
  const env = baseEnv();
  const p: ExactProject = {
    dir,
    env,
    engine: new CompileEngine({ cacheDir, flushIntervalMs: 0, ...opts }),
    write(name, text) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    },
    plain(compiler, args, e = env) {
      const r = spawnSync(compiler, args, { cwd: dir, env: e });
      return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, files: snapshot(dir) };
    },
    async cached(compiler, args, extra = {}) {
      const r = await p.engine.compile({
        compiler,
        args,
        cwd: dir,
        env,
        stdin: new Uint8Array(),
        client: { umask: 0o022, stderrTty: false },
        ...extra,
      });
      return { r, files: snapshot(dir) };
    },
    async done() {
      await p.engine.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return p;
}

/**
 * The core check: a plain run, then the cached run twice (from the same
 * starting files each time); both cached runs must give the plain run's
 * observable result. Returns the two outcomes.
 */
export async function assertExact(
  p: ExactProject,
  compiler: string,
  args: string[],
  label: string,
  extra: Partial<CompileRequest> = {},
): Promise<[CompileOutcome, CompileOutcome]> {
  const pre = snapshot(p.dir);
  const want = p.plain(compiler, args, extra.env ?? p.env);
  const outs: CompileOutcome[] = [];
  for (const round of ["first", "second"]) {
    restore(p.dir, pre);
    const { r, files } = await p.cached(compiler, args, extra);
    const tag = `${label} (${round} cached run)`;
    assert.equal(r.exitCode, want.status, `${tag}: exit code`);
    assert.equal(
      new TextDecoder().decode(r.stdout),
      new TextDecoder().decode(want.stdout),
      `${tag}: stdout`,
    );
    assert.equal(
      new TextDecoder().decode(r.stderr),
      new TextDecoder().decode(want.stderr),
      `${tag}: stderr`,
    );
    assertSameFiles(files, want.files, tag);
    outs.push(r);
  }
  restore(p.dir, want.files);
  return [outs[0], outs[1]];
}
