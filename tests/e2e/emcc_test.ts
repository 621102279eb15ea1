/**
 * Emscripten through the real wrapper (issue 14): emcc/em++ compiles and
 * links are cached, a hit gives the bytes a plain emcc run gives (objects,
 * depfile, stdout, stderr, exit code, .js/.wasm/.html/.data), the linked
 * program runs under node, and what emcc depends on beyond its files
 * (`-s` settings, EMCC_CFLAGS, its config file, `--pre-js` content) changes
 * the key. Skipped when emcc or node is absent.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import {
  disposeWorld,
  have,
  makeWorld,
  runCli,
  runProcess,
  statusJson,
  type World,
} from "./_e2e.ts";
import { normalizeEmccArgs } from "../../src/daemon/compiler/emscripten.ts";
import { planLink } from "../../src/daemon/compiler/link.ts";

const EMCC = have("emcc") && have("em++") && have("node");
const skip = !EMCC;
if (skip) console.log("emcc_test: skipped (emcc, em++ or node not on PATH)");

const A_C = `#include <stdio.h>
#include "b.h"
int main(void) { printf("sum %d\\n", add(20, 22)); return 0; }
`;
const B_H = "int add(int a, int b);\n";
const B_C = `#include "b.h"\nint add(int a, int b) { return a + b; }\n`;
const C_CPP = `#include <string>
std::string greet() { return std::string("hi ") + "there"; }
`;
const D_CPP = `#include <iostream>
#include <string>
std::string greet();
int main() { std::cout << greet() << std::endl; return 0; }
`;

function tree(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "a.c"), A_C);
  writeFileSync(join(dir, "b.h"), B_H);
  writeFileSync(join(dir, "b.c"), B_C);
  writeFileSync(join(dir, "c.cpp"), C_CPP);
  writeFileSync(join(dir, "d.cpp"), D_CPP);
}

interface Out {
  code: number;
  out: string;
  err: string;
}

/** Run `cmd` plain (no wrapper) or through `zccache`. */
async function run(w: World, cwd: string, wrap: boolean, cmd: string[], env = {}): Promise<Out> {
  const e = { ...w.env, ...env };
  const r = wrap
    ? await runCli(cmd, { env: e, cwd })
    : await runProcess(cmd[0], cmd.slice(1), { env: e, cwd });
  return { code: r.code, out: r.out, err: r.err };
}

function same(a: string, b: string, files: string[]): void {
  for (const f of files) {
    const x = readFileSync(join(a, f));
    const y = readFileSync(join(b, f));
    assert.ok(Buffer.compare(x, y) === 0, `${f} differs from the plain emcc run`);
    assert.equal(statSync(join(a, f)).mode & 0o777, statSync(join(b, f)).mode & 0o777, `${f} mode`);
  }
}

function logLines(w: World): string[] {
  try {
    return readFileSync(join(w.dir, "zc.log"), "utf8").trim().split("\n");
  } catch {
    return [];
  }
}

const BUILD: string[][] = [
  ["emcc", "-O1", "-c", "a.c", "-o", "a.o", "-MD", "-MF", "a.d"],
  ["emcc", "-O1", "-c", "b.c", "-o", "b.o"],
  ["em++", "-O1", "-c", "c.cpp", "-o", "c.o", "-MMD"],
  ["em++", "-O1", "-c", "d.cpp", "-o", "d.o"],
  ["emcc", "-O1", "a.o", "b.o", "-o", "app.js"],
  ["em++", "-O1", "c.o", "d.o", "-o", "cpp.js"],
];
const OUTPUTS = [
  "a.o",
  "a.d",
  "b.o",
  "c.o",
  "c.d",
  "d.o",
  "app.js",
  "app.wasm",
  "cpp.js",
  "cpp.wasm",
];

