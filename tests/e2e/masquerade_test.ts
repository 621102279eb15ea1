/**
 * One binary, three roles, by the name it is invoked as (argv[0]):
 * masquerade mode (a `gcc`/`cc` symlink to the `bun build --compile` binary,
 * first in PATH, wraps the real compiler found later in PATH, as ccache's
 * symlink mode), the daemon as `zccache-daemon`, and the CLI otherwise.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { invokedRole } from "../../src/cli/main.ts";
import { disposeWorld, have, makeWorld, REPO, runProcess, type World } from "./_e2e.ts";

const ROLES: [string, "cli" | "daemon" | "masquerade"][] = [
  ["gcc", "masquerade"],
  ["/opt/zc/bin/cc", "masquerade"],
  ["g++", "masquerade"],
  ["c++", "masquerade"],
  ["clang", "masquerade"],
  ["clang++", "masquerade"],
  ["x86_64-linux-gnu-gcc-12", "masquerade"],
  ["gcc.exe", "masquerade"],
  ["zccache-daemon", "daemon"],
  ["zccache", "cli"],
  ["/usr/local/bin/zccache", "cli"],
  ["deno", "cli"],
  ["bun", "cli"],
  ["node", "cli"],
  ["gcc-ar", "cli"],
  ["ccache", "cli"],
];
for (const [name, role] of ROLES) {
  test(`invokedRole(${JSON.stringify(name)}) is ${role}`, () => {
    assert.equal(invokedRole(name), role);
  });
}

async function buildBinary(w: World): Promise<string> {
  const bin = join(w.dir, "bin", "zccache");
  mkdirSync(join(w.dir, "bin"));
  const runner = process.versions.bun !== undefined ? process.execPath : "bun";
  const build = await runProcess(
    runner,
    [join(REPO, "scripts", "build_binary.ts"), "--outfile", bin],
    { env: w.env, cwd: REPO },
  );
  assert.equal(build.code, 0, build.err);
  return bin;
}

test(
  "masquerade mode: gcc and cc symlinks first in PATH wrap the real compiler (miss, hit, exact object)",
  async () => {
    const w = makeWorld("masq");
    try {
      const bin = await buildBinary(w);
      const masq = join(w.dir, "masq");
      mkdirSync(masq);
      for (const n of ["gcc", "cc"]) symlinkSync(bin, join(masq, n));
      const env = { ...w.env, PATH: `${masq}:${w.env.PATH}`, ZCCACHE_TEST_BINARY: bin };
      writeFileSync(
        join(w.dir, "m.c"),
        '#include <stdio.h>\nint main(void) { puts("masq"); return 0; }\n',
      );
      const plain = await runProcess("gcc", ["-c", "m.c", "-o", "plain.o"], {
        env: w.env,
        cwd: w.dir,
      });
      assert.equal(plain.code, 0, plain.err);
      for (let i = 0; i < 2; i++) {
        const r = await runProcess("gcc", ["-c", "m.c", "-o", "m.o"], { env, cwd: w.dir });
        assert.equal(r.code, 0, r.err);
        assert.equal(r.err, "");
        assert.deepEqual(readFileSync(join(w.dir, "m.o")), readFileSync(join(w.dir, "plain.o")));
      }
      // A compile error: gcc's own diagnostics and exit code, through the symlink.
      writeFileSync(join(w.dir, "bad.c"), "int f(void) { return y; }\n");
      const bad = await runProcess("gcc", ["-c", "bad.c"], { env, cwd: w.dir });
      assert.equal(bad.code, 1);
      assert.match(bad.err, /undeclared/);
      assert.doesNotMatch(bad.err, /unknown option/);
      // `cc` links too (a link through the masquerade goes to the link driver).
      const ld = await runProcess("cc", ["-o", "m", "m.o"], { env, cwd: w.dir });
      assert.equal(ld.code, 0, ld.err);
      assert.equal((await runProcess(join(w.dir, "m"), [], { env })).out, "masq\n");

      const st = await runProcess(bin, ["status", "--json"], { env });
      assert.equal(st.code, 0, st.err);
      const s = JSON.parse(st.out);
      assert.equal(s.cache_hits, 1);
      assert.equal(s.cache_misses, 1);

      // Nothing but the symlinks in PATH: not found, never a loop into ourselves.
      const alone = await runProcess(join(masq, "gcc"), ["-c", "m.c"], {
        env: { ...env, PATH: masq },
        cwd: w.dir,
      });
      assert.equal(alone.code, 1);
      assert.match(alone.err, /gcc: compiler not found in PATH/);
      assert.equal((await runProcess(bin, ["stop"], { env })).code, 0);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: !have("bun") || !have("gcc"), timeout: 120_000 },
);

test("the binary invoked as zccache-daemon runs the daemon", async () => {
  const w = makeWorld("daemon-argv0");
  try {
    const bin = await buildBinary(w);
    const daemon = join(w.dir, "bin", "zccache-daemon");
    symlinkSync(bin, daemon);
    const env = { ...w.env, ZCCACHE_TEST_BINARY: bin };
    const child = spawn(daemon, ["--foreground"], { env, stdio: "ignore", detached: true });
    child.unref();
    let status: { code: number; out: string } = { code: -1, out: "" };
    for (let i = 0; i < 100; i++) {
      status = await runProcess(bin, ["status", "--json"], {
        env: { ...env, ZCCACHE_NO_SPAWN: "1" },
      });
      if (status.code === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status.code, 0, status.out);
    assert.equal(JSON.parse(status.out).endpoint, w.endpoint);
    const pid = Number(readFileSync(join(w.cacheDir, "daemon.lock"), "utf8"));
    assert.equal(pid, child.pid);
    if (process.platform === "linux") {
      assert.equal(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0], daemon);
    }
    assert.equal((await runProcess(bin, ["stop"], { env })).code, 0);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("bun"), timeout: 120_000 });
