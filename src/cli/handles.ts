/**
 * `zccache release-handles --path P [--json] [--endpoint E]`
 * (`ReleaseWorktreeHandles`: end every session whose working directory is
 * under P, e.g. before `git worktree remove`) and `zccache cache-root
 * [--json]` (the resolved cache root, where it came from, the daemon
 * namespace and endpoint). Usage errors exit 2; no daemon running is
 * "nothing to release", exit 0; a refused path (it contains the cache root)
 * exits 1, as zccache's.
 *
 * Source: zccache@1cc82c3:crates/zccache-cli-core/src/cli/commands/cache_ops.rs
 * (`cmd_release_handles`, `cmd_cache_root`).
 *
 * @module
 */
import process from "node:process";
import { resolve } from "node:path";
import type { Response } from "../core/messages.ts";
import { daemonRequest } from "../client/control.ts";
import { pingDaemon } from "../client/spawn.ts";
import { resolveDaemonPaths } from "../daemon/paths.ts";
import type { CliIo } from "./io.ts";
import { parseOptions, UsageError } from "./_args.ts";

/** `zccache release-handles --help`. */
export const RELEASE_HELP = `End every daemon session whose working directory is under PATH.

Usage: zccache release-handles --path <PATH> [--json] [--endpoint <E>]

Options:
  --path <PATH>     Directory being removed (a worktree)
  --json            Print {"inspected","released","sessions_dropped","unreleased"} as JSON
  --endpoint <E>    IPC endpoint (default: platform-specific)
  -h, --help        Print help
`;

/** `zccache cache-root --help`. */
export const CACHE_ROOT_HELP = `Print the resolved cache root.

Usage: zccache cache-root [--json]

Options:
  --json        Print {"cache_root","source","daemon_namespace","daemon_endpoint"} as JSON
  -h, --help    Print help
`;

async function usage(io: CliIo, cmd: string, e: unknown): Promise<number> {
  if (!(e instanceof UsageError)) throw e;
  await io.stderr(`zccache ${cmd}: ${e.message}\n`);
  return 2;
}

/** Run `zccache release-handles ...` (argv after the command name). */
export async function releaseHandlesCommand(argv: string[], io: CliIo): Promise<number> {
  let o;
  try {
    o = parseOptions(argv, { path: "value", json: "flag", endpoint: "value" });
    if (o.help) {
      await io.stdout(RELEASE_HELP);
      return 0;
    }
    if (o.positionals.length > 0 || o.rest !== null) {
      throw new UsageError(`unexpected argument '${o.positionals[0] ?? "--"}'`);
    }
    if (!o.values.has("path")) {
      throw new UsageError("the following required arguments were not provided: --path <PATH>");
    }
  } catch (e) {
    return await usage(io, "release-handles", e);
  }
  const path = resolve(io.cwd, o.values.get("path")!);
  const endpoint = resolveDaemonPaths(io.env, {
    endpoint: o.values.get("endpoint") ?? null,
    cwd: io.cwd,
  }).endpoint;
  let r: Response | null = null;
  let reachable = true;
  try {
    reachable = await pingDaemon(endpoint, 2_000, io.env);
    if (reachable) {
      r = await daemonRequest(endpoint, { kind: "ReleaseWorktreeHandles", path }, {
        env: io.env,
        timeoutMs: 30_000,
        connectTimeoutMs: 30_000,
      });
    }
  } catch (e) {
    await io.stderr(`zccache: broken connection to daemon: ${(e as Error).message}\n`);
    return 1;
  }
  if (!reachable) {
    await io.stderr(`daemon not running at ${endpoint} \u2014 nothing to release for ${path}\n`);
    return 0;
  }
  if (r?.kind === "ReleaseWorktreeHandlesResult") {
    if (o.flags.get("json") === true) {
      await io.stdout(
        JSON.stringify({
          inspected: r.inspected,
          released: r.released,
          sessions_dropped: r.sessionsDropped,
          unreleased: r.unreleased,
        }) + "\n",
      );
    } else {
      let text = `released ${r.released} of ${r.inspected} session handle(s) under ${path}\n`;
      if (r.sessionsDropped.length > 0) {
        text += `  sessions dropped: ${r.sessionsDropped.join(", ")}\n`;
      }
      if (r.unreleased.length > 0) {
        text += `  unreleased paths:\n${r.unreleased.map((p) => `    ${p}\n`).join("")}`;
      }
      await io.stdout(text);
    }
    return 0;
  }
  if (r?.kind === "Error") {
    await io.stderr(`zccache release-handles: ${r.message}\n`);
    return 1;
  }
  await io.stderr(`zccache: unexpected response from daemon: ${r === null ? "none" : r.kind}\n`);
  return 1;
}

/** Run `zccache cache-root ...`. */
export async function cacheRootCommand(argv: string[], io: CliIo): Promise<number> {
  let o;
  try {
    o = parseOptions(argv, { json: "flag" });
    if (o.help) {
      await io.stdout(CACHE_ROOT_HELP);
      return 0;
    }
    if (o.positionals.length > 0 || o.rest !== null) {
      throw new UsageError(`unexpected argument '${o.positionals[0] ?? "--"}'`);
    }
  } catch (e) {
    return await usage(io, "cache-root", e);
  }
  const p = resolveDaemonPaths(io.env, { cwd: io.cwd, platform: process.platform });
  if (o.flags.get("json") === true) {
    const source = (io.env.ZCCACHE_CACHE_DIR ?? "") !== "" ? "env" : "default";
    await io.stdout(
      JSON.stringify({
        cache_root: p.cacheRoot,
        source,
        daemon_namespace: p.namespaceLabel,
        daemon_endpoint: p.endpoint,
      }) + "\n",
    );
  } else await io.stdout(`${p.cacheRoot}\n`);
  return 0;
}
