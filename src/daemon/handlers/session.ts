/**
 * Session and compile requests: `SessionStart`, `Compile`, `SessionEnd`,
 * `SessionStats`, `CompileEphemeral`.
 *
 * Source: zccache@3eae627:crates/zccache/src/daemon/server/session.rs
 * (SessionStart, `write_session_log`), connection.rs (SessionStats/End
 * replies and their error texts), handle_compile_ephemeral.rs (one-shot =
 * internal session start + compile + end, counted in `sessions_total`).
 *
 * @module
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import type { EnvPair, RequestOf, Response } from "../../core/messages.ts";
import { isSessionId, type Session, writeSessionJournal, writeSessionLog } from "../sessions.ts";
import { type CompileOutcome, compileRecord } from "../stats.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";
import {
  appendRequestLog,
  type RequestLogEntry,
  requestLogLine,
  requestLogPath,
} from "../request_log.ts";

/** `SessionStart` -> `SessionStarted{session_id, journal_path}`. */
export function handleSessionStart(
  ctx: HandlerContext,
  req: RequestOf<"SessionStart">,
): HandlerResult {
  let privateEnv: EnvPair[] = [];
  const pd = req.privateDaemon;
  if (pd !== null) {
    if (pd.endpoint !== null && pd.endpoint !== ctx.endpoint) {
      return errorResult(
        `private daemon endpoint mismatch: connected to ${ctx.endpoint}, requested ${pd.endpoint}`,
      );
    }
    if (pd.cacheDir !== null && pd.cacheDir !== ctx.cacheRoot) {
      return errorResult(
        `private daemon cache dir mismatch: connected to ${ctx.cacheRoot}, requested ${pd.cacheDir}`,
      );
    }
    privateEnv = pd.env;
  }
  // A log or journal into a missing directory is an error now, never a
  // directory tree created at the first compile.
  for (const [what, p] of [["log", req.logFile], ["journal", req.journalPath]] as const) {
    if (p !== null && statSync(dirname(p), { throwIfNoEntry: false })?.isDirectory() !== true) {
      return errorResult(`session ${what} directory ${dirname(p)} does not exist`);
    }
  }
  ctx.stats.recordSession();
  const s = ctx.sessions.create({
    clientPid: req.clientPid,
    workingDir: req.workingDir,
    logFile: req.logFile,
    trackStats: req.trackStats,
    journalPath: req.journalPath,
    profile: req.profile,
    privateEnv,
  });
  ctx.log.event("session-start", {
    session: s.id,
    client_pid: req.clientPid,
    working_dir: req.workingDir,
    stats: req.trackStats,
  });
  return { response: { kind: "SessionStarted", sessionId: s.id, journalPath: s.journalPath } };
}

/** `SessionEnd` -> `SessionEnded{stats}`; unknown ids end idempotently with no stats. */
export function handleSessionEnd(
  ctx: HandlerContext,
  req: RequestOf<"SessionEnd">,
): HandlerResult {
  if (!isSessionId(req.sessionId)) return errorResult(`invalid session ID: ${req.sessionId}`);
  const s = ctx.sessions.end(req.sessionId);
  if (s === undefined) return { response: { kind: "SessionEnded", stats: null } };
  ctx.log.event("session-end", { session: s.id });
  return { response: { kind: "SessionEnded", stats: s.stats?.finalize(s.createdAtMs) ?? null } };
}

/** `SessionStats` -> `SessionStatsResult{stats}` (null without `track_stats`). */
export function handleSessionStats(
  ctx: HandlerContext,
  req: RequestOf<"SessionStats">,
): HandlerResult {
  if (!isSessionId(req.sessionId)) return errorResult(`invalid session ID: ${req.sessionId}`);
  const s = ctx.sessions.get(req.sessionId);
  if (s === undefined) return errorResult(`unknown session: ${req.sessionId}`);
  return {
    response: { kind: "SessionStatsResult", stats: s.stats?.finalize(s.createdAtMs) ?? null },
  };
}

/** `Compile` (attributed to a session). */
export async function handleCompile(
  ctx: HandlerContext,
  req: RequestOf<"Compile">,
  signal: AbortSignal,
): Promise<HandlerResult> {
  if (ctx.sessions.wasEnded(req.sessionId)) {
    return errorResult(`unknown session: ${req.sessionId}`);
  }
  const s = ctx.sessions.get(req.sessionId);
  return {
    response: await runCompile(ctx, s, req.sessionId, {
      compiler: req.compiler,
      args: req.args,
      cwd: req.cwd,
      env: req.env,
      stdin: req.stdin,
    }, signal),
  };
}

/** `CompileEphemeral`: internal session start + compile + end in one round trip. */
export async function handleCompileEphemeral(
  ctx: HandlerContext,
  req: RequestOf<"CompileEphemeral">,
  signal: AbortSignal,
): Promise<HandlerResult> {
  ctx.stats.recordSession(true);
  const s = ctx.sessions.create({
    clientPid: req.clientPid,
    workingDir: req.workingDir,
    logFile: null,
    trackStats: false,
    journalPath: null,
    profile: false,
    ephemeral: true,
  });
  try {
    return {
      response: await runCompile(ctx, s, null, {
        compiler: req.compiler,
        args: req.args,
        cwd: req.cwd,
        env: req.env,
        stdin: req.stdin,
      }, signal),
    };
  } finally {
    ctx.sessions.end(s.id);
  }
}

interface CompileInput {
  compiler: string;
  args: string[];
  cwd: string;
  env: EnvPair[] | null;
  stdin: Uint8Array;
}

