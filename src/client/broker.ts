/**
 * The opt-in running-process broker lane in front of the daemon connect.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/ipc/broker.rs with
 * running-process 4.4.0 (running-process@b70d70e:
 * crates/running-process/src/broker/{client.rs,lifecycle/names.rs,lifecycle/sid.rs}):
 *
 * - Seam (`RUNNING_PROCESS_FAKE_BACKEND=<ep>`, TEST-ONLY): dial `<ep>`, drop
 *   that connection unused, re-dial `<ep>` as the data connection
 *   (route HelloSkip). The data connection goes to the seam, not to the
 *   requested endpoint.
 * - Production (`ZCCACHE_BROKER_CONNECT=1`): running-process's own
 *   `RUNNING_PROCESS_DISABLE` parser first (set but not `"1"` -> fail), then
 *   connect to the per-user shared broker, send Hello, read one reply frame,
 *   and connect to `Negotiated.backend_pipe` (route BrokerNegotiated).
 *
 * Hello request, exact bytes for PID 4242 (ipc-spec-1.12.2 §5.3):
 * ```
 * 01 3F 00 00 00            framing byte, u32le body_len = 63
 *   08 01                   Frame.envelope_version = 1 (kind REQUEST, protocol 0 omitted)
 *   22 39 <Hello, 57 bytes> Frame.payload
 *     08 01 10 01           client_min/max_protocol = 1
 *     1A 07 "zccache"       service_name
 *     22 06 "1.12.2"        wanted_version
 *     30 01                 client_capabilities = CAP_HANDLE_PASSING
 *     42 05 "hello"         request_id
 *     50 92 21              peer_pid = 4242
 *     5A 0F "running-process" 62 05 "4.4.0"   client_lib_name / _version
 *   28 01                   Frame.request_id = 1
 * ```
 *
 * Every failure returns `null` (the caller connects directly). Deviation from
 * 1.12.2, which has no broker timeouts (ipc-spec-1.12.2 §10.6): each broker
 * step here is bounded by `brokerTimeoutMs` (default 2000 ms) so a wedged
 * broker cannot hang a build.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { ZCCACHE_WIRE_RELEASE } from "../core/messages.ts";
import { HelloReplySchema, HelloSchema } from "../core/gen/running_process_broker_v1_pb.ts";
import { deadline } from "../core/deadline.ts";
import { FrameReader, readFrame } from "../core/frame_reader.ts";
import {
  decodeFrameBody,
  encodeEnvelope,
  FrameKind,
  PAYLOAD_PROTOCOL_BROKER_CONTROL,
  PayloadEncoding,
  type RpFrame,
  rpFrame,
} from "../core/envelope.ts";
import type { Conn, Transport } from "../transport/types.ts";
import { hashTo16Hex } from "./_blake3.ts";
import type { DaemonConnectRoute, Env } from "./types.ts";

/** running-process `PROTOCOL_VERSION` (Hello min/max). */
export const BROKER_PROTOCOL_VERSION = 1;
/** `CAP_HANDLE_PASSING`, always advertised by 4.4.0 on Unix and Windows. */
export const CAP_HANDLE_PASSING = 1n;
/** The running-process client library version zccache 1.12.2 pins. */
export const RUNNING_PROCESS_LIB_VERSION = "4.4.0";
/** Default bound on each broker step (not in 1.12.2; see module docs). */
export const DEFAULT_BROKER_TIMEOUT_MS = 2000;

/** Options of the broker lane. */
export interface BrokerLaneOptions {
  /** Bound on each broker step in ms (default {@link DEFAULT_BROKER_TIMEOUT_MS}). */
  brokerTimeoutMs?: number;
  /** Override the broker endpoint (default: {@link defaultBrokerEndpoint}). */
  brokerEndpoint?: string | null;
  /** PID to claim in `Hello.peer_pid` (default: this process). */
  peerPid?: number;
}

/** Why the broker lane gave up (for diagnostics; never surfaced as an error). */
export type BrokerFailure =
  | "NoBrokerEndpoint"
  | "DisableEnv"
  | "BrokerConnect"
  | "Framing"
  | "DecodeFrame"
  | "UnexpectedResponseFrame"
  | "DecodeHelloReply"
  | "MissingHelloReplyResult"
  | "Refused"
  | "EmptyBackendPipe"
  | "BackendConnect"
  | "Timeout";

/** Result of a Hello negotiation. */
export type HelloOutcome =
  | { ok: true; backendPipe: string; daemonVersion: string }
  | { ok: false; failure: BrokerFailure; code?: number; reason?: string };

/**
 * The exact Hello request frame zccache 1.12.2 (running-process 4.4.0)
 * sends to the broker.
 */
