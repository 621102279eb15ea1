/**
 * The per-request log (`ZCCACHE_LOG=<file>`, or `log_file` in
 * `zccache.conf`): one line per compile request, written by the daemon:
 *
 * ```
 * 2026-12-02T01:50:30.123Z hit /src/a.c
 * 2026-12-02T01:50:31.004Z miss /src/a.c: changed flag -O2 -> -O3
 * 2026-12-02T01:50:31.410Z non-cacheable gcc -E a.c: -E (preprocess only)
 * 2026-12-02T01:50:32.000Z error /src/b.c: new source
 * ```
 *
 * The request's own environment decides (the wrapper sends its env), then
 * the config file; a relative path is taken from the request's cwd. The file
 * is opened `O_APPEND | O_NOFOLLOW` (a planted symlink is never followed),
 * never created with its directory, and every value is escaped (control
 * characters, bidi overrides: {@link escapeLogText}), one line per request.
 *
 * @module
 */
import { closeSync, constants as fsConstants, openSync, statSync, writeSync } from "node:fs";
import { basename, isAbsolute, resolve } from "node:path";
import { configPath, readConfigFile } from "./config_env.ts";
import { escapeLogText } from "./log.ts";

/** What a log line says about one request. */
export interface RequestLogEntry {
  kind: "hit" | "miss" | "error" | "non_cacheable";
  /** Why not cacheable (for `non_cacheable`). */
  reason: string | null;
  /** Why it missed (for `miss` and `error`). */
  missReason?: string | null;
  /** Absolute sources compiled (empty for a pass-through). */
  sources: readonly string[];
  compiler: string;
  args: readonly string[];
  exitCode: number;
}

let fileCache: { path: string; stamp: string; logFile: string | undefined } | null = null;

/** `log_file` from `<cacheRoot>/zccache.conf` (re-read only when the file changes). */
function configLogFile(cacheRoot: string): string | undefined {
  const path = configPath(cacheRoot);
  const st = statSync(path, { throwIfNoEntry: false });
  const stamp = st === undefined ? "none" : `${st.mtimeMs}:${st.size}:${st.ino}`;
  if (fileCache !== null && fileCache.path === path && fileCache.stamp === stamp) {
    return fileCache.logFile;
  }
  const v = st === undefined ? undefined : readConfigFile(cacheRoot).get("log_file")?.trim();
  const logFile = v === undefined || v === "" ? undefined : v;
  fileCache = { path, stamp, logFile };
  return logFile;
}

/**
 * The log file for a request: `ZCCACHE_LOG` in its environment, else
 * `log_file` in the config file, resolved against `cwd`; null for none.
 */
export function requestLogPath(
  env: Record<string, string | undefined>,
  cacheRoot: string,
  cwd: string,
): string | null {
  const fromEnv = env.ZCCACHE_LOG?.trim();
  const p = fromEnv !== undefined && fromEnv !== "" ? fromEnv : configLogFile(cacheRoot);
  if (p === undefined) return null;
  return isAbsolute(p) ? p : resolve(cwd, p);
}

const MAX_COMMAND_CHARS = 300;

/** One log line (no newline), every value escaped. */
export function requestLogLine(e: RequestLogEntry, nowMs: number = Date.now()): string {
  const kind = e.kind === "non_cacheable" ? "non-cacheable" : e.kind;
  let what: string;
  if (e.sources.length > 0) what = e.sources.join(" ");
  else {
    what = [basename(e.compiler), ...e.args].join(" ");
    if (what.length > MAX_COMMAND_CHARS) what = what.slice(0, MAX_COMMAND_CHARS) + "...";
  }
  const why = e.kind === "non_cacheable"
    ? e.reason ?? "not cacheable"
    : e.kind === "hit"
    ? null
    : e.missReason ?? null;
  const exit = e.kind === "error" ? ` exit ${e.exitCode}` : "";
  const line = `${new Date(nowMs).toISOString()} ${kind} ${what}${exit}${
    why === null ? "" : `: ${why}`
  }`;
  return escapeLogText(line);
}

/**
 * Append one line to `path` (`O_APPEND | O_NOFOLLOW`, mode 0644, never a
 * directory created). Throws the open or write error.
 */
export function appendRequestLog(path: string, line: string): void {
  const fd = openSync(
    path,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND |
      (fsConstants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    writeSync(fd, line + "\n");
  } finally {
    closeSync(fd);
  }
}
