/**
 * The subcommands (`start`, `stop`, `status`, `clear`, `session-*`,
 * `--version`, `--help`), parsed by commander. Loaded lazily by `main.ts`:
 * the wrapper hot path never reaches this module.
 *
 * Exit codes as zccache's CLI: 0 success, 1 failure (e.g. `status` with no
 * daemon), 2 usage error (one line on stderr).
 *
 * @module
 */
import process from "node:process";
import { Command, CommanderError } from "commander";
import type { Request, Response } from "../core/messages.ts";
import { isZccacheError } from "../core/errors.ts";
import { daemonRequest } from "../client/control.ts";
import { ensureDaemon, stopDaemon } from "../client/lifecycle.ts";
import { endpointFromEnv } from "../transport/endpoint.ts";
import type { CliIo } from "./io.ts";
import { formatSessionStats, toWireJson } from "./format.ts";
import { versionText } from "./version.ts";
import { ccacheAlias, cmdClear, cmdStats, registerEveryday, sessionRemote } from "./everyday.ts";

/** The remote tier's line of a session's text statistics ("" without one). */
function remoteLine(r: { hits: number; misses: number; bytes_down: number } | null): string {
  return r === null
    ? ""
    : `  Remote:        ${r.hits} hits, ${r.misses} misses, ${r.bytes_down} bytes down\n`;
}
import { dirname, resolve as resolvePath } from "node:path";
import { statSync } from "node:fs";

const CONTROL_TIMEOUT_MS = 30_000;

function endpointOf(io: CliIo, explicit?: string): string {
  return endpointFromEnv(io.env, process.platform, { cwd: io.cwd, explicit: explicit ?? null });
}

/** A session request through the one daemon client (bincode unless `ZCCACHE_DAEMON_WIRE` says otherwise). */
async function request(io: CliIo, endpoint: string, req: Request): Promise<Response | null> {
  return await daemonRequest(endpoint, req, {
    env: io.env,
    timeoutMs: CONTROL_TIMEOUT_MS,
    connectTimeoutMs: CONTROL_TIMEOUT_MS,
  });
}

function json(value: unknown): string {
  return JSON.stringify(value) + "\n";
}

async function cmdStart(io: CliIo, opts: { json?: boolean } = {}): Promise<number> {
  const endpoint = endpointOf(io);
  const outcome = await ensureDaemon(endpoint, { env: io.env });
  if (opts.json) {
    // outcome: "running" (was already), "started", or "replaced" (an incompatible one).
    await io.stdout(JSON.stringify({ endpoint, outcome }) + "\n");
    return 0;
  }
  await io.stderr(`daemon running at ${endpoint}${outcome === "running" ? "" : ` (${outcome})`}\n`);
  return 0;
}

async function cmdStop(io: CliIo, opts: { json?: boolean } = {}): Promise<number> {
  const endpoint = endpointOf(io);
  const wasRunning = await stopDaemon(endpoint, { env: io.env });
  if (opts.json) {
    await io.stdout(JSON.stringify({ endpoint, was_running: wasRunning }) + "\n");
    return 0;
  }
  await io.stderr(wasRunning ? "daemon stopped\n" : `daemon not running at ${endpoint}\n`);
  return 0;
}

function describeReply(r: Response | null): string {
  if (r === null) return "the daemon closed the connection";
  if (r.kind === "Error") return r.message;
  return `unexpected ${r.kind} reply`;
}

