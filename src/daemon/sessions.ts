/**
 * Session registry: `SessionStart` creates a UUID-named session that owns a
 * working directory, an optional text log file, an optional stats tracker
 * and an optional JSONL journal path; `SessionEnd` removes it.
 *
 * Semantics follow zccache 1.12.2 (daemon/server/session.rs,
 * daemon/server/connection.rs): a `Compile` with an id the daemon never saw
 * still compiles (the daemon may have restarted), only explicitly ended ids
 * are rejected; `SessionEnd` of an unknown id is an idempotent success with
 * no stats. Unlike 1.12.2, sessions that are never ended expire
 * ({@link SessionManager.expire}): after an idle time-out (default 1 h
 * without a request) or once their client PID is gone; a compile naming an
 * expired id still compiles, as for any id the daemon does not know.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import type { EnvPair } from "../core/messages.ts";
import { SessionStatsTracker } from "./stats.ts";
import { escapeLogText } from "./log.ts";

/** One live session. */
export interface Session {
  id: string;
  clientPid: number;
  workingDir: string;
  logFile: string | null;
  journalPath: string | null;
  profile: boolean;
  createdAtMs: number;
  /** Last time a request used the session (ms since the epoch). */
  lastUsedMs: number;
  stats: SessionStatsTracker | null;
  /** Private-daemon env overlay applied to every compile of the session. */
  privateEnv: EnvPair[];
  /** Ephemeral (CompileEphemeral) sessions are never listed as active to clients. */
  ephemeral: boolean;
  /** Remote-tier counters of the session's compiles (when a remote tier is configured). */
  remote?: { hits: number; misses: number; bytesDown: number };
}

/** What `SessionStart` asks for. */
export interface SessionOptions {
  clientPid: number;
  workingDir: string;
  logFile: string | null;
  trackStats: boolean;
  journalPath: string | null;
  profile: boolean;
  privateEnv?: EnvPair[];
  ephemeral?: boolean;
}

/** Remember at most this many ended ids (to reject compiles on them). */
const ENDED_MEMORY = 4096;

/** The daemon's sessions. */
export class SessionManager {
  #live = new Map<string, Session>();
  #ended = new Set<string>();

  /** Create a session and return it. */
  create(o: SessionOptions): Session {
    const s: Session = {
      id: randomUUID(),
      clientPid: o.clientPid,
      workingDir: o.workingDir,
      logFile: o.logFile,
      journalPath: o.journalPath,
      profile: o.profile,
      createdAtMs: Date.now(),
      lastUsedMs: Date.now(),
      stats: o.trackStats ? new SessionStatsTracker() : null,
      privateEnv: o.privateEnv ?? [],
      ephemeral: o.ephemeral ?? false,
    };
    this.#live.set(s.id, s);
    return s;
  }

  /** A live session, or `undefined`. */
  get(id: string): Session | undefined {
    const s = this.#live.get(id);
    if (s !== undefined) s.lastUsedMs = Date.now();
    return s;
  }

  /**
   * Drop sessions idle for `idleMs` or more, and those whose client PID
   * `isAlive` reports gone (PID 0 or less is never checked). Returns the
   * expired sessions.
   */
  expire(
    idleMs: number,
    isAlive: (pid: number) => boolean,
    nowMs: number = Date.now(),
  ): Session[] {
    const out: Session[] = [];
    for (const s of this.#live.values()) {
      const idle = idleMs > 0 && nowMs - s.lastUsedMs >= idleMs;
      const gone = !idle && s.clientPid > 0 && !isAlive(s.clientPid);
      if (idle || gone) out.push(s);
    }
    for (const s of out) this.#live.delete(s.id);
    return out;
  }

  /** True when `id` was ended by `SessionEnd` or `ReleaseWorktreeHandles`. */
  wasEnded(id: string): boolean {
    return this.#ended.has(id);
  }

  /** End a session; returns it, or `undefined` when it is not live. */
  end(id: string): Session | undefined {
    const s = this.#live.get(id);
    if (s === undefined) return undefined;
    this.#live.delete(id);
    if (!s.ephemeral) {
      this.#ended.add(id);
      if (this.#ended.size > ENDED_MEMORY) {
        const oldest = this.#ended.values().next().value;
        if (oldest !== undefined) this.#ended.delete(oldest);
      }
    }
    return s;
  }

  /** Ids of all live sessions, oldest first. */
  activeIds(): string[] {
    return [...this.#live.keys()];
  }

  /** Number of live sessions (including in-flight ephemeral ones). */
  get activeCount(): number {
    return this.#live.size;
  }
}

/** Is `s` a syntactically valid UUID (zccache parses session ids as UUIDs)? */
export function isSessionId(s: string): boolean {
  return /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/
    .test(s);
}

/** Append one line to a session's text log (best effort, like zccache `write_session_log`). */
export function writeSessionLog(s: Session | undefined, message: string): void {
  if (s === undefined || s.logFile === null) return;
  // The file is the user's choice (no O_NOFOLLOW), but hostile bytes in a
  // compiler argument never reach it raw: one line per entry, escaped.
  appendLine(s.logFile, escapeLogText(message));
}

/** Append one JSON line to a session's journal, if it has one (best effort). */
export function writeSessionJournal(s: Session | undefined, entry: unknown): void {
  if (s === undefined || s.journalPath === null) return;
  appendLine(s.journalPath, JSON.stringify(entry));
}

/** Append one line (best effort, as in zccache); a missing directory is never created. */
function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, line + "\n");
  } catch {
    // Best effort: SessionStart checked the directory; it may have gone since.
  }
}
