/**
 * Wrapper mode: `zccache <compiler> args...`, `zccache wrap -- <compiler> ...`
 * and `zccache cc ...`.
 *
 * The hot path: resolve the compiler on `PATH`, send ONE `CompileEphemeral`
 * (v15 bincode) carrying argv, cwd, the whole environment and (only when the
 * arguments read it) stdin, then replay the daemon's stdout/stderr bytes and
 * exit code. No CLI library, no protobuf schema, no daemon code is loaded
 * here (`tests/cli/hot_path_imports_test.ts` checks the static import graph).
 *
 * Never fail a build because of the cache: any daemon or IPC fault before a
 * compile reply arrives makes the wrapper run the compiler itself (inherited
 * stdio) and print one stderr line `zccache: daemon unavailable: <why>;
 * compiled without cache`. Once a `CompileResult` has arrived the compiler
 * is never run again, whatever happens to the connection or our stdout.
 * A daemon that cannot start is remembered for a few seconds (see
 * `ensureDaemon`'s `respectBackoff`), so a build does not pay for a spawn
 * per compile.
 *
 * Reproduces the routing of zccache@3eae627 cli/commands/wrap (run_wrap),
 * with the local fallback of later releases instead of 1.12.2's exit 1.
 *
 * @module
 */
import process from "node:process";
import { isZccacheError } from "../core/errors.ts";
import type { EnvPair, Request, Response } from "../core/messages.ts";
import { bincodeRoundtrip, isDaemonVersionRejection } from "../client/roundtrip.ts";
import { clientEndpoint, isExecutableFile, resolveTool } from "../client/resolve_tool.ts";
import type { CliIo } from "./io.ts";
import { isLinkInvocation } from "./link_route.ts";

/** Default receive budget for one compile (zccache `ZCCACHE_WEDGE_RECV_TIMEOUT_SECS`, 180 s). */
const DEFAULT_RECV_TIMEOUT_SECS = 180;

/** True when an env flag is set to `1` or `true` (case-insensitive), as zccache reads them. */
export function envFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v === "1" || v === "true";
}

export { resolveTool } from "../client/resolve_tool.ts";

/** A compiler exit code as a process exit code: low byte, but non-zero never becomes 0. */
export function processExitCode(code: number): number {
  const low = code & 0xff;
  return code !== 0 && low === 0 ? 1 : low;
}

/**
 * Daemon control (auto-start, stop), loaded only when the first connect
 * fails or the daemon rejects our wire: a warm hit never pays for it.
 */
function daemonControl(): Promise<typeof import("../client/lifecycle.ts")> {
  return import("../client/lifecycle.ts");
}

/**
 * Run the tool locally with inherited stdout/stderr (stdin inherited, or fed
 * from `stdin` when the wrapper already read it). Returns its exit code.
 */
export async function runLocally(
  tool: string,
  args: string[],
  io: CliIo,
  stdin: Uint8Array | null,
): Promise<number> {
  // Loaded here, not at the top: only the uncached path spawns the compiler.
  const [{ spawn }, { constants: osConstants }] = await Promise.all([
    import("node:child_process"),
    import("node:os"),
  ]);
  const signalNumber = (signal: string): number => {
    const n = (osConstants.signals as Record<string, number>)[signal];
    return typeof n === "number" ? n : 1;
  };
  return await new Promise((resolvePromise) => {
    let child;
    try {
      child = spawn(tool, args, {
        cwd: io.cwd,
        env: io.env,
        stdio: [stdin === null ? "inherit" : "pipe", "inherit", "inherit"],
      });
    } catch (e) {
      void io.stderr(`zccache: cannot run ${tool}: ${(e as Error).message}\n`).then(() =>
        resolvePromise(127)
      );
      return;
    }
    child.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code === "ENOENT" ? 127 : 126;
      void io.stderr(`zccache: cannot run ${tool}: ${e.message}\n`).then(() =>
        resolvePromise(code)
      );
    });
    child.on("close", (code, signal) => {
      if (signal) resolvePromise(128 + signalNumber(signal));
      else resolvePromise(code ?? 1);
    });
    if (stdin !== null && child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(stdin);
    }
  });
}

/** Why the cached path gave up; the text goes into the one fallback line. */
class Fallback extends Error {}

