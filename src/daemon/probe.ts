/**
 * The running-process BackendHandle endpoint probe, both ends, and the
 * daemon's pre-bind probe.
 *
 * Daemon side (`answerBackendProbe`) reproduces
 * zccache@3eae627:crates/zccache/src/ipc/transport.rs
 * (`try_serve_backend_handle_probe`, `is_backend_handle_probe_request`,
 * `backend_handle_probe_response`). Caller side (`probeBackendHandle`)
 * reproduces running-process@b70d70e (4.4.0)
 * crates/running-process/src/broker/backend_lifecycle/{probe.rs,verify_pid.rs}.
 * The pre-bind probe (`probeExistingDaemon`) reproduces zccache
 * ipc/mod.rs `probe_existing_daemon`.
 *
 * Probe request (client -> daemon, the first bytes of a fresh connection):
 * ```
 * 01 · u32le body_len · Frame{ envelope_version 1, kind REQUEST (omitted),
 *   payload_protocol 0xB232 (18 B2 E4 02), payload = 32-byte nonce (22 20 …),
 *   request_id = u64le(nonce[0..8]) (28 <varint>) }
 * ```
 * Response (daemon -> client, then the daemon closes):
 * ```
 * 01 · u32le body_len · Frame{ envelope_version 1, kind RESPONSE (10 01),
 *   payload_protocol 0xB232, payload = nonce(32) ++ protobuf DaemonProcess,
 *   request_id echoed, traceparent / tracestate echoed }
 * ```
 *
 * @module
 */
import { randomFillSync } from "node:crypto";
import { readlinkSync, realpathSync } from "node:fs";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { deadline } from "../core/deadline.ts";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import { classifyFrameStart } from "../core/frame.ts";
import { frameExtent, FrameReader, readFrame } from "../core/frame_reader.ts";
import {
  decodeFrameBody,
  encodeEnvelope,
  FrameKind,
  MAX_FRAME_BYTES,
  PAYLOAD_PROTOCOL_BACKEND_PROBE,
  PAYLOAD_PROTOCOL_ZCCACHE,
  PayloadEncoding,
  type RpFrame,
  rpFrame,
} from "../core/envelope.ts";
import { runningProcessEndpoint } from "../transport/endpoint.ts";
import { defaultTransport } from "../transport/select.ts";
import type { Conn, Transport } from "../transport/types.ts";
import { bootId, type DaemonIdentity, readIdentityFile, sha256File } from "./identity.ts";
import { isProcessAlive, liveLockHolder } from "./pid.ts";
import { identityFromProto, identityToProto } from "./identity_proto.ts";

/** Length of the BackendHandle probe nonce. */
export const PROBE_NONCE_BYTES = 32;

/** What the first bytes of a daemon connection select. */
export type ProbeLaneDecision =
  /** Not decidable yet: read until at least `minBytes` are buffered. */
  | { lane: "incomplete"; minBytes: number }
  /** zccache traffic (bincode, prost, FrameV1): leave every byte buffered. */
  | { lane: "zccache" }
  /** A BackendHandle probe: write `response`, then close the connection. */
  | { lane: "probe"; consumed: number; response: Uint8Array }
  /** Close the connection without a reply. */
  | { lane: "error"; error: ZccacheError };

/** Options for {@link answerBackendProbe}. */
export interface AnswerProbeOptions {
  /** The peer has closed its side: no more bytes will come. */
  eof?: boolean;
}

/**
 * Decide the lane of a new daemon connection from its first buffered bytes
 * and, for a BackendHandle probe, build the exact response frame. Pure.
 *
 * Order (zccache `try_serve_backend_handle_probe`): wait for 8 bytes (EOF with
 * none -> zccache lane, which then sees a clean EOF; EOF with some ->
 * ConnectionClosed); byte 0 != 0x01 -> zccache; `u32le[0..4] >= 4` and
 * `u32le[4..8]` in {15, 16} -> zccache; `body_len` > 16 MiB -> error; wait
 * for the whole frame; undecodable Frame -> error; a probe -> response;
 * payload_protocol 0x7A63 -> zccache; anything else -> error.
 */
