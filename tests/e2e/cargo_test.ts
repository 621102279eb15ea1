/**
 * `RUSTC_WRAPPER=zccache cargo build` end to end with Debian's cargo and
 * rustc (`/usr/bin/cargo`, `/usr/bin/rustc`) and crates vendored by Debian
 * (`/usr/share/cargo/registry`: itoa, cfg-if), offline: a workspace with a
 * lib, a bin and a proc-macro of its own. Cold; `cargo clean`; warm: every
 * rust unit hits, every output byte-identical, the binary runs; a module
 * change recompiles that crate and its dependent only; an `env!` change
 * misses; `cargo check` after `cargo build`; a compile error replayed
 * exactly; incremental units pass through; a `rustc -vV` probe passes
 * through.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import {
  disposeWorld,
  makeWorld,
  runCli,
  runProcess,
  statusJson,
  type World,
  writeLauncher,
} from "./_e2e.ts";

const CARGO = "/usr/bin/cargo";
const RUSTC = "/usr/bin/rustc";
const REGISTRY = "/usr/share/cargo/registry";
const missing = [CARGO, RUSTC, join(REGISTRY, "itoa-1.0.1"), join(REGISTRY, "cfg-if-1.0.0")]
  .filter((p) => !existsSync(p));
if (missing.length > 0) console.log(`cargo e2e skipped: ${missing.join(", ")} not installed`);

/** Write the test workspace under `dir`. */
export function writeWorkspace(dir: string): void {
  const f = (p: string, text: string): void => {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  };
  f("Cargo.toml", '[workspace]\nmembers = ["app", "mylib", "mymacro"]\n');
  f(
    ".cargo/config.toml",
    '[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "' + REGISTRY +
      '"\n',
  );
  f(
    "mylib/Cargo.toml",
    '[package]\nname = "mylib"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\n' +
      'itoa = "1"\ncfg-if = "1"\n',
  );
  f(
    "mylib/src/lib.rs",
    "mod util;\npub fn greet(n: u32) -> String {\n    let mut b = itoa::Buffer::new();\n" +
      '    format!("{} {}", util::word(), b.format(n))\n}\n' +
      'cfg_if::cfg_if! { if #[cfg(unix)] { pub const OS: &str = "unix"; } ' +
      'else { pub const OS: &str = "other"; } }\n' +
      'pub const FLAVOR: &str = env!("MYLIB_FLAVOR");\n',
  );
  f("mylib/src/util.rs", 'pub fn word() -> &\'static str { "hello" }\n');
  f(
    "mymacro/Cargo.toml",
    '[package]\nname = "mymacro"\nversion = "0.1.0"\nedition = "2021"\n[lib]\nproc-macro = true\n',
  );
  f(
    "mymacro/src/lib.rs",
    "use proc_macro::TokenStream;\n#[proc_macro]\n" +
      'pub fn answer(_i: TokenStream) -> TokenStream { "42u32".parse().unwrap() }\n',
  );
  f(
    "app/Cargo.toml",
    '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\n' +
      'mylib = { path = "../mylib" }\nmymacro = { path = "../mymacro" }\n',
  );
  f(
    "app/src/main.rs",
    'fn main() { println!("{} {} {}", mylib::greet(mymacro::answer!()), mylib::OS, ' +
      "mylib::FLAVOR); }\n",
  );
}

/** name -> base64 content of every file cargo left in target/debug/deps. */
function deps(ws: string): Map<string, string> {
  const d = join(ws, "target/debug/deps");
  const m = new Map<string, string>();
  for (const n of readdirSync(d).sort()) m.set(n, readFileSync(join(d, n)).toString("base64"));
  return m;
}

interface Rust {
  hits: number;
  misses: number;
  errors: number;
  non_cacheable: number;
}

async function rust(w: World): Promise<Rust> {
  return (await statusJson(w)).rust as Rust;
}

