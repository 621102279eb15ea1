/**
 * Process liveness and the lock file's PID: the cheap part of the pre-bind
 * probe, so that a daemon start finding no live lock holder never loads the
 * BackendHandle probe (`probe.ts`, protobuf descriptors).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/** Is the process alive (`kill(pid, 0)`; EPERM counts as alive)? */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * The PID in a daemon lock file when that process is alive and is not this
 * one, else null (no file, not a PID, dead, or ourselves).
 */
export function liveLockHolder(lockPath: string): number | null {
  let pid: number | null = null;
  try {
    const t = readFileSync(lockPath, "utf8").trim();
    if (/^\d+$/.test(t) && Number(t) <= 0xffff_ffff) pid = Number(t);
  } catch {
    pid = null;
  }
  if (pid === null || pid === process.pid || !isProcessAlive(pid)) return null;
  return pid;
}
