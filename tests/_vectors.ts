/**
 * Loader for the golden wire vectors vendored in
 * `tests/fixtures/vectors/<release>/` (byte-identical copies of
 * `../shared/vectors/<release>/`, checked by `tests/core/vendored_vectors_test.ts`), so a
 * clone with nothing beside it tests itself.
 *
 * `ZCCACHE_VECTORS_DIR`, when set, names another directory that holds
 * `<release>/wire-vectors.json` (e.g. a held-out vector set).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** `"request"` or `"response"`: the root type a vector encodes. */
export type VectorDirection = "request" | "response";

/** u64 values in the JSON: a number up to 2^53-1, else a decimal string. */
export type JsonU64 = number | string;

/** An encode/decode vector of the bincode lane. */
export interface BincodeVector {
  name: string;
  codec: "bincode";
  direction: VectorDirection;
  variant: string;
  value: unknown;
  body_hex: string;
  frame_hex: string;
  note?: string;
}

/** An encode/decode vector of the prost lane. */
export interface ProstVector {
  name: string;
  codec: "prost";
  direction: VectorDirection;
  variant: string;
  request_id: string;
  value: unknown;
  body_hex: string;
  frame_hex: string;
  note?: string;
}

/** An encode/decode vector of the running-process Frame lane. */
export interface FrameVector {
  name: string;
  codec: "frame";
  direction: VectorDirection;
  variant: string;
  value: unknown;
  request_id: string;
  frame_id: JsonU64;
  frame_kind: "request" | "response";
  payload_hex: string;
  body_hex: string;
  frame_hex: string;
  golden?: string;
  note?: string;
}

/** The outcome of a decoder run, as recorded in decode cases and replies. */
export interface DecodeOutcome {
  expect: "ok" | "error" | "incomplete";
  error_kind?: "VersionMismatch" | "MessageTooLarge" | "Deserialization" | "Conversion";
  error_message?: string;
  consumed: number;
  decoded?: unknown;
  decoded_lane?: "bincode" | "prost" | "frame";
  decoded_request_id?: string;
  decoded_frame_id?: JsonU64;
  auto_fallback_to_bincode?: boolean;
}

/** A decode-case vector (has `expect`). */
export interface DecodeCaseVector extends DecodeOutcome {
  name: string;
  codec: "bincode" | "prost" | "dispatch" | "frame";
  direction: VectorDirection;
  decoder: string;
  description: string;
  negative: boolean;
  frame_hex: string;
  stage?: "frame_or_body" | "prost_to_enum";
}

/** A daemon version-mismatch reply vector. */
export interface ReplyVector {
  name: string;
  codec: "reply";
  direction: "response";
  variant: "Error";
  daemon_release: string;
  daemon_bincode_version: number;
  daemon_prost_version: number | null;
  trigger_hex: string;
  trigger_description: string;
  received_version: number;
  expected_version: number;
  value: unknown;
  body_hex: string;
  frame_hex: string;
  connection_after_reply: string;
  client_decoder: string;
  client_outcome: DecodeOutcome;
  client_bincode_recv_outcome: DecodeOutcome;
  auto_fallback?: {
    retry_request_hex: string;
    retry_reply_hex: string;
    retry_client_decoder: string;
    retry_client_outcome: DecodeOutcome;
    meaning: string;
  };
  note?: string;
}

/** Any vector of the file. */
export type AnyVector =
  | BincodeVector
  | ProstVector
  | FrameVector
  | DecodeCaseVector
  | ReplyVector;

/** The parsed vector file plus typed views of its groups. */
export interface VectorFile {
  meta: Record<string, unknown> & {
    bincode_protocol_version: number;
    prost_protocol_version: number;
    max_message_size: number;
  };
  vectors: AnyVector[];
  /** bincode encode/decode vectors. */
  bincode: BincodeVector[];
  /** prost encode/decode vectors. */
  prost: ProstVector[];
  /** FrameV1 encode/decode vectors. */
  frame: FrameVector[];
  /** decode-case vectors (any codec). */
  decodeCases: DecodeCaseVector[];
  /** version-mismatch reply vectors. */
  replies: ReplyVector[];
}

/** The releases whose vectors are vendored under `tests/fixtures/vectors/`. */
export const VENDORED_RELEASES: readonly string[] = ["v1.12.2", "v1.12.18"];

/** The files vendored per release (data plus its README with the provenance). */
export const VENDORED_FILES: readonly string[] = ["wire-vectors.json", "README.md"];

/** `tests/fixtures/vectors` (absolute). */
export function vendoredVectorsDir(): string {
  return fileURLToPath(new URL("./fixtures/vectors/", import.meta.url));
}

/**
 * `../shared/vectors` beside the repository root (absolute), the upstream
 * copy of the vendored vectors; it may not exist (a plain clone).
 */
export function sharedVectorsDir(): string {
  return fileURLToPath(new URL("../../shared/vectors/", import.meta.url));
}

/** Absolute path of `<release>/wire-vectors.json`. */
export function vectorsPath(release = "v1.12.2"): string {
  const dir = process.env.ZCCACHE_VECTORS_DIR;
  if (dir) return join(dir, release, "wire-vectors.json");
  return join(vendoredVectorsDir(), release, "wire-vectors.json");
}

const cache = new Map<string, VectorFile>();

/** Load and classify the vectors of one release (cached per release). */
export function loadVectors(release = "v1.12.2"): VectorFile {
  const hit = cache.get(release);
  if (hit) return hit;
  const raw = JSON.parse(readFileSync(vectorsPath(release), "utf8")) as {
    meta: VectorFile["meta"];
    vectors: AnyVector[];
  };
  const isCase = (v: AnyVector): v is DecodeCaseVector => "expect" in v;
  const file: VectorFile = {
    meta: raw.meta,
    vectors: raw.vectors,
    bincode: raw.vectors.filter((v): v is BincodeVector => v.codec === "bincode" && !isCase(v)),
    prost: raw.vectors.filter((v): v is ProstVector => v.codec === "prost" && !isCase(v)),
    frame: raw.vectors.filter((v): v is FrameVector => v.codec === "frame" && !isCase(v)),
    decodeCases: raw.vectors.filter(isCase),
    replies: raw.vectors.filter((v): v is ReplyVector => v.codec === "reply"),
  };
  cache.set(release, file);
  return file;
}

/** Parse a JSON u64 (number or decimal string) to bigint. */
export function jsonU64(v: JsonU64): bigint {
  return BigInt(v);
}
