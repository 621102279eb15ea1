/**
 * The rustc lane through the engine with Debian's real rustc
 * (`/usr/bin/rustc`): hit with byte-identical outputs, a module file and an
 * `env!` variable change miss, a `-l` static library change misses, a
 * compile error is replayed exactly, probes and incremental pass through,
 * entries survive a reopen (index round trip) and are listed as Rust
 * artifacts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { test } from "../_harness.ts";
import { CompileEngine, type CompileRequest } from "../../src/daemon/engine.ts";

const RUSTC = "/usr/bin/rustc";
const noRustc = !existsSync(RUSTC);

/** A test that needs rustc. */
function rtest(name: string, fn: () => Promise<void>): void {
  test(name, fn, { ignore: noRustc, timeout: 120_000 });
}

interface World {
  dir: string;
  engine: CompileEngine;
  cacheDir: string;
  req(args: string[], env?: Record<string, string>): CompileRequest;
  done(): Promise<void>;
}

function world(): World {
  const dir = mkdtempSync(join(tmpdir(), "zc-rustlane-"));
  const cacheDir = join(dir, ".cache");
  mkdirSync(join(dir, "src"));
  mkdirSync(join(dir, "out"));
  const w: World = {
    dir,
    cacheDir,
    engine: new CompileEngine({ cacheDir, flushIntervalMs: 0 }),
    req(args, env = {}) {
      return {
        compiler: RUSTC,
        args,
        cwd: dir,
        env: { PATH: "/usr/bin:/bin", ...env },
        stdin: new Uint8Array(),
        client: { umask: 0o022, stderrTty: false },
      };
    },
    async done() {
      await w.engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}

const LIB = [
  "--crate-name",
  "demo",
  "--edition=2021",
  "src/lib.rs",
  "--error-format=json",
  "--json=diagnostic-rendered-ansi,artifacts",
  "--crate-type",
  "lib",
  "--emit=dep-info,metadata,link",
  "-C",
  "extra-filename=-abc",
  "--out-dir",
  "out",
];

function outputs(dir: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const n of ["libdemo-abc.rlib", "libdemo-abc.rmeta", "demo-abc.d"]) {
    r[n] = readFileSync(join(dir, "out", n)).toString("base64");
  }
  return r;
}

rtest(
  "rust lane: cold, warm hit with identical outputs, module and env! changes miss",
  async () => {
    const w = world();
    try {
      writeFileSync(join(w.dir, "src/lib.rs"), 'mod m;\npub const F: &str = env!("FLAVOR");\n');
      writeFileSync(join(w.dir, "src/m.rs"), "pub fn f() -> u32 { 1 }\n");
      const env = { FLAVOR: "blue" };
      const cold = await w.engine.compile(w.req(LIB, env));
      assert.equal(cold.exitCode, 0, new TextDecoder().decode(cold.stderr));
      assert.equal(cold.kind, "miss");
      const first = outputs(w.dir);
      rmSync(join(w.dir, "out"), { recursive: true });
      mkdirSync(join(w.dir, "out"));
      const warm = await w.engine.compile(w.req(LIB, env));
      assert.equal(warm.kind, "hit");
      assert.deepEqual(outputs(w.dir), first);
      assert.deepEqual(warm.stderr, cold.stderr); // the {"artifact":...} notifications
      assert.match(new TextDecoder().decode(warm.stderr), /"artifact":.*libdemo-abc\.rmeta/);
      // env! variable changed, then unset (distinct from empty): misses.
      assert.equal((await w.engine.compile(w.req(LIB, { FLAVOR: "red" }))).kind, "miss");
      assert.equal((await w.engine.compile(w.req(LIB, { FLAVOR: "" }))).kind, "miss");
      assert.equal((await w.engine.compile(w.req(LIB, env))).kind, "hit");
      // A module file (found only through the dep-info) changed: a miss.
      writeFileSync(join(w.dir, "src/m.rs"), "pub fn f() -> u32 { 2 }\n");
      assert.equal((await w.engine.compile(w.req(LIB, env))).kind, "miss");
      // Listed as Rust artifacts; survive a reopen (index round trip).
      const listed = await w.engine.rustArtifacts();
      assert.ok(
        listed.some((a) => a.outputNames.includes("libdemo-abc.rlib")),
        listed.map((a) => a.outputNames.join(",")).join(";"),
      );
      await w.engine.close();
      w.engine = new CompileEngine({ cacheDir: w.cacheDir, flushIntervalMs: 0 });
      assert.equal((await w.engine.compile(w.req(LIB, env))).kind, "hit");
      const s = w.engine.rustStats();
      assert.equal(s.hits, 1);
    } finally {
      await w.done();
    }
  },
);

rtest(
  "rust lane: no dep-info asked for: a private one is used and leaves no file",
  async () => {
    const w = world();
    try {
      writeFileSync(join(w.dir, "src/main.rs"), 'mod m;\nfn main() { println!("{}", m::X); }\n');
      writeFileSync(join(w.dir, "src/m.rs"), "pub const X: u32 = 7;\n");
      const args = ["--crate-name", "app", "src/main.rs", "-o", "out/app"];
      const cold = await w.engine.compile(w.req(args));
      assert.equal(cold.exitCode, 0, new TextDecoder().decode(cold.stderr));
      assert.equal(cold.kind, "miss");
      const { readdirSync } = await import("node:fs");
      assert.deepEqual(readdirSync(join(w.dir, "out")), ["app"]);
      const bin = readFileSync(join(w.dir, "out/app"));
      rmSync(join(w.dir, "out/app"));
      assert.equal((await w.engine.compile(w.req(args))).kind, "hit");
      assert.deepEqual(readFileSync(join(w.dir, "out/app")), bin);
      const run = spawnSync(join(w.dir, "out/app"));
      assert.equal(run.stdout.toString(), "7\n");
      writeFileSync(join(w.dir, "src/m.rs"), "pub const X: u32 = 8;\n");
      assert.equal((await w.engine.compile(w.req(args))).kind, "miss");
      assert.equal(spawnSync(join(w.dir, "out/app")).stdout.toString(), "8\n");
    } finally {
      await w.done();
    }
  },
);

rtest("rust lane: a -l static library found through -L changes: a miss", async () => {
  const w = world();
  try {
    mkdirSync(join(w.dir, "native"));
    writeFileSync(join(w.dir, "c.c"), "int seven(void) { return 7; }\n");
    const ar = (): void => {
      assert.equal(spawnSync("cc", ["-c", "c.c", "-o", "c.o"], { cwd: w.dir }).status, 0);
      rmSync(join(w.dir, "native/libseven.a"), { force: true });
      assert.equal(
        spawnSync("ar", ["rcsD", "native/libseven.a", "c.o"], { cwd: w.dir }).status,
        0,
      );
    };
    ar();
    writeFileSync(
      join(w.dir, "src/main.rs"),
      'extern "C" { fn seven() -> i32; }\nfn main() { println!("{}", unsafe { seven() }); }\n',
    );
    const args = ["src/main.rs", "-o", "out/app", "-L", "native=native", "-l", "static=seven"];
    assert.equal((await w.engine.compile(w.req(args))).kind, "miss");
    assert.equal((await w.engine.compile(w.req(args))).kind, "hit");
    writeFileSync(join(w.dir, "c.c"), "int seven(void) { return 70; }\n");
    ar();
    const r = await w.engine.compile(w.req(args));
    assert.equal(r.kind, "miss");
    assert.equal(spawnSync(join(w.dir, "out/app")).stdout.toString(), "70\n");
  } finally {
    await w.done();
  }
});

rtest(
  "rust lane: a compile error is replayed exactly (stdout, stderr, exit code)",
  async () => {
    const w = world();
    try {
      writeFileSync(join(w.dir, "src/lib.rs"), 'pub fn f() -> u32 { "no" }\n');
      const plain = spawnSync(RUSTC, LIB, { cwd: w.dir, env: { PATH: "/usr/bin:/bin" } });
      const first = await w.engine.compile(w.req(LIB));
      assert.equal(first.exitCode, plain.status);
      assert.notEqual(first.exitCode, 0);
      assert.equal(new TextDecoder().decode(first.stderr), plain.stderr.toString());
      const again = await w.engine.compile(w.req(LIB));
      assert.equal(again.kind, "hit"); // a stored error, replayed
      assert.equal(again.exitCode, first.exitCode);
      assert.deepEqual(again.stderr, first.stderr);
      assert.deepEqual(again.stdout, first.stdout);
      writeFileSync(join(w.dir, "src/lib.rs"), "pub fn f() -> u32 { 1 }\n");
      const fixed = await w.engine.compile(w.req(LIB));
      assert.equal(fixed.exitCode, 0);
      assert.equal(fixed.kind, "miss");
    } finally {
      await w.done();
    }
  },
);

rtest(
  "rust lane: probes, incremental and cdylib pass through with rustc's own result",
  async () => {
    const w = world();
    try {
      writeFileSync(join(w.dir, "src/lib.rs"), "pub fn f() {}\n");
      const vv = await w.engine.compile(w.req(["-vV"]));
      assert.equal(vv.kind, "non_cacheable");
      assert.equal(
        new TextDecoder().decode(vv.stdout),
        spawnSync(RUSTC, ["-vV"]).stdout.toString(),
      );
      const inc = await w.engine.compile(
        w.req([...LIB, "-C", `incremental=${join(w.dir, "inc")}`]),
      );
      assert.equal(inc.kind, "non_cacheable");
      assert.equal(inc.exitCode, 0);
      assert.match(inc.reason ?? "", /incremental/);
      const cd = await w.engine.compile(
        w.req(["--crate-type", "cdylib", "src/lib.rs", "--out-dir", "out"]),
      );
      assert.equal(cd.kind, "non_cacheable");
      assert.equal(w.engine.rustStats().nonCacheable, 3);
    } finally {
      await w.done();
    }
  },
);
