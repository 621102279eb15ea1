/**
 * Domain types of the zccache 1.12.2 daemon protocol, shared by the v15
 * bincode codec and the v16 prost codec.
 *
 * Conventions (one rule each, so codecs can be derived mechanically):
 * - Enums are discriminated unions on `kind`; the kind is the Rust variant
 *   name (`"Ping"`, `"CompileEphemeral"`).
 * - Struct fields are the Rust snake_case names in camelCase
 *   (`cache_key` -> `cacheKey`), in Rust declaration order.
 * - Newtype variants carry their payload in `value`
 *   (`{ kind: "Status", value: DaemonStatus }`).
 * - Enums whose variants are all unit are string literal unions
 *   (`StoreResult`, `ExecCachePolicy`).
 * - `u64`/`usize` are `bigint`; `u32`/`i32` are `number`; `Option<T>` is
 *   `T | null`; `Vec<u8>` and `[u8; 32]` are `Uint8Array`; paths are strings
 *   (lexically normalized the way zccache's `NormalizedPath` does).
 *
 * Source: zccache@3eae627:crates/zccache/src/protocol/messages/*.rs (1.12.2).
 *
 * @module
 */

/** `(String, String)`: an environment variable as `[name, value]`. */
export type EnvPair = [name: string, value: string];

/** `PrivateDaemonSessionOptions` (SessionStart.private_daemon). */
export interface PrivateDaemonSessionOptions {
  /** Name of the private daemon to start or join (`None` = derived). */
  daemonName: string | null;
  /** Endpoint the private daemon listens on (`None` = derived from the name). */
  endpoint: string | null;
  /** Cache directory of the private daemon (`None` = the default). */
  cacheDir: string | null;
  /** Processes that own the private daemon (u32 each). */
  ownerPids: number[];
  /** Environment the private daemon is started with. */
  env: EnvPair[];
}

/** `ArtifactPayload`: inline bytes or a path. */
export type ArtifactPayload =
  | { kind: "Bytes"; value: Uint8Array }
  | { kind: "Path"; value: string };

/** `ArtifactOutput`: one named output of a cached artifact. */
export interface ArtifactOutput {
  /** The output's name (its file name within the artifact). */
  name: string;
  /** Its content, inline or as a path. */
  payload: ArtifactPayload;
}

/** `ArtifactData`: the outputs and console of a cached compile. */
export interface ArtifactData {
  /** Every output file of the compile. */
  outputs: ArtifactOutput[];
  /** The compiler's stdout. */
  stdout: Uint8Array;
  /** The compiler's stderr. */
  stderr: Uint8Array;
  /** The compiler's exit code (i32). */
  exitCode: number;
}

/** `LookupResult`. */
export type LookupResult =
  | { kind: "Hit"; artifact: ArtifactData }
  | { kind: "Miss" };

/** `StoreResult`. */
export type StoreResult = "Stored" | "AlreadyExists";

/** `ExecOutputStreams` (Rust default `{ stdout: true, stderr: true }`). */
export interface ExecOutputStreams {
  /** Capture stdout. */
  stdout: boolean;
  /** Capture stderr. */
  stderr: boolean;
}

/** `ExecCachePolicy` (Rust default `Normal`). */
export type ExecCachePolicy = "Normal" | "Bypass" | "ReadOnly";

/** `RustArtifactInfo`. */
export interface RustArtifactInfo {
  /** The cache key of the artifact. */
  cacheKey: string;
  /** Names of the outputs it holds. */
  outputNames: string[];
  /** `usize` on the wire (u64). */
  payloadCount: bigint;
}

/** `PrivateDaemonOwnerStatus`. */
export interface PrivateDaemonOwnerStatus {
  /** The owner's process id (u32). */
  pid: number;
  /** References that owner holds on the daemon (u64). */
  refCount: bigint;
}

/** `PrivateDaemonStatus` (`shared()` = `{ enabled: false, owners: [], privateEnvKeys: [] }`). */
export interface PrivateDaemonStatus {
  /** Whether this daemon is a private one. */
  enabled: boolean;
  /** The processes that own it. */
  owners: PrivateDaemonOwnerStatus[];
  /** Names of the environment variables it was started with. */
  privateEnvKeys: string[];
}

