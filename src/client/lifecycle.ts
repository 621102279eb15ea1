/**
 * The daemon's lifecycle seen from a client: the version check, ensure
 * (use, start or replace), and stop.
 *
 * - {@link ensureDaemon}: a daemon that answers `Status` with wire version
 *   `1.12.2` (or a newer `x.y.z`) is used; an older/unparseable version or one
 *   that cannot complete the exchange is stopped and replaced; nobody
 *   answering means spawn-and-wait (`spawn.ts`).
 * - {@link stopDaemon}: `Shutdown`, then wait until the endpoint no longer
 *   accepts connections; a daemon still there after the budget is killed.
 *
 * Requests go through the one daemon client (`control.ts` `daemonRequest`)
 * with the wire pinned to bincode (`spawn.ts` `lifecycleRequest`).
 *
 * Reproduces zccache@3eae627 cli/commands/daemon.rs `ensure_daemon`,
 * `stop_stale_daemon` (ipc-spec-1.12.2 §8).
 *
 * @module
 */
import { readFileSync, unlinkSync } from "node:fs";
import process from "node:process";
import { isZccacheError, ZccacheError } from "../core/errors.ts";
import type { DaemonStatus, Response } from "../core/messages.ts";
import { ZCCACHE_WIRE_RELEASE } from "../core/messages.ts";
import { lockFilePath } from "../transport/endpoint.ts";
import { daemonRequest } from "./control.ts";
import { IpcConnection } from "./ipc_connection.ts";
import {
  absoluteEndpoint,
  envOf,
  lifecycleRequest,
  probeTimeout,
  readSpawnFailure,
  spawnAndWait,
} from "./spawn.ts";
import type { DaemonLifecycleOptions, EnsureOutcome } from "./types.ts";

export type { EnsureOutcome } from "./types.ts";
export { isDaemonVersionRejection } from "./roundtrip.ts";

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Compare a daemon's reported version with {@link ZCCACHE_WIRE_RELEASE}. */
export function compareDaemonVersion(version: string): "same" | "newer" | "older" {
  if (version === ZCCACHE_WIRE_RELEASE) return "same";
  const parse = (v: string): number[] | null => {
    const parts = v.split(".");
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) return null;
    return parts.map(Number);
  };
  const mine = parse(ZCCACHE_WIRE_RELEASE)!;
  const theirs = parse(version);
  if (theirs === null) return "older";
  for (let i = 0; i < 3; i++) {
    if (theirs[i] > mine[i]) return "newer";
    if (theirs[i] < mine[i]) return "older";
  }
  return "same";
}

/**
 * Ask the daemon for its `DaemonStatus`; `null` when nobody listens at the
 * endpoint. Other faults (timeout, garbage, non-Status reply) throw.
 */
export async function queryStatus(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<DaemonStatus | null> {
  let r: Response | null;
  try {
    r = await daemonRequest(
      endpoint,
      { kind: "Status" },
      lifecycleRequest(opts.env, probeTimeout(opts)),
    );
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) return null;
    throw e;
  }
  if (r === null) throw new ZccacheError("Protocol", "daemon closed the connection on Status");
  if (r.kind === "Status") return r.value;
  if (r.kind === "Error") throw new ZccacheError("Protocol", r.message);
  throw new ZccacheError("Protocol", `unexpected ${r.kind} reply to Status`);
}

/**
 * Make sure a compatible daemon serves `endpoint`, starting or replacing one
 * as needed. A relative `endpoint` is resolved against `opts.cwd` first.
 */
export async function ensureDaemon(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<EnsureOutcome> {
  endpoint = absoluteEndpoint(endpoint, opts.cwd);
  let replace = false;
  try {
    const status = await queryStatus(endpoint, opts);
    if (status !== null) {
      if (compareDaemonVersion(status.version) !== "older") return "running";
      replace = true;
    }
  } catch (e) {
    if (isZccacheError(e, "Endpoint")) throw e;
    replace = true; // comm error: stop and respawn, as zccache does
  }
  if (opts.respectBackoff) {
    const failed = readSpawnFailure(endpoint, envOf(opts));
    if (failed !== null) {
      const ago = Math.max(0, Math.round((Date.now() - failed.atMs) / 1000));
      throw new ZccacheError(
        "DaemonUnreachable",
        `${failed.reason} (start failed ${ago} s ago; not retried yet)`,
      );
    }
  }
  if (replace) await stopDaemon(endpoint, opts);
  await spawnAndWait(endpoint, opts);
  return replace ? "replaced" : "started";
}

/**
 * Ask the daemon at `endpoint` to shut down and wait (≤ `ZCCACHE_STOP_TIMEOUT_SECS`,
 * default 10 s) until it no longer answers. Returns false when none was running.
 */
export async function stopDaemon(
  endpoint: string,
  opts: DaemonLifecycleOptions = {},
): Promise<boolean> {
  let reply: Response | null;
  try {
    reply = await daemonRequest(
      endpoint,
      { kind: "Shutdown" },
      lifecycleRequest(opts.env, probeTimeout(opts)),
    );
  } catch (e) {
    if (isZccacheError(e, "DaemonUnreachable")) return false;
    reply = null; // a wedged daemon: still wait for the endpoint below
  }
  void reply;
  const secs = Number(envOf(opts).ZCCACHE_STOP_TIMEOUT_SECS ?? 10);
  const deadline = Date.now() + (Number.isFinite(secs) && secs > 0 ? secs * 1000 : 10_000);
  let wait = 5;
  while (Date.now() < deadline) {
    try {
      const conn = await IpcConnection.connect(endpoint, {
        timeoutMs: 500,
        ...(opts.env !== undefined ? { env: opts.env } : {}),
      });
      await conn.close().catch(() => {});
    } catch (e) {
      if (isZccacheError(e, "DaemonUnreachable")) return true;
    }
    await delay(wait);
    wait = Math.min(wait * 2, 100);
  }
  // Still answering connects after the budget: force-kill the lock-file PID.
  const env = envOf(opts);
  try {
    const lock = lockFilePath(env, process.platform, { cwd: process.cwd() });
    const pid = Number(readFileSync(lock, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      process.kill(pid, "SIGKILL");
      unlinkSync(lock);
    }
  } catch {
    // no lock file, or the process is gone
  }
  return true;
}
