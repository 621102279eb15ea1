/**
 * Daemon control round trips (Ping, Status, Shutdown, Clear) and
 * `releaseWorktreeHandles`, with the 1.12.2 wire selection.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/ipc/mod.rs
 * (`daemon_control_roundtrip`, `control_wire_mismatch_error`,
 * `control_wire_mismatch_message`, `recv_control_wire_response`) and the
 * broker FrameV1 branch of #721:
 *
 * 1. `ZCCACHE_DAEMON_WIRE` is parsed first (invalid -> ZccacheError
 *    "Endpoint" `invalid ZCCACHE_DAEMON_WIRE="…"; expected auto, bincode,
 *    prost, or frame`).
 * 2. Broker lane active and the route taken is the broker: one FrameV1
 *    request (frame id 1), any-lane receive, no fallback.
 * 3. Each attempt opens a NEW connection with the 300 s receive default
 *    (`timeoutMs` overrides it).
 * 4. auto / prost: prost v16 with `control-<name>`, any-lane receive. Auto
 *    only, one bincode retry on a fresh connection when the reply is an
 *    `Error` whose lowercased message contains `protocol version mismatch`,
 *    `protocol_version`, or both `expected v15` and `received v16`; or the
 *    daemon closed with no reply; or the receive failed with
 *    VersionMismatch, ConnectionClosed or a broken pipe / reset / EOF.
 *    Connect failures, timeouts and other protocol errors are returned.
 * 5. bincode: bincode v15, bincode-only receive.
 * 6. frame: FrameV1 both ways, no fallback.
 *
 * This is the ONE daemon client: the CLI's subcommands, the daemon
 * lifecycle (`spawn.ts`, `lifecycle.ts`) and the library all send through
 * {@link daemonRequest}. Control requests take the selection above;
 * every other request (session, fingerprint, exec, ...) takes zccache's
 * full-family lane (`fullFamilyWire`: bincode unless `prost`/`frame` is
 * set, no fallback). The bincode attempt is `roundtrip.ts`'s
 * `bincodeRoundtrip`, the one the wrapper's compile send uses too, and the
 * mismatch test is its `isDaemonVersionRejection`.
 *
 * @module
 */
import process from "node:process";
import { ZccacheError } from "../core/errors.ts";
import { fullFamilyWire, isWireMismatchMessage, parseDaemonWire } from "../core/wire_env.ts";
import type { Request, Response } from "../core/messages.ts";
import { controlKinds, type ControlRequestKind, isControlKind, listNames } from "../core/schema.ts";
import type { Transport } from "../transport/types.ts";
import { brokerLaneActive, connectDaemonWithRoute } from "./connect.ts";
import { DEFAULT_CLIENT_RECV_TIMEOUT_MS, IpcConnection } from "./ipc_connection.ts";
import { bincodeRoundtrip, isDaemonVersionRejection } from "./roundtrip.ts";
import type {
  ControlOptions,
  ControlRequest,
  DecodedWireResponse,
  Env,
  WireSelection,
} from "./types.ts";

export type { ControlOptions, ControlRequest, WireSelection } from "./types.ts";
export { isDaemonVersionRejection } from "./roundtrip.ts";

/**
 * Compile-time proof: {@link ControlRequest} is the schema's control slice
 * except `ReleaseWorktreeHandles` (which has its own helper below). Spelled
 * out above so the public type stays a plain union.
 */
type _ControlRequestIsTheSchemaSlice = [
  Same<ControlRequest["kind"], Exclude<ControlRequestKind, "ReleaseWorktreeHandles">>,
] extends [true] ? true : never;
const _controlRequestProof: _ControlRequestIsTheSchemaSlice = true;
void _controlRequestProof;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * zccache `client_wire_selection_from_env` (see `parseDaemonWire`): unset,
 * "" or auto -> auto; bincode|bincode-v15|v15; prost|prost-v16|v16;
 * frame|frame-v1; anything else -> ZccacheError "Endpoint".
 */
export function parseWireSelection(value: string | undefined): WireSelection {
  return parseDaemonWire(value);
}

/** zccache `control_wire_mismatch_message` (the text test of {@link isDaemonVersionRejection}). */
export function controlWireMismatchMessage(message: string): boolean {
  return isWireMismatchMessage(message);
}

