/**
 * The zccache client: one connection to the daemon (`IpcConnection`), the
 * control round trip with 1.12.2's wire negotiation, and the opt-in
 * running-process broker lane in front of the connect.
 *
 * @example
 * ```ts ignore
 * import { daemonControlRoundtrip } from "./mod.ts";
 * const reply = await daemonControlRoundtrip("/tmp/zccache-alice/sock", { kind: "Ping" });
 * console.log(reply?.kind); // "Pong"
 * ```
 *
 * @module
 */
export {
  type DecodedWireResponse,
  DEFAULT_CLIENT_RECV_TIMEOUT_MS,
  IpcConnection,
  type IpcConnectOptions,
  type WireLane,
} from "./ipc_connection.ts";
export {
  type ControlOptions,
  type ControlRequest,
  daemonControlRoundtrip,
  parseWireSelection,
  releaseWorktreeHandles,
  type WireSelection,
} from "./control.ts";
export {
  connectDaemon,
  type ConnectDaemonOptions,
  connectDaemonWithRoute,
  type DaemonConnectRoute,
  type Env,
} from "./connect.ts";
