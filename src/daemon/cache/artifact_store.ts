/**
 * The artifact store seam: content-addressed blobs behind an async
 * interface, so tiers (a remote under the local store) stack without the
 * engine knowing. Every `get` returns bytes whose SHA-256 equals the name
 * asked for, or null: nothing unverified is ever served.
 *
 * @module
 */
import { BlobStore } from "./store.ts";

/** A content-addressed artifact store (see module doc). */
export interface ArtifactStore {
  /** Store bytes; resolves with their SHA-256 hex (the blob's name). */
  put(bytes: Uint8Array): Promise<string>;
  /** The verified bytes of blob `hash`, or null when absent or corrupt. */
  get(hash: string): Promise<Uint8Array | null>;
  /** Delete one blob (missing is fine). */
  remove(hash: string): Promise<void>;
  /** Bytes on disk (or held) by this store. */
  diskBytes(): Promise<bigint>;
  /** Delete every blob. */
  removeAll(): Promise<void>;
}

/** The local tier: {@link BlobStore} under the cache directory. */
export class LocalArtifactStore implements ArtifactStore {
  readonly blobs: BlobStore;

  /** A store in `dir`, staging writes in `tmpDir` (same file system). */
  constructor(dir: string, tmpDir: string) {
    this.blobs = new BlobStore(dir, tmpDir);
  }

  /** {@inheritDoc ArtifactStore.put} */
  put(bytes: Uint8Array): Promise<string> {
    return this.blobs.put(bytes);
  }

  /** {@inheritDoc ArtifactStore.get} */
  get(hash: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.blobs.readVerified(hash));
  }

  /** {@inheritDoc ArtifactStore.remove} */
  remove(hash: string): Promise<void> {
    this.blobs.removeSync(hash);
    return Promise.resolve();
  }

  /** {@inheritDoc ArtifactStore.diskBytes} */
  diskBytes(): Promise<bigint> {
    return this.blobs.diskBytes();
  }

  /** {@inheritDoc ArtifactStore.removeAll} */
  removeAll(): Promise<void> {
    return this.blobs.removeAll();
  }
}
