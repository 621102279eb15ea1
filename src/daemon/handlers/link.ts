/**
 * `LinkEphemeral` -> `LinkResult{exit_code, stdout, stderr, cached, warning}`.
 * Links never belong to a session (zccache counts them only globally:
 * `total_links`, `link_hits`, `link_misses`, `link_non_cacheable`).
 *
 * Source: zccache@1cc82c3:crates/zccache-daemon-core/src/daemon/server/handle_link.rs.
 *
 * @module
 */
import type { RequestOf } from "../../core/messages.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";
import { compileEnv, logRequest } from "./session.ts";

/** `LinkEphemeral`: plan, then hit, miss (stored) or pass through. */
export async function handleLinkEphemeral(
  ctx: HandlerContext,
  req: RequestOf<"LinkEphemeral">,
  signal: AbortSignal,
): Promise<HandlerResult> {
  const engine = ctx.engine;
  if (engine === null || engine.link === undefined) {
    return { response: { kind: "Error", message: "link engine unavailable in this daemon" } };
  }
  try {
    const env = compileEnv(req.env, []);
    const r = await engine.link({
      tool: req.tool,
      args: req.args,
      cwd: req.cwd,
      env,
      signal,
      clientPid: req.clientPid,
    });
    logRequest(ctx, env, req.cwd, {
      kind: r.kind === "hit" || r.kind === "miss" || r.kind === "error" ? r.kind : "non_cacheable",
      reason: r.reason,
      // Links have no nearest-entry comparison: their key covers every input.
      missReason: r.kind === "miss" ? r.reason ?? "no entry for this link" : null,
      sources: [],
      compiler: req.tool,
      args: req.args,
      exitCode: r.exitCode,
    });
    ctx.log.event("link", {
      tool: req.tool,
      outcome: r.kind,
      exit_code: r.exitCode,
      ...(r.reason !== null ? { reason: r.reason } : {}),
    });
    return {
      response: {
        kind: "LinkResult",
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        cached: r.cached,
        warning: r.warning,
      },
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!signal.aborted) ctx.log.error("link", err, { tool: req.tool });
    return { response: { kind: "Error", message: `failed to run linker: ${message}` } };
  }
}
