/**
 * The daemon lifecycle, re-exported from where it lives: `spawn.ts`
 * (single-flight spawn, readiness, the failure marker) and `lifecycle.ts`
 * (version check, ensure, stop). Requests go through the one daemon client
 * (`control.ts` `daemonRequest`).
 *
 * @module
 */
import type { Request, Response } from "../core/messages.ts";
import { daemonRequest } from "./control.ts";
export {
  absoluteEndpoint,
  clearSpawnFailure,
  type Command,
  daemonCommand,
  type DaemonLifecycleOptions,
  defaultLogDir,
  pingDaemon,
  privateRuntimeDir,
  readSpawnFailure,
  selfCommand,
  type SpawnFailure,
  spawnFailurePath,
  spawnLogReason,
  spawnSlotPath,
} from "./spawn.ts";
export {
  compareDaemonVersion,
  ensureDaemon,
  type EnsureOutcome,
  isDaemonVersionRejection,
  queryStatus,
  stopDaemon,
} from "./lifecycle.ts";

/**
 * One request/response through the one daemon client (`daemonRequest`),
 * `timeoutMs` bounding both the connect and the reply; the environment is
 * `process.env`. Kept for callers not yet moved to `daemonRequest`.
 *
 * @deprecated Use `daemonRequest` from `control.ts` with `{ env, timeoutMs, connectTimeoutMs }`.
 */
export function roundtrip(
  endpoint: string,
  request: Request,
  timeoutMs: number,
): Promise<Response | null> {
  return daemonRequest(endpoint, request, { timeoutMs, connectTimeoutMs: timeoutMs });
}