test(
  "cargo: RUSTC_WRAPPER=zccache cargo build, clean, warm all hits, identical outputs",
  async () => {
    const w = makeWorld("cargo");
    try {
      const ws = join(w.dir, "ws");
      writeWorkspace(ws);
      const env = {
        ...w.env,
        CARGO_HOME: join(w.dir, "cargo-home"),
        RUSTC: RUSTC,
        RUSTC_WRAPPER: writeLauncher(join(w.dir, "zccache")),
        CARGO_INCREMENTAL: "0",
        MYLIB_FLAVOR: "blue",
        CARGO_TERM_COLOR: "never",
      };
      const cargo = (args: string[], extra: Record<string, string> = {}) =>
        runProcess(CARGO, [...args, "--offline"], { env: { ...env, ...extra }, cwd: ws });
      const app = join(ws, "target/debug/app");

      const cold = await cargo(["build"]);
      assert.equal(cold.code, 0, cold.err);
      assert.equal((await runProcess(app, [], { env })).out, "hello 42 unix blue\n");
      const r0 = await rust(w);
      assert.equal(r0.misses, 5, JSON.stringify(r0)); // itoa, cfg_if, mymacro, mylib, app
      assert.equal(r0.hits, 0);
      const coldFiles = deps(ws);

      assert.equal((await cargo(["clean"])).code, 0);
      const warm = await cargo(["build"]);
      assert.equal(warm.code, 0, warm.err);
      const r1 = await rust(w);
      assert.equal(r1.hits, 5, JSON.stringify(r1));
      assert.equal(r1.misses, 5);
      assert.deepEqual(deps(ws), coldFiles);
      assert.equal((await runProcess(app, [], { env })).out, "hello 42 unix blue\n");

      // A module file's content changes: mylib and its dependent app recompile, nothing else.
      writeFileSync(
        join(ws, "mylib/src/util.rs"),
        'pub fn word() -> &\'static str { "howdy" }\n',
      );
      assert.equal((await cargo(["build"])).code, 0);
      const r2 = await rust(w);
      assert.deepEqual([r2.hits, r2.misses], [5, 7], JSON.stringify(r2));
      assert.equal((await runProcess(app, [], { env })).out, "howdy 42 unix blue\n");

      // An env! variable changes: a miss (mylib, then app against the new rlib).
      assert.equal((await cargo(["build"], { MYLIB_FLAVOR: "red" })).code, 0);
      const r3 = await rust(w);
      assert.deepEqual([r3.hits, r3.misses], [5, 9], JSON.stringify(r3));
      assert.equal((await runProcess(app, [], { env })).out, "howdy 42 unix red\n");

      // cargo check after cargo build: metadata-only units, cached on their own.
      const check = await cargo(["check"]);
      assert.equal(check.code, 0, check.err);
      const r4 = await rust(w);
      assert.ok(r4.misses > r3.misses, JSON.stringify(r4));
      assert.equal((await cargo(["check"])).code, 0); // fresh to cargo: nothing runs

      // A compile error is replayed exactly the second time.
      writeFileSync(join(ws, "mylib/src/util.rs"), "pub fn word() -> &'static str { 7 }\n");
      const bad1 = await cargo(["build"]);
      assert.notEqual(bad1.code, 0);
      assert.match(bad1.err, /mismatched types/);
      const bad2 = await cargo(["build"]);
      assert.equal(bad2.code, bad1.code);
      assert.equal(bad2.err, bad1.err);
      const r5 = await rust(w);
      assert.equal(r5.hits, r4.hits + 1, JSON.stringify(r5)); // the stored error
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: missing.length > 0, timeout: 240_000 },
);

test("cargo: incremental units and rustc probes pass through", async () => {
  const w = makeWorld("cargo-inc");
  try {
    const ws = join(w.dir, "ws");
    writeWorkspace(ws);
    const env = {
      ...w.env,
      CARGO_HOME: join(w.dir, "cargo-home"),
      RUSTC: RUSTC,
      RUSTC_WRAPPER: writeLauncher(join(w.dir, "zccache")),
      MYLIB_FLAVOR: "green",
    };
    delete (env as Record<string, string>).CARGO_INCREMENTAL;
    const b = await runProcess(CARGO, ["build", "--offline"], { env, cwd: ws });
    assert.equal(b.code, 0, b.err);
    assert.equal(
      (await runProcess(join(ws, "target/debug/app"), [], { env })).out,
      "hello 42 unix green\n",
    );
    const r = await rust(w);
    // Registry crates are not incremental (cached); the three workspace crates are.
    assert.equal(r.misses, 2, JSON.stringify(r));
    assert.ok(r.non_cacheable >= 3, JSON.stringify(r));
    const vv = await runCli([RUSTC, "-vV"], { env: w.env });
    assert.equal(vv.code, 0);
    assert.equal(vv.out, (await runProcess(RUSTC, ["-vV"], { env: w.env })).out);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: missing.length > 0, timeout: 240_000 });