/** `DaemonStatus`: 27 fields in wire order. */
export interface DaemonStatus {
  /** The daemon's version (`"1.12.2"`). */
  version: string;
  /** Its namespace (`"default"`, `"dev"` or a sanitised `ZCCACHE_DAEMON_NAMESPACE`). */
  daemonNamespace: string;
  /** The endpoint it listens on. */
  endpoint: string;
  /** Private-daemon state (`enabled: false` for the shared daemon). */
  privateDaemon: PrivateDaemonStatus;
  /** Cached artifacts. */
  artifactCount: bigint;
  /** Bytes the artifact store holds. */
  cacheSizeBytes: bigint;
  /** Entries in the metadata index. */
  metadataEntries: bigint;
  /** Seconds since the daemon started. */
  uptimeSecs: bigint;
  /** Compiles served from the cache. */
  cacheHits: bigint;
  /** Compiles that ran and were stored. */
  cacheMisses: bigint;
  /** Compile requests handled. */
  totalCompilations: bigint;
  /** Compiles run uncached. */
  nonCacheable: bigint;
  /** Compiles that failed. */
  compileErrors: bigint;
  /** Failed compiles served from the cache. */
  compileErrorsCached: bigint;
  /** Compile time the hits saved, in milliseconds. */
  timeSavedMs: bigint;
  /** Link requests handled. */
  totalLinks: bigint;
  /** Links served from the cache. */
  linkHits: bigint;
  /** Links that ran and were stored. */
  linkMisses: bigint;
  /** Links run uncached. */
  linkNonCacheable: bigint;
  /** Contexts in the dependency graph. */
  depGraphContexts: bigint;
  /** Files in the dependency graph. */
  depGraphFiles: bigint;
  /** Sessions started since the daemon started. */
  sessionsTotal: bigint;
  /** Sessions open now. */
  sessionsActive: bigint;
  /** The cache directory. */
  cacheDir: string;
  /** u32 on the wire. */
  depGraphVersion: number;
  /** Bytes the persisted dependency graph takes on disk. */
  depGraphDiskSize: bigint;
  /** Whether the dependency graph has been persisted. */
  depGraphPersisted: boolean;
}

/** `PhaseProfileSummary` at 1.12.2: 18 u64 (nanosecond totals and counts). */
export interface PhaseProfileSummary {
  /** Hits profiled. */
  hitCount: bigint;
  /** Misses profiled. */
  missCount: bigint;
  /** Nanoseconds spent parsing arguments. */
  parseArgsNs: bigint;
  /** Nanoseconds spent building the compile context. */
  buildContextNs: bigint;
  /** Nanoseconds spent hashing the source. */
  hashSourceNs: bigint;
  /** Nanoseconds spent hashing headers. */
  hashHeadersNs: bigint;
  /** Nanoseconds spent checking the dependency graph. */
  depgraphCheckNs: bigint;
  /** Nanoseconds spent the request-cache lookup. */
  requestCacheLookupNs: bigint;
  /** Nanoseconds spent validating entries from another root. */
  crossRootValidateNs: bigint;
  /** Nanoseconds spent looking up the artifact. */
  artifactLookupNs: bigint;
  /** Nanoseconds spent writing outputs. */
  writeOutputNs: bigint;
  /** Nanoseconds spent bookkeeping. */
  bookkeepingNs: bigint;
  /** Nanoseconds spent total time of hits. */
  totalHitNs: bigint;
  /** Nanoseconds spent running the compiler. */
  compilerExecNs: bigint;
  /** Nanoseconds spent scanning includes. */
  includeScanNs: bigint;
  /** Nanoseconds spent hashing every input. */
  hashAllNs: bigint;
  /** Nanoseconds spent storing the artifact. */
  artifactStoreNs: bigint;
  /** Nanoseconds spent total time of misses. */
  totalMissNs: bigint;
}

/** `SessionStats` at 1.12.2: 12 fields (no `lookup_outcomes`). */
export interface SessionStats {
  /** How long the session has lasted, in milliseconds. */
  durationMs: bigint;
  /** Compiles in the session. */
  compilations: bigint;
  /** Hits. */
  hits: bigint;
  /** Misses. */
  misses: bigint;
  /** Compiles run uncached. */
  nonCacheable: bigint;
  /** Compiles that failed. */
  errors: bigint;
  /** Failed compiles served from the cache. */
  errorsCached: bigint;
  /** Compile time the hits saved, in milliseconds. */
  timeSavedMs: bigint;
  /** Distinct sources compiled. */
  uniqueSources: bigint;
  /** `bytes_read`, as the daemon counts it. */
  bytesRead: bigint;
  /** `bytes_written`, as the daemon counts it. */
  bytesWritten: bigint;
  /** Per-phase timings, when profiling was on. */
  phaseProfile: PhaseProfileSummary | null;
}

