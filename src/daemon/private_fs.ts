/**
 * The daemon's own files, written so that nobody else can read them and a
 * planted symlink is never followed:
 *
 * - files are opened with `O_NOFOLLOW` (a symlink in the last component
 *   fails with `ELOOP` instead of writing through it), created 0600 and
 *   `fchmod`ed to 0600 when they existed with a wider mode;
 * - directories are created 0700; existing ones we own are tightened to
 *   0700; one owned by another user is refused with one clear error.
 *
 * `O_NOFOLLOW` is 0 on Windows (no such flag), where only the modes are
 * skipped as well.
 *
 * @module
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  writeSync,
} from "node:fs";
import process from "node:process";
import { ZccacheError } from "../core/errors.ts";

const WINDOWS = process.platform === "win32";
/** `O_NOFOLLOW`, or 0 where the platform has none. */
export const O_NOFOLLOW: number = (constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

function euid(): number | undefined {
  const p = process as { geteuid?: () => number; getuid?: () => number };
  return p.geteuid?.() ?? p.getuid?.();
}

/**
 * Open `path` for writing without following a symlink; created 0600, an
 * existing file tightened to 0600. `append` appends, else truncates.
 * Throws the OS error (`ELOOP` for a symlink).
 */
export function openPrivateFile(path: string, append: boolean): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | O_NOFOLLOW |
    (append ? constants.O_APPEND : 0);
  const fd = openSync(path, flags, 0o600);
  if (WINDOWS) return fd;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new ZccacheError("Io", `Cannot write ${path}: not a regular file`);
    }
    const uid = euid();
    if (uid !== undefined && st.uid !== uid) {
      throw new ZccacheError("Io", `Cannot write ${path}: owned by uid ${st.uid}, not ${uid}`);
    }
    if ((st.mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
    if (!append) ftruncateSync(fd, 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** Replace the content of `path` (0600, no symlink followed). */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const fd = openPrivateFile(path, false);
  try {
    writeAll(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Write all of `data` to `fd`. */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Make `dir` (and missing parents) a private directory of ours: created
 * 0700, an existing one we own tightened to 0700. Throws one clear
 * "Endpoint" error when it is owned by another user, or is a symlink or
 * not a directory. `what` names it in the message ("cache root").
 */
export function ensureOwnPrivateDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ZccacheError("Io", `Cannot create ${what} ${dir}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (WINDOWS) return;
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new ZccacheError("Endpoint", `Cannot use ${what} ${dir}: not a directory`);
  }
  const uid = euid();
  if (uid !== undefined && st.uid !== uid) {
    throw new ZccacheError(
      "Endpoint",
      `Refusing ${what} ${dir}: owned by uid ${st.uid}, not by the current user (uid ${uid})`,
    );
  }
  if ((st.mode & 0o777) !== 0o700) {
    try {
      // chmod follows symlinks, but lstat above showed a real directory.
      chmodSync(dir, 0o700);
    } catch {
      // best effort: a read-only mount keeps its mode
    }
  }
}
