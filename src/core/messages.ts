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
  daemonName: string | null;
  endpoint: string | null;
  cacheDir: string | null;
  ownerPids: number[];
  env: EnvPair[];
}

/** `ArtifactPayload`: inline bytes or a path. */
export type ArtifactPayload =
  | { kind: "Bytes"; value: Uint8Array }
  | { kind: "Path"; value: string };

/** `ArtifactOutput`: one named output of a cached artifact. */
export interface ArtifactOutput {
  name: string;
  payload: ArtifactPayload;
}

/** `ArtifactData`: the outputs and console of a cached compile. */
export interface ArtifactData {
  outputs: ArtifactOutput[];
  stdout: Uint8Array;
  stderr: Uint8Array;
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
  stdout: boolean;
  stderr: boolean;
}

/** `ExecCachePolicy` (Rust default `Normal`). */
export type ExecCachePolicy = "Normal" | "Bypass" | "ReadOnly";

/** `RustArtifactInfo`. */
export interface RustArtifactInfo {
  cacheKey: string;
  outputNames: string[];
  /** `usize` on the wire (u64). */
  payloadCount: bigint;
}

/** `PrivateDaemonOwnerStatus`. */
export interface PrivateDaemonOwnerStatus {
  pid: number;
  refCount: bigint;
}

/** `PrivateDaemonStatus` (`shared()` = `{ enabled: false, owners: [], privateEnvKeys: [] }`). */
export interface PrivateDaemonStatus {
  enabled: boolean;
  owners: PrivateDaemonOwnerStatus[];
  privateEnvKeys: string[];
}

/** `DaemonStatus`: 27 fields in wire order. */
export interface DaemonStatus {
  version: string;
  daemonNamespace: string;
  endpoint: string;
  privateDaemon: PrivateDaemonStatus;
  artifactCount: bigint;
  cacheSizeBytes: bigint;
  metadataEntries: bigint;
  uptimeSecs: bigint;
  cacheHits: bigint;
  cacheMisses: bigint;
  totalCompilations: bigint;
  nonCacheable: bigint;
  compileErrors: bigint;
  compileErrorsCached: bigint;
  timeSavedMs: bigint;
  totalLinks: bigint;
  linkHits: bigint;
  linkMisses: bigint;
  linkNonCacheable: bigint;
  depGraphContexts: bigint;
  depGraphFiles: bigint;
  sessionsTotal: bigint;
  sessionsActive: bigint;
  cacheDir: string;
  /** u32 on the wire. */
  depGraphVersion: number;
  depGraphDiskSize: bigint;
  depGraphPersisted: boolean;
}

/** `PhaseProfileSummary` at 1.12.2: 18 u64 (nanosecond totals and counts). */
export interface PhaseProfileSummary {
  hitCount: bigint;
  missCount: bigint;
  parseArgsNs: bigint;
  buildContextNs: bigint;
  hashSourceNs: bigint;
  hashHeadersNs: bigint;
  depgraphCheckNs: bigint;
  requestCacheLookupNs: bigint;
  crossRootValidateNs: bigint;
  artifactLookupNs: bigint;
  writeOutputNs: bigint;
  bookkeepingNs: bigint;
  totalHitNs: bigint;
  compilerExecNs: bigint;
  includeScanNs: bigint;
  hashAllNs: bigint;
  artifactStoreNs: bigint;
  totalMissNs: bigint;
}

/** `SessionStats` at 1.12.2: 12 fields (no `lookup_outcomes`). */
export interface SessionStats {
  durationMs: bigint;
  compilations: bigint;
  hits: bigint;
  misses: bigint;
  nonCacheable: bigint;
  errors: bigint;
  errorsCached: bigint;
  timeSavedMs: bigint;
  uniqueSources: bigint;
  bytesRead: bigint;
  bytesWritten: bigint;
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