export function encodeHelloRequest(
  peerPid: number,
  wantedVersion = ZCCACHE_WIRE_RELEASE,
): Uint8Array {
  const hello = create(HelloSchema, {
    clientMinProtocol: BROKER_PROTOCOL_VERSION,
    clientMaxProtocol: BROKER_PROTOCOL_VERSION,
    serviceName: "zccache",
    wantedVersion,
    clientVersion: "",
    clientCapabilities: CAP_HANDLE_PASSING,
    requestId: "hello",
    connectionId: 0n,
    peerPid,
    clientLibName: "running-process",
    clientLibVersion: RUNNING_PROCESS_LIB_VERSION,
    clientKeepaliveSecs: 0n,
  });
  return encodeEnvelope(rpFrame({
    envelopeVersion: BROKER_PROTOCOL_VERSION,
    kind: FrameKind.Request,
    payloadProtocol: PAYLOAD_PROTOCOL_BROKER_CONTROL,
    payload: toBinary(HelloSchema, hello),
    requestId: 1n,
  }));
}

/**
 * running-process `user_sid_hash()` on Linux/macOS: BLAKE3 of
 * `<uid>:<machine-id>` (Linux) or `<uid>:<IOPlatformUUID>` (macOS), first 8
 * bytes as lowercase hex. `null` when the identity cannot be read (and on
 * Windows, where the token SID is not reachable from here).
 */
export function userSidHash(): string | null {
  const getuid = (process as { getuid?: () => number }).getuid;
  if (typeof getuid !== "function") return null;
  const uid = getuid.call(process);
  let machine: string | null = null;
  if (process.platform === "darwin") {
    const r = spawnSync("ioreg", ["-d2", "-c", "IOPlatformExpertDevice"], { encoding: "utf8" });
    if (r.status !== 0 || typeof r.stdout !== "string") return null;
    for (const raw of r.stdout.split("\n")) {
      const line = raw.trim();
      if (!line.startsWith('"IOPlatformUUID"')) continue;
      const rest = line.slice('"IOPlatformUUID"'.length);
      const eq = rest.indexOf("=");
      if (eq < 0) continue;
      const value = rest.slice(eq + 1).trim().replace(/^"+|"+$/g, "");
      if (value !== "") {
        machine = value;
        break;
      }
    }
  } else if (process.platform === "linux") {
    for (const path of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
      try {
        const trimmed = readFileSync(path, "utf8").trim();
        if (trimmed !== "") {
          machine = trimmed;
          break;
        }
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") continue;
        return null;
      }
    }
  }
  if (machine === null) return null;
  return hashTo16Hex(new TextEncoder().encode(`${uid}:${machine}`));
}

/**
 * running-process `shared_broker_pipe(user_sid_hash)` for this host:
 * Linux `$XDG_RUNTIME_DIR/running-process/broker/rpb-v1-<h>-shared.sock`
 * (else `/tmp/running-process-<uid>/broker/...`, < 108 bytes); macOS
 * `${TMPDIR:-/tmp}/.rp-<uid>/<blake3-16hex(name)>.sock` (< 104 bytes).
 * `null` on Windows or any lookup failure.
 */
export function defaultBrokerEndpoint(
  env: Env = process.env,
  sidHash = userSidHash(),
): string | null {
  if (sidHash === null || !/^[0-9a-f]{16}$/.test(sidHash)) return null;
  const getuid = (process as { getuid?: () => number }).getuid;
  if (typeof getuid !== "function") return null;
  const uid = getuid.call(process);
  const name = `rpb-v1-${sidHash}-shared`;
  const enc = new TextEncoder();
  let candidate: string;
  let limit: number;
  if (process.platform === "darwin") {
    const tmp = env.TMPDIR ?? "/tmp";
    candidate = joinUnix(joinUnix(tmp, `.rp-${uid}`), `${hashTo16Hex(enc.encode(name))}.sock`);
    limit = 104;
  } else if (process.platform !== "win32") {
    const xdg = env.XDG_RUNTIME_DIR;
    const dir = xdg !== undefined
      ? joinUnix(joinUnix(xdg, "running-process"), "broker")
      : `/tmp/running-process-${uid}/broker`;
    candidate = joinUnix(dir, `${name}.sock`);
    limit = 108;
  } else {
    return null;
  }
  if (enc.encode(candidate).length >= limit) return null;
  return candidate;
}

/** `PathBuf::join` for Unix paths (an absolute right side replaces). */
function joinUnix(a: string, b: string): string {
  if (b.startsWith("/")) return b;
  if (a === "") return b;
  return a.endsWith("/") ? a + b : `${a}/${b}`;
}

/**
 * Run the Hello exchange on an open broker connection and validate the
 * reply exactly as running-process 4.4.0 `broker_hello` does.
 */
