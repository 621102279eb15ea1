/** cache/why.ts: how a miss is named (flags, context fields, inputs, reason kinds). */
import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import {
  contextDifference,
  type EntryOrigin,
  flagDifference,
  inputDifference,
  reasonCategory,
  validOrigin,
} from "../../src/daemon/cache/why.ts";

const FLAGS: [string, string[], string[], string | null][] = [
  ["one flag changed", ["-c", "-O2"], ["-c", "-O3"], "changed flag -O2 -> -O3"],
  ["a flag added", ["-c"], ["-c", "-DX=1"], "added flag -DX=1"],
  ["flags removed", ["-c", "-g", "-Wall"], ["-c"], "removed flags -g -Wall"],
  ["several changed", ["-a", "-b"], ["-c", "-d"], "changed flags -a -b -> -c -d"],
  ["order only", ["-a", "-b"], ["-b", "-a"], "changed flag order"],
  ["same", ["-a"], ["-a"], null],
  ["long lists cut", [], ["-1", "-2", "-3", "-4", "-5"], "added flags -1 -2 -3 (+2 more)"],
];
for (const [name, before, now, want] of FLAGS) {
  test(`flagDifference(): ${name}`, () => {
    assert.equal(flagDifference(before, now), want);
  });
}

const base: EntryOrigin = {
  compiler: "/usr/bin/gcc",
  source: "/s/a.c",
  family: "gcc",
  flavor: "gcc",
  invokedName: "gcc",
  compilerHash: "h1",
  cwd: null,
  colored: "",
  env: { LANG: "C" },
  args: ["-c", "-O2"],
};

test("contextDifference(): compiler, env, flags, cwd, colour, in that order", () => {
  assert.equal(
    contextDifference(base, { ...base, compilerHash: "h2", args: [] }),
    "compiler changed",
  );
  assert.equal(contextDifference(base, { ...base, env: {}, args: [] }), "changed env LANG");
  assert.equal(contextDifference(base, { ...base, args: ["-c"] }), "removed flag -O2");
  assert.equal(contextDifference(base, { ...base, cwd: "/x" }), "changed cwd (any) -> /x");
  assert.equal(
    contextDifference(base, { ...base, colored: "always" }),
    "changed terminal colouring",
  );
  assert.equal(contextDifference(base, { ...base }), null);
  assert.ok(validOrigin(base));
  assert.equal(validOrigin({ ...base, env: { LANG: 1 } }), false);
});

test("inputDifference(): the nearest entry names the changed header or source", () => {
  const hashes: Record<string, string> = { "a.c": "1", "a.h": "2", "b.h": "3" };
  const hashOf = (p: string) => hashes[p] ?? null;
  const isSource = (p: string) => p === "a.c";
  const far = { inputs: [["a.c", "x"], ["a.h", "x"]] as [string, string][] };
  const near = { inputs: [["a.c", "1"], ["a.h", "x"], ["b.h", "3"]] as [string, string][] };
  assert.equal(inputDifference([far, near], hashOf, isSource), "changed header a.h");
  assert.equal(inputDifference([far], hashOf, isSource), "changed source a.c (+1 more)");
  const gone = { inputs: [["c.h", "9"]] as [string, string][] };
  assert.equal(inputDifference([gone], hashOf, isSource), "changed header c.h (removed)");
  assert.equal(inputDifference([{ inputs: [["a.c", "1"]] }], hashOf, isSource), null);
});

test("reasonCategory(): paths and values dropped", () => {
  assert.equal(reasonCategory("changed header inc/a.h (+2 more)"), "changed header");
  assert.equal(reasonCategory("changed flag -O2 -> -O3"), "changed flags");
  assert.equal(reasonCategory("added flag -g"), "changed flags");
  assert.equal(reasonCategory("changed env LANG LC_ALL"), "changed env");
  assert.equal(reasonCategory("__TIME__ used in /src/a.c"), "__TIME__ used");
  assert.equal(reasonCategory("new source"), "new source");
});
