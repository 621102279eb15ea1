/**
 * `GenericToolExec` -> `GenericToolExecResult{exit_code, stdout, stderr,
 * output_files, cached, cache_key_hex}` (see `../exec.ts`). A request that
 * cannot run (unhashable tool or input, bad filter regex, spawn failure)
 * answers an `Error` with zccache's message; without a compile engine (no
 * store), an `Error` too.
 *
 * Source: zccache@1cc82c3:crates/zccache-daemon-core/src/daemon/server/handle_exec.rs.
 *
 * @module
 */
import type { RequestOf } from "../../core/messages.ts";
import { ExecRunner } from "../exec.ts";
import type { CompileBackend, HandlerContext, HandlerResult } from "./context.ts";

const runners = new WeakMap<CompileBackend, ExecRunner>();

/** `GenericToolExec`: key, coalesce, run or restore. */
export async function handleGenericToolExec(
  ctx: HandlerContext,
  req: RequestOf<"GenericToolExec">,
  signal: AbortSignal,
): Promise<HandlerResult> {
  const engine = ctx.engine;
  if (engine === null) {
    return { response: { kind: "Error", message: "exec engine unavailable in this daemon" } };
  }
  let runner = runners.get(engine);
  if (runner === undefined) {
    runner = new ExecRunner(engine);
    runners.set(engine, runner);
  }
  try {
    const r = await runner.exec({ ...req, signal });
    if (!r.ok) return { response: { kind: "Error", message: r.message } };
    ctx.log.event("exec", {
      tool: req.tool,
      cached: r.cached,
      exit_code: r.exitCode,
      key: r.cacheKeyHex.slice(0, 16),
    });
    return {
      response: {
        kind: "GenericToolExecResult",
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        outputFiles: r.outputFiles,
        cached: r.cached,
        cacheKeyHex: r.cacheKeyHex,
      },
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!signal.aborted) ctx.log.error("exec", err, { tool: req.tool });
    return { response: { kind: "Error", message: `failed to run ${req.tool}: ${message}` } };
  }
}
