import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { detectFamily } from "../../src/daemon/compiler/detect.ts";
import {
  compileArgsForUnit,
  keyArgsForUnit,
  parseInvocation,
} from "../../src/daemon/compiler/args.ts";
import { expandResponseFiles, splitResponseFile } from "../../src/daemon/compiler/response_file.ts";
import { parseDepfile } from "../../src/daemon/compiler/depfile.ts";

const families: [string, string][] = [
  ["/usr/bin/gcc", "gcc"],
  ["g++", "gcc"],
  ["cc", "gcc"],
  ["c++", "gcc"],
  ["gcc-12", "gcc"],
  ["x86_64-linux-gnu-gcc-12", "gcc"],
  ["/usr/bin/clang", "clang"],
  ["clang++", "clang"],
  ["clang-14", "clang"],
  ["emcc", "clang"],
  ["em++", "clang"],
  ["emcc.py", "clang"],
  ["clang-cl", "msvc"],
  ["rustc", "rustc"],
  ["/usr/bin/python3", "other"],
];
for (const [path, family] of families) {
  test(`detectFamily(${JSON.stringify(path)}) is ${family}`, () => {
    assert.equal(detectFamily(path), family);
  });
}

const nonCacheable: [string, string[]][] = [
  ["-E", ["-E", "a.c"]],
  ["-M", ["-M", "a.c"]],
  ["-MM", ["-MM", "a.c"]],
  ["stdin source", ["-c", "-x", "c", "-"]],
  ["link (no -c)", ["a.c", "-o", "a"]],
  ["two sources with -o", ["-c", "a.c", "b.c", "-o", "x.o"]],
  ["object input", ["-c", "a.o"]],
  ["--coverage", ["-c", "a.c", "--coverage"]],
  ["-gsplit-dwarf", ["-c", "a.c", "-gsplit-dwarf"]],
  ["-save-temps", ["-c", "a.c", "-save-temps=obj"]],
  ["-ftime-trace", ["-c", "a.c", "-ftime-trace"]],
  ["-fprofile-use without a file", ["-c", "a.c", "-fprofile-use"]],
  ["-Wp, other than a depfile", ["-c", "a.c", "-Wp,-DX"]],
  ["-ivfsoverlay", ["-c", "a.c", "-ivfsoverlay", "o.yaml"]],
  ["-include-pch", ["-c", "a.c", "-include-pch", "p.pch"]],
  ["assembler listing file", ["-c", "a.c", "-Wa,-adhln=a.lst"]],
  ["-fstack-usage", ["-c", "a.c", "-fstack-usage"]],
  ["-fdump-tree-all", ["-c", "a.c", "-fdump-tree-all"]],
  ["-fcallgraph-info", ["-c", "a.c", "-fcallgraph-info=su"]],
  ["header language", ["-c", "-x", "c-header", "a.h"]],
  ["output to stdout", ["-c", "a.c", "-o", "-"]],
  ["colliding default outputs", ["-c", "x/a.c", "y/a.c"]],
  ["no source", ["-c"]],
];
for (const [name, args] of nonCacheable) {
  test(`parseInvocation() rejects ${name}`, () => {
    const inv = parseInvocation(args);
    assert.equal(inv.kind, "non_cacheable");
  });
}

test("parseInvocation() finds the source and output around valued options", () => {
  const inv = parseInvocation([
    "-target",
    "x86_64-linux-gnu",
    "-I",
    "/inc",
    "-DX=1",
    "-Xclang",
    "-fno-common",
    "-c",
    "/src/a.c",
    "-o",
    "obj/a.o",
    "-MD",
    "-MF",
    "obj/a.d",
    "-MT",
    "obj/a.o",
  ]);
  assert.equal(inv.kind, "cacheable");
  if (inv.kind !== "cacheable") return;
  assert.equal(inv.units.length, 1);
  assert.equal(inv.units[0].source, "/src/a.c");
  assert.equal(inv.units[0].output, "obj/a.o");
  assert.equal(inv.units[0].userDepfile, "obj/a.d");
  assert.equal(inv.cwdRelevant, false);
  // The depfile path is never keyed; the output is (the user's depfile names it).
  const key = keyArgsForUnit(inv, inv.units[0]);
  assert.ok(!key.includes("obj/a.d"));
  assert.ok(key.includes("x86_64-linux-gnu"));
  assert.ok(key.includes("-fno-common"));
});

