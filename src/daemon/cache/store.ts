/**
 * Content-addressed blob store: `<dir>/<first 2 hex>/<sha256 hex>`, written
 * to a temp file and renamed atomically, read back only after its SHA-256 is
 * re-verified (a corrupt blob is reported as missing, never served).
 *
 * @module
 */
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { lstat, mkdir, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { sha256Hex } from "../hash.ts";

let tmpCounter = 0;

/** A unique temp-file suffix for this process. */
export function tmpSuffix(): string {
  tmpCounter = (tmpCounter + 1) % 1_000_000_000;
  return `${process.pid}-${tmpCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A content-addressed file store. */
export class BlobStore {
  readonly dir: string;
  readonly tmpDir: string;

  /** A store rooted at `dir`, staging writes in `tmpDir` (same file system). */
  constructor(dir: string, tmpDir: string) {
    this.dir = dir;
    this.tmpDir = tmpDir;
  }

  /** Path of the blob with this hash (`suffix` names an encoded form, e.g. `.zst`). */
  pathOf(hash: string, suffix = ""): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`Invalid blob name ${JSON.stringify(hash)}`);
    return join(this.dir, hash.slice(0, 2), hash + suffix);
  }

  /** Store bytes; returns their hash. An existing valid blob is kept. */
  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256Hex(bytes);
    await this.putAs(hash, bytes, "", bytes.length);
    return hash;
  }

  /**
   * Store `content` (bytes whose SHA-256 is `hash`, or an encoding of them
   * named by `suffix`) atomically. An existing file of `expectSize` bytes
   * (any size when null) is kept.
   */
  async putAs(
    hash: string,
    content: Uint8Array,
    suffix: string,
    expectSize: number | null,
  ): Promise<void> {
    const dest = this.pathOf(hash, suffix);
    // blobs/ or blobs/<2hex> planted as a symlink (or a file) while the daemon
    // runs: removed, never followed (a concurrent put may have removed it first).
    for (const d of [this.dir, dirname(dest)]) {
      const st = await lstat(d).catch(() => null);
      if (st !== null && !st.isDirectory()) await unlink(d).catch(() => {});
    }
    try {
      const st = await stat(dest);
      if (expectSize === null || st.size === expectSize) return;
    } catch {
      // absent
    }
    try {
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
    } catch (e) {
      // A file where a directory belongs (blobs/ or blobs/xx): replace it once.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTDIR" && code !== "EEXIST") throw e;
      for (const d of [this.dir, dirname(dest)]) {
        const st = await lstat(d).catch(() => null);
        if (st !== null && !st.isDirectory()) await unlink(d);
      }
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
    }
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.tmpDir, `blob-${tmpSuffix()}`);
    await writeFile(tmp, content, { mode: 0o400 });
    try {
      await rename(tmp, dest);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  /** The stored file of blob `hash` with `suffix`, unverified, or null when absent. */
  readRaw(hash: string, suffix: string): Uint8Array | null {
    if (!/^[0-9a-f]{64}$/.test(hash)) return null;
    try {
      const buf = readFileSync(this.pathOf(hash, suffix));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch {
      return null;
    }
  }

  /**
   * The stored file of blob `hash` with `suffix`, unverified, with its stat
   * signature (inode, size, mtime, ctime: any rewrite, copy or chmod changes
   * it), or null when absent.
   */
  readRawSigned(
    hash: string,
    suffix: string,
  ): { bytes: Uint8Array; sig: string; changedMs: number } | null {
    if (!/^[0-9a-f]{64}$/.test(hash)) return null;
    let fd = -1;
    try {
      fd = openSync(this.pathOf(hash, suffix), fsConstants.O_RDONLY);
      const st = fstatSync(fd);
      if (!st.isFile()) return null;
      const bytes = new Uint8Array(st.size);
      let off = 0;
      while (off < bytes.length) {
        const n = readSync(fd, bytes, off, bytes.length - off, off);
        if (n === 0) return null; // shrank under us
        off += n;
      }
      return {
        bytes,
        sig: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`,
        changedMs: Math.max(st.mtimeMs, st.ctimeMs),
      };
    } catch {
      return null;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /** The blob's bytes if present and intact (hash re-verified), else null. */
  readVerified(hash: string): Uint8Array | null {
    let bytes: Uint8Array;
    if (!/^[0-9a-f]{64}$/.test(hash)) return null;
    try {
      const buf = readFileSync(this.pathOf(hash));
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // not a Buffer
    } catch {
      return null;
    }
    return sha256Hex(bytes) === hash ? bytes : null;
  }

  /** Delete one blob (missing is fine). */
  removeSync(hash: string): void {
    if (!/^[0-9a-f]{64}$/.test(hash)) return;
    // Best effort: a damaged layout (blobs/<2hex> a file: ENOTDIR) never throws here; put() repairs it.
    try {
      rmSync(this.pathOf(hash), { force: true });
      rmSync(this.pathOf(hash, ".zst"), { force: true });
    } catch {
      // put() repairs the layout
    }
  }

  /** Total bytes of every file under the store (walks the directory). */
  async diskBytes(): Promise<bigint> {
    let total = 0n;
    let subdirs: string[];
    try {
      subdirs = await readdir(this.dir);
    } catch {
      return 0n;
    }
    for (const sub of subdirs) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, sub));
      } catch {
        continue;
      }
      for (const n of names) {
        try {
          total += BigInt((await stat(join(this.dir, sub, n))).size);
        } catch {
          // raced with a delete
        }
      }
    }
    return total;
  }

  /** Delete every blob. */
  async removeAll(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Write verified bytes to `dest` atomically (temp file in the same directory,
 * then rename), so a reader never sees a half-written object. The new file's
 * mtime is "now"; if `mtimeFloorMs` is in the future (an input with a future
 * timestamp), the output is stamped with it so make/ninja stay correct.
 *
 * Writing the verified buffer (instead of `copyFile` from the blob) means the
 * bytes served are exactly the bytes whose hash was checked.
 */
export function writeFileAtomicSync(dest: string, bytes: Uint8Array, mtimeFloorMs = 0): void {
  const tmp = `${dest}.zccache-tmp-${tmpSuffix()}`;
  try {
    writeFileSync(tmp, bytes);
    if (mtimeFloorMs > Date.now()) {
      const t = new Date(mtimeFloorMs);
      utimesSync(tmp, t, t);
    }
    renameSync(tmp, dest);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not created
    }
    throw e;
  }
}
