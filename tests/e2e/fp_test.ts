/**
 * `zccache fp` end to end: check / mark-success / mark-failure / invalidate
 * cycles against real file edits with zccache's exit codes (0 run, 1 skip,
 * 2 error), both cache types, across a daemon stop/start; `--help` and
 * usage errors (exit 2).
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, makeWorld, runCli } from "./_e2e.ts";

test(
  "fp: check/mark cycles with real edits, exit 0 run / 1 skip, kept across a daemon restart",
  async () => {
    const w = makeWorld("fp");
    try {
      const src = join(w.dir, "src");
      mkdirSync(join(src, "gen"), { recursive: true });
      writeFileSync(join(src, "a.rs"), "fn a() {}\n");
      writeFileSync(join(src, "gen", "b.rs"), "fn b() {}\n");
      writeFileSync(join(src, "notes.txt"), "x\n");
      const opts = { env: w.env, cwd: w.dir };
      for (const type of ["two-layer", "hash"]) {
        const fp = (...args: string[]) =>
          runCli(
            ["fp", "--cache-file", `.cache/${type}.json`, "--cache-type", type, ...args],
            opts,
          );
        const check = () => fp("check", "--root", "src", "--ext", "rs", "--exclude", "gen");
        let r = await check();
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /zccache fp: run \(no cache file\)/);
        r = await fp("mark-success");
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /zccache fp: mark-success/);
        r = await check();
        assert.equal(r.code, 1, r.err);
        assert.match(r.err, /zccache fp: skip \(no changes\)/);
        // Files outside the selection do not count.
        writeFileSync(join(src, "notes.txt"), "y\n");
        writeFileSync(join(src, "gen", "b.rs"), "fn b2() {}\n");
        assert.equal((await check()).code, 1);
        // A real edit runs, until a success is recorded.
        writeFileSync(join(src, "a.rs"), `fn a_${type.replace("-", "_")}() {}\n`);
        r = await check();
        assert.equal(r.code, 0);
        assert.match(
          r.err,
          type === "two-layer"
            ? /run \(content changed, 1 file\(s\) changed\)/
            : /run \(content changed\)/,
        );
        assert.equal((await fp("mark-failure")).code, 0);
        r = await check();
        assert.equal(r.code, 0);
        assert.match(r.err, /run \(previous failure\)/);
        assert.equal((await fp("mark-success")).code, 0);
        // The answer survives a daemon restart.
        assert.equal((await runCli(["stop"], opts)).code, 0);
        assert.equal((await check()).code, 1);
        r = await fp("invalidate");
        assert.equal(r.code, 0);
        assert.match(r.err, /zccache fp: invalidated/);
        assert.equal((await check()).code, 0);
      }
      // Globs: --include with --exclude globs (options may also follow the subcommand).
      const g = (...args: string[]) =>
        runCli(["fp", "check", "--cache-file", "g.json", ...args], opts);
      assert.equal(
        (await g("--root", "src", "--include", "**/*.rs", "--exclude", "gen/**")).code,
        0,
      );
      assert.equal((await runCli(["fp", "--cache-file", "g.json", "mark-success"], opts)).code, 0);
      writeFileSync(join(src, "gen", "b.rs"), "fn b3() {}\n");
      assert.equal(
        (await g("--root", "src", "--include", "**/*.rs", "--exclude", "gen/**")).code,
        1,
      );
      assert.equal((await g("--root", "src", "--include", "**/*.rs")).code, 0);
    } finally {
      await disposeWorld(w);
    }
  },
  { timeout: 120_000 },
);

const USAGE: [string, string[]][] = [
  ["no --cache-file", ["fp", "check"]],
  ["no subcommand", ["fp", "--cache-file", "x.json"]],
  ["an unknown subcommand", ["fp", "--cache-file", "x.json", "frobnicate"]],
  ["an unknown option", ["fp", "--cache-file", "x.json", "check", "--bogus"]],
  ["--ext with --include", [
    "fp",
    "--cache-file",
    "x.json",
    "check",
    "--ext",
    "c",
    "--include",
    "*.c",
  ]],
  ["a bad --cache-type", ["fp", "--cache-file", "x.json", "--cache-type", "md5", "check"]],
  ["a missing value", ["fp", "--cache-file"]],
];
for (const [name, args] of USAGE) {
  test(`fp: ${name} is a usage error (exit 2, no daemon started)`, async () => {
    const w = makeWorld("fpu");
    try {
      const r = await runCli(args, { env: w.env, cwd: w.dir });
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /^zccache fp: |Usage: zccache fp/);
    } finally {
      await disposeWorld(w);
    }
  });
}

test("fp: --help and `zccache help fp` print the usage, exit 0", async () => {
  const w = makeWorld("fph");
  try {
    for (const args of [["fp", "--help"], ["help", "fp"], ["fp", "check", "--help"]]) {
      const r = await runCli(args, { env: w.env, cwd: w.dir });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /Usage: zccache fp --cache-file/);
      assert.match(r.out, /0 run, 1 skip, 2 error/);
    }
  } finally {
    await disposeWorld(w);
  }
});