/** `Request`: the 19 variants of 1.12.2, index = position in this list. */
export type Request =
  | { kind: "Ping" }
  | { kind: "Shutdown" }
  | { kind: "Status" }
  | { kind: "Lookup"; cacheKey: string }
  | { kind: "Store"; cacheKey: string; artifact: ArtifactData }
  | {
    kind: "SessionStart";
    clientPid: number;
    workingDir: string;
    logFile: string | null;
    trackStats: boolean;
    journalPath: string | null;
    profile: boolean;
    privateDaemon: PrivateDaemonSessionOptions | null;
  }
  | {
    kind: "Compile";
    sessionId: string;
    args: string[];
    cwd: string;
    compiler: string;
    env: EnvPair[] | null;
    stdin: Uint8Array;
  }
  | { kind: "SessionEnd"; sessionId: string }
  | { kind: "Clear" }
  | {
    kind: "CompileEphemeral";
    clientPid: number;
    workingDir: string;
    compiler: string;
    args: string[];
    cwd: string;
    env: EnvPair[] | null;
    stdin: Uint8Array;
  }
  | {
    kind: "LinkEphemeral";
    clientPid: number;
    tool: string;
    args: string[];
    cwd: string;
    env: EnvPair[] | null;
  }
  | { kind: "SessionStats"; sessionId: string }
  | {
    kind: "FingerprintCheck";
    cacheFile: string;
    cacheType: string;
    root: string;
    extensions: string[];
    includeGlobs: string[];
    exclude: string[];
  }
  | { kind: "FingerprintMarkSuccess"; cacheFile: string }
  | { kind: "FingerprintMarkFailure"; cacheFile: string }
  | { kind: "FingerprintInvalidate"; cacheFile: string }
  | { kind: "ListRustArtifacts" }
  | {
    kind: "GenericToolExec";
    tool: string;
    args: string[];
    cwd: string;
    env: EnvPair[];
    inputFiles: string[];
    inputExtra: Uint8Array;
    outputStreams: ExecOutputStreams;
    outputFiles: string[];
    /** Exactly 32 bytes when present. */
    toolHash: Uint8Array | null;
    cachePolicy: ExecCachePolicy;
    cwdInKey: boolean;
    includeScanFiles: string[];
    includeDirs: string[];
    systemIncludeDirs: string[];
    iquoteDirs: string[];
    depfile: string | null;
    nonDeterministic: boolean;
    keyArgsFilter: string[];
  }
  | { kind: "ReleaseWorktreeHandles"; path: string };

/** `Response`: the 18 variants of 1.12.2, index = position in this list. */
export type Response =
  | { kind: "Pong" }
  | { kind: "ShuttingDown" }
  | { kind: "Status"; value: DaemonStatus }
  | { kind: "LookupResult"; value: LookupResult }
  | { kind: "StoreResult"; value: StoreResult }
  | { kind: "SessionStarted"; sessionId: string; journalPath: string | null }
  | {
    kind: "CompileResult";
    exitCode: number;
    stdout: Uint8Array;
    stderr: Uint8Array;
    cached: boolean;
  }
  | { kind: "SessionEnded"; stats: SessionStats | null }
  | {
    kind: "LinkResult";
    exitCode: number;
    stdout: Uint8Array;
    stderr: Uint8Array;
    cached: boolean;
    warning: string | null;
  }
  | { kind: "Error"; message: string }
  | {
    kind: "Cleared";
    artifactsRemoved: bigint;
    metadataCleared: bigint;
    depGraphContextsCleared: bigint;
    onDiskBytesFreed: bigint;
  }
  | { kind: "SessionStatsResult"; stats: SessionStats | null }
  | {
    kind: "FingerprintCheckResult";
    decision: string;
    reason: string | null;
    changedFiles: string[];
  }
  | { kind: "FingerprintAck" }
  | { kind: "RustArtifactList"; artifacts: RustArtifactInfo[] }
  | {
    kind: "GenericToolExecResult";
    exitCode: number;
    stdout: Uint8Array;
    stderr: Uint8Array;
    outputFiles: ArtifactOutput[];
    cached: boolean;
    cacheKeyHex: string;
  }
  | { kind: "Backpressure"; queueDepth: number; retryAfterMs: number; reason: string }
  | {
    kind: "ReleaseWorktreeHandlesResult";
    inspected: number;
    released: number;
    sessionsDropped: string[];
    unreleased: string[];
  };

/** The variant names of {@link Request}. */
export type RequestKind = Request["kind"];
/** The variant names of {@link Response}. */
export type ResponseKind = Response["kind"];
/** Narrow {@link Request} to one variant. */
export type RequestOf<K extends RequestKind> = Extract<Request, { kind: K }>;
/** Narrow {@link Response} to one variant. */
export type ResponseOf<K extends ResponseKind> = Extract<Response, { kind: K }>;

/** Which root type a codec reads or writes. */
export type Direction = "request" | "response";
/** The root type for a {@link Direction}. */
export type MessageOf<D extends Direction> = D extends "request" ? Request : Response;

/** Header version of the bincode lane at zccache 1.12.2. */
export const BINCODE_PROTOCOL_VERSION = 15;
/** Header version of the prost lane at zccache 1.12.2. */
export const PROST_PROTOCOL_VERSION = 16;
/** The largest `len` a decoder accepts (zccache `MAX_MESSAGE_SIZE`). */
export const MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** running-process payload protocol id of the zccache lane. */
export const ZCCACHE_PAYLOAD_PROTOCOL = 0x7a63;
/** The zccache release whose wire this library speaks. */
export const ZCCACHE_WIRE_RELEASE = "1.12.2";
