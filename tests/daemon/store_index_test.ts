import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { BlobStore, writeFileAtomicSync } from "../../src/daemon/cache/store.ts";
import { type ArtifactEntry, ArtifactIndex, validEntry } from "../../src/daemon/cache/index.ts";
import { FileHashCache, KeyHasher, sha256Hex } from "../../src/daemon/hash.ts";
import { Semaphore } from "../../src/daemon/compiler/run.ts";
import { CompileEngine } from "../../src/daemon/engine.ts";
import { LocalArtifactStore } from "../../src/daemon/cache/artifact_store.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "zccache-store-"));
}

test("BlobStore.put() stores by SHA-256 and readVerified() rejects corruption", async () => {
  const dir = tmp();
  try {
    const s = new BlobStore(join(dir, "blobs"), join(dir, "tmp"));
    const bytes = new TextEncoder().encode("object bytes");
    const h = await s.put(bytes);
    assert.equal(h, sha256Hex(bytes));
    assert.equal(await s.put(bytes), h);
    assert.deepEqual(s.readVerified(h), new Uint8Array(bytes));
    assert.equal(await s.diskBytes(), BigInt(bytes.length));
    chmodSync(s.pathOf(h), 0o644);
    writeFileSync(s.pathOf(h), "object bytez");
    assert.equal(s.readVerified(h), null);
    s.removeSync(h);
    assert.equal(s.readVerified(h), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writeFileAtomicSync() replaces a file and floors a future mtime", () => {
  const dir = tmp();
  try {
    const p = join(dir, "out.o");
    writeFileSync(p, "old");
    const future = Date.now() + 60_000;
    writeFileAtomicSync(p, new TextEncoder().encode("new"), future);
    assert.equal(readFileSync(p, "utf8"), "new");
    assert.ok(Math.abs(statSync(p).mtimeMs - future) < 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("KeyHasher separates fields", () => {
  assert.notEqual(
    new KeyHasher("d").field("ab").field("c").hex(),
    new KeyHasher("d").field("a").field("bc").hex(),
  );
  assert.notEqual(new KeyHasher("d1").field("x").hex(), new KeyHasher("d2").field("x").hex());
});

test("FileHashCache.hashOf() re-hashes on change and returns null for missing files", () => {
  const dir = tmp();
  try {
    const f = new FileHashCache();
    const p = join(dir, "h.h");
    writeFileSync(p, "one");
    assert.equal(f.hashOf(p), sha256Hex("one"));
    writeFileSync(p, "two");
    assert.equal(f.hashOf(p), sha256Hex("two"));
    rmSync(p);
    assert.equal(f.hashOf(p), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function entry(
  key: string,
  ctx: string | null,
  blob: string,
  size: number,
  lastUse: number,
): ArtifactEntry {
  return {
    key,
    context: ctx,
    inputs: [["/src/a.c", "h"]],
    outputs: [{ name: "object", blob, size }],
    stdout: new Uint8Array([1]),
    stderr: new Uint8Array([2, 3]),
    exitCode: 0,
    size,
    created: lastUse,
    lastUse,
    compileMs: 5,
  };
}

const C = "c".repeat(64);
const D = "d".repeat(64);
const B1 = "1".repeat(64);
const B2 = "2".repeat(64);

test("ArtifactIndex keeps MRU order per context, evicts LRU, and round-trips JSON", () => {
  const idx = new ArtifactIndex();
  idx.add(entry("k1", C, B1, 10, 1));
  idx.add(entry("k2", C, B2, 10, 2));
  idx.add(entry("k3", D, B1, 10, 3)); // shares blob B1
  assert.deepEqual(idx.contexts.get(C), ["k2", "k1"]);
  idx.touch(idx.artifacts.get("k1")!, 4);
  assert.deepEqual(idx.contexts.get(C), ["k1", "k2"]);
  assert.equal(idx.totalSize, 30);
  assert.equal(idx.fileCount, 1);
  const copy = new ArtifactIndex();
  copy.load(idx.serialize([], []));
  assert.deepEqual(copy.contexts.get(C), ["k1", "k2"]);
  assert.deepEqual(copy.artifacts.get("k3")!.stderr, new Uint8Array([2, 3]));
  const { blobs, evicted } = idx.evictTo(20);
  assert.equal(evicted, 1);
  assert.deepEqual(blobs, [B2]); // k2 was least recently used
  const more = idx.evictTo(0);
  assert.equal(more.evicted, 2);
  assert.deepEqual(more.blobs.sort(), [B1]);
  assert.equal(idx.totalSize, 0);
});

test("ArtifactIndex.load() drops tampered entries (traversal blob names, NUL paths)", () => {
  const idx = new ArtifactIndex();
  idx.add(entry("good", C, B1, 10, 1));
  idx.add(entry("evil", C, "../../../../etc/passwd", 10, 2));
  const rel = entry("rel", D, B2, 10, 3);
  rel.inputs = [["a\0.c", "h"]];
  idx.add(rel);
  const copy = new ArtifactIndex();
  copy.load(idx.serialize([], []));
  assert.deepEqual([...copy.artifacts.keys()], ["good"]);
  assert.equal(validEntry({ ...entry("x", C, B1, 1, 1), stdout: "", stderr: "" }), true);
  assert.equal(validEntry({ ...entry("x", "zz", B1, 1, 1), stdout: "", stderr: "" }), false);
});

test("Semaphore admits at most N holders, FIFO", async () => {
  const sem = new Semaphore(2);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
    const release = await sem.acquire();
    active++;
    peak = Math.max(peak, active);
    order.push(i);
    await new Promise((r) => setTimeout(r, 5));
    active--;
    release();
  }));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});

test("CompileEngine.store()/lookup() round-trip direct artifacts across a restart", async () => {
  const dir = tmp();
  try {
    const cacheDir = join(dir, "zccache-ts");
    let e = new CompileEngine({ cacheDir, flushIntervalMs: 0 });
    const art = {
      outputs: [{
        name: "a.o",
        payload: { kind: "Bytes" as const, value: new Uint8Array([7, 8, 9]) },
      }],
      stdout: new Uint8Array([1]),
      stderr: new Uint8Array(),
      exitCode: 0,
    };
    assert.equal(await e.lookup("k"), null);
    assert.equal(await e.store("k", art), "Stored");
    assert.equal(await e.store("k", art), "AlreadyExists");
    await e.close();
    e = new CompileEngine({ cacheDir, flushIntervalMs: 0 });
    assert.deepEqual(await e.lookup("k"), art);
    assert.equal(e.stats().artifactCount, 1n);
    await e.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const compressed of [true, false]) {
  test(`LocalArtifactStore (${compressed ? "zstd" : "plain"}): a blob is verified when read, any rewrite of it is caught, and a removed one is gone`, async () => {
    const root = mkdtempSync(join(tmpdir(), "zc-trust-"));
    try {
      const store = new LocalArtifactStore(join(root, "blobs"), join(root, "tmp"), {
        enabled: compressed,
      });
      const bytes = new TextEncoder().encode("object bytes ".repeat(200));
      const hash = await store.put(bytes);
      assert.deepEqual(await store.get(hash), bytes); // verified, then trusted
      assert.deepEqual(await store.get(hash), bytes); // trusted by stat
      // Rewritten in place with other content (same size): the signature moves, the hash is checked.
      const file = store.blobs.pathOf(hash, compressed ? ".zst" : "");
      const raw = readFileSync(file);
      const bad = Uint8Array.from(raw);
      bad[bad.length - 1] ^= 0xff;
      chmodSync(file, 0o600);
      writeFileSync(file, bad);
      assert.equal(await store.get(hash), null, "a changed blob is never served");
      // Put back (a new file): verified again and served.
      writeFileSync(file, raw);
      assert.deepEqual(await store.get(hash), bytes);
      await store.remove(hash);
      assert.equal(await store.get(hash), null);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