function describe(e: unknown): string {
  if (e instanceof Fallback) return e.message;
  if (isZccacheError(e)) {
    switch (e.code) {
      case "DaemonUnreachable":
      case "Endpoint":
      case "Io":
        return e.message;
      case "ConnectionClosed":
        return `the connection to the daemon was lost (${e.message})`;
      case "Timeout":
        return `no reply from the daemon (${e.message})`;
      default:
        return `${e.code}: ${e.message}`;
    }
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The one fallback line: `zccache: daemon unavailable: <why>; compiled without cache`. */
export function fallbackLine(why: string): string {
  const text = why.replace(/\s*\n\s*/g, " ").trim();
  return `zccache: daemon unavailable: ${
    text === "" ? "unknown fault" : text
  }; compiled without cache\n`;
}

/**
 * One compile round trip on a fresh connection: the daemon client's lean
 * bincode send (`roundtrip.ts`), with the connect, endpoint check and broker
 * lane every other request uses.
 */
function compileOnce(
  endpoint: string,
  request: Request,
  recvTimeoutMs: number,
  env: Record<string, string | undefined>,
): Promise<Response | null> {
  return bincodeRoundtrip(endpoint, request, { env, timeoutMs: recvTimeoutMs });
}

/**
 * The endpoint this invocation talks to (ZCCACHE_ENDPOINT, cache dir,
 * default); a relative `ZCCACHE_ENDPOINT` is resolved against the wrapper's
 * cwd here, before any daemon (running from another directory) hears of it.
 */
export function wrapperEndpoint(io: CliIo): string {
  return clientEndpoint(io.env, io.cwd);
}

/**
 * Run `argv` (`[compiler, ...args]`) through the cache and return the exit
 * code to exit with.
 */
export async function wrapCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0) {
    await io.stderr("zccache: no compiler given\n");
    return 1;
  }
  const [toolName, ...args] = argv;
  const env = io.env;
  const resolved = resolveTool(toolName, env, io.cwd);
  if (resolved === null || (toolName.includes("/") && !isExecutableFile(resolved))) {
    // As ccache: one line, exit 1, and no daemon is started for it.
    const where = resolved === null ? "in PATH" : `(${resolved} is not an executable file)`;
    await io.stderr(`zccache: ${toolName}: compiler not found ${where}\n`);
    return 1;
  }
  const tool = resolved;
  const readsStdin = args.includes("-");
  const stdin = readsStdin ? await io.readStdin() : null;

  if (envFlag(env.ZCCACHE_DISABLE)) {
    return processExitCode(await runLocally(tool, args, io, stdin));
  }

  const envPairs: EnvPair[] = Object.entries(env).map(([k, v]) => [k, v]);
  // Inside a session (`ZCCACHE_SESSION_ID`), a `Compile` that counts towards
  // it and never auto-starts a daemon; otherwise one `CompileEphemeral`.
  const sessionId = env.ZCCACHE_SESSION_ID?.trim() ?? "";
  // Links and archives: one `LinkEphemeral` (never part of a session, as in zccache).
  const link = isLinkInvocation(tool, args);
  const request: Request = link
    ? { kind: "LinkEphemeral", clientPid: process.pid, tool, args, cwd: io.cwd, env: envPairs }
    : sessionId !== ""
    ? {
      kind: "Compile",
      sessionId,
      args,
      cwd: io.cwd,
      compiler: tool,
      env: envPairs,
      stdin: stdin ?? new Uint8Array(0),
    }
    : {
      kind: "CompileEphemeral",
      clientPid: process.pid,
      workingDir: io.cwd,
      compiler: tool,
      args,
      cwd: io.cwd,
      env: envPairs,
      stdin: stdin ?? new Uint8Array(0),
    };
  const recvSecs = Number(env.ZCCACHE_WEDGE_RECV_TIMEOUT_SECS ?? DEFAULT_RECV_TIMEOUT_SECS);
  const recvTimeoutMs = Number.isFinite(recvSecs) && recvSecs > 0 ? recvSecs * 1000 : 300_000;

  // Phase 1: get a compile reply from a daemon. Any fault here means the
  // compile has not produced the user's result yet: fall back below.
  let response: Response | null = null;
  let why = "";
  try {
    const endpoint = wrapperEndpoint(io);
    if (endpoint === "") throw new Fallback("ZCCACHE_ENDPOINT is set but empty");
    const lifecycle = { env, cwd: io.cwd, respectBackoff: true };
    try {
      response = await compileOnce(endpoint, request, recvTimeoutMs, env);
    } catch (e) {
      if (isZccacheError(e, "DaemonUnreachable")) {
        // Nobody answers: start a daemon (single-flight), then try once more.
        if (envFlag(env.ZCCACHE_NO_SPAWN)) {
          throw new Fallback("no daemon running (ZCCACHE_NO_SPAWN)");
        }
        if (sessionId !== "" && !link) {
          throw new Fallback(`no daemon running for session ${sessionId}`);
        }
        await (await daemonControl()).ensureDaemon(endpoint, lifecycle);
        response = await compileOnce(endpoint, request, recvTimeoutMs, env);
      } else if (isZccacheError(e, "VersionMismatch")) {
        response = { kind: "Error", message: `protocol version mismatch: ${e.message}` };
      } else {
        throw e;
      }
    }
    if (response !== null && isDaemonVersionRejection(response)) {
      // A daemon speaking another wire version holds the endpoint: replace it.
      if (envFlag(env.ZCCACHE_NO_SPAWN)) throw new Fallback(response.message);
      const { ensureDaemon, stopDaemon } = await daemonControl();
      await stopDaemon(endpoint, lifecycle);
      response = null;
      await ensureDaemon(endpoint, lifecycle);
      response = await compileOnce(endpoint, request, recvTimeoutMs, env);
    }
    if (response === null) throw new Fallback("the daemon closed the connection without a reply");
    if (response.kind === "Error") throw new Fallback(`daemon error: ${response.message}`);
    if (response.kind !== "CompileResult" && response.kind !== "LinkResult") {
      throw new Fallback(`unexpected ${response.kind} response from the daemon`);
    }
  } catch (e) {
    why = describe(e);
    if (response?.kind === "CompileResult" || response?.kind === "LinkResult") why = "";
  }

  // Phase 2: the daemon gave the user's result. Replay it; never compile again.
  if (response !== null && (response.kind === "CompileResult" || response.kind === "LinkResult")) {
    try {
      if (response.stdout.length > 0) await io.stdout(response.stdout);
      if (response.stderr.length > 0) await io.stderr(response.stderr);
      if (response.kind === "LinkResult" && response.warning !== null) {
        await io.stderr(`zccache warning: ${response.warning}\n`);
      }
    } catch {
      // Our own stdout/stderr is gone (e.g. a closed pipe): the compile
      // itself is done and its exit code still stands.
    }
    return processExitCode(response.exitCode);
  }

  // Phase 3: no reply: compile locally, once.
  const code = processExitCode(await runLocally(tool, args, io, stdin));
  await io.stderr(fallbackLine(why)).catch(() => {});
  return code;
}