const PIPE_ERRNOS = new Set(["EPIPE", "ECONNRESET", "ERR_STREAM_PREMATURE_CLOSE", "UnexpectedEof"]);

/**
 * zccache `control_wire_mismatch_error`, for errors raised while sending or
 * receiving on an already connected socket (connect errors never get here):
 * VersionMismatch, ConnectionClosed, or an I/O error that is a broken pipe,
 * a reset or an unexpected EOF.
 */
export function controlWireMismatchError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (code === "VersionMismatch" || code === "ConnectionClosed") return true;
  // The transport maps broken pipe / reset to DaemonUnreachable (or Io).
  if (code === "DaemonUnreachable") return true;
  if (typeof code === "string" && PIPE_ERRNOS.has(code)) return true;
  if (code === "Io") {
    const cause = (e as { cause?: { code?: unknown } }).cause;
    return typeof cause?.code === "string" && PIPE_ERRNOS.has(cause.code);
  }
  return false;
}

const CONTROL_RESPONSES_ONLY = `only ${
  listNames(controlKinds("response"), "and")
} may use the prost control response path`;

/**
 * zccache `recv_control_wire_response`: bincode replies pass through;
 * prost/FrameV1 replies must be one of the control bodies.
 */
async function recvControlWire(conn: IpcConnection, timeoutMs: number): Promise<Response | null> {
  const r: DecodedWireResponse | null = await conn.recvWire(timeoutMs);
  if (r === null) return null;
  if (r.lane !== "bincode" && !isControlKind("response", r.message.kind)) {
    throw new ZccacheError(
      "Deserialization",
      `unsupported v16 prost control response body ${r.message.kind}; ${CONTROL_RESPONSES_ONLY}`,
    );
  }
  return r.message;
}

interface Ctx {
  endpoint: string;
  env: Env;
  timeoutMs: number;
  transport?: Transport;
  connectTimeoutMs?: number;
}

async function openControl(ctx: Ctx): Promise<IpcConnection> {
  return await IpcConnection.connect(ctx.endpoint, {
    transport: ctx.transport,
    timeoutMs: ctx.connectTimeoutMs,
    env: ctx.env,
    recvTimeoutMs: DEFAULT_CLIENT_RECV_TIMEOUT_MS,
  });
}

async function attempt(
  ctx: Ctx,
  req: Request,
  lane: "bincode" | "prost" | "frame",
): Promise<Response | null> {
  if (lane === "bincode") {
    return await bincodeRoundtrip(ctx.endpoint, req, {
      env: ctx.env,
      timeoutMs: ctx.timeoutMs,
      ...(ctx.transport !== undefined ? { transport: ctx.transport } : {}),
      ...(ctx.connectTimeoutMs !== undefined ? { connectTimeoutMs: ctx.connectTimeoutMs } : {}),
    });
  }
  const conn = await openControl(ctx);
  try {
    if (lane === "prost") await conn.sendProst(req);
    else await conn.sendFrame(req);
    return await recvControlWire(conn, ctx.timeoutMs);
  } finally {
    await conn.close().catch(() => {});
  }
}

async function controlRoundtrip(
  endpoint: string,
  req: Request,
  options: ControlOptions,
): Promise<Response | null> {
  const env = options.env ?? process.env;
  const selection = options.wire ?? parseWireSelection(env.ZCCACHE_DAEMON_WIRE);
  const ctx: Ctx = {
    endpoint,
    env,
    timeoutMs: options.timeoutMs ?? DEFAULT_CLIENT_RECV_TIMEOUT_MS,
    transport: options.transport,
    connectTimeoutMs: options.connectTimeoutMs,
  };

  // A pinned wire is that lane over whatever route the connect takes.
  if (options.wire === undefined && brokerLaneActive(env)) {
    const { conn, route } = await connectDaemonWithRoute(endpoint, {
      transport: options.transport,
      timeoutMs: options.connectTimeoutMs,
      env,
    });
    const ipc = new IpcConnection(conn, route);
    if (route.kind === "Broker") {
      try {
        await ipc.sendFrame(req);
        return await recvControlWire(ipc, ctx.timeoutMs);
      } finally {
        await ipc.close().catch(() => {});
      }
    }
    // Requested but fell back to direct: drop it, continue as selected.
    await ipc.close().catch(() => {});
  }

  switch (selection) {
    case "bincode":
      return await attempt(ctx, req, "bincode");
    case "frame":
      return await attempt(ctx, req, "frame");
    case "prost":
      return await attempt(ctx, req, "prost");
    case "auto": {
      let first: Response | null;
      try {
        first = await attemptProstKeepingConnectErrors(ctx, req);
      } catch (e) {
        if (e instanceof SendRecvError && controlWireMismatchError(e.inner)) {
          return await attempt(ctx, req, "bincode");
        }
        throw e instanceof SendRecvError ? e.inner : e;
      }
      if (first === null) return await attempt(ctx, req, "bincode");
      if (isDaemonVersionRejection(first)) {
        return await attempt(ctx, req, "bincode");
      }
      return first;
    }
  }
}