async function cmdSessionStart(
  io: CliIo,
  opts: { stats?: boolean; log?: string; cwd?: string; json?: boolean },
): Promise<number> {
  const endpoint = endpointOf(io);
  const logFile = opts.log === undefined ? null : resolvePath(io.cwd, opts.log);
  if (
    logFile !== null &&
    statSync(dirname(logFile), { throwIfNoEntry: false })?.isDirectory() !== true
  ) {
    // An error now, never a directory tree created later by the daemon.
    await io.stderr(`zccache: session-start: log directory ${dirname(logFile)} does not exist\n`);
    return 1;
  }
  await ensureDaemon(endpoint, { env: io.env });
  const r = await request(io, endpoint, {
    kind: "SessionStart",
    clientPid: process.pid,
    workingDir: opts.cwd ?? io.cwd,
    logFile,
    trackStats: opts.stats ?? false,
    journalPath: null,
    profile: false,
    privateDaemon: null,
  });
  if (r?.kind !== "SessionStarted") {
    await io.stderr(`zccache: session-start failed: ${describeReply(r)}\n`);
    return 1;
  }
  const out: Record<string, unknown> = {
    session_id: r.sessionId,
    started_at: Math.floor(Date.now() / 1000),
  };
  if (r.journalPath !== null) out.journal_path = r.journalPath;
  await io.stdout(json(out));
  return 0;
}

async function cmdSessionEnd(io: CliIo, id: string, opts: { json?: boolean }): Promise<number> {
  const endpoint = endpointOf(io);
  let r: Response | null;
  try {
    // The wire's SessionEnd is idempotent; SessionStats tells an unknown
    // (or already ended) session apart, as `session-stats` reports it.
    const known = await request(io, endpoint, { kind: "SessionStats", sessionId: id });
    if (known?.kind !== "SessionStatsResult") {
      await io.stderr(`zccache: session-end: ${describeReply(known)}\n`);
      if (opts.json) await io.stdout(json({ session_id: id, stats: null }));
      return 1;
    }
    r = await request(io, endpoint, { kind: "SessionEnd", sessionId: id });
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) {
      await io.stderr(
        `zccache: session-end: no session ${id} (daemon not running at ${endpoint})\n`,
      );
      if (opts.json) await io.stdout(json({ session_id: id, stats: null }));
      return 1;
    }
    throw e;
  }
  if (r?.kind !== "SessionEnded") {
    await io.stderr(`zccache: session-end: ${describeReply(r)}\n`);
    if (opts.json) await io.stdout(json({ session_id: id, stats: null }));
    return 1;
  }
  const remote = sessionRemote(io, id);
  if (opts.json) {
    await io.stdout(json({ session_id: id, stats: toWireJson(r.stats), remote }));
  } else if (r.stats !== null) {
    await io.stderr(
      formatSessionStats(id, r.stats).replace(/^Session (\S+)/, "Session $1 complete") +
        remoteLine(remote),
    );
  } else {
    await io.stderr(`Session ${id} complete (no stats tracked)\n`);
  }
  return 0;
}

async function cmdSessionStats(io: CliIo, id: string, opts: { json?: boolean }): Promise<number> {
  const endpoint = endpointOf(io);
  let r: Response | null;
  try {
    r = await request(io, endpoint, { kind: "SessionStats", sessionId: id });
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) {
      await io.stderr(`daemon not running at ${endpoint}\n`);
      return 1;
    }
    throw e;
  }
  if (r?.kind !== "SessionStatsResult") {
    await io.stderr(`zccache: session-stats: ${describeReply(r)}\n`);
    return 1;
  }
  const remote = sessionRemote(io, id);
  if (opts.json) {
    await io.stdout(json({ session_id: id, stats: toWireJson(r.stats), remote }));
    return r.stats === null ? 1 : 0;
  }
  if (r.stats === null) {
    await io.stderr(
      `zccache: no stats for session ${id} (unknown session, or started without --stats)\n`,
    );
    return 1;
  }
  await io.stdout(formatSessionStats(id, r.stats) + remoteLine(remote));
  return 0;
}

/** Exit code of a failed parse. */
const USAGE = 2;

/**
 * Parse `argv` with commander and run the chosen subcommand.
 * `--show-stats` and `--clear` are the sccache-compatible aliases.
 */
