/**
 * The zccache client: the build-script API (`ZccacheClient`), one
 * connection to the daemon (`IpcConnection`), the control round trip with 1.12.2's wire negotiation, and the opt-in
 * running-process broker lane in front of the connect.
 *
 * @example Compile through the cache from a build script
 * ```ts ignore
 * import { ZccacheClient } from "./mod.ts";
 * await using zc = await ZccacheClient.connect();
 * const r = await zc.compile({ compiler: "gcc", args: ["-c", "a.c", "-o", "a.o"] });
 * console.log(r.exitCode, r.cached);
 * ```
 *
 * @example The control round trip
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
  daemonRequest,
  isDaemonVersionRejection,
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
} from "./zccache_client.ts";
export { clientEndpoint, resolveTool } from "./resolve_tool.ts";
