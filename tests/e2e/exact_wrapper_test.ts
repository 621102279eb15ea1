/**
 * Through the real wrapper process, the outputs are the user's own process's:
 * the object's mode follows the wrapper's umask, and a terminal gets the
 * compiler's coloured diagnostics, on a miss and on a hit.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { cliArgv, disposeWorld, have, makeWorld, runCli } from "./_e2e.ts";

const q = (a: string): string => `'${a.replaceAll("'", `'\\''`)}'`;

test("wrapper: outputs get the mode of the wrapper's umask, miss and hit", async () => {
  const w = makeWorld("umask");
  try {
    writeFileSync(join(w.dir, "a.c"), "int f(void) { return 1; }\n");
    const cmd = [...cliArgv(), "gcc", "-c", "a.c", "-o", "a.o", "-MD"].map(q).join(" ");
    for (const [umask, mode] of [["077", 0o600], ["002", 0o664], ["077", 0o600]] as const) {
      rmSync(join(w.dir, "a.o"), { force: true });
      rmSync(join(w.dir, "a.d"), { force: true });
      const r = spawnSync("sh", ["-c", `umask ${umask}; exec ${cmd}`], { cwd: w.dir, env: w.env });
      assert.equal(r.status, 0, String(r.stderr));
      assert.equal((statSync(join(w.dir, "a.o")).mode & 0o777).toString(8), mode.toString(8));
      assert.equal((statSync(join(w.dir, "a.d")).mode & 0o777).toString(8), mode.toString(8));
    }
    const s = await runCli(["status", "--json"], { env: w.env });
    assert.match(s.out, /"cache_hits": *[12]/);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("gcc") });

for (const [cc, term] of [["gcc", "xterm"], ["gcc", "xterm-256color"], ["clang", "xterm"]]) {
  test(
    `wrapper (${cc}, TERM=${term}): a terminal gets the compiler's diagnostics, miss and hit`,
    async () => {
      const w = makeWorld("tty");
      try {
        const env: Record<string, string> = { ...w.env, TERM: term };
        delete env.NO_COLOR;
        writeFileSync(join(w.dir, "a.c"), "int f(int x) { int unused; return x; }\n");
        const args = [cc, "-Wall", "-c", "a.c", "-o", "a.o"];
        const underPty = (cmd: string): string => {
          const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { cwd: w.dir, env });
          assert.equal(r.status, 0, String(r.stderr));
          return String(r.stdout);
        };
        const plain = underPty(args.map(q).join(" "));
        assert.ok(plain.includes("\x1b["), "the plain compiler colours on a terminal");
        const wrapped = [...cliArgv(), ...args].map(q).join(" ");
        const miss = underPty(wrapped);
        const hit = underPty(wrapped);
        assert.equal(miss, plain, "miss: same bytes as the plain compiler on a terminal");
        assert.equal(hit, plain, "hit: same bytes");
        const piped = await runCli(args, { env, cwd: w.dir });
        assert.ok(!piped.err.includes("\x1b["), "a pipe gets no colour");
        assert.ok(piped.err.includes("unused"));
      } finally {
        await disposeWorld(w);
      }
    },
    { ignore: !have(cc) || !have("script") },
  );
}
