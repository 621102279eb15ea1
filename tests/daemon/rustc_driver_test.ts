/**
 * The rustc driver's pure parts: argument classification, dep-info
 * parsing, output enumeration, native library search, the keyed
 * environment and the run arguments.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import {
  envDepValues,
  nativeLibraries,
  parseRustDepInfo,
  planRustc,
  rustcByName,
  rustKeyEnv,
  rustOutputs,
  type RustPlan,
  rustRunArgs,
} from "../../src/daemon/compiler/rustc.ts";

const CARGO_LIB = [
  "--crate-name",
  "mylib",
  "--edition=2021",
  "mylib/src/lib.rs",
  "--error-format=json",
  "--json=diagnostic-rendered-ansi,artifacts,future-incompat",
  "--crate-type",
  "lib",
  "--emit=dep-info,metadata,link",
  "-C",
  "embed-bitcode=no",
  "-C",
  "debuginfo=2",
  "-C",
  "metadata=9d42a7d6f4df6fc7",
  "-C",
  "extra-filename=-9d42a7d6f4df6fc7",
  "--out-dir",
  "/ws/target/debug/deps",
  "-L",
  "dependency=/ws/target/debug/deps",
  "--extern",
  "itoa=/ws/target/debug/deps/libitoa-ef55fc82a84dc41b.rmeta",
  "--extern",
  "proc_macro",
];

function cacheable(args: string[], cwd = "/ws"): RustPlan {
  const d = planRustc(args, cwd);
  if (d.kind !== "cacheable") throw new Error(`passthrough: ${d.reason}`);
  return d.plan;
}

test("rustc driver: a cargo lib invocation is cacheable, fields parsed", () => {
  const p = cacheable(CARGO_LIB);
  assert.equal(p.crateName, "mylib");
  assert.deepEqual(p.crateTypes, ["lib"]);
  assert.deepEqual(p.emit, ["dep-info", "metadata", "link"]);
  assert.equal(p.source, "/ws/mylib/src/lib.rs");
  assert.equal(p.sourceName, "mylib/src/lib.rs");
  assert.equal(p.outDir, "/ws/target/debug/deps");
  assert.equal(p.extraFilename, "-9d42a7d6f4df6fc7");
  assert.equal(p.userDepInfo, "/ws/target/debug/deps/mylib-9d42a7d6f4df6fc7.d");
  assert.deepEqual(p.externs, [
    { name: "itoa", path: "/ws/target/debug/deps/libitoa-ef55fc82a84dc41b.rmeta" },
    { name: "proc_macro", path: null },
  ]);
  assert.deepEqual(p.searchDirs, [{ kind: "dependency", dir: "/ws/target/debug/deps" }]);
  assert.equal(p.colorFixed, true); // json diagnostics
  assert.equal(p.links, false);
  assert.ok(p.outputDirs.has("/ws/target/debug/deps"));
});

test("rustc driver: probes, dylib/cdylib, stdin, incremental and odd shapes pass through", () => {
  const cases: [string[], RegExp][] = [
    [["-vV"], /probe/],
    [["--version"], /probe/],
    [["-", "--crate-name", "___", "--print=file-names"], /print/],
    [["--print", "cfg"], /print/],
    [["--crate-type", "dylib", "a.rs"], /crate type dylib/],
    [["--crate-type=cdylib", "a.rs"], /crate type cdylib/],
    [["--crate-type", "lib,cdylib", "a.rs"], /cdylib/],
    [["--crate-name", "x", "-"], /stdin/],
    [["--crate-name", "x"], /no source/],
    [["a.rs", "b.rs"], /more than one/],
    [["a.c"], /not a \.rs/],
    [["-C", "incremental=/t/inc", "a.rs"], /incremental/],
    [["-Cincremental=/t/inc", "a.rs"], /incremental/],
    [["-C", "split-debuginfo=packed", "a.rs"], /split-debuginfo/],
    [["-Zunpretty=expanded", "a.rs"], /unstable/],
    [["@args.txt"], /response file/],
    [["--sysroot", "/x", "a.rs"], /sysroot/],
    [["--target", "my.json", "a.rs"], /target spec/],
    [["--emit=link=-", "a.rs"], /stdout/],
    [["--explain", "E0308"], /explain/],
    [["--emit", "dep-info", "a.rs"], /dep-info without --crate-name/],
  ];
  for (const [args, why] of cases) {
    const d = planRustc(args, "/ws");
    assert.equal(d.kind, "passthrough", args.join(" "));
    if (d.kind === "passthrough") assert.match(d.reason, why, args.join(" "));
  }
});

test("rustc driver: crate types lib, rlib, staticlib, proc-macro, bin (default) and --test cache", () => {
  for (const t of ["lib", "rlib", "staticlib", "proc-macro", "bin"]) {
    assert.deepEqual(cacheable(["--crate-type", t, "a.rs"]).crateTypes, [t]);
  }
  assert.deepEqual(cacheable(["a.rs"]).crateTypes, ["bin"]);
  assert.equal(cacheable(["a.rs"]).links, true);
  assert.equal(cacheable(["--crate-type", "proc-macro", "a.rs"]).links, true);
  assert.equal(cacheable(["--test", "--crate-type", "lib", "a.rs"]).links, true);
  assert.equal(cacheable(["--crate-type", "staticlib", "a.rs"]).links, false);
});

test("rustc driver: -L/-l/-C link-arg and -o/--emit paths", () => {
  const dir = mkdtempSync(join(tmpdir(), "zc-rustc-"));
  try {
    writeFileSync(join(dir, "extra.o"), "x");
    const p = cacheable([
      "-L",
      "native=nat",
      "-Lplain",
      "-l",
      "static:+whole-archive=foo",
      "-lbar:renamed",
      "-C",
      "link-arg=extra.o",
      "-Clinker=clang",
      "--emit=link,dep-info=deps/out.d",
      "-o",
      "bin/app",
      "main.rs",
    ], dir);
    assert.deepEqual(p.searchDirs, [
      { kind: "native", dir: join(dir, "nat") },
      { kind: "all", dir: join(dir, "plain") },
    ]);
    assert.deepEqual(p.nativeLibs, [{ kind: "static", name: "foo" }, {
      kind: "dylib",
      name: "bar",
    }]);
    assert.deepEqual(p.linkArgFiles, [join(dir, "extra.o")]);
    assert.equal(p.linker, "clang");
    assert.equal(p.userDepInfo, join(dir, "deps/out.d"));
    assert.equal(p.output, join(dir, "bin/app"));
    assert.ok(p.outputDirs.has(join(dir, "bin")) && p.outputDirs.has(join(dir, "deps")));
    // -o alone: the dep-info beside it, named after its stem.
    assert.equal(
      cacheable(["--emit=link,dep-info", "-o", "out/x.rlib", "--crate-type=lib", "a.rs"], dir)
        .userDepInfo,
      join(dir, "out/x.d"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("rustc driver: native libraries are found in -L native/all dirs, not dependency ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "zc-rustc-"));
  try {
    for (const d of ["nat", "all", "deps"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "nat", "libfoo.a"), "a");
    writeFileSync(join(dir, "all", "libfoo.so"), "so");
    writeFileSync(join(dir, "deps", "libfoo.a"), "dep");
    writeFileSync(join(dir, "all", "libzzz.a"), "unused");
    const p = cacheable(
      ["-L", "native=nat", "-L", "all", "-L", "dependency=deps", "-l", "foo", "a.rs"],
      dir,
    );
    assert.deepEqual(nativeLibraries(p), [join(dir, "nat/libfoo.a"), join(dir, "all/libfoo.so")]);
    const st = cacheable(["-L", "native=nat", "-L", "all", "-l", "static=foo", "a.rs"], dir);
    assert.deepEqual(nativeLibraries(st), [join(dir, "nat/libfoo.a")]);
    assert.deepEqual(nativeLibraries(cacheable(["-L", "all", "a.rs"], dir)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("rustc driver: dep-info parsing (rules, phony inputs, escapes, env-dep set and unset)", () => {
  const text = "/t/deps/mylib-9d.rmeta: mylib/src/lib.rs mylib/src/util.rs\n\n" +
    "/t/deps/libmylib-9d.rlib: mylib/src/lib.rs mylib/src/util.rs\n\n" +
    "/t/deps/mylib-9d.d: mylib/src/lib.rs mylib/src/util.rs /a\\ b/data\\ file.txt\n\n" +
    "mylib/src/lib.rs:\nmylib/src/util.rs:\n/a\\ b/data\\ file.txt:\n\n" +
    "# env-dep:MYLIB_FLAVOR=blue\n# env-dep:OPTIONAL\n# env-dep:WITH_EQ=a=b\n";
  const d = parseRustDepInfo(text);
  assert.deepEqual(d.targets, [
    "/t/deps/mylib-9d.rmeta",
    "/t/deps/libmylib-9d.rlib",
    "/t/deps/mylib-9d.d",
  ]);
  assert.deepEqual(d.deps, ["mylib/src/lib.rs", "mylib/src/util.rs", "/a b/data file.txt"]);
  assert.deepEqual(d.envDeps, ["MYLIB_FLAVOR", "OPTIONAL", "WITH_EQ"]);
  assert.deepEqual(envDepValues(d.envDeps, { MYLIB_FLAVOR: "red", WITH_EQ: "" }), [
    ["MYLIB_FLAVOR", "red"],
    ["OPTIONAL", null],
    ["WITH_EQ", ""],
  ]);
});

test("rustc driver: outputs are the dep-info targets written since the start (1.63's rmeta name)", () => {
  const dir = mkdtempSync(join(tmpdir(), "zc-rustc-"));
  try {
    const out = join(dir, "deps");
    mkdirSync(out);
    const p = cacheable([
      "--crate-name",
      "m",
      "--crate-type",
      "lib",
      "--emit=dep-info,metadata,link",
      "-C",
      "extra-filename=-1",
      "--out-dir",
      out,
      "src/lib.rs",
    ], dir);
    const start = Date.now();
    writeFileSync(join(out, "libm-1.rlib"), "rlib");
    writeFileSync(join(out, "libm-1.rmeta"), "rmeta");
    writeFileSync(join(out, "m-1.d"), "d");
    writeFileSync(join(out, "stale.o"), "old");
    utimesSync(join(out, "stale.o"), new Date(start - 60_000), new Date(start - 60_000));
    const info = parseRustDepInfo(
      `${out}/m-1.rmeta: src/lib.rs\n\n${out}/libm-1.rlib: src/lib.rs\n\n${out}/m-1.d: src/lib.rs\n\n` +
        `${out}/stale.o: src/lib.rs\n\nsrc/lib.rs:\n`,
    );
    const r = rustOutputs(info, p, dir, "/private/x.d", start);
    assert.deepEqual(r.files.map((f) => f.path).sort(), [
      join(out, "libm-1.rlib"),
      join(out, "libm-1.rmeta"),
      join(out, "m-1.d"),
    ]);
    assert.deepEqual(r.missing, [join(out, "stale.o")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("rustc driver: run arguments inject a private dep-info only when none was asked for", () => {
  const lib = cacheable(CARGO_LIB);
  assert.deepEqual(rustRunArgs(CARGO_LIB, lib, "/p/x.d", false), CARGO_LIB);
  const plain = ["--crate-type", "lib", "a.rs"];
  assert.deepEqual(rustRunArgs(plain, cacheable(plain), "/p/x.d", true), [
    ...plain,
    "--emit=link,dep-info=/p/x.d",
    "--color=always",
  ]);
  const meta = ["--crate-type", "lib", "--emit=metadata", "a.rs"];
  assert.deepEqual(rustRunArgs(meta, cacheable(meta), "/p/x.d", false), [
    ...meta,
    "--emit=dep-info=/p/x.d",
  ]);
});

test("rustc driver: keyed environment skips directory variables, keeps unset distinct", () => {
  const env = rustKeyEnv({
    CARGO_PKG_NAME: "mylib",
    CARGO_MANIFEST_DIR: "/ws/mylib",
    CARGO_TARGET_DIR: "/ws/target",
    CARGO_MAKEFLAGS: "-j --jobserver-fds=3,4",
    CARGO_INCREMENTAL: "0",
    CARGO_HOME: "/h",
    RUSTC_BOOTSTRAP: "1",
    HOME: "/root",
  });
  assert.deepEqual(env.filter(([k]) => k.startsWith("CARGO_")), [["CARGO_PKG_NAME", "mylib"]]);
  assert.deepEqual(env.find(([k]) => k === "RUSTC_BOOTSTRAP"), ["RUSTC_BOOTSTRAP", "1"]);
  assert.deepEqual(env.find(([k]) => k === "RUST_TARGET_PATH"), ["RUST_TARGET_PATH", null]);
  assert.ok(!env.some(([k]) => k === "HOME"));
});

test("rustc driver: routing by name", () => {
  for (const n of ["/usr/bin/rustc", "rustc", "rustc-1.63", "/x/rustc.exe", "x86_64-linux-rustc"]) {
    assert.ok(rustcByName(n), n);
  }
  for (const n of ["gcc", "clippy-driver", "/usr/bin/cargo", "rustdoc", "trustcc"]) {
    assert.ok(!rustcByName(n), n);
  }
});