/** Marks an error raised after the connect succeeded. */
class SendRecvError extends Error {
  constructor(readonly inner: unknown) {
    super("send/recv failed");
  }
}

/** The prost attempt, telling connect failures apart from send/recv ones. */
async function attemptProstKeepingConnectErrors(ctx: Ctx, req: Request): Promise<Response | null> {
  const conn = await openControl(ctx);
  try {
    await conn.sendProst(req);
    return await recvControlWire(conn, ctx.timeoutMs);
  } catch (e) {
    throw new SendRecvError(e);
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * Send a daemon control request and return its response, or `null` when
 * the daemon closed without replying.
 *
 * @example
 * ```ts ignore
 * const reply = await daemonControlRoundtrip("/tmp/zccache-alice/sock", { kind: "Status" });
 * if (reply?.kind === "Status") console.log(reply.value.version);
 * ```
 */
export function daemonControlRoundtrip(
  endpoint: string,
  req: ControlRequest,
  options: ControlOptions = {},
): Promise<Response | null> {
  return controlRoundtrip(endpoint, req, options);
}

/**
 * Send any request to the daemon and return its response (`null`: the
 * daemon closed without replying). The one daemon client of the CLI, the
 * lifecycle code and the library:
 *
 * - a control request (Ping, Status, Shutdown, Clear, ReleaseWorktreeHandles)
 *   takes the control wire selection with its auto prost-then-bincode
 *   fallback ({@link daemonControlRoundtrip});
 * - any other request takes the full-family lane: `options.wire`, else
 *   `ZCCACHE_DAEMON_WIRE` read by `fullFamilyWire` (bincode unless `prost`
 *   or `frame`), on one fresh connection, no fallback.
 *
 * @example
 * ```ts ignore
 * const r = await daemonRequest("/tmp/zccache-alice/sock", {
 *   kind: "SessionStats",
 *   sessionId: "s1",
 * }, { timeoutMs: 30_000 });
 * ```
 */
export async function daemonRequest(
  endpoint: string,
  req: Request,
  options: ControlOptions = {},
): Promise<Response | null> {
  if (isControlKind("request", req.kind)) return await controlRoundtrip(endpoint, req, options);
  const env = options.env ?? process.env;
  const wire = options.wire ?? fullFamilyWire(env.ZCCACHE_DAEMON_WIRE);
  const lane = wire === "auto" ? "bincode" : wire;
  const ctx: Ctx = {
    endpoint,
    env,
    timeoutMs: options.timeoutMs ?? DEFAULT_CLIENT_RECV_TIMEOUT_MS,
    ...(options.transport !== undefined ? { transport: options.transport } : {}),
    ...(options.connectTimeoutMs !== undefined
      ? { connectTimeoutMs: options.connectTimeoutMs }
      : {}),
  };
  if (lane === "bincode") return await attempt(ctx, req, "bincode");
  const conn = await openControl(ctx);
  try {
    if (lane === "prost") await conn.sendProst(req);
    else await conn.sendFrame(req);
    return (await conn.recvWire(ctx.timeoutMs))?.message ?? null;
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * Send `ReleaseWorktreeHandles{path}` with the same wire rules as the control
 * round trip (1.12.2 has no dedicated roundtrip helper; the daemon accepts
 * the request on every lane, and `auto` sends it as direct v16 prost with
 * the `control-release-worktree-handles` id, falling back to bincode like
 * the control requests).
 */
export function releaseWorktreeHandles(
  endpoint: string,
  path: string,
  options: ControlOptions = {},
): Promise<Response | null> {
  return controlRoundtrip(endpoint, { kind: "ReleaseWorktreeHandles", path }, options);
}
