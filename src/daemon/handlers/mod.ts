/**
 * Request dispatch: one `Request` in, one `HandlerResult` out. Handlers live
 * one file per family; this file only routes.
 *
 * @module
 */
import type { Request } from "../../core/messages.ts";
import { handleListRustArtifacts, handleLookup, handleStore } from "./artifact.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";
import { handleClear, handlePing, handleShutdown, handleStatus } from "./control.ts";
import {
  handleCompile,
  handleCompileEphemeral,
  handleSessionEnd,
  handleSessionStart,
  handleSessionStats,
} from "./session.ts";
import { handleFingerprintCheck, handleFingerprintUpdate } from "./fingerprint.ts";
import { handleGenericToolExec } from "./exec.ts";
import { handleLinkEphemeral } from "./link.ts";
import { handleReleaseWorktreeHandles } from "./worktree.ts";

export type {
  BackendClearCounts,
  BackendCompileRequest,
  BackendCompileResult,
  BackendStats,
  CompileBackend,
  HandlerContext,
  HandlerResult,
} from "./context.ts";

/** True for requests that run a compiler (and so are aborted on client disconnect). */
export function isCompileRequest(req: Request): boolean {
  return req.kind === "Compile" || req.kind === "CompileEphemeral" ||
    req.kind === "LinkEphemeral" || req.kind === "GenericToolExec";
}

/** Route one request to its handler. Never throws for a well-formed request. */
export async function dispatch(
  ctx: HandlerContext,
  req: Request,
  signal: AbortSignal,
): Promise<HandlerResult> {
  switch (req.kind) {
    case "Ping":
      return handlePing();
    case "Status":
      return handleStatus(ctx);
    case "Shutdown":
      return handleShutdown(ctx);
    case "Clear":
      return await handleClear(ctx);
    case "Lookup":
      return await handleLookup(ctx, req);
    case "Store":
      return await handleStore(ctx, req);
    case "SessionStart":
      return handleSessionStart(ctx, req);
    case "Compile":
      return await handleCompile(ctx, req, signal);
    case "SessionEnd":
      return handleSessionEnd(ctx, req);
    case "SessionStats":
      return handleSessionStats(ctx, req);
    case "CompileEphemeral":
      return await handleCompileEphemeral(ctx, req, signal);
    case "ReleaseWorktreeHandles":
      return handleReleaseWorktreeHandles(ctx, req);
    case "LinkEphemeral":
      return await handleLinkEphemeral(ctx, req, signal);
    case "FingerprintCheck":
      return await handleFingerprintCheck(ctx, req);
    case "FingerprintMarkSuccess":
    case "FingerprintMarkFailure":
    case "FingerprintInvalidate":
      return await handleFingerprintUpdate(ctx, req);
    case "GenericToolExec":
      return await handleGenericToolExec(ctx, req, signal);
    case "ListRustArtifacts":
      return await handleListRustArtifacts(ctx);
  }
}
