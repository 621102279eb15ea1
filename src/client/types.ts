/**
 * The client's shared types: connection routes and options, decoded replies,
 * the daemon request options and the lifecycle (spawn/stop) options.
 *
 * Types only: importing this module loads no code, so every client module
 * (`connect.ts`, `broker.ts`, `ipc_connection.ts`, `control.ts`, `spawn.ts`,
 * `lifecycle.ts`) can use it without import circles.
 *
 * @module
 */
import type { RequestOf, Response } from "../core/messages.ts";
import type { DaemonWire } from "../core/wire_env.ts";
import type { Transport } from "../transport/types.ts";

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

/** Options for `connectDaemon` / `connectDaemonWithRoute`. */
export interface ConnectDaemonOptions {
  /** Transport to dial with (default: `defaultTransport(env)`). */
  transport?: Transport;
  /** Connect timeout in milliseconds for the direct connect. */
  timeoutMs?: number;
  /** Environment to read the lane switches from (default: `process.env`). */
  env?: Env;
}

/** The lane a reply arrived on. */
export type WireLane = "bincode" | "prost" | "frame";

/** A reply decoded by `IpcConnection.recvWire`. */
export interface DecodedWireResponse {
  /** The lane the frame arrived on. */
  lane: WireLane;
  /** The decoded response. */
  message: Response;
  /** prost / FrameV1 only: the inner zccache `request_id` string. */
  requestId?: string;
  /** FrameV1 only: the frame correlation id (`Frame.request_id`). */
  frameId?: bigint;
  /** FrameV1 only: the frame kind. */
  frameKind?: "request" | "response";
}

/** Options for `IpcConnection.connect`. */
export interface IpcConnectOptions {
  /** Transport to dial with (default: the runtime's, from `select.ts`). */
  transport?: Transport;
  /** Connect timeout in milliseconds (1.12.2 has none by default). */
  timeoutMs?: number;
  /** Default receive timeout in milliseconds for `recv`/`recvWire`. */
  recvTimeoutMs?: number;
  /** Environment for the broker-lane switches (default: `process.env`). */
  env?: Env;
}

/** The wire selection `ZCCACHE_DAEMON_WIRE` resolves to. */
export type WireSelection = DaemonWire;

/** The four control requests `daemonControlRoundtrip` accepts. */
export type ControlRequest = RequestOf<"Ping" | "Status" | "Shutdown" | "Clear">;

/** Options of one daemon request (`daemonRequest`, `daemonControlRoundtrip`). */
export interface ControlOptions {
  /** Environment (`ZCCACHE_DAEMON_WIRE`, broker switches). Default `process.env`. */
  env?: Env;
  /** Receive timeout per attempt in ms (default 300 000, zccache's default). */
  timeoutMs?: number;
  /** Transport (default: the runtime's). */
  transport?: Transport;
  /** Connect timeout per attempt in ms (1.12.2 has none). */
  connectTimeoutMs?: number;
  /**
   * Pin the wire instead of reading `ZCCACHE_DAEMON_WIRE` (the daemon
   * lifecycle probes pin `"bincode"`: they run inside the wrapper's
   * fallback, must not load the protobuf code, and must not fail a build
   * over a bad `ZCCACHE_DAEMON_WIRE`).
   */
  wire?: WireSelection;
}

/** A program and its arguments. */
export interface Command {
  /** The program. */
  command: string;
  /** Its arguments. */
  args: string[];
}

/** Options shared by the lifecycle functions (spawn, ensure, stop). */
export interface DaemonLifecycleOptions {
  /** Environment to read knobs from and to pass to a spawned daemon. */
  env?: Env;
  /** How to start a daemon (default `daemonCommand()`). */
  command?: Command;
  /** Where the spawned daemon's stdout/stderr go (default: a file under `logDir`). */
  logDir?: string;
  /** Total readiness budget in ms (default 10 000, `ZCCACHE_SPAWN_TIMEOUT_MS`). */
  readyTimeoutMs?: number;
  /** Budget of one Status/Ping probe in ms (default 2 000, `ZCCACHE_STATUS_PROBE_TIMEOUT_SECS`). */
  probeTimeoutMs?: number;
  /**
   * Do not spawn when a start failed for this endpoint within the last
   * `ZCCACHE_SPAWN_BACKOFF_SECS` (default 15 s): throw `DaemonUnreachable`
   * with the remembered reason instead (the wrapper sets this; `zccache
   * start` does not).
   */
  respectBackoff?: boolean;
  /** Working directory a relative endpoint is resolved against (default `process.cwd()`). */
  cwd?: string;
}

/** What `ensureDaemon` did. */
export type EnsureOutcome = "running" | "started" | "replaced";

/** A remembered failed start: when it happened and why. */
export interface SpawnFailure {
  /** Unix ms of the failure. */
  atMs: number;
  /** The one-line reason. */
  reason: string;
}
