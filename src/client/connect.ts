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
import { lstatSync, statSync } from "node:fs";
import process from "node:process";
import { ZccacheError } from "../core/errors.ts";
import { isPipeEndpoint } from "../transport/endpoint.ts";
import { defaultTransport } from "../transport/select.ts";
import type { Conn } from "../transport/types.ts";
import type { ConnectDaemonOptions, DaemonConnectRoute, Env } from "./types.ts";

export type { ConnectDaemonOptions, DaemonConnectRoute, Env } from "./types.ts";

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

const OS_TRANSPORTS = new Set(["deno", "bun", "node"]);

/** Prefix of the message of an {@link verifyEndpointOwner} refusal (code "Endpoint"). */
export const UNTRUSTED_ENDPOINT_PREFIX = "refusing untrusted daemon socket";

function currentEuid(): number | undefined {
  const p = process as { geteuid?: () => number; getuid?: () => number };
  return p.geteuid?.() ?? p.getuid?.();
}

/**
 * Check, before a single byte is sent, that a Unix socket endpoint is
 * trustworthy (as ssh-agent and tmux clients do): the socket belongs to the
 * current user (effective uid) and is not writable by group or others, and
 * its directory belongs to the current user and is not writable by group or
 * others (a shared sticky directory such as `/tmp`, owned by root or us,
 * is accepted: nobody else can replace our socket in it).
 *
 * A missing endpoint passes (the connect then fails as "DaemonUnreachable",
 * so the daemon can be started). Anything else throws ZccacheError
 * "Endpoint" whose message starts with {@link UNTRUSTED_ENDPOINT_PREFIX}.
 * No-op on Windows and for pipe names.
 *
 * @example
 * ```ts
 * import { verifyEndpointOwner } from "./connect.ts";
 * verifyEndpointOwner("/nonexistent/zccache.sock"); // passes: nothing there yet
 * ```
 */
export function verifyEndpointOwner(endpoint: string, platform: string = process.platform): void {
  if (platform === "win32" || isPipeEndpoint(endpoint)) return;
  const uid = currentEuid();
  if (uid === undefined) return;
  const refuse = (why: string): never => {
    throw new ZccacheError("Endpoint", `${UNTRUSTED_ENDPOINT_PREFIX} ${endpoint}: ${why}`);
  };
  let st;
  try {
    st = lstatSync(endpoint);
  } catch {
    return; // missing (or unreadable directory): the connect reports it
  }
  if (st.isSymbolicLink()) refuse("it is a symlink");
  if (!st.isSocket()) refuse("not a socket");
  if (st.uid !== uid) refuse(`owned by uid ${st.uid}, not by the current user (uid ${uid})`);
  if ((st.mode & 0o022) !== 0) {
    refuse(`writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  }
  const slash = endpoint.lastIndexOf("/");
  const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : endpoint.slice(0, slash);
  let d;
  try {
    d = statSync(dir);
  } catch {
    return refuse(`cannot inspect its directory ${dir}`);
  }
  const sticky = (d.mode & 0o1000) !== 0;
  if (d.uid !== uid && !(sticky && d.uid === 0)) {
    refuse(`its directory ${dir} is owned by uid ${d.uid}, not by the current user (uid ${uid})`);
  }
  if ((d.mode & 0o022) !== 0 && !sticky) {
    refuse(
      `its directory ${dir} is writable by group or others (mode ${(d.mode & 0o777).toString(8)})`,
    );
  }
}

/**
 * Connect to the daemon, honouring the broker lane, and report the route.
 * Throws only what the direct connect throws (ZccacheError
 * "DaemonUnreachable" / "Timeout"), or "Endpoint" when
 * {@link verifyEndpointOwner} refuses the socket (checked before connecting).
 */
export async function connectDaemonWithRoute(
  endpoint: string,
  options: ConnectDaemonOptions = {},
): Promise<{ conn: Conn; route: DaemonConnectRoute }> {
  const env = options.env ?? process.env;
  const transport = options.transport ?? defaultTransport(env);
  const connectOpts = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  if (brokerLaneActive(env)) {
    const broker = await import("./broker.ts");
    const viaBroker = await broker.connectViaBrokerLane(env, transport).catch(() => null);
    if (viaBroker !== null) return viaBroker;
  }
  // Only real sockets have owners (the memory transport and test doubles do not).
  if (OS_TRANSPORTS.has(transport.name)) verifyEndpointOwner(endpoint);
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