export async function runCommands(argv: string[], io: CliIo): Promise<number> {
  argv = ccacheAlias(argv);
  // `zccache help [command]` is help, exit 0.
  if (argv[0] === "help") argv = [...argv.slice(1, 2), "--help"];
  if (argv[0] === "explain") {
    // Compiler arguments pass through verbatim: parsed by hand, not by commander.
    return await (await import("./explain.ts")).cmdExplain(argv.slice(1), io);
  }
  if (argv[0] === "--version" || argv[0] === "-V") {
    await io.stdout(versionText());
    return 0;
  }

  let code = 0;
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command("zccache")
    .description(
      "A compiler cache speaking the zccache 1.12.2 daemon wire.\n" +
        "Wrap a compile with `zccache <compiler> args...` (or `zccache wrap -- ...`).",
    )
    .usage("[command] | <compiler> [args...]")
    .enablePositionalOptions()
    .passThroughOptions()
    .allowUnknownOption(false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.push(s),
      writeErr: (s) => err.push(s),
      outputError: (s, write) => write(s.split("\n")[0] + "\n"),
    })
    .option("--show-stats", "alias of `zccache status`")
    .option("--clear", "alias of `zccache clear`")
    .option("-V, --version", "print the product and wire versions");

  const sub = (name: string, desc: string): Command =>
    program.command(name).description(desc).allowExcessArguments(false);

  sub("start", "start the daemon (if not running) and check its version")
    .option("--json", 'print {"endpoint","outcome"} (running, started, replaced)')
    .action(async (o) => {
      code = await cmdStart(io, o);
    });
  sub("stop", "stop the daemon").alias("kill")
    .option("--json", 'print {"endpoint","was_running"}')
    .action(async (o) => {
      code = await cmdStop(io, o);
    });
  sub("status", "show daemon statistics (as `stats`)")
    .option("--json", "one JSON object with every DaemonStatus field")
    .option("-v, --verbose", "more detail")
    .action(async (o) => {
      code = await cmdStats(io, o);
    });
  sub("clear", "remove every cached artifact, daemon running or not (alias: -C, --clear)")
    .option("--json", "print JSON")
    .action(async (o) => {
      code = await cmdClear(io, o);
    });
  registerEveryday(program, io, (c) => (code = c));
  sub("session-start", 'start a build session; prints {"session_id",...} as JSON')
    .option("--stats", "track per-session statistics")
    .option("--log <file>", "append a text log of the session's compiles to FILE")
    .option("--cwd <dir>", "working directory of the session")
    .option("--json", "print JSON (the default)")
    .action(async (o) => {
      code = await cmdSessionStart(io, o);
    });
  sub("session-end", "end a session and print its final statistics")
    .argument("<id>", "session id")
    .option("--json", "print the statistics as JSON on stdout")
    .action(async (id, o) => {
      code = await cmdSessionEnd(io, id, o);
    });
  sub("session-stats", "print a session's statistics so far")
    .argument("<id>", "session id")
    .option("--json", "print the statistics as JSON")
    .action(async (id, o) => {
      code = await cmdSessionStats(io, id, o);
    });
  sub("explain", "would this compile hit? zccache explain [--json] -- <compiler> [args...]");
  sub("exec", "cache any tool by declared inputs/outputs: zccache exec [options] -- <tool> ...");
  sub("fp", "did these inputs change? zccache fp check|mark-success|mark-failure|invalidate");
  sub("release-handles", "end every session under a path: zccache release-handles --path P");
  sub("cache-root", "print the cache root directory [--json]");
  sub("wrap", "run a compiler through the cache: zccache wrap -- <compiler> [args...]");
  sub("cc", "wrap `cc`: zccache cc [args...]");
  sub("daemon", "run the daemon (normally auto-started)");
  sub("wire", "decode/encode zccache wire frames (see `zccache wire --help`)");

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") code = 0;
      else if (e.code === "commander.help") code = 1; // no subcommand: help, exit 1 (zccache)
      else code = USAGE;
    } else {
      await flush(io, out, err);
      const msg = isZccacheError(e) ? e.message : (e as Error)?.message ?? String(e);
      await io.stderr(`zccache: ${msg}\n`);
      return 1;
    }
  }
  await flush(io, out, err);
  return code;
}

async function flush(io: CliIo, out: string[], err: string[]): Promise<void> {
  if (out.length > 0) await io.stdout(out.join(""));
  if (err.length > 0) await io.stderr(err.join(""));
  out.length = 0;
  err.length = 0;
}