export async function brokerHello(conn: Conn, peerPid: number): Promise<HelloOutcome> {
  await conn.write(encodeHelloRequest(peerPid));
  let raw: Uint8Array;
  try {
    raw = await readFrame(conn, new FrameReader({ mode: "envelope" }));
  } catch {
    return { ok: false, failure: "Framing" };
  }
  let frame: RpFrame;
  try {
    frame = decodeFrameBody(raw.subarray(5));
  } catch {
    return { ok: false, failure: "DecodeFrame" };
  }
  if (
    frame.envelopeVersion !== BROKER_PROTOCOL_VERSION ||
    frame.kind !== FrameKind.Response ||
    frame.payloadProtocol !== PAYLOAD_PROTOCOL_BROKER_CONTROL ||
    frame.payloadEncoding !== PayloadEncoding.None
  ) {
    return { ok: false, failure: "UnexpectedResponseFrame" };
  }
  let reply;
  try {
    reply = fromBinary(HelloReplySchema, frame.payload);
  } catch {
    return { ok: false, failure: "DecodeHelloReply" };
  }
  switch (reply.result.case) {
    case "negotiated": {
      const n = reply.result.value;
      if (n.backendPipe === "") return { ok: false, failure: "EmptyBackendPipe" };
      return { ok: true, backendPipe: n.backendPipe, daemonVersion: n.daemonVersion };
    }
    case "refused": {
      const r = reply.result.value;
      return { ok: false, failure: "Refused", code: r.code, reason: r.reason };
    }
    default:
      return { ok: false, failure: "MissingHelloReplyResult" };
  }
}

/** Close a connection, ignoring errors. */
async function closeQuietly(conn: Conn | null): Promise<void> {
  if (conn === null) return;
  try {
    await conn.close();
  } catch {
    // already gone
  }
}

/** Connect with a deadline; a late connection is closed when it lands. */
async function connectWithin(transport: Transport, path: string, ms: number): Promise<Conn> {
  const p = transport.connect(path, { timeoutMs: ms });
  try {
    return await deadline(p, ms, { what: `connect to ${path}` });
  } catch (e) {
    p.then((c) => closeQuietly(c), () => {});
    throw e;
  }
}

/** The TEST-ONLY seam: resolution dial (dropped), then the data dial. */
async function viaSeam(
  seam: string,
  transport: Transport,
  ms: number,
): Promise<{ conn: Conn; route: DaemonConnectRoute } | null> {
  try {
    const probe = await connectWithin(transport, seam, ms);
    await closeQuietly(probe);
  } catch {
    return null;
  }
  try {
    const conn = await connectWithin(transport, seam, ms);
    return { conn, route: { kind: "Broker", route: "HelloSkip", endpoint: seam } };
  } catch {
    return null;
  }
}

/**
 * The production lane: Hello to the broker, then a connection to the
 * negotiated backend. Returns the outcome with the connection on success.
 */
export async function negotiateViaBroker(
  env: Env,
  transport: Transport,
  options: BrokerLaneOptions = {},
): Promise<{ conn: Conn; route: DaemonConnectRoute } | { failure: BrokerFailure }> {
  const ms = options.brokerTimeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
  const brokerEndpoint = options.brokerEndpoint === undefined
    ? defaultBrokerEndpoint(env)
    : options.brokerEndpoint;
  if (brokerEndpoint === null) return { failure: "NoBrokerEndpoint" };
  // running-process `broker_disabled_by_env`: unset -> enabled, "1" ->
  // disabled, anything else -> configuration error (adopt fails).
  const disable = env.RUNNING_PROCESS_DISABLE;
  if (disable !== undefined) return { failure: "DisableEnv" };
  let broker: Conn | null = null;
  try {
    broker = await connectWithin(transport, brokerEndpoint, ms);
  } catch {
    return { failure: "BrokerConnect" };
  }
  try {
    const b = broker;
    let outcome: HelloOutcome;
    try {
      outcome = await deadline(brokerHello(b, options.peerPid ?? process.pid), ms, {
        what: "broker Hello",
        onTimeout: () => void closeQuietly(b),
      });
    } catch {
      return { failure: "Timeout" };
    }
    if (!outcome.ok) return { failure: outcome.failure };
    try {
      const conn = await connectWithin(transport, outcome.backendPipe, ms);
      return {
        conn,
        route: { kind: "Broker", route: "BrokerNegotiated", endpoint: outcome.backendPipe },
      };
    } catch {
      return { failure: "BackendConnect" };
    }
  } finally {
    await closeQuietly(broker);
  }
}

/**
 * The broker lane as `connectDaemon` uses it: seam first, else the
 * production lane; `null` on any broker-side failure (silent fallback).
 * The caller has already checked `RUNNING_PROCESS_DISABLE=1` and that the
 * lane is requested.
 */
export async function connectViaBrokerLane(
  env: Env,
  transport: Transport,
  options: BrokerLaneOptions = {},
): Promise<{ conn: Conn; route: DaemonConnectRoute } | null> {
  const ms = options.brokerTimeoutMs ?? brokerTimeoutFromEnv(env);
  const seam = env.RUNNING_PROCESS_FAKE_BACKEND;
  if (seam !== undefined && seam !== "") return await viaSeam(seam, transport, ms);
  const r = await negotiateViaBroker(env, transport, { ...options, brokerTimeoutMs: ms });
  return "conn" in r ? r : null;
}

/**
 * `ZCCACHE_TS_BROKER_TIMEOUT_MS`: this implementation's bound on each broker
 * step (zccache 1.12.2 has none). Default {@link DEFAULT_BROKER_TIMEOUT_MS}.
 */
export function brokerTimeoutFromEnv(env: Env): number {
  const raw = env.ZCCACHE_TS_BROKER_TIMEOUT_MS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_BROKER_TIMEOUT_MS;
}
