/**
 * The sans-IO core of zccache-ts: the zccache 1.12.2 daemon wire, byte for
 * byte. Frames, the v15 bincode lane, the v16 prost lane, the running-process
 * FrameV1 lane, the dual dispatcher, version negotiation and
 * `ZCCACHE_DAEMON_WIRE` parsing. No I/O and no runtime APIs: it runs
 * unchanged on Deno, Bun, Node and in browsers.
 *
 * @example
 * ```ts
 * import {
 *   decodeWireMessage,
 *   encodeBincodeFrame,
 *   FrameDecoder,
 *   toHex,
 * } from "./mod.ts";
 *
 * // A client's bincode Lookup, as it goes over the socket.
 * const frame = encodeBincodeFrame("request", { kind: "Lookup", cacheKey: "abc" });
 * if (toHex(frame) !== "130000000f000000030000000300000000000000616263") throw new Error();
 *
 * // The daemon side: cut frames out of a byte stream, then dispatch on the lane.
 * const decoder = new FrameDecoder();
 * decoder.push(frame.subarray(0, 10));
 * decoder.push(frame.subarray(10));
 * const raw = decoder.next()!;
 * const msg = decodeWireMessage(raw, "request");
 * if (msg?.lane !== "bincode" || msg.message.kind !== "Lookup") throw new Error();
 * ```
 *
 * @module
 */

export {
  BINCODE_PROTOCOL_VERSION,
  MAX_MESSAGE_SIZE,
  PROST_PROTOCOL_VERSION,
  ZCCACHE_PAYLOAD_PROTOCOL,
  ZCCACHE_WIRE_RELEASE,
} from "./messages.ts";
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
} from "./messages.ts";
export { ErrorCode, isZccacheError, ZccacheError } from "./errors.ts";
export type { ZccacheErrorDetails } from "./errors.ts";
export {
  BinaryReader,
  BinaryWriter,
  concatBytes,
  decodeUtf8Strict,
  encodeUtf8,
  fromHex,
  toHex,
} from "./bytes.ts";
export { normalizePath } from "./path.ts";
export { encodeFrame, FRAME_HEADER_SIZE, peekFrameVersion } from "./frame.ts";
export type { FrameLimits } from "./frame.ts";
export { FrameDecoder, FrameReader } from "./frame_reader.ts";
export type { FrameDecoderOptions, FrameMode, FrameReaderOptions } from "./frame_reader.ts";
export { decodeBincode, decodeBincodeFrame, encodeBincode, encodeBincodeFrame } from "./bincode.ts";
export type { DecodeFrameOptions } from "./bincode.ts";
export { fromJsonValue, toJsonValue } from "./json_value.ts";
export {
  decodeProst,
  decodeProstFrame,
  defaultRequestId,
  encodeProst,
  encodeProstFrame,
  isControlRequest,
} from "./prost.ts";
export type { ProstDecoded, ProstFrameDecoded } from "./prost.ts";
export {
  decodeEnvelope,
  decodeFrameV1,
  encodeEnvelope,
  encodeFrameV1,
  PAYLOAD_PROTOCOL_BACKEND_PROBE,
  PAYLOAD_PROTOCOL_BROKER_CONTROL,
  PAYLOAD_PROTOCOL_ZCCACHE,
  startsRunningProcessFrame,
} from "./frame_v1.ts";
export type { FrameV1Decoded, FrameV1EncodeOptions, FrameV1Kind, RpFrame } from "./frame_v1.ts";
export {
  decodeWireMessage,
  isOldDaemonRejection,
  versionMismatchMessage,
  versionMismatchReply,
  wireErrorKind,
} from "./wire.ts";
export type { DecodedWire, Lane, WireErrorKind } from "./wire.ts";
export { fullFamilyWire, isWireMismatchMessage, parseDaemonWire } from "./wire_env.ts";
export type { DaemonWire } from "./wire_env.ts";
