/**
 * `ReleaseWorktreeHandles{path}`: end every session whose working directory
 * is under `path` and report what was inspected and released. A path that
 * contains the daemon's cache root is refused with an `Error`.
 *
 * Source: zccache@3eae627:crates/zccache/src/daemon/server/handle_release_worktree_handles.rs
 * (canonicalize both sides when possible, fall back to the path as given;
 * `unreleased` is always empty because no long-lived handles remain).
 *
 * @module
 */
import { realpathSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import type { RequestOf } from "../../core/messages.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";

function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** True when `candidate` equals `target` or lies below it (component-wise). */
export function pathIsUnder(candidate: string, target: string): boolean {
  const rel = relative(target, candidate);
  if (rel === "") return true;
  return rel !== ".." && !rel.startsWith(".." + sep) && !/^[A-Za-z]:/.test(rel) &&
    !rel.startsWith(sep);
}

/** Handle `ReleaseWorktreeHandles`. */
export function handleReleaseWorktreeHandles(
  ctx: HandlerContext,
  req: RequestOf<"ReleaseWorktreeHandles">,
): HandlerResult {
  const target = canonical(req.path);
  const root = canonical(ctx.cacheRoot);
  if (pathIsUnder(root, target)) {
    return {
      response: {
        kind: "Error",
        message:
          `refusing to release handles under ${target} \u2014 that path contains the daemon cache root ${root}`,
      },
    };
  }
  const ids = ctx.sessions.activeIds();
  let inspected = 0;
  const dropped: string[] = [];
  for (const id of ids) {
    const s = ctx.sessions.get(id);
    if (s === undefined || s.ephemeral) continue;
    inspected++;
    if (!pathIsUnder(canonical(s.workingDir), target)) continue;
    if (ctx.sessions.end(id) !== undefined) dropped.push(id);
  }
  ctx.log.event("release-worktree-handles", {
    path: target,
    inspected,
    released: dropped.length,
  });
  return {
    response: {
      kind: "ReleaseWorktreeHandlesResult",
      inspected,
      released: dropped.length,
      sessionsDropped: dropped,
      unreleased: [],
    },
  };
}