test(
  "emcc: compiles and links cold then warm are hits, byte-identical to plain emcc, run under node",
  async () => {
    const w = makeWorld("emcc");
    try {
      w.env.ZCCACHE_LOG = join(w.dir, "zc.log");
      const plain = join(w.dir, "plain");
      const wrapped = join(w.dir, "wrapped");
      tree(plain);
      tree(wrapped);
      const plainRuns: Out[] = [];
      for (const c of BUILD) plainRuns.push(await run(w, plain, false, c));
      for (const r of plainRuns) assert.equal(r.code, 0, r.err);
      for (const round of ["cold", "warm"]) {
        for (const f of OUTPUTS) rmSync(join(wrapped, f), { force: true });
        for (let i = 0; i < BUILD.length; i++) {
          const r = await run(w, wrapped, true, BUILD[i]);
          assert.deepEqual(r, plainRuns[i], `${round}: ${BUILD[i].join(" ")}`);
        }
        same(plain, wrapped, OUTPUTS);
      }
      const st = await statusJson(w);
      assert.equal(st.cache_hits, 4, JSON.stringify(st));
      assert.equal(st.cache_misses, 4);
      assert.equal(st.link_hits, 2);
      assert.equal(st.link_misses, 2);
      const node = await runProcess("node", ["--no-experimental-fetch", "app.js"], {
        env: w.env,
        cwd: wrapped,
      });
      assert.equal(node.out, "sum 42\n", node.err);
      const cpp = await runProcess("node", ["--no-experimental-fetch", "cpp.js"], {
        env: w.env,
        cwd: wrapped,
      });
      assert.equal(cpp.out, "hi there\n", cpp.err);

      // A compile error: exit code and diagnostics replayed exactly, never cached.
      writeFileSync(join(plain, "bad.c"), "int f(void) { return nope; }\n");
      writeFileSync(join(wrapped, "bad.c"), "int f(void) { return nope; }\n");
      const bad = ["emcc", "-c", "bad.c", "-o", "bad.o"];
      const pb = await run(w, plain, false, bad);
      assert.notEqual(pb.code, 0);
      assert.deepEqual(await run(w, wrapped, true, bad), pb);
      assert.deepEqual(await run(w, wrapped, true, bad), pb);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: skip },
);

test(
  "emcc: -s settings, EMCC_CFLAGS, the config file and --pre-js content change the key",
  async () => {
    const w = makeWorld("emcc-key");
    try {
      w.env.ZCCACHE_LOG = join(w.dir, "zc.log");
      const d = join(w.dir, "src");
      tree(d);
      const cfg = join(w.dir, "em.config");
      copyFileSync("/usr/share/emscripten/.emscripten", cfg);
      const env = { EM_CONFIG: cfg };
      const steps: [string[], Record<string, string>, string][] = [
        [["emcc", "-c", "b.c", "-o", "b.o"], env, "miss"],
        [["emcc", "-c", "b.c", "-o", "b.o"], env, "hit"],
        [["emcc", "-c", "b.c", "-o", "b.o", "-s", "STRICT"], env, "miss"],
        [["emcc", "-c", "b.c", "-o", "b.o", "-sSTRICT"], env, "hit"],
        [["emcc", "-c", "b.c", "-o", "b.o"], { ...env, EMCC_CFLAGS: "-DX=1" }, "miss"],
        [["emcc", "-c", "b.c", "-o", "b.o"], { ...env, EMCC_CFLAGS: "-DX=2" }, "miss"],
        [["emcc", "-c", "b.c", "-o", "b.o"], { ...env, EMCC_CFLAGS: "-DX=1" }, "hit"],
        [["emcc", "-c", "a.c", "-o", "a.o"], env, "miss"],
        [["emcc", "a.o", "b.o", "-o", "app.js"], env, "miss"],
        [["emcc", "a.o", "b.o", "-o", "app.js"], env, "hit"],
        [["emcc", "a.o", "b.o", "-o", "app.js", "-sENVIRONMENT=node"], env, "miss"],
        [["emcc", "a.o", "b.o", "-o", "app.js", "-s", "ENVIRONMENT=node"], env, "hit"],
        [["emcc", "a.o", "b.o", "-o", "app.js", "--pre-js", "pre.js"], env, "miss"],
        [["emcc", "a.o", "b.o", "-o", "app.js", "--pre-js=pre.js"], env, "hit"],
      ];
      writeFileSync(join(d, "pre.js"), "// one\n");
      const expectLog = (n: number, kind: string, what: string): void => {
        const lines = logLines(w);
        assert.equal(lines.length, n, lines.join("\n"));
        assert.ok(lines[n - 1].includes(` ${kind} `), `${what}: ${lines[n - 1]}`);
      };
      let n = 0;
      for (const [cmd, e, kind] of steps) {
        const r = await run(w, d, true, cmd, e);
        assert.equal(r.code, 0, r.err);
        expectLog(++n, kind, cmd.join(" "));
      }
      // The --pre-js content is an input.
      writeFileSync(join(d, "pre.js"), "// two\n");
      await run(w, d, true, ["emcc", "a.o", "b.o", "-o", "app.js", "--pre-js", "pre.js"], env);
      expectLog(++n, "miss", "changed --pre-js");
      // A changed config file: compile and link miss.
      writeFileSync(cfg, readFileSync(cfg, "utf8") + "\n# changed\n");
      await run(w, d, true, ["emcc", "-c", "b.c", "-o", "b.o"], env);
      expectLog(++n, "miss", "changed config (compile)");
      assert.match(logLines(w)[n - 1], /em-config-sha/);
      await run(w, d, true, ["emcc", "a.o", "b.o", "-o", "app.js"], env);
      expectLog(++n, "miss", "changed config (link)");
      // Side-file-writing debug environment passes through.
      await run(w, d, true, ["emcc", "-c", "b.c", "-o", "b.o"], { ...env, EMCC_DEBUG: "1" });
      expectLog(++n, "non-cacheable", "EMCC_DEBUG");
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: skip },
);

test("emcc: an .html link with --preload-file restores .html, .js, .wasm and .data", async () => {
  const w = makeWorld("emcc-html");
  try {
    const plain = join(w.dir, "plain");
    const wrapped = join(w.dir, "wrapped");
    for (const dir of [plain, wrapped]) {
      tree(dir);
      mkdirSync(join(dir, "assets"));
      writeFileSync(join(dir, "assets", "hello.txt"), "payload\n");
    }
    const cc = ["emcc", "-c", "b.c", "-o", "b.o"];
    const link = ["emcc", "b.o", "--no-entry", "-o", "page.html", "--preload-file", "assets"];
    const files = ["page.html", "page.js", "page.wasm", "page.data"];
    await run(w, plain, false, cc);
    const pl = await run(w, plain, false, link);
    assert.equal(pl.code, 0, pl.err);
    await run(w, wrapped, true, cc);
    assert.deepEqual(await run(w, wrapped, true, link), pl);
    const cold = readFileSync(join(wrapped, "page.js"));
    for (const f of files) rmSync(join(wrapped, f));
    assert.deepEqual(await run(w, wrapped, true, link), pl);
    // emcc 3.1.6's file packager writes a random package_uuid (only read by
    // --use-preload-cache, to tell package versions apart): every plain run
    // differs there; a hit gives the cold run's bytes.
    assert.ok(Buffer.compare(readFileSync(join(wrapped, "page.js")), cold) === 0);
    const uuid = (f: string): string =>
      readFileSync(f, "utf8").replace(/"package_uuid": "[0-9a-f-]+"/g, "<uuid>");
    assert.equal(uuid(join(wrapped, "page.js")), uuid(join(plain, "page.js")));
    same(plain, wrapped, files.filter((f) => f !== "page.js"));
    const st = await statusJson(w);
    assert.equal(st.link_hits, 1, JSON.stringify(st));
    // A packaged file changed: a miss, and the new .data.
    writeFileSync(join(wrapped, "assets", "hello.txt"), "other\n");
    await run(w, wrapped, true, link);
    assert.equal((await statusJson(w)).link_misses, 2);
    assert.ok(readFileSync(join(wrapped, "page.data"), "latin1").includes("other"));
  } finally {
    await disposeWorld(w);
  }
}, { ignore: skip });

test("emcc: argument forms (no emcc run)", () => {
  assert.deepEqual(
    normalizeEmccArgs(["-c", "a.c", "-s", "WASM=0", "-s", "-O2", "--closure", "1", "-o", "a.o"]),
    ["-c", "a.c", "-sWASM=0", "-s", "-O2", "--closure=1", "-o", "a.o"],
  );
  if (skip) return;
  const dir = makeWorld("emcc-plan").dir;
  try {
    writeFileSync(join(dir, "a.o"), "x");
    writeFileSync(join(dir, "pre.js"), "x");
    const emcc = "/usr/bin/emcc";
    const p = planLink(emcc, ["a.o", "-o", "app.js", "-s", "WASM=0", "--pre-js", "pre.js"], dir, {
      PATH: "/usr/bin:/bin",
    });
    assert.equal(p.kind, "cacheable", JSON.stringify(p));
    if (p.kind !== "cacheable") return;
    assert.deepEqual(p.inputs.slice(0, 2), ["a.o", "pre.js"]);
    assert.ok(p.keyArgs.includes("-sWASM=0"));
    assert.ok(p.keyArgs.some((a) => a.startsWith("emscripten.txt") || a.includes("3.1")));
    assert.ok(p.inputs.some((i) => i.includes("wasm-ld")), "wasm-ld is hashed");
    const js = planLink(emcc, ["a.o", "-o", "a.js", "--js-transform", "sed"], dir, {});
    assert.equal(js.kind, "passthrough");
    const dbg = planLink(emcc, ["a.o", "-o", "a.js"], dir, { EMCC_DEBUG: "1" });
    assert.equal(dbg.kind, "passthrough");
    const cf = planLink(emcc, ["a.o", "-o", "a.js"], dir, { EMCC_CFLAGS: "extra.o" });
    assert.equal(cf.kind, "passthrough");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
