/**
 * `FingerprintCheck` -> `FingerprintCheckResult{decision, reason, changed_files}`;
 * `FingerprintMarkSuccess` / `FingerprintMarkFailure` / `FingerprintInvalidate`
 * -> `FingerprintAck`. The state is persisted in the request's cache file
 * (see `../fingerprint.ts`), so it outlives the daemon.
 *
 * Source: zccache@1cc82c3:crates/zccache-daemon-core/src/daemon/server/connection.rs
 * (the `Request::Fingerprint*` arms).
 *
 * @module
 */
import type { RequestOf } from "../../core/messages.ts";
import { FingerprintManager } from "../fingerprint.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";

/** One manager per daemon process: its only in-memory state is a lock per cache file. */
const manager = new FingerprintManager();

/** `FingerprintCheck`: a scan error is a `run` decision with its reason, never an `Error`. */
export async function handleFingerprintCheck(
  ctx: HandlerContext,
  req: RequestOf<"FingerprintCheck">,
): Promise<HandlerResult> {
  const r = await manager.check({
    cacheFile: req.cacheFile,
    cacheType: req.cacheType,
    root: req.root,
    extensions: req.extensions,
    includeGlobs: req.includeGlobs,
    exclude: req.exclude,
  });
  ctx.log.event("fingerprint-check", {
    cache_file: req.cacheFile,
    decision: r.decision,
    ...(r.reason !== null ? { reason: r.reason } : {}),
    changed: r.changedFiles.length,
  });
  return {
    response: {
      kind: "FingerprintCheckResult",
      decision: r.decision,
      reason: r.reason,
      changedFiles: r.changedFiles,
    },
  };
}

/** `FingerprintMarkSuccess` / `FingerprintMarkFailure` / `FingerprintInvalidate`. */
export async function handleFingerprintUpdate(
  ctx: HandlerContext,
  req: RequestOf<"FingerprintMarkSuccess" | "FingerprintMarkFailure" | "FingerprintInvalidate">,
): Promise<HandlerResult> {
  try {
    if (req.kind === "FingerprintInvalidate") await manager.invalidate(req.cacheFile);
    else {
      await manager.mark(
        req.cacheFile,
        req.kind === "FingerprintMarkSuccess" ? "success" : "failure",
      );
    }
    return { response: { kind: "FingerprintAck" } };
  } catch (err) {
    ctx.log.error("fingerprint", err, { cache_file: req.cacheFile });
    const message = err instanceof Error ? err.message : String(err);
    return {
      response: {
        kind: "Error",
        message: `cannot update fingerprint ${req.cacheFile}: ${message}`,
      },
    };
  }
}
