/**
 * The `bun build --compile` binary (scripts/build_binary.ts): `--version`,
 * wrapper cold and warm (the exact object), daemon auto-start from the
 * binary itself, `status --json`, `stop` (the daemon is gone), its size
 * against a compiled hello world, and `--all` (five targets, SHA256SUMS).
 * The daemon by argv[0] and masquerade mode: masquerade_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { alive, disposeWorld, have, makeWorld, REPO, runProcess } from "./_e2e.ts";

test("compiled binary: wrapper miss then hit, daemon auto-started from the binary", async () => {
  const w = makeWorld("binary");
  try {
    const bin = join(w.dir, "zccache");
    const runner = process.versions.bun !== undefined ? process.execPath : "bun";
    const build = await runProcess(
      runner,
      [join(REPO, "scripts", "build_binary.ts"), "--outfile", bin],
      { env: w.env, cwd: REPO },
    );
    assert.equal(build.code, 0, build.err);
    const env = { ...w.env, ZCCACHE_TEST_BINARY: bin };
    const v = await runProcess(bin, ["--version"], { env });
    assert.match(v.out, /wire: zccache 1\.12\.2/);

    writeFileSync(join(w.dir, "b.c"), "int b(void) { return 3; }\n");
    const plain = await runProcess("gcc", ["-c", "b.c", "-o", "plain.o"], { env, cwd: w.dir });
    assert.equal(plain.code, 0, plain.err);
    for (let i = 0; i < 2; i++) {
      const r = await runProcess(bin, ["gcc", "-c", "b.c", "-o", "b.o"], { env, cwd: w.dir });
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
      assert.deepEqual(readFileSync(join(w.dir, "b.o")), readFileSync(join(w.dir, "plain.o")));
    }
    const st = await runProcess(bin, ["status", "--json"], { env });
    assert.equal(st.code, 0, st.err);
    const s = JSON.parse(st.out);
    assert.equal(s.cache_hits, 1);
    assert.equal(s.cache_misses, 1);
    // The daemon is the binary itself, not deno/bun.
    const pid = Number(readFileSync(join(w.cacheDir, "daemon.lock"), "utf8"));
    if (process.platform === "linux") {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      assert.equal(cmdline[0], bin);
      assert.equal(cmdline[1], "daemon");
    }
    const stop = await runProcess(bin, ["stop"], { env });
    assert.equal(stop.code, 0, stop.err);
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(pid), "the daemon exits after stop");
    const after = await runProcess(bin, ["status", "--json"], {
      env: { ...env, ZCCACHE_NO_SPAWN: "1" },
    });
    assert.notEqual(after.code, 0);

    // Size: the runtime plus our bundle; a compiled hello world beside it.
    writeFileSync(join(w.dir, "hello.ts"), 'console.log("hello");\n');
    const hello = join(w.dir, "hello");
    const hb = await runProcess(
      "bun",
      ["build", "--compile", "--minify", join(w.dir, "hello.ts"), "--outfile", hello],
      { env: w.env, cwd: w.dir },
    );
    assert.equal(hb.code, 0, hb.err);
    const extra = statSync(bin).size - statSync(hello).size;
    assert.ok(extra < 8 * 1048576, `zccache is ${extra} bytes over a compiled hello world`);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("bun") || !have("gcc"), timeout: 120_000 });

test(
  "build_binary.ts --all: every target Bun can fetch, SHA256SUMS beside them, the host one runs",
  async () => {
    const w = makeWorld("binary-all");
    try {
      const out = join(w.dir, "rel");
      const runner = process.versions.bun !== undefined ? process.execPath : "bun";
      const build = await runProcess(
        runner,
        [join(REPO, "scripts", "build_binary.ts"), "--all", "--outdir", out],
        { env: w.env, cwd: REPO },
      );
      assert.equal(build.code, 0, build.err);
      const skipped = build.err.split("\n").filter((l) => / skipped, /.test(l));
      const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n");
      assert.equal(sums.length + skipped.length, 5, build.err);
      for (const line of sums) {
        const [hex, name] = line.split("  ");
        const digest = createHash("sha256").update(readFileSync(join(out, name))).digest("hex");
        assert.equal(digest, hex, name);
      }
      const hostArch = process.arch === "arm64" ? "arm64" : "x64";
      const host = join(out, `zccache-${process.platform}-${hostArch}`);
      assert.ok(existsSync(host), build.err);
      const v = await runProcess(host, ["--version"], { env: w.env });
      assert.match(v.out, /wire: zccache 1\.12\.2/);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: !have("bun") || process.platform === "win32", timeout: 600_000 },
);
