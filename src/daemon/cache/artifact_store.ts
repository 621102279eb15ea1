/**
 * The artifact store seam: content-addressed blobs behind an async
 * interface, so tiers (a remote under the local store) stack without the
 * engine knowing. Every `get` returns bytes whose SHA-256 equals the name
 * asked for, or null: nothing unverified is ever served.
 *
 * Compression lives here, behind the seam: the local tier stores a blob as
 * `<hash>.zst` (zstd, `node:zlib` `zstdCompressSync`, built into Deno 2.9
 * and Bun 1.4 and so into the single-file binary) when that is smaller, and
 * `<hash>` raw otherwise (or with compression off). The name is always the
 * SHA-256 of the uncompressed bytes, and `get` checks it after
 * decompressing: a corrupt or truncated `.zst` is a miss, never a crash.
 *
 * @module
 */
import zlib from "node:zlib";
import { sha256Hex } from "../hash.ts";
import { BlobStore } from "./store.ts";

/** Per-request counts of blobs a remote tier served (`hits`) or did not have (`misses`). */
export interface RemoteTally {
  hits: number;
  misses: number;
  bytesDown: number;
}

/** A content-addressed artifact store (see module doc). */
export interface ArtifactStore {
  /** Store bytes; resolves with their SHA-256 hex (the blob's name). */
  put(bytes: Uint8Array): Promise<string>;
  /** The verified bytes of blob `hash`, or null when absent or corrupt. */
  get(hash: string, tally?: RemoteTally): Promise<Uint8Array | null>;
  /** Delete one blob (missing is fine). */
  remove(hash: string): Promise<void>;
  /** Bytes on disk (or held) by this store. */
  diskBytes(): Promise<bigint>;
  /** Delete every blob. */
  removeAll(): Promise<void>;
  /** Finish background work (a remote tier's uploads) before the daemon exits. */
  close?(): Promise<void>;
}

/** Compression of new blobs. */
export interface CompressionOptions {
  /** Compress new blobs (default true). */
  enabled?: boolean;
  /** zstd level 1..19 (default 3). */
  level?: number;
  /**
   * Re-hash every stored object on every hit. Default false: a blob is
   * hashed when it is read, and once it has been verified at least 2 s after
   * it last changed, trusted while its stat signature (inode, size, mtime,
   * ctime) is the one seen then (the files are 0400 in a 0700 directory of the daemon's own).
   */
  verifyHits?: boolean;
}

/**
 * A file changed this recently is verified again on every read: file times
 * tick coarsely (a few ms), so a rewrite within the same tick as the last
 * verification would keep its signature (git's "racy" rule).
 */
const RACY_MS = 2000;

/** How many verified blob signatures the store remembers (oldest dropped first). */
const TRUSTED_MAX = 100_000;

/** Suffix of a zstd-compressed blob. */
export const ZSTD_SUFFIX = ".zst";

type Zstd = {
  compress(b: Uint8Array, level: number): Uint8Array;
  decompress(b: Uint8Array): Uint8Array;
};

/** The runtime's zstd (`node:zlib`), or null when it has none. */
export function runtimeZstd(): Zstd | null {
  let compress: (b: Uint8Array, level: number) => Uint8Array;
  let decompress: (b: Uint8Array) => Uint8Array;
  // Bun's own zstd (same format) costs ~1.6 µs for a small object where the
  // node:zlib wrapper builds a stream per call (~8 µs).
  const bun = (globalThis as {
    Bun?: {
      zstdCompressSync?: (b: Uint8Array, o: { level: number }) => Uint8Array;
      zstdDecompressSync?: (b: Uint8Array) => Uint8Array;
    };
  }).Bun;
  const z = zlib as unknown as {
    zstdCompressSync?: (b: Uint8Array, o: unknown) => Uint8Array;
    zstdDecompressSync?: (b: Uint8Array) => Uint8Array;
    constants: Record<string, number>;
  };
  if (typeof bun?.zstdCompressSync === "function" && typeof bun.zstdDecompressSync === "function") {
    const c = bun.zstdCompressSync;
    compress = (b, level) => c(b, { level });
    decompress = bun.zstdDecompressSync;
  } else if (
    typeof z.zstdCompressSync === "function" && typeof z.zstdDecompressSync === "function"
  ) {
    const levelParam = z.constants.ZSTD_c_compressionLevel ?? 100;
    const c = z.zstdCompressSync;
    compress = (b, level) => c(b, { params: { [levelParam]: level } });
    decompress = z.zstdDecompressSync;
  } else return null;
  // Plain Uint8Array views (not Buffers) of what the runtime returns.
  const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return {
    compress: (b, level) => view(compress(b, level)),
    decompress: (b) => view(decompress(b)),
  };
}

