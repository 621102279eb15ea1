/**
 * Helpers for end-to-end tests: run the real `zccache` CLI as a subprocess
 * (`deno run -A cli.ts`, `bun cli.ts`, or the compiled binary named by
 * `ZCCACHE_TEST_BINARY`) against a private cache dir and endpoint per test,
 * so tests never touch `~/.zccache` and can run in parallel.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime } from "../_harness.ts";

/** Repository root. */
export const REPO: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** argv prefix that runs the CLI under the current test runtime (or the binary). */
export function cliArgv(): string[] {
  const bin = process.env.ZCCACHE_TEST_BINARY;
  if (bin) return [bin];
  if (runtime === "deno") {
    return [
      process.execPath,
      "run",
      "-A",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "cli.ts"),
    ];
  }
  return [process.execPath, join(REPO, "cli.ts")];
}

/** True when `tool` is on PATH. */
export function have(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** One isolated zccache world: temp dir, cache dir, env. */
export interface World {
  dir: string;
  cacheDir: string;
  env: Record<string, string>;
  endpoint: string;
}

/** A fresh temp world. Call {@link disposeWorld} at the end. */
export function makeWorld(tag: string): World {
  const dir = mkdtempSync(join(tmpdir(), `zc-${tag}-`));
  const cacheDir = join(dir, "cache");
  mkdirSync(cacheDir, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("ZCCACHE_")) env[k] = v;
  }
  env.ZCCACHE_CACHE_DIR = cacheDir;
  env.ZCCACHE_IDLE_TIMEOUT_SECS = "300";
  env.NO_COLOR = "1";
  delete env.RUST_BACKTRACE;
  return { dir, cacheDir, env, endpoint: join(cacheDir, "daemon.sock") };
}

/** Result of one CLI run. */
export interface RunResult {
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  out: string;
  err: string;
}

/** Run the CLI with `args`. */
export function runCli(
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; stdin?: Uint8Array | string },
): Promise<RunResult> {
  const [cmd, ...pre] = cliArgv();
  return runProcess(cmd, [...pre, ...args], opts);
}

/** Run any program, collecting stdout/stderr bytes. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; stdin?: Uint8Array | string },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout!.on("data", (c: Uint8Array) => out.push(c));
    child.stderr!.on("data", (c: Uint8Array) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const stdout = concat(out);
      const stderr = concat(err);
      const dec = new TextDecoder();
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout,
        stderr,
        out: dec.decode(stdout),
        err: dec.decode(stderr),
      });
    });
    child.stdin!.on("error", () => {});
    child.stdin!.end(opts.stdin ?? "");
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `zccache status --json`, parsed; throws when the daemon is not running. */
export async function statusJson(world: World): Promise<Record<string, unknown>> {
  const r = await runCli(["status", "--json"], { env: world.env });
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.out}${r.err}`);
  return JSON.parse(r.out);
}

/** The daemon pid from the lock file, or null. */
export function daemonPid(world: World): number | null {
  let text: string;
  try {
    // No existsSync first: a stopping daemon removes its lock at any moment.
    text = readFileSync(join(world.cacheDir, "daemon.lock"), "utf8");
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** True when `pid` is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop the world's daemon (gracefully, then by pid) and remove the temp dir. */
export async function disposeWorld(world: World): Promise<void> {
  try {
    await runCli(["stop"], { env: world.env });
  } catch {
    // ignore
  }
  const pid = daemonPid(world);
  if (pid !== null && alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  rmSync(world.dir, { recursive: true, force: true });
}

/** Write an executable shell script that runs the CLI with "$@". */
export function writeLauncher(path: string): string {
  const argv = cliArgv().map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  writeFileSync(path, `#!/bin/sh\nexec ${argv} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
