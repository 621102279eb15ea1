/**
 * The compiler wrapper end to end: a real CLI process, a real auto-started
 * daemon, real gcc.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, runCli, runProcess, statusJson } from "./_e2e.ts";

const noGcc = !have("gcc");

test("wrapper: second compile is a hit, object byte-identical to plain gcc", async () => {
  const w = makeWorld("wrap");
  try {
    writeFileSync(join(w.dir, "hello.c"), "int add(int a, int b) { return a + b; }\n");
    const args = ["gcc", "-O2", "-c", "hello.c", "-o", "hello.o"];
    const first = await runCli(args, { env: w.env, cwd: w.dir });
    assert.equal(first.code, 0, first.err);
    assert.equal(first.err, "", "nothing of our own on stderr");
    const coldObj = readFileSync(join(w.dir, "hello.o"));
    let st = await statusJson(w);
    assert.equal(st.cache_misses, 1);
    assert.equal(st.cache_hits, 0);

    rmSync(join(w.dir, "hello.o"));
    const second = await runCli(args, { env: w.env, cwd: w.dir });
    assert.equal(second.code, 0, second.err);
    assert.equal(second.err, "");
    st = await statusJson(w);
    assert.equal(st.cache_hits, 1);
    assert.equal(st.cache_misses, 1);
    assert.equal(st.total_compilations, 2);
    const hitObj = readFileSync(join(w.dir, "hello.o"));

    const plain = await runProcess("gcc", ["-O2", "-c", "hello.c", "-o", "plain.o"], {
      env: w.env,
      cwd: w.dir,
    });
    assert.equal(plain.code, 0);
    const plainObj = readFileSync(join(w.dir, "plain.o"));
    assert.deepEqual(new Uint8Array(coldObj), new Uint8Array(plainObj));
    assert.deepEqual(new Uint8Array(hitObj), new Uint8Array(plainObj));
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });

test("wrapper: warnings replayed byte for byte on miss and hit", async () => {
  const w = makeWorld("warn");
  try {
    writeFileSync(join(w.dir, "w.c"), "int f(void) { int unused; return 1; }\n");
    const args = ["gcc", "-Wall", "-c", "w.c", "-o", "w.o"];
    const plain = await runProcess(args[0], args.slice(1), { env: w.env, cwd: w.dir });
    assert.match(plain.err, /unused variable/);
    const miss = await runCli(args, { env: w.env, cwd: w.dir });
    const hit = await runCli(args, { env: w.env, cwd: w.dir });
    assert.equal(miss.code, 0);
    assert.equal(hit.code, 0);
    assert.deepEqual(miss.stderr, plain.stderr);
    assert.deepEqual(hit.stderr, plain.stderr);
    assert.deepEqual(hit.stdout, plain.stdout);
    const st = await statusJson(w);
    assert.equal(st.cache_hits, 1);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });

test("wrapper: a failing compile replays exit code and diagnostics, twice", async () => {
  const w = makeWorld("fail");
  try {
    writeFileSync(join(w.dir, "bad.c"), "int f(void) { return undefined_symbol; }\n");
    const args = ["gcc", "-c", "bad.c", "-o", "bad.o"];
    const plain = await runProcess(args[0], args.slice(1), { env: w.env, cwd: w.dir });
    assert.notEqual(plain.code, 0);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(args, { env: w.env, cwd: w.dir });
      assert.equal(r.code, plain.code);
      assert.deepEqual(r.stderr, plain.stderr);
      assert.ok(!existsSync(join(w.dir, "bad.o")));
    }
    const st = await statusJson(w);
    assert.equal(st.cache_hits, 0, "failed compiles are not cached");
    assert.equal(st.compile_errors, 2);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });

test("wrapper: stdout of the compiler is replayed (gcc -E via `wrap --`)", async () => {
  const w = makeWorld("stdout");
  try {
    writeFileSync(join(w.dir, "m.c"), "#define X 42\nint v = X;\n");
    const plain = await runProcess("gcc", ["-E", "-P", "m.c"], { env: w.env, cwd: w.dir });
    const r = await runCli(["wrap", "--", "gcc", "-E", "-P", "m.c"], { env: w.env, cwd: w.dir });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.stdout, plain.stdout);
    assert.match(r.out, /int v = 42;/);
    const st = await statusJson(w);
    assert.equal(st.non_cacheable, 1);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });

test("wrapper: ZCCACHE_DISABLE=1 compiles with no daemon at all", async () => {
  const w = makeWorld("disable");
  try {
    writeFileSync(join(w.dir, "d.c"), "int d(void) { return 4; }\n");
    const env = { ...w.env, ZCCACHE_DISABLE: "1" };
    const r = await runCli(["gcc", "-c", "d.c", "-o", "d.o"], { env, cwd: w.dir });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    assert.ok(existsSync(join(w.dir, "d.o")));
    assert.ok(!existsSync(w.endpoint), "no daemon was started");
    const st = await runCli(["status"], { env: w.env });
    assert.equal(st.code, 1, "status with no daemon exits 1");
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });

test("wrapper: unreachable daemon that cannot start falls back with one line", async () => {
  const w = makeWorld("fallback");
  try {
    writeFileSync(join(w.dir, "f.c"), "int f(void) { return 5; }\n");
    // A path under a regular file: no daemon can ever listen there.
    writeFileSync(join(w.dir, "file"), "");
    const env = { ...w.env, ZCCACHE_ENDPOINT: join(w.dir, "file", "sock"), ZCCACHE_NO_SPAWN: "1" };
    const r = await runCli(["gcc", "-c", "f.c", "-o", "f.o"], { env, cwd: w.dir });
    assert.equal(r.code, 0);
    assert.ok(existsSync(join(w.dir, "f.o")));
    const lines = r.err.trim().split("\n");
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^zccache: daemon unavailable: .*; compiled without cache$/);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: noGcc, timeout: 60_000 });