/** The local tier: {@link BlobStore} under the cache directory, zstd-compressed. */
export class LocalArtifactStore implements ArtifactStore {
  readonly blobs: BlobStore;
  readonly #zstd: Zstd | null;
  readonly #compress: boolean;
  readonly #level: number;
  readonly #verifyHits: boolean;
  /** `hash + suffix` -> stat signature of the file when its content was last verified. */
  readonly #trusted = new Map<string, string>();

  /** A store in `dir`, staging writes in `tmpDir` (same file system). */
  constructor(dir: string, tmpDir: string, compression: CompressionOptions = {}) {
    this.blobs = new BlobStore(dir, tmpDir);
    this.#zstd = runtimeZstd();
    this.#compress = (compression.enabled ?? true) && this.#zstd !== null;
    this.#level = compression.level ?? 3;
    this.#verifyHits = compression.verifyHits === true;
  }

  #trust(key: string, sig: string | null): void {
    if (sig === null || this.#verifyHits) return;
    this.#trusted.delete(key);
    this.#trusted.set(key, sig);
    if (this.#trusted.size > TRUSTED_MAX) {
      const oldest = this.#trusted.keys().next().value;
      if (oldest !== undefined) this.#trusted.delete(oldest);
    }
  }

  /** {@inheritDoc ArtifactStore.put} */
  async put(bytes: Uint8Array): Promise<string> {
    if (!this.#compress) return await this.blobs.put(bytes);
    const hash = sha256Hex(bytes);
    const packed = this.#zstd!.compress(bytes, this.#level);
    if (packed.length >= bytes.length) await this.blobs.putAs(hash, bytes, "", bytes.length);
    else await this.blobs.putAs(hash, packed, ZSTD_SUFFIX, null);
    return hash;
  }

  /** {@inheritDoc ArtifactStore.get} */
  get(hash: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.#read(hash, ZSTD_SUFFIX) ?? this.#read(hash, ""));
  }

  /**
   * Blob `hash` stored with `suffix`, verified (or trusted by stat, see
   * {@link CompressionOptions.verifyHits}); null when absent or corrupt.
   */
  #read(hash: string, suffix: string): Uint8Array | null {
    const raw = this.blobs.readRawSigned(hash, suffix);
    if (raw === null) return null;
    let bytes = raw.bytes;
    if (suffix === ZSTD_SUFFIX) {
      if (this.#zstd === null) return null;
      try {
        bytes = this.#zstd.decompress(raw.bytes);
      } catch {
        return null; // corrupt compressed data: a miss
      }
    }
    const key = hash + suffix;
    if (this.#trusted.get(key) === raw.sig) return bytes;
    if (sha256Hex(bytes) !== hash) {
      this.#trusted.delete(key);
      return null;
    }
    if (Date.now() - raw.changedMs > RACY_MS) this.#trust(key, raw.sig);
    return bytes;
  }

  /** {@inheritDoc ArtifactStore.remove} */
  remove(hash: string): Promise<void> {
    this.#trusted.delete(hash);
    this.#trusted.delete(hash + ZSTD_SUFFIX);
    this.blobs.removeSync(hash);
    return Promise.resolve();
  }

  /** {@inheritDoc ArtifactStore.diskBytes} */
  diskBytes(): Promise<bigint> {
    return this.blobs.diskBytes();
  }

  /** {@inheritDoc ArtifactStore.removeAll} */
  removeAll(): Promise<void> {
    this.#trusted.clear();
    return this.blobs.removeAll();
  }
}
