/**
 * zccache-ts: a compiler cache for Deno and Bun that speaks the daemon wire of
 * zccache 1.12.2 byte for byte.
 *
 * This entry re-exports the pieces a build script needs: the build-script
 * API (`ZccacheClient`), the wire core
 * (frames, v15 bincode, v16 prost, the FrameV1 lane), the client
 * (`IpcConnection`, `daemonControlRoundtrip`) and endpoint discovery, by name.
 * Subpaths `./core`, `./client` and `./transport` export the fuller sets of
 * each layer; everything else is internal.
 *
 * @example A build script: compile through the cache (the daemon starts by itself)
 * ```ts ignore
 * import { ZccacheClient } from "./mod.ts";
 *
 * await using zc = await ZccacheClient.connect();
 * const r = await zc.compile({ compiler: "gcc", args: ["-O2", "-c", "a.c", "-o", "a.o"] });
 * if (r.exitCode !== 0) console.error(new TextDecoder().decode(r.stderr));
 * ```
 *
 * @example Ask a running daemon for its status (any zccache 1.12.2 daemon, or ours)
 * ```ts ignore
 * import { daemonControlRoundtrip, resolveEndpoint } from "./mod.ts";
 *
 * const reply = await daemonControlRoundtrip(resolveEndpoint(), { kind: "Status" });
 * if (reply?.kind === "Status") console.log(reply.value.cacheHits);
 * ```
 *
 * @example Encode and decode a frame without any I/O
 * ```ts
 * import { decodeWireMessage, encodeBincodeFrame } from "./mod.ts";
 *
 * const frame = encodeBincodeFrame("request", { kind: "Ping" });
 * const decoded = decodeWireMessage(frame, "request");
 * if (decoded?.lane !== "bincode" || decoded.message.kind !== "Ping") throw new Error();
 * ```
 *
 * @module
 */

export {
  BINCODE_PROTOCOL_VERSION,
  PROST_PROTOCOL_VERSION,
  ZCCACHE_WIRE_RELEASE,
} from "./src/core/messages.ts";
export type {
  ArtifactData,
  ArtifactOutput,
  ArtifactPayload,
  DaemonStatus,
  Direction,
  EnvPair,
  ExecCachePolicy,
  ExecOutputStreams,
  LookupResult,
  MessageOf,
  PhaseProfileSummary,
  PrivateDaemonOwnerStatus,
  PrivateDaemonSessionOptions,
  PrivateDaemonStatus,
  Request,
  RequestKind,
  RequestOf,
  Response,
  ResponseKind,
  ResponseOf,
  RustArtifactInfo,
  SessionStats,
  StoreResult,
} from "./src/core/messages.ts";
export { ErrorCode, isZccacheError, ZccacheError } from "./src/core/errors.ts";
export type { ZccacheErrorDetails } from "./src/core/errors.ts";
export { fromHex, toHex } from "./src/core/bytes.ts";
export { FrameDecoder } from "./src/core/frame_reader.ts";
export type { FrameDecoderOptions } from "./src/core/frame_reader.ts";
export type { FrameLimits } from "./src/core/frame.ts";
export { decodeBincodeFrame, encodeBincodeFrame } from "./src/core/bincode.ts";
export type { DecodeFrameOptions } from "./src/core/bincode.ts";
export { decodeProstFrame, encodeProstFrame } from "./src/core/prost.ts";
export type { ProstDecoded, ProstFrameDecoded } from "./src/core/prost.ts";
export { decodeWireMessage } from "./src/core/wire.ts";
export type { DecodedWire, Lane } from "./src/core/wire.ts";
export {
  type ClearResult,
  type ClientEnv,
  type CompileJob,
  type CompileManyOptions,
  type CompileOptions,
  type CompileProgress,
  type CompileResult,
  ensureDaemon,
  type EnsureDaemonOptions,
  type LinkJob,
  type LinkResult,
  type SessionOptions,
  ZccacheClient,
  type ZccacheClientOptions,
  type ZccacheSession,
} from "./src/client/mod.ts";
export {
  type ControlOptions,
  type ControlRequest,
  type DaemonConnectRoute,
  daemonControlRoundtrip,
  type DecodedWireResponse,
  type Env,
  IpcConnection,
  type IpcConnectOptions,
  releaseWorktreeHandles,
  type WireLane,
} from "./src/client/mod.ts";
export { resolveEndpoint } from "./src/transport/discover.ts";
export type { EnvLike } from "./src/transport/endpoint.ts";
export type { Conn, ConnectOptions, Listener, Transport } from "./src/transport/types.ts";
