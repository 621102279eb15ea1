/**
 * `zccache exec` end to end with a real code generator (a shell script):
 * cached by declared inputs and outputs, outputs restored byte-identical
 * with their modes, rerun when an input changes, only declared env; usage
 * errors exit 2, a missing tool 127. Plus `release-handles` and `cache-root`.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, makeWorld, runCli } from "./_e2e.ts";

test(
  "exec: a shell code generator cached by declared inputs/outputs, rerun on an input change",
  async () => {
    const w = makeWorld("exec");
    try {
      const opts = { env: { ...w.env, GREETING: "hello" }, cwd: w.dir };
      writeFileSync(
        join(w.dir, "gen.sh"),
        '#!/bin/sh\necho run >> count\nsed "s/^/#define /" defs.txt > gen.h\n' +
          'printf "#!/bin/sh\\necho $GREETING\\n" > tool.sh; chmod 755 tool.sh\n' +
          'echo "made gen.h HOME=${HOME:-unset}"; echo note >&2; exit 3\n',
      );
      writeFileSync(join(w.dir, "defs.txt"), "A 1\n");
      const args = [
        "exec",
        "--input-file",
        "gen.sh",
        "--input-file",
        "defs.txt",
        "--input-env",
        "GREETING",
        "--output-file",
        "gen.h",
        "--output-file",
        "tool.sh",
        "--",
        "sh",
        "gen.sh",
      ];
      const cold = await runCli(args, opts);
      assert.equal(cold.code, 3, cold.err);
      assert.equal(cold.out, "made gen.h HOME=unset\n");
      assert.equal(cold.err, "note\n");
      const h = readFileSync(join(w.dir, "gen.h"));
      rmSync(join(w.dir, "gen.h"));
      chmodSync(join(w.dir, "tool.sh"), 0o600);
      const warm = await runCli(args, opts);
      assert.equal(warm.code, 3);
      assert.equal(warm.out, cold.out);
      assert.equal(warm.err, cold.err);
      assert.deepEqual(readFileSync(join(w.dir, "gen.h")), h);
      assert.equal(statSync(join(w.dir, "tool.sh")).mode & 0o777, 0o755);
      assert.equal(readFileSync(join(w.dir, "count"), "utf8"), "run\n");
      writeFileSync(join(w.dir, "defs.txt"), "A 2\n");
      assert.equal((await runCli(args, opts)).code, 3);
      assert.equal(readFileSync(join(w.dir, "gen.h"), "utf8"), "#define A 2\n");
      assert.equal(readFileSync(join(w.dir, "count"), "utf8"), "run\nrun\n");
      // --no-cache always runs.
      assert.equal((await runCli(["exec", "--no-cache", ...args.slice(1)], opts)).code, 3);
      assert.equal(readFileSync(join(w.dir, "count"), "utf8"), "run\nrun\nrun\n");
    } finally {
      await disposeWorld(w);
    }
  },
  { timeout: 120_000 },
);

const USAGE: [string, string[], number][] = [
  ["no -- tool", ["exec", "--input-file", "a"], 2],
  ["an unknown option", ["exec", "--bogus", "--", "true"], 2],
  ["a bad --tool-hash", ["exec", "--tool-hash", "abc", "--", "true"], 2],
  ["a missing tool (127)", ["exec", "--", "no-such-tool-zc"], 127],
  ["release-handles without --path", ["release-handles"], 2],
  ["cache-root with an argument", ["cache-root", "x"], 2],
];
for (const [name, args, code] of USAGE) {
  test(`exec/release-handles/cache-root: ${name} exits ${code}`, async () => {
    const w = makeWorld("execu");
    try {
      const r = await runCli(args, { env: w.env, cwd: w.dir });
      assert.equal(r.code, code, r.err);
      assert.match(r.err, /^zccache (exec|release-handles|cache-root): /);
    } finally {
      await disposeWorld(w);
    }
  });
}

test(
  "release-handles ends sessions under a path with true counts; cache-root prints the root",
  async () => {
    const w = makeWorld("rel");
    try {
      const opts = { env: w.env, cwd: w.dir };
      for (
        const args of [["exec", "--help"], ["release-handles", "--help"], ["help", "cache-root"]]
      ) {
        const r = await runCli(args, opts);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /Usage: zccache /);
      }
      let r = await runCli(["release-handles", "--path", w.dir], opts);
      assert.equal(r.code, 0);
      assert.match(r.err, /daemon not running .* nothing to release/);
      const wt = join(w.dir, "wt");
      const ids: string[] = [];
      for (const cwd of [wt, wt, w.cacheDir + "-other"]) {
        const s = await runCli(["session-start", "--cwd", cwd], opts);
        assert.equal(s.code, 0, s.err);
        ids.push(JSON.parse(s.out).session_id);
      }
      r = await runCli(["release-handles", "--path", wt, "--json"], opts);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.equal(j.inspected, 3);
      assert.equal(j.released, 2);
      assert.deepEqual([...j.sessions_dropped].sort(), ids.slice(0, 2).sort());
      assert.deepEqual(j.unreleased, []);
      r = await runCli(["release-handles", "--path", wt], opts);
      assert.equal(r.out, `released 0 of 1 session handle(s) under ${wt}\n`);
      // A path containing the cache root is refused.
      r = await runCli(["release-handles", "--path", w.dir], opts);
      assert.equal(r.code, 1);
      assert.match(r.err, /refusing/);
      r = await runCli(["cache-root"], opts);
      assert.equal(r.out, `${w.cacheDir}\n`);
      r = await runCli(["cache-root", "--json"], opts);
      const c = JSON.parse(r.out);
      assert.equal(c.cache_root, w.cacheDir);
      assert.equal(c.source, "env");
      assert.equal(c.daemon_endpoint, w.endpoint);
    } finally {
      await disposeWorld(w);
    }
  },
  { timeout: 120_000 },
);
