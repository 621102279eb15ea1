/**
 * `zccache exec [options] -- <tool> [args...]`: run any tool through the
 * cache by what it is *declared* to read and write (`GenericToolExec`).
 * The tool runs in the current directory with only the `--input-env`
 * variables set; its stdout/stderr are written out and its exit code
 * returned. Exit 2 for a usage error or a daemon error, 127 when the tool
 * is not found, as zccache's `exec`.
 *
 * Source: zccache@1cc82c3:crates/zccache-cli-core/src/cli/commands/exec.rs.
 *
 * @module
 */
import process from "node:process";
import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { Request, Response } from "../core/messages.ts";
import { daemonRequest } from "../client/control.ts";
import { ensureDaemon } from "../client/lifecycle.ts";
import { endpointFromEnv } from "../transport/endpoint.ts";
import type { CliIo } from "./io.ts";
import { parseOptions, UsageError } from "./_args.ts";

const TIMEOUT_MS = 24 * 3600_000;

/** `zccache exec --help`. */
export const EXEC_HELP = `Cache an arbitrary tool by its declared inputs and outputs.

Usage: zccache exec [OPTIONS] -- <TOOL> [ARGS]...

Inputs (the cache key):
  --input-file <F>          A file the tool reads (repeat)
  --input-file-list <F>     A file listing input files, one per line
  --input-file-stdin        Read input file names from stdin, one per line
  --input-env <NAME>        An environment variable the tool sees (repeat); the tool sees no other
  --input-extra <BYTES>     Extra key material (e.g. a config version)
  --tool-hash <HEX>         Use this 64-hex hash for the tool instead of hashing its binary
  --key-args-filter <RE>    Leave arguments matching this regex out of the key (repeat)
  --no-cwd-in-key           Do not key on the current directory (the default keys on it)
  --include-scan <F>        Scan F for #include and key on the headers found (repeat)
  --include-dir <D>, --system-include <D>, --iquote-dir <D>   search dirs for --include-scan (repeat)
  --depfile <F>             The tool writes a make depfile F; its dependencies join the key
Outputs:
  --output-file <F>         A file the tool writes, restored on a hit with its mode (repeat)
  --output-stdout[=BOOL]    Replay stdout (default true); --output-stderr[=BOOL] likewise
Behaviour:
  --no-cache                Run the tool, neither look up nor store
  --non-deterministic       The tool's outputs vary run to run: never cache
  --endpoint <E>            IPC endpoint (default: platform-specific)
  -h, --help                Print help

Example: zccache exec --input-file gen.py --input-file schema.json --output-file out.h -- python3 gen.py
`;

const SPEC = {
  "input-file": "list",
  "input-file-list": "value",
  "input-file-stdin": "flag",
  "input-env": "list",
  "input-extra": "value",
  "output-stdout": "flag",
  "output-stderr": "flag",
  "output-file": "list",
  "tool-hash": "value",
  "no-cache": "flag",
  "no-cwd-in-key": "flag",
  endpoint: "value",
  "include-scan": "list",
  "include-dir": "list",
  "system-include": "list",
  "iquote-dir": "list",
  depfile: "value",
  "non-deterministic": "flag",
  "key-args-filter": "list",
} as const;

function pathLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

function findTool(tool: string, io: CliIo): string | null {
  if (isAbsolute(tool) || tool.includes("/")) return resolve(io.cwd, tool);
  for (const dir of (io.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, tool);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o111) !== 0) return p;
  }
  return null;
}

