/**
 * `zccache fp --cache-file F [--cache-type two-layer|hash] [--endpoint E] <command>`:
 * "did these files change since the last success?", answered by the daemon
 * (`FingerprintCheck` and friends) and persisted in F.
 *
 * - `check [--root DIR] [--ext EXT]... | [--include GLOB]... [--exclude PAT]...`:
 *   exit 0 = run (something changed, or no success recorded), 1 = skip.
 * - `mark-success`, `mark-failure`: record the outcome of the run the last
 *   check allowed (exit 0).
 * - `invalidate`: forget the state (exit 0).
 *
 * Exit 2 for a usage error or a daemon that cannot be reached or errs, as
 * zccache's `fp`. Messages on stderr as zccache's (`zccache fp: skip (no
 * changes)`, `zccache fp: run (content changed, 2 file(s) changed)`). Unlike
 * zccache, relative `--cache-file` and `--root` are resolved against the
 * current directory here, not the daemon's.
 *
 * Source: zccache@1cc82c3:crates/zccache-cli-core/src/cli/commands/fp.rs,
 * `…/commands/args/mod.rs` (`Fp`), `…/args/subcommands.rs` (`FpCommands`).
 *
 * @module
 */
import process from "node:process";
import { resolve } from "node:path";
import type { Request, Response } from "../core/messages.ts";
import { daemonRequest } from "../client/control.ts";
import { ensureDaemon } from "../client/lifecycle.ts";
import { endpointFromEnv } from "../transport/endpoint.ts";
import type { CliIo } from "./io.ts";
import { parseOptions, UsageError } from "./_args.ts";

const TIMEOUT_MS = 120_000;

/** `zccache fp --help`. */
export const FP_HELP =
  `Fingerprint-based file change detection: have files changed since the last success?

Usage: zccache fp --cache-file <FILE> [--cache-type <TYPE>] [--endpoint <E>] <COMMAND>

Commands:
  check          Check if files have changed since last success
                 (exit 0 = run: files changed; exit 1 = skip: no changes)
  mark-success   Mark the previous check as successful
  mark-failure   Mark the previous check as failed
  invalidate     Invalidate the cache (delete all state)

Options:
  --cache-file <FILE>   Path to the cache file (e.g. .cache/lint.json); required
  --cache-type <TYPE>   two-layer (mtime+size, then hash; default) or hash (content hash of all files)
  --endpoint <E>        IPC endpoint (default: platform-specific)
  -h, --help            Print help

check options:
  --root <DIR>          Root directory to scan (default: .)
  --ext <EXT>           File extension to include, without dot (repeat; not with --include)
  --include <GLOB>      Glob of files to include, e.g. "**/*.rs" (repeat; not with --ext)
  --exclude <PAT>       Directory name to skip (with --ext), or glob to exclude (with --include) (repeat)

Exit codes: 0 run, 1 skip, 2 error.
`;

const TOP = { "cache-file": "value", "cache-type": "value", endpoint: "value" } as const;
const CHECK = { root: "value", ext: "list", include: "list", exclude: "list", ...TOP } as const;

/** Run `zccache fp ...` (argv after `fp`). */
export async function fpCommand(argv: string[], io: CliIo): Promise<number> {
  try {
    return await fp(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      await io.stderr(`zccache fp: ${e.message}\n`);
      await io.stderr("Usage: zccache fp --cache-file <FILE> [--cache-type <TYPE>] <COMMAND>\n");
      return 2;
    }
    throw e;
  }
}

