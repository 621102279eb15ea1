import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { baseEnv, CLANG, GCC, plain, project } from "./_engine_fixture.ts";

const noGcc = GCC === null;
const noClang = CLANG === null;
const gcc = GCC ?? "/usr/bin/gcc";
const clang = CLANG ?? "/usr/bin/clang";
const text = (u: Uint8Array): string => new TextDecoder().decode(u);

test(
  "CompileEngine.compile() misses then hits; object byte-identical to a plain compile",
  async () => {
    const p = project();
    try {
      const args = ["-c", "a.c", "-o", "a.o", "-O2"];
      const r1 = await p.engine.compile(p.req(gcc, args));
      assert.equal(r1.exitCode, 0, text(r1.stderr));
      assert.equal(r1.kind, "miss");
      assert.equal(r1.cached, false);
      assert.equal(r1.cacheable, true);
      assert.deepEqual(r1.sources, [join(p.dir, "a.c")]);
      assert.ok(r1.bytesWritten > 0);
      rmSync(join(p.dir, "a.o"));
      const r2 = await p.engine.compile(p.req(gcc, args));
      assert.equal(r2.kind, "hit");
      assert.equal(r2.cached, true);
      assert.equal(r2.exitCode, 0);
      const direct = plain(gcc, ["-c", "a.c", "-o", "plain.o", "-O2"], p.dir);
      assert.equal(direct.status, 0);
      assert.deepEqual(readFileSync(join(p.dir, "a.o")), readFileSync(join(p.dir, "plain.o")));
      assert.ok(statSync(join(p.dir, "a.o")).mtimeMs >= statSync(join(p.dir, "a.h")).mtimeMs);
      const s = p.engine.stats();
      assert.equal(s.cacheHits, 1n);
      assert.equal(s.cacheMisses, 1n);
      assert.equal(s.artifactCount, 1n);
      assert.equal(s.depGraphContexts, 1n);
      assert.ok(s.depGraphFiles >= 2n); // a.c, a.h (+ stdc-predef.h)
      assert.equal(s.cacheSizeBytes, BigInt(statSync(join(p.dir, "a.o")).size));
    } finally {
      await p.done();
    }
  },
  { ignore: noGcc },
);