export function answerBackendProbe(
  buf: Uint8Array,
  identity: DaemonIdentity,
  options: AnswerProbeOptions = {},
): ProbeLaneDecision {
  const eof = options.eof ?? false;
  const need = (n: number): ProbeLaneDecision => {
    if (!eof) return { lane: "incomplete", minBytes: n };
    if (buf.length === 0) return { lane: "zccache" };
    return { lane: "error", error: new ZccacheError("ConnectionClosed", "connection closed") };
  };
  if (buf.length < 8) return need(8);
  if (classifyFrameStart(buf) === false) return { lane: "zccache" };
  let size: number;
  try {
    size = frameExtent(buf, "envelope", MAX_FRAME_BYTES)!;
  } catch {
    const bodyLen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1, true);
    return {
      lane: "error",
      error: new ZccacheError(
        "Endpoint",
        `running-process BackendHandle probe frame too large: ${bodyLen} bytes`,
      ),
    };
  }
  if (buf.length < size) return need(size);
  let frame: RpFrame;
  try {
    frame = decodeFrameBody(buf.subarray(5, size));
  } catch (e) {
    return {
      lane: "error",
      error: new ZccacheError("Endpoint", `BackendHandle probe decode failed: ${String(e)}`, {
        cause: e,
      }),
    };
  }
  const isProbe = frame.envelopeVersion === 1 && frame.kind === FrameKind.Request &&
    frame.payloadProtocol === PAYLOAD_PROTOCOL_BACKEND_PROBE &&
    frame.payloadEncoding === PayloadEncoding.None && frame.payload.length === PROBE_NONCE_BYTES;
  if (!isProbe) {
    if (frame.payloadProtocol === PAYLOAD_PROTOCOL_ZCCACHE) return { lane: "zccache" };
    return {
      lane: "error",
      error: new ZccacheError(
        "Endpoint",
        "unexpected running-process frame on zccache daemon endpoint",
      ),
    };
  }
  const daemon = identityToProto(identity);
  const payload = new Uint8Array(PROBE_NONCE_BYTES + daemon.length);
  payload.set(frame.payload, 0);
  payload.set(daemon, PROBE_NONCE_BYTES);
  const response = encodeEnvelope(rpFrame({
    kind: FrameKind.Response,
    payloadProtocol: PAYLOAD_PROTOCOL_BACKEND_PROBE,
    payload,
    requestId: frame.requestId,
    traceparent: frame.traceparent,
    tracestate: frame.tracestate,
  }));
  return { lane: "probe", consumed: size, response };
}

/**
 * Run {@link answerBackendProbe} on a fresh connection: read until the lane
 * is decided; for a probe write the response and report `served` (the
 * caller closes); otherwise return every byte read so far for the request
 * loop. Throws the decision's error (the caller closes without a reply).
 */
export async function serveBackendProbe(
  conn: Conn,
  identity: DaemonIdentity,
): Promise<{ served: boolean; buffered: Uint8Array; eof: boolean }> {
  const reader = new FrameReader();
  let eof = false;
  for (;;) {
    const buf = reader.view();
    const d = answerBackendProbe(buf, identity, { eof });
    if (d.lane === "zccache") return { served: false, buffered: buf, eof };
    if (d.lane === "error") throw d.error;
    if (d.lane === "probe") {
      await conn.write(d.response);
      return { served: true, buffered: buf.subarray(d.consumed), eof };
    }
    const chunk = await conn.read();
    if (chunk === null) {
      eof = true;
      continue;
    }
    reader.push(chunk);
  }
}

