/**
 * What request handlers see of the daemon: its identity strings, stats,
 * sessions, the compile backend and the log, plus the hook to ask for a
 * graceful shutdown.
 *
 * @module
 */
import type { ArtifactData, Response, RustArtifactInfo, StoreResult } from "../../core/messages.ts";
import type { DaemonLog } from "../log.ts";
import type { SessionManager } from "../sessions.ts";
import type { CompileResultLike, GlobalStats } from "../stats.ts";

/** One compile as the backend receives it. */
export interface BackendCompileRequest {
  compiler: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  signal?: AbortSignal;
  /** PID of the client process (its umask and terminal shape the outputs). */
  clientPid?: number;
}

/**
 * One compile result from the backend: the fields the stats classify
 * ({@link CompileResultLike}) plus the console bytes and, for a pass-through
 * compile, why it was not cacheable.
 */
export interface BackendCompileResult extends CompileResultLike {
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Why a compile was not cacheable. */
  reason?: string | null;
  /** Why it missed (`ZCCACHE_LOG`), when the backend knows. */
  missReason?: string | null;
  /** Units served from / missed on the shared remote tier, and its bytes served. */
  remoteHits?: number;
  remoteMisses?: number;
  remoteBytesDown?: number;
}

/** Numbers the backend reports for `Status` (numbers or bigints). */
export interface BackendStats {
  artifactCount: number | bigint;
  cacheSizeBytes: number | bigint;
  metadataEntries: number | bigint;
  depGraphContexts: number | bigint;
  depGraphFiles: number | bigint;
  depGraphDiskSize: number | bigint;
  depGraphVersion?: number;
  depGraphPersisted?: boolean;
  totalLinks?: number | bigint;
  linkHits?: number | bigint;
  linkMisses?: number | bigint;
  linkNonCacheable?: number | bigint;
}

/** One `LinkEphemeral` as the backend receives it. */
export interface BackendLinkRequest {
  tool: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  clientPid?: number;
}

/** One link result from the backend. */
export interface BackendLinkResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  cached: boolean;
  kind: string;
  warning: string | null;
  reason: string | null;
}

/** True counts from a backend `clear()`. */
export interface BackendClearCounts {
  artifactsRemoved: number | bigint;
  metadataCleared: number | bigint;
  depGraphContextsCleared: number | bigint;
  onDiskBytesFreed: number | bigint;
}

/**
 * The part of `CompileEngine` (src/daemon/engine.ts) the daemon uses. The
 * engine satisfies it structurally; tests and an engine-less daemon can
 * pass another implementation or `null`.
 */
export interface CompileBackend {
  compile(req: BackendCompileRequest): Promise<BackendCompileResult>;
  /** Link or archive through the cache (absent: `LinkEphemeral` answers an Error). */
  link?(req: BackendLinkRequest): Promise<BackendLinkResult>;
  /** Index entries whose outputs are Rust artifacts (absent: none). */
  rustArtifacts?(): Promise<RustArtifactInfo[]>;
  stats(): BackendStats;
  /** Resolves once the index is loaded (absent: always loaded); `stats()` is exact after it. */
  ready?(): Promise<void>;
  clear(): Promise<BackendClearCounts>;
  /** The stored artifact under `key`, or null. */
  lookup(key: string): Promise<ArtifactData | null>;
  store(key: string, artifact: ArtifactData): Promise<StoreResult>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Shared state every handler receives. */
export interface HandlerContext {
  /** The zccache release whose wire this daemon speaks ("1.12.2"). */
  readonly version: string;
  /** Sanitized `ZCCACHE_DAEMON_NAMESPACE`, or "" without one. */
  readonly namespace: string;
  /** The endpoint the daemon is bound to. */
  readonly endpoint: string;
  /** The cache root (`ZCCACHE_CACHE_DIR` or `~/.zccache`). */
  readonly cacheRoot: string;
  /** This project's own directory under the root (store, index, logs). */
  readonly projectDir: string;
  /** `Date.now()` at start. */
  readonly startedAtMs: number;
  readonly stats: GlobalStats;
  readonly sessions: SessionManager;
  readonly engine: CompileBackend | null;
  readonly log: DaemonLog;
  /** Begin a graceful shutdown (idempotent). */
  requestShutdown(reason: string): void;
}

/** What the connection loop does after sending a handler's response. */
export type AfterReply = "continue" | "close";

/** A handler's answer. */
export interface HandlerResult {
  response: Response;
  after?: AfterReply;
  /** Called once the reply is on the wire (or the send failed). */
  onSent?: () => void;
}

/** Convert a backend count to the wire's u64. */
export function u64(v: number | bigint | undefined): bigint {
  if (v === undefined) return 0n;
  if (typeof v === "bigint") return v < 0n ? 0n : v;
  if (!Number.isFinite(v) || v <= 0) return 0n;
  return BigInt(Math.floor(v));
}