test("CompileEngine.compile() misses on a changed source and serves the new object", async () => {
  const p = project();
  try {
    const args = ["-c", "a.c", "-o", "a.o"];
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    p.write("a.c", '#include "a.h"\nint get(void) { return VALUE + 41; }\n');
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    const direct = plain(gcc, ["-c", "a.c", "-o", "plain.o"], p.dir);
    assert.equal(direct.status, 0);
    assert.deepEqual(readFileSync(join(p.dir, "a.o")), readFileSync(join(p.dir, "plain.o")));
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "hit");
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test(
  "CompileEngine.compile() misses on a changed header and hits again when it is reverted",
  async () => {
    const p = project();
    try {
      const args = ["-c", "a.c", "-o", "a.o"];
      assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
      const v1 = readFileSync(join(p.dir, "a.o"));
      p.write("a.h", "#define VALUE 2\n"); // same size, new content
      assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
      const v2 = readFileSync(join(p.dir, "a.o"));
      assert.notDeepEqual(v1, v2);
      p.write("a.h", "#define VALUE 1\n");
      const r = await p.engine.compile(p.req(gcc, args));
      assert.equal(r.kind, "hit");
      assert.deepEqual(readFileSync(join(p.dir, "a.o")), v1);
      assert.equal(p.engine.stats().artifactCount, 2n);
    } finally {
      await p.done();
    }
  },
  { ignore: noGcc },
);

const variants: [string, string, string[], string[]][] = [
  ["-D value", "gcc", ["-DX=1"], ["-DX=2"]],
  ["-U", "gcc", ["-DX=1"], ["-DX=1", "-UX"]],
  ["-g", "gcc", [], ["-g"]],
  ["-O level", "gcc", ["-O1"], ["-O2"]],
  ["-march value", "gcc", ["-march=x86-64"], ["-march=haswell"]],
  ["-target value (separate argument)", "clang", ["-target", "x86_64-linux-gnu"], [
    "-target",
    "i386-linux-gnu",
  ]],
  ["-Xclang value", "clang", [], ["-Xclang", "-fno-common"]],
];
for (const [name, which, base, changed] of variants) {
  test(`CompileEngine.compile() keys ${name}: a change misses, a repeat hits`, async () => {
    const p = project();
    const cc = which === "gcc" ? gcc : clang;
    try {
      const a = ["-c", "a.c", "-o", "a.o", ...base];
      const b = ["-c", "a.c", "-o", "a.o", ...changed];
      const r0 = await p.engine.compile(p.req(cc, a));
      assert.equal(r0.kind, "miss", text(r0.stderr));
      assert.equal((await p.engine.compile(p.req(cc, b))).kind, "miss");
      const direct = plain(cc, ["-c", "a.c", "-o", "plain.o", ...changed], p.dir);
      assert.deepEqual(readFileSync(join(p.dir, "a.o")), readFileSync(join(p.dir, "plain.o")));
      assert.equal(direct.status, 0);
      assert.equal((await p.engine.compile(p.req(cc, b))).kind, "hit");
      assert.equal((await p.engine.compile(p.req(cc, a))).kind, "hit");
    } finally {
      await p.done();
    }
  }, { ignore: which === "gcc" ? noGcc : noClang });
}

test("CompileEngine.compile() keys allow-listed env vars only", async () => {
  const p = project();
  try {
    const args = ["-c", "a.c", "-o", "a.o"];
    const env = (extra: Record<string, string>) => ({ env: baseEnv(extra) });
    assert.equal((await p.engine.compile(p.req(gcc, args, env({})))).kind, "miss");
    assert.equal((await p.engine.compile(p.req(gcc, args, env({ UNRELATED: "x" })))).kind, "hit");
    assert.equal(
      (await p.engine.compile(p.req(gcc, args, env({ SOURCE_DATE_EPOCH: "1" })))).kind,
      "miss",
    );
    assert.equal(
      (await p.engine.compile(p.req(gcc, args, env({ SOURCE_DATE_EPOCH: "2" })))).kind,
      "miss",
    );
    assert.equal(
      (await p.engine.compile(p.req(gcc, args, env({ CPATH: "/nonexistent" })))).kind,
      "miss",
    );
    assert.equal(
      (await p.engine.compile(p.req(gcc, args, env({ SOURCE_DATE_EPOCH: "1" })))).kind,
      "hit",
    );
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test(
  "CompileEngine.compile() keys the compiler binary: gcc vs clang miss, a symlink to gcc hits",
  async () => {
    const p = project();
    try {
      const args = ["-c", "a.c", "-o", "a.o"];
      assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
      assert.equal((await p.engine.compile(p.req(clang, args))).kind, "miss");
      const direct = plain(clang, ["-c", "a.c", "-o", "plain.o"], p.dir);
      assert.equal(direct.status, 0);
      assert.deepEqual(readFileSync(join(p.dir, "a.o")), readFileSync(join(p.dir, "plain.o")));
      mkdirSync(join(p.dir, "bin"));
      symlinkSync(gcc, join(p.dir, "bin", "gcc"));
      assert.equal((await p.engine.compile(p.req(join(p.dir, "bin", "gcc"), args))).kind, "hit");
      assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "hit");
    } finally {
      await p.done();
    }
  },
  { ignore: noGcc || noClang },
);

test("CompileEngine.compile() restores the user's -MD -MF depfile on a hit", async () => {
  const p = project();
  try {
    const args = ["-c", "a.c", "-o", "a.o", "-MD", "-MF", "deps/a.d"];
    mkdirSync(join(p.dir, "deps"));
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    const dep = readFileSync(join(p.dir, "deps/a.d"), "utf8");
    assert.match(dep, /^a\.o: a\.c .*a\.h/s);
    rmSync(join(p.dir, "deps/a.d"));
    rmSync(join(p.dir, "a.o"));
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "hit");
    assert.equal(readFileSync(join(p.dir, "deps/a.d"), "utf8"), dep);
    assert.ok(existsSync(join(p.dir, "a.o")));
    // -MMD without -MF writes next to the output; also restored.
    const args2 = ["-c", "a.c", "-o", "b.o", "-MMD"];
    assert.equal((await p.engine.compile(p.req(gcc, args2))).kind, "miss");
    const dep2 = readFileSync(join(p.dir, "b.d"), "utf8");
    rmSync(join(p.dir, "b.d"));
    assert.equal((await p.engine.compile(p.req(gcc, args2))).kind, "hit");
    assert.equal(readFileSync(join(p.dir, "b.d"), "utf8"), dep2);
    assert.match(dep2, /^b\.o:/);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() replays warnings on a hit", async () => {
  const p = project();
  try {
    p.write("w.c", "int f(void) { int unused; return 0; }\n");
    const args = ["-c", "w.c", "-o", "w.o", "-Wall"];
    const r1 = await p.engine.compile(p.req(gcc, args));
    assert.match(text(r1.stderr), /unused variable/);
    const r2 = await p.engine.compile(p.req(gcc, args));
    assert.equal(r2.kind, "hit");
    assert.deepEqual(r2.stderr, r1.stderr);
    assert.deepEqual(r2.stderr, new Uint8Array(plain(gcc, args, p.dir).stderr));
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() does not cache a failing compile", async () => {
  const p = project();
  try {
    p.write("bad.c", "int f(void) { return }\n");
    const args = ["-c", "bad.c", "-o", "bad.o"];
    const r1 = await p.engine.compile(p.req(gcc, args));
    assert.notEqual(r1.exitCode, 0);
    assert.equal(r1.kind, "error");
    assert.match(text(r1.stderr), /error/);
    const r2 = await p.engine.compile(p.req(gcc, args));
    assert.equal(r2.kind, "error");
    assert.deepEqual(r2.stderr, r1.stderr);
    const s = p.engine.stats();
    assert.equal(s.compileErrors, 2n);
    assert.equal(s.artifactCount, 0n);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() passes non-cacheable forms through and counts them", async () => {
  const p = project();
  try {
    p.write("main.c", "int main(void) { return 0; }\n");
    const forms: [string[], RegExp | null][] = [
      [["-E", "a.c"], /get/],
      [["-M", "a.c"], /a\.h/],
      [["-MM", "a.c"], /a\.h/],
      [["-c", "-x", "c", "-", "-o", "stdin.o"], null],
      [["main.c", "-o", "main"], null],
      [["-c", "a.c", "main.c", "-o", "both.o"], null],
      [["-S", "a.c", "-o", "a.s"], null],
    ];
    for (const [args, out] of forms) {
      const r = await p.engine.compile(
        p.req(gcc, args, { stdin: new TextEncoder().encode("int s;\n") }),
      );
      assert.equal(r.kind, "non_cacheable", args.join(" "));
      assert.equal(r.cacheable, false);
      assert.equal(r.cached, false);
      assert.equal(typeof r.reason, "string");
      if (out) assert.match(text(r.stdout), out);
    }
    // The failing one (-o with two sources to one object) fails like gcc does.
    assert.ok(existsSync(join(p.dir, "stdin.o")));
    assert.ok(existsSync(join(p.dir, "main")));
    const s = p.engine.stats();
    assert.equal(s.nonCacheable, BigInt(forms.length));
    assert.equal(s.artifactCount, 0n);
    assert.equal(s.cacheHits + s.cacheMisses, 0n);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() caches each source of `gcc -c a.c b.c` without -o", async () => {
  const p = project();
  try {
    p.write("b.c", "int b(void) { return 2; }\n");
    const args = ["-c", "a.c", "b.c", "-O1"];
    const r1 = await p.engine.compile(p.req(gcc, args));
    assert.equal(r1.exitCode, 0, text(r1.stderr));
    assert.equal(r1.unitMisses, 2);
    assert.deepEqual(r1.sources, [join(p.dir, "a.c"), join(p.dir, "b.c")]);
    const a = readFileSync(join(p.dir, "a.o"));
    const b = readFileSync(join(p.dir, "b.o"));
    rmSync(join(p.dir, "a.o"));
    rmSync(join(p.dir, "b.o"));
    const r2 = await p.engine.compile(p.req(gcc, args));
    assert.equal(r2.kind, "hit");
    assert.equal(r2.unitHits, 2);
    assert.deepEqual(readFileSync(join(p.dir, "a.o")), a);
    assert.deepEqual(readFileSync(join(p.dir, "b.o")), b);
    // A single-source compile of a.c with the same flags shares the unit entry.
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "a.c", "-O1"]))).kind, "hit");
    p.write("b.c", "int b(void) { return 3; }\n");
    const r3 = await p.engine.compile(p.req(gcc, args));
    assert.equal(r3.kind, "miss");
    assert.equal(r3.unitHits, 1);
    assert.equal(r3.unitMisses, 1);
    assert.equal(p.engine.stats().cacheHits, 4n);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() expands @response files before keying", async () => {
  const p = project();
  try {
    p.write("args.rsp", '-c a.c -o a.o "-DX=1"\n');
    assert.equal((await p.engine.compile(p.req(gcc, ["@args.rsp"]))).kind, "miss");
    assert.ok(existsSync(join(p.dir, "a.o")));
    assert.equal((await p.engine.compile(p.req(gcc, ["@args.rsp"]))).kind, "hit");
    // Same expanded args written out directly share the entry.
    assert.equal(
      (await p.engine.compile(p.req(gcc, ["-c", "a.c", "-o", "a.o", "-DX=1"]))).kind,
      "hit",
    );
    p.write("args.rsp", '-c a.c -o a.o "-DX=2"\n');
    assert.equal((await p.engine.compile(p.req(gcc, ["@args.rsp"]))).kind, "miss");
    p.write("link.rsp", "a.o -o prog -nostdlib -shared\n");
    assert.equal((await p.engine.compile(p.req(gcc, ["@link.rsp"]))).kind, "non_cacheable");
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() treats a corrupt artifact as a miss, never serving it", async () => {
  const p = project();
  try {
    const args = ["-c", "a.c", "-o", "a.o"];
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    const good = readFileSync(join(p.dir, "a.o"));
    const blobs = join(p.cacheDir, "blobs");
    for (const sub of readdirSync(blobs)) {
      for (const f of readdirSync(join(blobs, sub))) {
        const path = join(blobs, sub, f);
        chmodSync(path, 0o644);
        const bytes = readFileSync(path);
        bytes[bytes.length >> 1] ^= 0xff;
        writeFileSync(path, bytes);
      }
    }
    rmSync(join(p.dir, "a.o"));
    const r = await p.engine.compile(p.req(gcc, args));
    assert.equal(r.kind, "miss");
    assert.deepEqual(readFileSync(join(p.dir, "a.o")), good);
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "hit");
    assert.deepEqual(readFileSync(join(p.dir, "a.o")), good);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine persists the index: a new engine on the same dir hits", async () => {
  const p = project();
  try {
    const args = ["-c", "a.c", "-o", "a.o", "-MD", "-MF", "a.d"];
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    await p.reopen();
    const s = p.engine.stats();
    assert.equal(s.cacheHits, 0n);
    rmSync(join(p.dir, "a.o"));
    rmSync(join(p.dir, "a.d"));
    const r = await p.engine.compile(p.req(gcc, args));
    assert.equal(r.kind, "hit");
    assert.ok(existsSync(join(p.dir, "a.o")));
    assert.ok(existsSync(join(p.dir, "a.d")));
    const s2 = p.engine.stats();
    assert.equal(s2.artifactCount, 1n);
    assert.ok(s2.depGraphDiskSize > 0n);
    // A changed header is still detected after the restart.
    p.write("a.h", "#define VALUE 7\n");
    assert.equal((await p.engine.compile(p.req(gcc, args))).kind, "miss");
    await p.engine.flush();
    assert.equal(p.engine.stats().depGraphPersisted, true);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine evicts least-recently-used artifacts under a tiny maxSize", async () => {
  let clock = 1_000;
  const p = project({ now: () => ++clock });
  try {
    for (const n of ["x", "y", "z"]) p.write(`${n}.c`, `int ${n}(void) { return 1; }\n`);
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "x.c"]))).kind, "miss");
    const size = BigInt(statSync(join(p.dir, "x.o")).size);
    await p.reopen({ maxSize: size * 5n / 2n });
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "y.c"]))).kind, "miss");
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "x.c"]))).kind, "hit"); // x now newer than y
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "z.c"]))).kind, "miss"); // evicts y
    const s = p.engine.stats();
    assert.ok(s.cacheSizeBytes <= size * 5n / 2n);
    assert.equal(s.artifactCount, 2n);
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "x.c"]))).kind, "hit");
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "y.c"]))).kind, "miss");
    let files = 0;
    for (const sub of readdirSync(join(p.cacheDir, "blobs"))) {
      files += readdirSync(join(p.cacheDir, "blobs", sub)).length;
    }
    assert.equal(BigInt(files), p.engine.stats().artifactCount);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.clear() returns true counts and empties the cache", async () => {
  const p = project();
  try {
    p.write("b.c", "int b(void) { return 2; }\n");
    await p.engine.compile(p.req(gcc, ["-c", "a.c"]));
    await p.engine.compile(p.req(gcc, ["-c", "b.c"]));
    await p.engine.compile(p.req(gcc, ["-c", "b.c", "-O2"]));
    const before = p.engine.stats();
    const onDisk = BigInt(statSync(join(p.dir, "a.o")).size + statSync(join(p.dir, "b.o")).size);
    const c = await p.engine.clear();
    assert.equal(c.artifactsRemoved, 3n);
    assert.equal(c.depGraphContextsCleared, 3n);
    assert.equal(c.metadataCleared, before.metadataEntries);
    // Blobs are stored zstd-compressed: on disk, less than the objects but not nothing.
    assert.ok(c.onDiskBytesFreed > 0n && onDisk > 0n);
    const s = p.engine.stats();
    assert.equal(s.artifactCount, 0n);
    assert.equal(s.cacheSizeBytes, 0n);
    assert.equal(s.cacheMisses, 0n);
    assert.equal(s.depGraphContexts, 0n);
    assert.equal((await p.engine.compile(p.req(gcc, ["-c", "a.c"]))).kind, "miss");
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine keys the cwd only where it matters", async () => {
  const p = project();
  try {
    mkdirSync(join(p.dir, "w1"));
    mkdirSync(join(p.dir, "w2"));
    const src = join(p.dir, "a.c");
    const abs = (cwd: string, extra: string[] = []) =>
      p.req(gcc, ["-c", src, "-o", "out.o", ...extra], { cwd: join(p.dir, cwd) });
    assert.equal((await p.engine.compile(abs("w1"))).kind, "miss");
    assert.equal((await p.engine.compile(abs("w2"))).kind, "hit"); // absolute paths only
    assert.equal((await p.engine.compile(abs("w1", ["-g"]))).kind, "miss");
    assert.equal((await p.engine.compile(abs("w2", ["-g"]))).kind, "miss"); // DWARF comp_dir
    assert.equal((await p.engine.compile(abs("w1", ["-I."]))).kind, "miss");
    // A relative -I: inputs are verified where they are, and a.h is still found
    // beside the source (no header appeared in w2): a hit.
    assert.equal((await p.engine.compile(abs("w2", ["-I."]))).kind, "hit");
    writeFileSync(join(p.dir, "w2", "a.h"), "#define VALUE 2\n");
    // A quote include is found beside the source first: still a hit.
    assert.equal((await p.engine.compile(abs("w2", ["-I."]))).kind, "hit");
  } finally {
    await p.done();
  }
}, { ignore: noGcc });

test("CompileEngine.compile() kills the compiler when the signal aborts", async () => {
  const p = project();
  try {
    mkdirSync(join(p.dir, "fake"));
    const fake = join(p.dir, "fake", "gcc");
    writeFileSync(
      fake,
      `#!/bin/sh\necho $$ > "${p.dir}/pid.tmp"\nmv "${p.dir}/pid.tmp" "${p.dir}/pid"\nexec sleep 30\n`,
      { mode: 0o755 },
    );
    const ac = new AbortController();
    const pending = p.engine.compile(
      p.req(fake, ["-c", "a.c", "-o", "a.o"], { signal: ac.signal }),
    );
    for (let i = 0; i < 1000 && !existsSync(join(p.dir, "pid")); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const pid = Number(readFileSync(join(p.dir, "pid"), "utf8"));
    assert.ok(pid > 1);
    ac.abort(new Error("client went away"));
    await assert.rejects(pending, /client went away/);
    let alive = true;
    for (let i = 0; i < 1000 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 10));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false);
  } finally {
    await p.done();
  }
}, { ignore: noGcc });