/** The probe request frame for a 32-byte nonce (running-process `endpoint_probe_request_frame`). */
export function encodeProbeRequest(nonce: Uint8Array): Uint8Array {
  if (nonce.length !== PROBE_NONCE_BYTES) throw new RangeError("probe nonce must be 32 bytes");
  const requestId = new DataView(nonce.buffer, nonce.byteOffset, 8).getBigUint64(0, true);
  return encodeEnvelope(rpFrame({
    kind: FrameKind.Request,
    payloadProtocol: PAYLOAD_PROTOCOL_BACKEND_PROBE,
    payload: nonce,
    requestId,
  }));
}

export { isProcessAlive } from "./pid.ts";

/** The executable of a PID (Linux `/proc/<pid>/exe`, macOS `ps`), or `null`. */
export function exeForPid(pid: number): string | null {
  try {
    if (process.platform === "linux") return readlinkSync(`/proc/${pid}/exe`);
    if (process.platform === "darwin") {
      const r = spawnSync("ps", ["-o", "comm=", "-p", String(pid)], { encoding: "utf8" });
      const v = typeof r.stdout === "string" ? r.stdout.trim() : "";
      return v === "" ? null : v;
    }
  } catch {
    return null;
  }
  return null;
}

function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Why a BackendHandle probe failed (`null` = success). */
export type BackendProbeFailure =
  | "EndpointMismatch"
  | "VerifyPid"
  | "Connect"
  | "Timeout"
  | "BadResponse"
  | "IdentityMismatch";

/** Options for {@link probeBackendHandle}. */
export interface BackendProbeOptions {
  /** Environment (namespace label). Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Transport (default: the runtime's). */
  transport?: Transport;
  /** Whole-probe deadline in ms (running-process default 500). */
  timeoutMs?: number;
  /** Skip the process checks (pid alive, exe path, SHA-256). Tests only. */
  skipProcessChecks?: boolean;
}

/**
 * running-process `BackendHandle::probe_with_service` as zccache's pre-bind
 * probe uses it: endpoint equality, `verify_daemon_process` (pid != 0, boot
 * id, alive, canonical exe path, SHA-256), the active probe with a 500 ms
 * deadline, then field-by-field identity equality. Returns `null` on success.
 */
export async function probeBackendHandle(
  endpoint: string,
  expected: DaemonIdentity,
  options: BackendProbeOptions = {},
): Promise<BackendProbeFailure | null> {
  const env = options.env ?? process.env;
  const ep = runningProcessEndpoint(endpoint, env, process.platform);
  if (
    ep.namespaceId !== expected.ipcEndpoint.namespaceId || ep.path !== expected.ipcEndpoint.path
  ) {
    return "EndpointMismatch";
  }
  if (!options.skipProcessChecks) {
    if (expected.pid === 0) return "VerifyPid";
    const current = bootId();
    if (expected.bootId !== "" && current !== "" && expected.bootId !== current) return "VerifyPid";
    if (!isProcessAlive(expected.pid)) return "VerifyPid";
    const exe = exeForPid(expected.pid);
    if (exe === null || canonical(exe) !== canonical(expected.exePath)) return "VerifyPid";
    try {
      if (!bytesEqual(await sha256File(exe), expected.exeSha256)) return "VerifyPid";
    } catch {
      return "VerifyPid";
    }
  }
  const transport = options.transport ?? defaultTransport(env);
  const ms = options.timeoutMs ?? 500;
  const nonce = new Uint8Array(PROBE_NONCE_BYTES);
  randomFillSync(nonce);
  const requestId = new DataView(nonce.buffer).getBigUint64(0, true);
  const box: { conn: Conn | null } = { conn: null };
  const run = async (): Promise<BackendProbeFailure | null> => {
    let conn: Conn;
    try {
      conn = await transport.connect(endpoint, { timeoutMs: ms });
      box.conn = conn;
    } catch {
      return "Connect";
    }
    await conn.write(encodeProbeRequest(nonce));
    const raw = await readFrame(conn, new FrameReader({ mode: "envelope" }));
    const frame = decodeFrameBody(raw.subarray(5));
    if (
      frame.envelopeVersion !== 1 || frame.kind !== FrameKind.Response ||
      frame.payloadProtocol !== PAYLOAD_PROTOCOL_BACKEND_PROBE || frame.requestId !== requestId ||
      frame.payloadEncoding !== PayloadEncoding.None || frame.payload.length < PROBE_NONCE_BYTES ||
      !bytesEqual(frame.payload.subarray(0, PROBE_NONCE_BYTES), nonce)
    ) return "BadResponse";
    const actual = identityFromProto(frame.payload.subarray(PROBE_NONCE_BYTES));
    const same = actual.pid === expected.pid && actual.exePath === expected.exePath &&
      bytesEqual(actual.exeSha256, expected.exeSha256) && actual.bootId === expected.bootId &&
      actual.ipcEndpoint.namespaceId === expected.ipcEndpoint.namespaceId &&
      actual.ipcEndpoint.path === expected.ipcEndpoint.path;
    return same ? null : "IdentityMismatch";
  };
  try {
    return await deadline(run(), ms, {
      what: "BackendHandle probe",
      onTimeout: () => void box.conn?.close().catch(() => {}),
    });
  } catch (e) {
    return isZccacheError(e, "Timeout") ? "Timeout" : "BadResponse";
  } finally {
    await box.conn?.close().catch(() => {});
  }
}

