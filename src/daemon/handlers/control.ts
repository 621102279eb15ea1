/**
 * Control requests: `Ping`, `Status`, `Shutdown`, `Clear`.
 *
 * Source: zccache@3eae627:crates/zccache/src/daemon/server/connection.rs
 * (Status fields, Shutdown reply-then-close), daemon/server/handle_clear.rs
 * (Clear resets the stats too).
 *
 * @module
 */
import type { DaemonStatus, Response } from "../../core/messages.ts";
import { type HandlerContext, type HandlerResult, u64 } from "./context.ts";
import { applyLocalRequests } from "./maintenance.ts";

/** `Ping` -> `Pong`. */
export function handlePing(): HandlerResult {
  return { response: { kind: "Pong" } };
}

/** Default dep-graph format version reported when the engine has none. */
const DEP_GRAPH_VERSION_FALLBACK = 1;

/** Build the full `DaemonStatus` from the daemon's and the engine's counters. */
export function buildStatus(ctx: HandlerContext, nowMs: number = Date.now()): DaemonStatus {
  const g = ctx.stats.snapshot();
  let e = null;
  try {
    e = ctx.engine?.stats() ?? null;
  } catch (err) {
    ctx.log.error("status.engine_stats", err);
  }
  return {
    version: ctx.version,
    daemonNamespace: ctx.namespace,
    endpoint: ctx.endpoint,
    privateDaemon: { enabled: false, owners: [], privateEnvKeys: [] },
    artifactCount: u64(e?.artifactCount),
    cacheSizeBytes: u64(e?.cacheSizeBytes),
    metadataEntries: u64(e?.metadataEntries),
    uptimeSecs: BigInt(Math.max(0, Math.floor((nowMs - ctx.startedAtMs) / 1000))),
    cacheHits: g.hits,
    cacheMisses: g.misses,
    totalCompilations: g.compilations,
    nonCacheable: g.nonCacheable,
    compileErrors: g.compileErrors,
    compileErrorsCached: g.compileErrorsCached,
    timeSavedMs: g.timeSavedMs,
    totalLinks: u64(e?.totalLinks),
    linkHits: u64(e?.linkHits),
    linkMisses: u64(e?.linkMisses),
    linkNonCacheable: u64(e?.linkNonCacheable),
    depGraphContexts: u64(e?.depGraphContexts),
    depGraphFiles: u64(e?.depGraphFiles),
    sessionsTotal: g.sessionsTotal,
    sessionsActive: BigInt(ctx.sessions.activeCount),
    cacheDir: ctx.cacheRoot,
    depGraphVersion: e?.depGraphVersion ?? DEP_GRAPH_VERSION_FALLBACK,
    depGraphDiskSize: u64(e?.depGraphDiskSize),
    depGraphPersisted: e?.depGraphPersisted ?? u64(e?.depGraphDiskSize) > 0n,
  };
}

/**
 * `Status` -> `Status(DaemonStatus)`, after applying what the CLI asked for
 * through files in the project directory (zero stats, evict, a changed
 * config file; see `maintenance.ts`): the wire stays 1.12.2's.
 */
export async function handleStatus(ctx: HandlerContext): Promise<HandlerResult> {
  await applyLocalRequests(ctx);
  await ctx.engine?.ready?.();
  return { response: { kind: "Status", value: buildStatus(ctx) } };
}

/**
 * `Shutdown` -> `ShuttingDown`, then the connection closes and the daemon
 * stops gracefully (in-flight compiles finish, the index is flushed).
 */
export function handleShutdown(ctx: HandlerContext): HandlerResult {
  return {
    response: { kind: "ShuttingDown" },
    after: "close",
    onSent: () => ctx.requestShutdown("graceful-shutdown"),
  };
}

/** `Clear` -> `Cleared` with the engine's true counts; the stats are reset. */
export async function handleClear(ctx: HandlerContext): Promise<HandlerResult> {
  let response: Response;
  if (ctx.engine === null) {
    response = {
      kind: "Cleared",
      artifactsRemoved: 0n,
      metadataCleared: 0n,
      depGraphContextsCleared: 0n,
      onDiskBytesFreed: 0n,
    };
  } else {
    try {
      const c = await ctx.engine.clear();
      response = {
        kind: "Cleared",
        artifactsRemoved: u64(c.artifactsRemoved),
        metadataCleared: u64(c.metadataCleared),
        depGraphContextsCleared: u64(c.depGraphContextsCleared),
        onDiskBytesFreed: u64(c.onDiskBytesFreed),
      };
    } catch (err) {
      ctx.log.error("clear", err);
      return {
        response: {
          kind: "Error",
          message: `failed to clear cache: ${err instanceof Error ? err.message : String(err)}`,
        },
      };
    }
  }
  ctx.stats.reset();
  ctx.log.event("clear", {
    artifacts_removed: response.kind === "Cleared" ? response.artifactsRemoved : undefined,
  });
  return { response };
}
