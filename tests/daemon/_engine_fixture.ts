/**
 * Shared helpers for the engine tests: temp projects, compiler discovery and
 * a request builder. Real compilers, real files.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { spawnSync } from "node:child_process";
import {
  CompileEngine,
  type CompileEngineOptions,
  type CompileRequest,
} from "../../src/daemon/engine.ts";

/** Absolute path of an executable on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The installed gcc and clang (null when missing: tests are ignored). */
export const GCC: string | null = which("gcc");
export const CLANG: string | null = which("clang");

/** A temp project with a cache dir and an engine. */
export interface Project {
  dir: string;
  cacheDir: string;
  engine: CompileEngine;
  write(name: string, text: string): void;
  req(compiler: string, args: string[], extra?: Partial<CompileRequest>): CompileRequest;
  reopen(opts?: Partial<CompileEngineOptions>): Promise<void>;
  done(): Promise<void>;
}

/** Baseline environment for compiles (PATH only, plus overrides). */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  // LC_ALL pinned: Deno's spawnSync merges the parent env into `env`, so
  // plain compiles would otherwise pick up the test runner's locale.
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", ...extra };
}

/** Make a temp project with `a.c` including `a.h`, and an engine on its own cache dir. */
export function project(opts: Partial<CompileEngineOptions> = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), "zccache-engine-"));
  const cacheDir = join(dir, ".cache", "zccache-ts");
  const p: Project = {
    dir,
    cacheDir,
    engine: new CompileEngine({ cacheDir, flushIntervalMs: 0, ...opts }),
    write(name, text) {
      writeFileSync(join(dir, name), text);
    },
    req(compiler, args, extra = {}) {
      return { compiler, args, cwd: dir, env: baseEnv(), stdin: new Uint8Array(), ...extra };
    },
    async reopen(o = {}) {
      await p.engine.close();
      p.engine = new CompileEngine({ cacheDir, flushIntervalMs: 0, ...opts, ...o });
    },
    async done() {
      await p.engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  p.write("a.h", "#define VALUE 1\n");
  p.write("a.c", '#include "a.h"\nint get(void) { return VALUE; }\n');
  return p;
}

/** Run a compiler directly (no cache) in `cwd`; returns exit code, stdout, stderr. */
export function plain(
  compiler: string,
  args: string[],
  cwd: string,
): { status: number; stdout: Uint8Array; stderr: Uint8Array } {
  const r = spawnSync(compiler, args, { cwd, env: baseEnv() });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