/** Options for {@link probeExistingDaemon}. */
export interface PreBindProbeOptions {
  /** The identity file (`identityFilePath(env)`). */
  identityPath: string;
  /** Environment (`RUNNING_PROCESS_DISABLE`, namespace). Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * The lock file. When given, the probe first requires a PID in it that is
   * not this process and is alive (zccache's gate). zccache also requires
   * the PID's executable to be named `zccache-daemon`, which is skipped
   * here: no daemon this project starts has that name, and at 1.12.2 the
   * CLI-spawned daemons fail it too (ipc-spec-1.12.2 §10.1).
   */
  lockPath?: string;
  /** Transport (default: the runtime's). */
  transport?: Transport;
  /** Deadline in ms for the BackendHandle probe and the raw connect (500). */
  timeoutMs?: number;
  /** Passed to {@link probeBackendHandle}. Tests only. */
  skipProcessChecks?: boolean;
}

/** Result of the pre-bind probe. */
export interface PreBindProbeResult {
  /** True: a live daemon serves the endpoint; defer to it. */
  live: boolean;
  /** Which check decided. */
  via: "lock" | "backend-handle" | "raw-connect";
}

/**
 * The daemon's pre-bind probe: is a live daemon already serving `endpoint`?
 * With the identity file present and `RUNNING_PROCESS_DISABLE` not exactly
 * `"1"`, a BackendHandle probe first; otherwise (or when it fails) the
 * legacy raw connect, sending nothing, within 500 ms.
 */
export async function probeExistingDaemon(
  endpoint: string,
  options: PreBindProbeOptions,
): Promise<PreBindProbeResult> {
  const env = options.env ?? process.env;
  const ms = options.timeoutMs ?? 500;
  if (options.lockPath !== undefined && liveLockHolder(options.lockPath) === null) {
    return { live: false, via: "lock" };
  }
  if (env.RUNNING_PROCESS_DISABLE !== "1") {
    const identity = readIdentityFile(options.identityPath);
    if (identity !== null) {
      const failure = await probeBackendHandle(endpoint, identity, {
        env,
        transport: options.transport,
        timeoutMs: ms,
        skipProcessChecks: options.skipProcessChecks,
      });
      if (failure === null) return { live: true, via: "backend-handle" };
    }
  }
  const transport = options.transport ?? defaultTransport(env);
  const p: Promise<Conn> = transport.connect(endpoint, { timeoutMs: ms });
  try {
    const conn: Conn = await deadline(p, ms, { what: "pre-bind connect" });
    await conn.close().catch(() => {});
    return { live: true, via: "raw-connect" };
  } catch {
    p.then((c: Conn) => c.close().catch(() => {}), () => {});
    return { live: false, via: "raw-connect" };
  }
}
