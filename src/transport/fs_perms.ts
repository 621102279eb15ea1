/**
 * File-system side of a Unix socket endpoint: a private directory for the
 * socket and removal of a stale socket file.
 *
 * zccache 1.12.2 itself sets no modes (`create_dir_all`, typically 0755) and
 * unlinks the path unconditionally before binding
 * (zccache@3eae627:crates/zccache/src/ipc/transport.rs `IpcListener::bind`).
 * We are stricter: new directories are 0700, an existing directory owned by
 * another user is refused, and only a socket file is ever removed, and only
 * when the caller's pre-bind probe found no live daemon.
 *
 * @module
 */

import * as fs from "node:fs/promises";
import process from "node:process";
import { ZccacheError } from "../core/errors.ts";
import { isPipeEndpoint } from "./endpoint.ts";
import { osErrorCode } from "./errors.ts";

/** Options of {@link ensurePrivateDir}. */
export interface EnsurePrivateDirOptions {
  /**
   * Also `chmod 0700` an existing directory we own (right for a dedicated
   * socket directory such as `/tmp/zccache-$USER`, wrong for a shared cache
   * root). Default false.
   */
  tighten?: boolean;
}

/** What {@link ensurePrivateDir} found or did. */
export interface EnsurePrivateDirResult {
  /** The directory was created by this call. */
  created: boolean;
  /** The directory's permission bits afterwards (`mode & 0o777`). */
  mode: number;
}

/**
 * Create `dir` (and missing parents) with mode 0700, or check an existing
 * one: it must be a directory (not a symlink to one) owned by the current
 * user. On Windows only the directory is created.
 *
 * @example
 * ```ts
 * import { ensurePrivateDir } from "./fs_perms.ts";
 * const dir = (await import("node:os")).tmpdir() + "/zccache-doc-example";
 * (await ensurePrivateDir(dir)).mode; // 0o700
 * await (await import("node:fs/promises")).rm(dir, { recursive: true });
 * ```
 */
export async function ensurePrivateDir(
  dir: string,
  options: EnsurePrivateDirOptions = {},
): Promise<EnsurePrivateDirResult> {
  const windows = process.platform === "win32";
  let created = false;
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    created = true;
  } catch (e) {
    const code = osErrorCode(e);
    if (code === "ENOENT") {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      created = true;
    } else if (code !== "EEXIST") {
      throw new ZccacheError(
        "Io",
        `Cannot create socket directory ${dir}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }
  const st = await fs.lstat(dir);
  if (!st.isDirectory()) {
    throw new ZccacheError("Endpoint", `Cannot use socket directory ${dir}: not a directory`);
  }
  if (windows) return { created, mode: st.mode & 0o777 };
  // A shared sticky directory such as /tmp (the compact socket form
  // `/tmp/zccache-<id>-daemon.sock`): nobody can replace our socket in it,
  // and it is not ours to tighten.
  if (!created && (st.mode & 0o1000) !== 0) return { created, mode: st.mode & 0o777 };
  const uid = typeof process.geteuid === "function"
    ? process.geteuid()
    : typeof process.getuid === "function"
    ? process.getuid()
    : undefined;
  if (uid !== undefined && st.uid !== uid) {
    throw new ZccacheError(
      "Endpoint",
      `Cannot use socket directory ${dir}: owned by uid ${st.uid}, not ${uid}`,
    );
  }
  let mode = st.mode & 0o777;
  // A new directory is 0700 regardless of a looser umask; chmod if mkdir's
  // mode was masked differently.
  if ((created || options.tighten) && mode !== 0o700) {
    await fs.chmod(dir, 0o700);
    mode = 0o700;
  }
  return { created, mode };
}

/**
 * Remove a stale Unix socket file at `path`. Call it only after the
 * pre-bind probe showed no live daemon. Returns true if a socket file was
 * removed, false if nothing was there; throws "Endpoint" if `path` is
 * something other than a socket (never deletes user files). A no-op for
 * Windows pipe names.
 *
 * @example
 * ```ts
 * import { removeStaleSocket } from "./fs_perms.ts";
 * await removeStaleSocket("/nonexistent/zccache.sock"); // false
 * ```
 */
export async function removeStaleSocket(path: string): Promise<boolean> {
  if (isPipeEndpoint(path)) return false;
  let st;
  try {
    st = await fs.lstat(path);
  } catch (e) {
    const code = osErrorCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw new ZccacheError("Io", `Cannot inspect ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isSocket()) {
    throw new ZccacheError("Endpoint", `Cannot replace ${path}: not a socket`);
  }
  try {
    await fs.unlink(path);
    return true;
  } catch (e) {
    if (osErrorCode(e) === "ENOENT") return false;
    throw new ZccacheError("Io", `Cannot remove stale socket ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