/** Build the compiler's environment: the client's (or the daemon's), plus a private overlay. */
export function compileEnv(env: EnvPair[] | null, overlay: EnvPair[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (env === null) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  } else {
    for (const [k, v] of env) out[k] = v;
  }
  for (const [k, v] of overlay) out[k] = v;
  return out;
}

const LOG_LABEL: Record<CompileOutcome, string> = {
  hit: "[HIT]",
  cachedError: "[HIT-ERROR]",
  miss: "[MISS]",
  error: "[ERROR]",
  nonCacheable: "non-cacheable:",
};

async function runCompile(
  ctx: HandlerContext,
  session: Session | undefined,
  sessionId: string | null,
  input: CompileInput,
  signal: AbortSignal,
): Promise<Response> {
  if (ctx.engine === null) {
    return { kind: "Error", message: "compile engine unavailable in this daemon" };
  }
  const t0 = process.hrtime.bigint();
  let r;
  const env = compileEnv(input.env, session?.privateEnv ?? []);
  try {
    r = await ctx.engine.compile({
      compiler: input.compiler,
      args: input.args,
      cwd: input.cwd,
      env,
      stdin: input.stdin,
      signal,
      clientPid: session?.clientPid,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!signal.aborted) ctx.log.error("compile", err, { compiler: input.compiler });
    writeSessionLog(session, `[ERROR] failed to run compiler: ${message}`);
    return { kind: "Error", message: `failed to run compiler: ${message}` };
  }
  const latencyNs = process.hrtime.bigint() - t0;
  const record = compileRecord(r, latencyNs);
  const outcome = record.outcome;
  ctx.stats.recordCompile(record);
  session?.stats?.record(record);
  if (session !== undefined && !session.ephemeral) recordSessionRemote(ctx, session, r);
  if (outcome === "miss" && r.missReason) ctx.stats.recordReason("miss", r.missReason);
  if (outcome === "nonCacheable") {
    ctx.stats.recordReason("non_cacheable", r.reason ?? "not cacheable");
  }
  logRequest(ctx, env, input.cwd, {
    kind: outcome === "nonCacheable"
      ? "non_cacheable"
      : outcome === "cachedError"
      ? "hit"
      : outcome,
    reason: r.reason ?? null,
    missReason: r.missReason,
    sources: r.sources ?? [],
    compiler: input.compiler,
    args: input.args,
    exitCode: r.exitCode,
  });
  if (session !== undefined && (session.logFile !== null || session.journalPath !== null)) {
    const argv = [input.compiler, ...input.args].join(" ");
    writeSessionLog(
      session,
      outcome === "nonCacheable"
        ? `${LOG_LABEL[outcome]} ${r.reason ?? "not cacheable"}: ${argv} exit_code=${r.exitCode}`
        : outcome === "error"
        ? `${LOG_LABEL[outcome]} ${argv} exit_code=${r.exitCode}`
        : outcome === "miss"
        ? `${LOG_LABEL[outcome]} ${argv} (reason: ${r.missReason ?? "new source"})`
        : `${LOG_LABEL[outcome]} ${argv}`,
    );
    writeSessionJournal(session, {
      ts: new Date().toISOString(),
      outcome: JOURNAL_OUTCOME[outcome],
      compiler: input.compiler,
      args: input.args,
      cwd: input.cwd,
      exit_code: r.exitCode,
      session_id: sessionId,
      latency_ns: Number(latencyNs),
    });
  }
  return {
    kind: "CompileResult",
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    cached: r.cached,
  };
}

const logFaults = new Set<string>();

/**
 * One `ZCCACHE_LOG` line for a compile or link request (see
 * `request_log.ts`); a fault is logged once per file.
 */
export function logRequest(
  ctx: HandlerContext,
  env: Record<string, string>,
  cwd: string,
  entry: RequestLogEntry,
): void {
  let path: string | null = null;
  try {
    path = requestLogPath(env, ctx.cacheRoot, cwd);
    if (path === null) return;
    appendRequestLog(path, requestLogLine(entry));
  } catch (err) {
    const key = path ?? "";
    if (logFaults.has(key)) return;
    logFaults.add(key);
    ctx.log.error("request-log", err, { path: path ?? undefined });
  }
}

const JOURNAL_OUTCOME: Record<CompileOutcome, string> = {
  hit: "hit",
  cachedError: "cached_error",
  miss: "miss",
  error: "error",
  nonCacheable: "miss",
};

function errorResult(message: string): HandlerResult {
  return { response: { kind: "Error", message } };
}

/**
 * Per-session remote-tier counters. The 1.12.2 SessionStats reply has no
 * field for them, so the daemon keeps them in a sidecar file,
 * `<project dir>/sessions/<id>.json` (0600), which `zccache session-stats`
 * and `session-end` read.
 */
function recordSessionRemote(
  ctx: HandlerContext,
  session: Session,
  r: { remoteHits?: number; remoteMisses?: number; remoteBytesDown?: number },
): void {
  const hits = r.remoteHits ?? 0;
  const misses = r.remoteMisses ?? 0;
  if (hits === 0 && misses === 0) return;
  const c = session.remote ??= { hits: 0, misses: 0, bytesDown: 0 };
  c.hits += hits;
  c.misses += misses;
  c.bytesDown += r.remoteBytesDown ?? 0;
  if (!isSessionId(session.id)) return;
  try {
    const dir = join(ctx.projectDir, "sessions");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${session.id}.${process.pid}.tmp`);
    writeFileSync(
      tmp,
      JSON.stringify({
        remote_hits: c.hits,
        remote_misses: c.misses,
        remote_bytes_down: c.bytesDown,
      }),
      { mode: 0o600 },
    );
    renameSync(tmp, join(dir, `${session.id}.json`));
  } catch {
    // the counters are still in memory; the sidecar is best effort
  }
}
