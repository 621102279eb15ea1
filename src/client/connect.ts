/**
 * `connectDaemon`: the client's one way to open a daemon connection, with the
 * running-process broker lane in front of the direct connect.
 *
 * Reproduces zccache@3eae627:crates/zccache/src/ipc/broker.rs
 * (`connect_daemon_with_route`, `broker_lane_requested`, `broker_lane_active`):
 *
 * | step | test (exact)                                                          | result            |
 * |------|-----------------------------------------------------------------------|-------------------|
 * | 1    | `RUNNING_PROCESS_DISABLE` is exactly `"1"`                            | direct            |
 * | 2    | neither `RUNNING_PROCESS_FAKE_BACKEND` (non-empty) nor                | direct            |
 * |      | `ZCCACHE_BROKER_CONNECT` exactly `"1"`                                |                   |
 * | 3    | seam set: dial the seam, drop it, re-dial it                          | Broker{HelloSkip} |
 * | 4    | otherwise: broker Hello, connect to the negotiated `backend_pipe`     | Broker{Negotiated}|
 *
 * Every broker-side failure falls back silently to the direct connect; only
 * the direct connect's own error can reach the caller. The broker code lives
 * in `broker.ts` and is loaded with a dynamic `import()` only when the lane
 * is requested, so the default path costs two environment lookups.
 *
 * @module
 */
import process from "node:process";
import { defaultTransport } from "../transport/select.ts";
import type { Conn, Transport } from "../transport/types.ts";

/** An environment map (`process.env` shape). */
export type Env = Record<string, string | undefined>;

/** How a connection reached the daemon (zccache `DaemonConnectRoute`). */
export type DaemonConnectRoute =
  | { kind: "Direct" }
  | {
    kind: "Broker";
    /** running-process `BackendConnectionRoute`. */
    route: "HelloSkip" | "BrokerNegotiated";
    /** The endpoint the data connection went to. */
    endpoint: string;
  };

/** Options for {@link connectDaemon}. */
export interface ConnectDaemonOptions {
  /** Transport to dial with (default: `defaultTransport()`). */
  transport?: Transport;
  /** Connect timeout in milliseconds for the direct connect. */
  timeoutMs?: number;
  /** Environment to read the lane switches from (default: `process.env`). */
  env?: Env;
}

/** `RUNNING_PROCESS_DISABLE`: exactly `"1"` disables the broker lane. */
export const RUNNING_PROCESS_DISABLE_ENV = "RUNNING_PROCESS_DISABLE";
/** TEST-ONLY seam: a non-empty value routes the connection to that endpoint. */
export const RUNNING_PROCESS_FAKE_BACKEND_ENV = "RUNNING_PROCESS_FAKE_BACKEND";
/** Opt-in switch of the production broker lane (exactly `"1"`). */
export const ZCCACHE_BROKER_CONNECT_ENV = "ZCCACHE_BROKER_CONNECT";

/** zccache `running_process_disabled()`: the value is exactly `"1"`. */
export function runningProcessDisabled(env: Env = process.env): boolean {
  return env[RUNNING_PROCESS_DISABLE_ENV] === "1";
}

/** zccache `broker_lane_requested()`. */
export function brokerLaneRequested(env: Env = process.env): boolean {
  const seam = env[RUNNING_PROCESS_FAKE_BACKEND_ENV];
  if (seam !== undefined && seam !== "") return true;
  return env[ZCCACHE_BROKER_CONNECT_ENV] === "1";
}

/** zccache `broker_lane_active()`: requested and not disabled. */
export function brokerLaneActive(env: Env = process.env): boolean {
  return !runningProcessDisabled(env) && brokerLaneRequested(env);
}

/**
 * Connect to the daemon, honouring the broker lane, and report the route.
 * Throws only what the direct connect throws (ZccacheError
 * "DaemonUnreachable" / "Timeout").
 */
export async function connectDaemonWithRoute(
  endpoint: string,
  options: ConnectDaemonOptions = {},
): Promise<{ conn: Conn; route: DaemonConnectRoute }> {
  const env = options.env ?? process.env;
  const transport = options.transport ?? defaultTransport();
  const connectOpts = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  if (brokerLaneActive(env)) {
    const broker = await import("./broker.ts");
    const viaBroker = await broker.connectViaBrokerLane(env, transport).catch(() => null);
    if (viaBroker !== null) return viaBroker;
  }
  const conn = await transport.connect(endpoint, connectOpts);
  return { conn, route: { kind: "Direct" } };
}

/**
 * Connect to the daemon, honouring the broker lane (zccache `connect_daemon`).
 *
 * @example
 * ```ts ignore
 * const conn = await connectDaemon("/tmp/zccache-alice/sock");
 * ```
 */
export async function connectDaemon(
  endpoint: string,
  options: ConnectDaemonOptions = {},
): Promise<Conn> {
  return (await connectDaemonWithRoute(endpoint, options)).conn;
}
