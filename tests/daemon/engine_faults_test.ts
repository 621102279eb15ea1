/**
 * Faults on the cache side never fail a compile and never serve a wrong
 * object: a broken cache directory compiles uncached, a swapped layout is
 * repaired, a corrupt blob is a miss and is replaced, and the index survives
 * a daemon killed before its flush (write-ahead log).
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { CompileEngine } from "../../src/daemon/engine.ts";
import { assertExact, exactProject, GCC } from "./_exact.ts";

const ignore = GCC === null;

test("CompileEngine: a cache dir under a regular file compiles uncached, exactly", async () => {
  const p = exactProject();
  const blocker = join(p.dir, "..", "blocker");
  writeFileSync(blocker, "not a directory");
  await p.engine.close();
  const logs: string[] = [];
  p.engine = new CompileEngine({
    cacheDir: join(blocker, "zccache-ts"),
    flushIntervalMs: 0,
    log: (l) => logs.push(l),
  });
  try {
    p.write("a.c", "int f(void) { return 1; }\n");
    for (let i = 0; i < 3; i++) {
      const [a] = await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o", "-MD"], `round ${i}`);
      assert.equal(a.cached, false);
    }
    assert.equal(logs.filter((l) => l.includes("unusable")).length, 1, "one warning per engine");
  } finally {
    await p.done();
  }
}, { ignore });

test("CompileEngine: tmp/ and blobs/ replaced by files (or missing) are repaired", async () => {
  const p = exactProject();
  try {
    p.write("a.c", "int f(void) { return 1; }\n");
    const cache = join(p.dir, "..", "cache");
    await p.cached(GCC!, ["-c", "a.c", "-o", "a.o"]);
    rmSync(join(cache, "tmp"), { recursive: true, force: true });
    writeFileSync(join(cache, "tmp"), "x");
    rmSync(join(cache, "blobs"), { recursive: true, force: true });
    writeFileSync(join(cache, "blobs"), "y");
    p.write("a.c", "int f(void) { return 2; }\n");
    const [first, second] = await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o"], "repaired");
    assert.equal(first.cached, false);
    assert.equal(second.cached, true, "the layout was repaired, caching works again");
  } finally {
    await p.done();
  }
}, { ignore });

test("CompileEngine: a corrupt blob of the same size is a miss and is replaced", async () => {
  const p = exactProject();
  try {
    p.write("a.c", "int f(void) { return 1; }\n");
    await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o"], "fill");
    const blobs = join(p.dir, "..", "cache", "blobs");
    for (const sub of readdirSync(blobs)) {
      for (const b of readdirSync(join(blobs, sub))) {
        const f = join(blobs, sub, b);
        chmodSync(f, 0o600);
        const bytes = readFileSync(f);
        bytes[bytes.length >> 1] ^= 0xff;
        writeFileSync(f, bytes);
      }
    }
    const [miss, hit] = await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o"], "corrupt");
    assert.equal(miss.cached, false, "corrupt blob never served");
    assert.equal(hit.cached, true, "replaced by a good one");
  } finally {
    await p.done();
  }
}, { ignore });

test("CompileEngine: entries stored before a kill (no flush) survive via the log", async () => {
  const p = exactProject();
  const cache = join(p.dir, "..", "cache");
  try {
    p.write("a.c", "int f(void) { return 1; }\n");
    await p.cached(GCC!, ["-c", "a.c", "-o", "a.o"]);
    assert.ok(existsSync(join(cache, "index.wal")));
    assert.ok(!existsSync(join(cache, "index.json")), "nothing flushed yet");
    // A second engine on the same directory, as a restarted daemon would be.
    const again = new CompileEngine({ cacheDir: cache, flushIntervalMs: 0 });
    try {
      const r = await again.compile({
        compiler: GCC!,
        args: ["-c", "a.c", "-o", "a.o"],
        cwd: p.dir,
        env: p.env,
        stdin: new Uint8Array(),
      });
      assert.equal(r.cached, true);
      // A torn last line is skipped, not fatal.
      writeFileSync(
        join(cache, "index.wal"),
        readFileSync(join(cache, "index.wal"), "utf8") + '{"key":',
      );
    } finally {
      await again.close();
    }
    assert.ok(existsSync(join(cache, "index.json")));
    assert.ok(!existsSync(join(cache, "index.wal.old")));
  } finally {
    await p.done();
  }
}, { ignore });

test(
  "CompileEngine: a hostile index (traversal names) touches nothing outside the cache",
  async () => {
    const p = exactProject();
    const cache = join(p.dir, "..", "cache");
    const victim = join(p.dir, "..", "victim.txt");
    writeFileSync(victim, "keep me");
    try {
      mkdirSync(cache, { recursive: true });
      const evil = {
        key: "k",
        context: "0".repeat(64),
        inputs: [],
        outputs: [{ name: "object", blob: "../../victim.txt", size: 7 }],
        stdout: "",
        stderr: "",
        exitCode: 0,
        size: 7,
        created: 0,
        lastUse: 0,
        compileMs: 0,
      };
      writeFileSync(
        join(cache, "index.json"),
        JSON.stringify({
          format: "zccache-ts-index",
          version: 2,
          artifacts: [evil],
          contexts: [["0".repeat(64), ["k"]]],
          files: [],
          compilers: [],
        }),
      );
      writeFileSync(join(cache, "index.wal"), JSON.stringify(evil) + "\n");
      await p.engine.close();
      p.engine = new CompileEngine({ cacheDir: cache, flushIntervalMs: 0, maxSize: 1n });
      p.write("a.c", "int f(void) { return 1; }\n");
      await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o"], "with hostile index");
      await p.engine.clear();
      assert.equal(readFileSync(victim, "utf8"), "keep me");
    } finally {
      await p.done();
      rmSync(victim, { force: true });
    }
  },
  { ignore },
);

test(
  "CompileEngine: symlinks planted as tmp/ and blobs/ are replaced, never followed",
  async () => {
    const p = exactProject();
    const cache = join(p.dir, "..", "cache");
    const outside = join(p.dir, "..", "outside");
    mkdirSync(outside);
    try {
      await p.engine.close();
      rmSync(cache, { recursive: true, force: true });
      mkdirSync(cache, { recursive: true });
      symlinkSync(outside, join(cache, "tmp"));
      symlinkSync(outside, join(cache, "blobs"));
      p.engine = new CompileEngine({ cacheDir: cache, flushIntervalMs: 0 });
      p.write("a.c", "int f(void) { return 1; }\n");
      const [, hit] = await assertExact(p, GCC!, ["-c", "a.c", "-o", "a.o"], "planted links");
      assert.equal(hit.cached, true);
      assert.deepEqual(readdirSync(outside), [], "nothing written through the links");
    } finally {
      await p.done();
    }
  },
  { ignore },
);