test("keyArgsForUnit() drops the output path when no depfile is requested", () => {
  const inv = parseInvocation(["-c", "/src/a.c", "-o", "/out/a.o", "-g", "-UFOO"]);
  assert.equal(inv.kind, "cacheable");
  if (inv.kind !== "cacheable") return;
  assert.deepEqual(keyArgsForUnit(inv, inv.units[0]), ["-c", "/src/a.c", "-g", "-UFOO"]);
  assert.equal(inv.cwdRelevant, true); // -g embeds the compile directory
  const joined = parseInvocation(["-c", "/src/a.c", "-o/out/a.o"]);
  assert.equal(joined.kind, "cacheable");
  if (joined.kind !== "cacheable") return;
  assert.deepEqual(keyArgsForUnit(joined, joined.units[0]), ["-c", "/src/a.c"]);
});

test("parseInvocation() marks relative paths as cwd-relevant", () => {
  for (
    const args of [["-c", "a.c"], ["-c", "/a.c", "-Iinc"], ["-c", "/a.c", "-isystem", "inc"], [
      "-c",
      "/a.c",
      "--sysroot=sys",
    ]]
  ) {
    const inv = parseInvocation(args);
    assert.ok(inv.kind === "cacheable" && inv.cwdRelevant, args.join(" "));
  }
  const inv = parseInvocation(["-c", "/a.c", "-I/inc", "-O2", "-o", "rel.o"]);
  assert.ok(inv.kind === "cacheable" && !inv.cwdRelevant);
});

test("parseInvocation() splits several sources without -o into units", () => {
  const inv = parseInvocation(["-c", "src/a.c", "b.cpp", "-O2", "-MMD"]);
  assert.equal(inv.kind, "cacheable");
  if (inv.kind !== "cacheable") return;
  assert.deepEqual(inv.units.map((u) => [u.source, u.output, u.userDepfile]), [
    ["src/a.c", "a.o", "a.d"],
    ["b.cpp", "b.o", "b.d"],
  ]);
  assert.deepEqual(compileArgsForUnit(inv, inv.units[1]), ["-c", "b.cpp", "-O2", "-MMD"]);
  const k0 = keyArgsForUnit(inv, inv.units[0]);
  assert.ok(k0.includes("src/a.c") && !k0.includes("b.cpp"));
});

test("parseInvocation() honours -x and --", () => {
  const inv = parseInvocation(["-c", "-x", "c", "weird.txt", "-o", "w.o"]);
  assert.equal(inv.kind, "cacheable");
  const dd = parseInvocation(["-c", "--", "-odd.c"]);
  assert.ok(dd.kind === "cacheable" && dd.units[0].source === "-odd.c");
});

test("splitResponseFile() follows GCC quoting", () => {
  assert.deepEqual(splitResponseFile(`-DA="x y" 'b c' d\\ e\n\t-O2 ""`), [
    "-DA=x y",
    "b c",
    "d e",
    "-O2",
    "",
  ]);
});

test("expandResponseFiles() expands nested files, keeps unreadable and cyclic ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "zccache-rsp-"));
  try {
    writeFileSync(join(dir, "a.rsp"), "-c @b.rsp -o a.o");
    writeFileSync(join(dir, "b.rsp"), "a.c -DX @a.rsp");
    const r = expandResponseFiles(["@a.rsp", "@missing.rsp", "-g"], dir);
    assert.deepEqual(r.args, ["-c", "a.c", "-DX", "@a.rsp", "-o", "a.o", "@missing.rsp", "-g"]);
    assert.deepEqual(r.files, [join(dir, "a.rsp"), join(dir, "b.rsp")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("parseDepfile() handles continuations, escapes and -MP phony rules", () => {
  const text =
    "obj/a.o: a.c /usr/include/stdio.h \\\n  inc/my\\ h.h foo$$bar.h\r\n\ninc/my\\ h.h:\n\n" +
    "/usr/include/stdio.h:\n";
  assert.deepEqual(parseDepfile(text), ["a.c", "/usr/include/stdio.h", "inc/my h.h", "foo$bar.h"]);
  assert.deepEqual(parseDepfile("a.o b.o : x.h\n"), ["x.h"]);
  assert.deepEqual(parseDepfile("C:\\obj\\a.o: C:\\src\\a.c\n"), ["C:\\src\\a.c"]);
});
