/**
 * Helpers for the reliability suite: real wrapper processes (the CLI under
 * the test runtime), real daemons, real gcc, private temp worlds.
 *
 * - {@link runWrapped} runs one wrapper with a hang guard and its wall time.
 * - {@link plainObject} compiles the same command with plain gcc, the oracle
 *   every cached object is compared with.
 * - {@link daemonProcesses} finds the daemons of one world in `/proc` (their
 *   environment names the world's cache dir), so a test can count them and
 *   clean up every one it caused.
 * - {@link report} prints one `RELIABILITY <name> <json>` line (copied into
 *   RELIABILITY.md) and appends it to `$ZCCACHE_RELIABILITY_OUT` when set.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { cliArgv, disposeWorld, type RunResult, type World } from "../e2e/_e2e.ts";

export { have, makeWorld, type RunResult, statusJson, type World } from "../e2e/_e2e.ts";

/** A finished process with its wall time. */
export interface TimedResult extends RunResult {
  /** Wall time in ms from spawn to close. */
  ms: number;
  /** True when the hang guard killed it. */
  hung: boolean;
}

/** Run `cmd args` with a hang guard (SIGKILL after `timeoutMs`). */
export function runTimed(
  cmd: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<TimedResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 60_000);
    child.stdout!.on("data", (c: Uint8Array) => out.push(c));
    child.stderr!.on("data", (c: Uint8Array) => err.push(c));
    child.on("error", (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      const stdout = concat(out);
      const stderr = concat(err);
      const dec = new TextDecoder();
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout,
        stderr,
        out: dec.decode(stdout),
        err: dec.decode(stderr),
        ms: performance.now() - t0,
        hung,
      });
    });
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const o = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    o.set(p, at);
    at += p.length;
  }
  return o;
}

/** Run the zccache wrapper: `zccache <args...>` (e.g. `["gcc", "-c", ...]`). */
export function runWrapped(
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<TimedResult> {
  const [cmd, ...pre] = cliArgv();
  return runTimed(cmd, [...pre, ...args], opts);
}

/**
 * The object plain gcc makes for `args` (a `-c ... -o OUT` command) run in
 * `cwd`, written to `refOut` instead of the command's own `-o`.
 */
export async function plainObject(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  refOut: string,
): Promise<Uint8Array> {
  const a = [...args];
  const o = a.indexOf("-o");
  if (o < 0) throw new Error(`no -o in ${a.join(" ")}`);
  a[o + 1] = refOut;
  const r = await runTimed("gcc", a, { env, cwd, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`plain gcc ${a.join(" ")} failed: ${r.err}`);
  return readFileSync(refOut);
}

/** Byte equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when this platform lets us list processes and their environment (`/proc`). */
export const HAVE_PROC: boolean = process.platform === "linux" && existsSync("/proc/self/environ");

/**
 * PIDs of the daemon processes whose environment holds `ZCCACHE_CACHE_DIR=<cacheDir>`
 * (the auto-start passes the wrapper's environment on), found in `/proc`.
 */
export function daemonProcesses(cacheDir: string): number[] {
  return daemonProcessesWithEnv(`ZCCACHE_CACHE_DIR=${cacheDir}`);
}

/**
 * PIDs of the daemon processes whose environment holds the entry `want`
 * (`K=V`), or, when `want` has no `=`, any entry containing `want` (e.g. a
 * world's temp dir).
 */
export function daemonProcessesWithEnv(want: string): number[] {
  if (!HAVE_PROC) return [];
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (!cmd.includes("daemon")) continue;
      const env = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      const hit = want.includes("=") ? env.includes(want) : env.some((e) => e.includes(want));
      if (hit) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Stop the world's daemon and SIGKILL any other daemon it caused, then remove it. */
export async function disposeAll(world: World): Promise<void> {
  await disposeWorld(world).catch(() => {});
  for (const pid of daemonProcesses(world.cacheDir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Print (and append to `$ZCCACHE_RELIABILITY_OUT`) one figure line of the suite. */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = `RELIABILITY ${name} ${JSON.stringify(figures)}`;
  console.log(line);
  const file = process.env.ZCCACHE_RELIABILITY_OUT;
  if (file) appendFileSync(file, line + "\n");
}

/** Sleep. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A fallback line of the wrapper, if any, and how many stderr lines there were. */
export function fallbackLines(err: string): string[] {
  return err.split("\n").filter((l) => l.startsWith("zccache:"));
}

/** Join for tests. */
export { join };
