/**
 * What the CLI asks of a running daemon without a new wire request: files
 * in the project directory (`<root>/zccache-ts/`), applied on each
 * `Status` (the CLI writes the file, then sends `Status`):
 *
 * - `zero-stats.request`: zero the global counters (`zccache zero` / `-z`),
 *   keep the cache;
 * - `evict.request.json` `{id, older_than_ms?, max_size?}`: one-shot
 *   eviction (`zccache evict`); the result goes to `evict.result.json`;
 * - `<root>/zccache.conf` changed (`zccache max-size`, `config set`): the
 *   new `max_size` applies at once (the daemon's environment still wins).
 *
 * After these, `status.json` is rewritten with what `DaemonStatus` cannot
 * carry (ephemeral compiles, the size limit, compression, the remote
 * tier's counters): `zccache stats`
 * reads it.
 *
 * @module
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { configPath, daemonEnvConfig, readConfigFile } from "../config_env.ts";
import type { HandlerContext } from "./context.ts";

/** Marker file: zero the counters. */
export const ZERO_REQUEST = "zero-stats.request";
/** Eviction request file. */
export const EVICT_REQUEST = "evict.request.json";
/** Eviction result file. */
export const EVICT_RESULT = "evict.result.json";
/** What `DaemonStatus` cannot carry, for `zccache stats`. */
export const STATUS_SIDECAR = "status.json";

interface Maintainable {
  setMaxSize?(bytes: bigint): void;
  evict?(o: { olderThanMs?: number; maxSize?: bigint }): Promise<{
    evicted: number;
    bytesFreed: number;
  }>;
  readonly maxSize?: number;
  remoteStats?(): unknown;
  rustStats?(): unknown;
  zeroRustStats?(): void;
}

const configSeen = new WeakMap<object, number>();

function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value) + "\n", { mode: 0o600 });
  renameSync(tmp, path);
}

/** Apply pending CLI requests and refresh `status.json` (best effort, never throws). */
export async function applyLocalRequests(ctx: HandlerContext): Promise<void> {
  const dir = ctx.projectDir;
  const engine = ctx.engine as unknown as Maintainable | null;
  try {
    unlinkSync(join(dir, ZERO_REQUEST));
    ctx.stats.reset();
    engine?.zeroRustStats?.();
    ctx.log.event("zero-stats", {});
  } catch {
    // no request
  }
  try {
    const mtime = statSync(configPath(ctx.cacheRoot), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const seen = configSeen.get(ctx) ?? 0;
    if (mtime !== seen) {
      configSeen.set(ctx, mtime);
      if (seen !== 0 || mtime !== 0) {
        const c = daemonEnvConfig(process.env, 3600, readConfigFile(ctx.cacheRoot));
        engine?.setMaxSize?.(c.maxSize ?? 10n * 1024n ** 3n);
      }
    }
  } catch (e) {
    ctx.log.error("config.reload", e);
  }
  let req: { id?: unknown; older_than_ms?: unknown; max_size?: unknown } | null = null;
  try {
    const path = join(dir, EVICT_REQUEST);
    req = JSON.parse(readFileSync(path, "utf8"));
    unlinkSync(path);
  } catch {
    // none
  }
  if (req !== null && engine?.evict !== undefined) {
    try {
      const r = await engine.evict({
        olderThanMs: typeof req.older_than_ms === "number" ? req.older_than_ms : undefined,
        maxSize: typeof req.max_size === "string" ? BigInt(req.max_size) : undefined,
      });
      writeJson(join(dir, EVICT_RESULT), {
        id: req.id,
        evicted: r.evicted,
        bytes_freed: r.bytesFreed,
      });
    } catch (e) {
      ctx.log.error("evict", e);
    }
  }
  try {
    const g = ctx.stats.snapshot();
    writeJson(join(dir, STATUS_SIDECAR), {
      pid: process.pid,
      started_at_ms: ctx.startedAtMs,
      ephemeral_compiles: Number(g.ephemeralCompiles),
      max_size_bytes: engine?.maxSize ?? null,
      reasons: ctx.stats.reasonCounts(),
      remote: engine?.remoteStats?.() ?? null,
      rust: engine?.rustStats?.() ?? null,
    });
  } catch {
    // read-only project dir: stats shows less
  }
}