/** Run `zccache exec ...` (argv after `exec`). */
export async function execCommand(argv: string[], io: CliIo): Promise<number> {
  let o;
  try {
    o = parseOptions(argv, SPEC);
    if (o.help) {
      await io.stdout(EXEC_HELP);
      return 0;
    }
    if (o.positionals.length > 0) throw new UsageError(`unexpected argument '${o.positionals[0]}'`);
    if (o.rest === null || o.rest.length === 0) {
      throw new UsageError(
        "expected `--` followed by the tool command\n" +
          "example: zccache exec --input-file src/foo.cpp -- fastled-lint src/foo.cpp",
      );
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await io.stderr(`zccache exec: ${e.message}\n`);
    return 2;
  }
  const [toolName, ...args] = o.rest;
  const tool = findTool(toolName, io);
  if (tool === null) {
    await io.stderr(
      `zccache exec: tool not found: ${toolName} (PATH lookup failed and the value is not an absolute path)\n`,
    );
    return 127;
  }
  const inputs = [...(o.lists.get("input-file") ?? [])];
  const list = o.values.get("input-file-list");
  if (list !== undefined) {
    try {
      inputs.push(...pathLines(await readFile(resolve(io.cwd, list), "utf8")));
    } catch (e) {
      await io.stderr(
        `zccache exec: failed to read --input-file-list ${list}: ${(e as Error).message}\n`,
      );
      return 2;
    }
  }
  if (o.flags.get("input-file-stdin") === true) {
    inputs.push(...pathLines(new TextDecoder().decode(await io.readStdin())));
  }
  let toolHash: Uint8Array | null = null;
  const hex = o.values.get("tool-hash");
  if (hex !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      await io.stderr(
        `zccache exec: --tool-hash must be 64 hex characters (32 bytes); got ${hex.length} chars\n`,
      );
      return 2;
    }
    toolHash = new Uint8Array(32);
    for (let i = 0; i < 32; i++) toolHash[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  const abs = (p: string): string => resolve(io.cwd, p);
  const list_ = (name: string): string[] => (o.lists.get(name) ?? []).map(abs);
  const depfile = o.values.get("depfile");
  const req: Request = {
    kind: "GenericToolExec",
    tool,
    args,
    cwd: io.cwd,
    env: (o.lists.get("input-env") ?? []).map((n) => [n, io.env[n] ?? ""]),
    inputFiles: inputs.map(abs),
    inputExtra: new TextEncoder().encode(o.values.get("input-extra") ?? ""),
    outputStreams: {
      stdout: o.flags.get("output-stdout") ?? true,
      stderr: o.flags.get("output-stderr") ?? true,
    },
    outputFiles: o.lists.get("output-file") ?? [],
    toolHash,
    cachePolicy: o.flags.get("no-cache") === true ? "Bypass" : "Normal",
    cwdInKey: o.flags.get("no-cwd-in-key") !== true,
    includeScanFiles: list_("include-scan"),
    includeDirs: list_("include-dir"),
    systemIncludeDirs: list_("system-include"),
    iquoteDirs: list_("iquote-dir"),
    depfile: depfile === undefined ? null : abs(depfile),
    nonDeterministic: o.flags.get("non-deterministic") === true,
    keyArgsFilter: o.lists.get("key-args-filter") ?? [],
  };
  const endpoint = endpointFromEnv(io.env, process.platform, {
    cwd: io.cwd,
    explicit: o.values.get("endpoint") ?? null,
  });
  let r: Response | null;
  try {
    await ensureDaemon(endpoint, { env: io.env, cwd: io.cwd });
    r = await daemonRequest(endpoint, req, {
      env: io.env,
      timeoutMs: TIMEOUT_MS,
      connectTimeoutMs: TIMEOUT_MS,
    });
  } catch (e) {
    await io.stderr(`zccache exec: cannot connect to daemon: ${(e as Error).message}\n`);
    return 2;
  }
  if (r?.kind === "GenericToolExecResult") {
    if (r.stdout.length > 0) await io.stdout(r.stdout);
    if (r.stderr.length > 0) await io.stderr(r.stderr);
    return r.exitCode < 0 || r.exitCode > 255 ? 1 : r.exitCode;
  }
  if (r?.kind === "Error") {
    await io.stderr(`zccache exec: daemon error: ${r.message}\n`);
    return 2;
  }
  await io.stderr(
    `zccache exec: unexpected response: ${r === null ? "connection closed" : r.kind}\n`,
  );
  return 2;
}