async function fp(argv: string[], io: CliIo): Promise<number> {
  // Options before the subcommand, then the subcommand's own (the top ones are accepted there too).
  const top = parseOptions(argv, TOP, true);
  const [sub, ...subArgv] = top.positionals;
  if (top.help || sub === undefined || sub === "help") {
    await (sub === undefined && !top.help ? io.stderr(FP_HELP) : io.stdout(FP_HELP));
    return top.help || sub === "help" ? 0 : 2;
  }
  if (!["check", "mark-success", "mark-failure", "invalidate"].includes(sub)) {
    throw new UsageError(`unrecognized subcommand '${sub}'`);
  }
  const o = parseOptions(subArgv, sub === "check" ? CHECK : TOP);
  if (o.help) {
    await io.stdout(FP_HELP);
    return 0;
  }
  if (o.positionals.length > 0 || o.rest !== null) {
    throw new UsageError(`unexpected argument '${o.positionals[0] ?? "--"}'`);
  }
  const pick = (name: string): string | undefined => {
    const a = top.values.get(name);
    const b = o.values.get(name);
    if (a !== undefined && b !== undefined) {
      throw new UsageError(`'--${name}' cannot be used multiple times`);
    }
    return a ?? b;
  };
  const cacheFileArg = pick("cache-file");
  if (cacheFileArg === undefined) {
    throw new UsageError("the following required arguments were not provided: --cache-file <FILE>");
  }
  const cacheType = pick("cache-type") ?? "two-layer";
  if (cacheType !== "two-layer" && cacheType !== "hash") {
    throw new UsageError(
      `invalid value '${cacheType}' for '--cache-type': expected two-layer or hash`,
    );
  }
  const ext = o.lists.get("ext") ?? [];
  const include = o.lists.get("include") ?? [];
  if (ext.length > 0 && include.length > 0) {
    throw new UsageError("the argument '--ext <EXT>' cannot be used with '--include <GLOB>'");
  }
  const cacheFile = resolve(io.cwd, cacheFileArg);
  const endpoint = endpointFromEnv(io.env, process.platform, {
    cwd: io.cwd,
    explicit: pick("endpoint") ?? null,
  });
  let req: Request;
  if (sub === "check") {
    req = {
      kind: "FingerprintCheck",
      cacheFile,
      cacheType,
      root: resolve(io.cwd, o.values.get("root") ?? "."),
      extensions: ext,
      includeGlobs: include,
      exclude: o.lists.get("exclude") ?? [],
    };
  } else if (sub === "mark-success") req = { kind: "FingerprintMarkSuccess", cacheFile };
  else if (sub === "mark-failure") req = { kind: "FingerprintMarkFailure", cacheFile };
  else req = { kind: "FingerprintInvalidate", cacheFile };

  try {
    await ensureDaemon(endpoint, { env: io.env, cwd: io.cwd });
  } catch (e) {
    await io.stderr(`zccache fp: failed to start daemon: ${(e as Error).message}\n`);
    return 2;
  }
  let r: Response | null;
  try {
    r = await daemonRequest(endpoint, req, {
      env: io.env,
      timeoutMs: TIMEOUT_MS,
      connectTimeoutMs: TIMEOUT_MS,
    });
  } catch (e) {
    await io.stderr(`zccache fp: cannot connect to daemon: ${(e as Error).message}\n`);
    return 2;
  }
  if (r?.kind === "FingerprintCheckResult" && sub === "check") {
    if (r.decision === "skip") {
      await io.stderr("zccache fp: skip (no changes)\n");
      return 1;
    }
    const reason = r.reason ?? "unknown";
    await io.stderr(
      r.changedFiles.length === 0
        ? `zccache fp: run (${reason})\n`
        : `zccache fp: run (${reason}, ${r.changedFiles.length} file(s) changed)\n`,
    );
    return 0;
  }
  if (r?.kind === "FingerprintAck" && sub !== "check") {
    await io.stderr(`zccache fp: ${sub === "invalidate" ? "invalidated" : sub}\n`);
    return 0;
  }
  if (r?.kind === "Error") {
    await io.stderr(`zccache fp: daemon error: ${r.message}\n`);
    return 2;
  }
  await io.stderr(
    `zccache fp: unexpected response: ${r === null ? "connection closed" : r.kind}\n`,
  );
  return 2;
}
