/**
 * Tool resolution and endpoint derivation shared by the compiler wrapper
 * (`src/cli/wrap.ts`) and the build-script API (`ZccacheClient`), so both
 * find the same compiler and talk to the same daemon.
 *
 * Light on purpose: the wrapper's hot path imports this module, so it loads
 * only `node:` built-ins and the endpoint discovery of the transport layer.
 *
 * Reproduces zccache@3eae627 cli/commands/wrap `resolve_tool` (PATH lookup
 * that skips zccache's own executable).
 *
 * @module
 */
import { accessSync, constants as fsConstants, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { endpointFromEnv } from "../transport/endpoint.ts";

/**
 * The real path of this program when it runs as a single-file binary, so
 * that a `PATH` lookup never resolves the compiler to zccache itself (a
 * masquerade symlink `gcc -> zccache` first in `PATH` included).
 */
function selfExecutables(): Set<string> {
  return (selfMemo ??= computeSelfExecutables());
}
let selfMemo: Set<string> | undefined;

function computeSelfExecutables(): Set<string> {
  const out = new Set<string>();
  const candidates = [process.execPath];
  const script = process.argv[1];
  if (script !== undefined && isAbsolute(script)) candidates.push(script);
  for (const c of candidates) {
    const base = c.split(/[\\/]/).pop() ?? "";
    // The runtime itself (deno/bun/node) is a legitimate tool name; only a
    // binary that is zccache is excluded.
    if (/^(deno|bun|node)(\.exe)?$/i.test(base)) continue;
    try {
      out.add(realpathSync(c));
    } catch {
      // not a real file (e.g. Bun's /$bunfs/ virtual path)
    }
  }
  return out;
}

/** True when `p` is a regular file this process may execute. */
export function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolve a tool name the way zccache does: a name with a path separator is
 * made absolute against `cwd`; a bare name is looked up on `PATH` (skipping
 * zccache's own executable); unresolved names come back `null`.
 *
 * @example
 * ```ts
 * import { resolveTool } from "./resolve_tool.ts";
 * const sh = resolveTool("sh", { PATH: "/usr/bin:/bin" }, "/");
 * console.log(sh); // e.g. "/usr/bin/sh"
 * ```
 */
export function resolveTool(
  name: string,
  env: Record<string, string | undefined>,
  cwd: string,
): string | null {
  if (name.includes("/") || (process.platform === "win32" && name.includes("\\"))) {
    return resolve(cwd, name);
  }
  const self = selfExecutables();
  const exts = process.platform === "win32" ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const base = dir === "" ? cwd : resolve(cwd, dir);
    for (const ext of exts) {
      const candidate = join(base, name + ext);
      if (!isExecutableFile(candidate)) continue;
      let real = candidate;
      try {
        real = realpathSync(candidate);
      } catch {
        // keep the candidate
      }
      if (self.has(real)) continue;
      return candidate;
    }
  }
  return null;
}

/**
 * The endpoint a client in `cwd` with environment `env` talks to
 * (`ZCCACHE_ENDPOINT`, else derived from the cache dir, else the default),
 * with a relative `ZCCACHE_ENDPOINT` made absolute against `cwd` before any
 * daemon (running from another directory) hears of it.
 *
 * @example
 * ```ts
 * import { clientEndpoint } from "./resolve_tool.ts";
 * console.log(clientEndpoint({ ZCCACHE_ENDPOINT: "/tmp/zc.sock" }, "/")); // "/tmp/zc.sock"
 * ```
 */
export function clientEndpoint(env: Record<string, string | undefined>, cwd: string): string {
  const endpoint = endpointFromEnv(env, process.platform, { cwd });
  if (endpoint === "" || endpoint.startsWith("\\\\.\\pipe\\") || isAbsolute(endpoint)) {
    return endpoint;
  }
  return resolve(cwd, endpoint);
}
