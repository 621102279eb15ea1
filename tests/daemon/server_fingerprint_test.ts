/**
 * Fingerprints against the live daemon: `FingerprintCheck` / `MarkSuccess` /
 * `MarkFailure` / `Invalidate` on bincode, prost and FrameV1, each answering
 * its own response type; check/mark cycles against real file edits for both
 * cache types, across a daemon restart; and the scan's file selection (one
 * named test per row).
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import type { Request, Response } from "../../src/core/messages.ts";
import { globToRegExp, scanFiles, withExtension } from "../../src/daemon/fingerprint.ts";
import { RawClient, startDaemon, tempDir } from "./server_helpers.ts";

type Lane = "bincode" | "prost" | "frame";
const LANES: Lane[] = ["bincode", "prost", "frame"];

function encode(lane: Lane, req: Request, id: string): Uint8Array {
  if (lane === "bincode") return encodeBincodeFrame("request", req);
  if (lane === "prost") return encodeProstFrame("request", req, id);
  return encodeFrameV1("request", req, { requestId: id, frameId: 3n });
}

let seq = 0;
async function ask(c: RawClient, lane: Lane, req: Request): Promise<Response> {
  const id = `fp-${seq++}`;
  await c.send(encode(lane, req, id));
  const r = await c.recv();
  assert.equal(r.lane, lane);
  if (lane !== "bincode") assert.equal(r.requestId, id);
  return r.message;
}

function checkReq(cacheFile: string, root: string, cacheType: string, more: Partial<{
  extensions: string[];
  includeGlobs: string[];
  exclude: string[];
}> = {}): Request {
  return {
    kind: "FingerprintCheck",
    cacheFile,
    cacheType,
    root,
    extensions: more.extensions ?? [],
    includeGlobs: more.includeGlobs ?? [],
    exclude: more.exclude ?? [],
  };
}

async function check(
  c: RawClient,
  lane: Lane,
  req: Request,
): Promise<[string, string | null, string[]]> {
  const r = await ask(c, lane, req);
  assert.equal(r.kind, "FingerprintCheckResult", JSON.stringify(r));
  if (r.kind !== "FingerprintCheckResult") throw new Error("unreachable");
  return [r.decision, r.reason, r.changedFiles];
}

async function ack(c: RawClient, lane: Lane, req: Request): Promise<void> {
  assert.deepEqual(await ask(c, lane, req), { kind: "FingerprintAck" });
}

test(
  "daemon serves the Fingerprint requests on bincode, prost and FrameV1 with real edits (two-layer and hash)",
  async () => {
    const d = await startDaemon();
    const work = tempDir("zc-fp-");
    try {
      const c = await RawClient.connect(d.endpoint);
      for (const lane of LANES) {
        for (const type of ["two-layer", "hash"]) {
          const root = join(work, `${lane}-${type}`);
          mkdirSync(join(root, "src"), { recursive: true });
          writeFileSync(join(root, "src", "a.c"), "int a;\n");
          writeFileSync(join(root, "src", "b.c"), "int b;\n");
          const cf = join(work, `${lane}-${type}.json`);
          const req = checkReq(cf, root, type);
          const success = { kind: "FingerprintMarkSuccess", cacheFile: cf } as const;
          const twoLayer = type === "two-layer";

          assert.deepEqual(await check(c, lane, req), ["run", "no cache file", []]);
          await ack(c, lane, success);
          assert.deepEqual(await check(c, lane, req), ["skip", null, []]);

          // A touch with the same content: skip (two-layer re-hashes; hash re-reads).
          utimesSync(join(root, "src", "a.c"), new Date(), new Date(Date.now() + 5_000));
          assert.deepEqual(await check(c, lane, req), ["skip", null, []]);

          // A real edit: run with the file named (two-layer), until a success is marked.
          writeFileSync(join(root, "src", "a.c"), "int a = 2;\n");
          const edited = twoLayer ? ["src/a.c"] : [];
          assert.deepEqual(await check(c, lane, req), ["run", "content changed", edited]);
          assert.deepEqual(await check(c, lane, req), ["run", "content changed", edited]);
          await ack(c, lane, { kind: "FingerprintMarkFailure", cacheFile: cf });
          assert.deepEqual(await check(c, lane, req), ["run", "previous failure", []]);
          await ack(c, lane, success);
          assert.deepEqual(await check(c, lane, req), ["skip", null, []]);

          // Added and removed files.
          writeFileSync(join(root, "c.c"), "int c;\n");
          rmSync(join(root, "src", "b.c"));
          assert.deepEqual(
            await check(c, lane, req),
            ["run", "content changed", twoLayer ? ["c.c", "src/b.c"] : []],
          );
          await ack(c, lane, success);
          assert.deepEqual(await check(c, lane, req), ["skip", null, []]);

          // Invalidate forgets everything; a missing root is a run with its reason.
          await ack(c, lane, { kind: "FingerprintInvalidate", cacheFile: cf });
          assert.deepEqual(await check(c, lane, req), ["run", "no cache file", []]);
          const [dec, reason] = await check(c, lane, checkReq(cf, join(work, "nope"), type));
          assert.equal(dec, "run");
          assert.match(reason ?? "", /^scan error: /);
          // Marks without any state are acknowledged (as zccache does).
          const fresh = join(work, `${lane}-${type}-none.json`);
          await ack(c, lane, { kind: "FingerprintMarkSuccess", cacheFile: fresh });
          await ack(c, lane, { kind: "FingerprintMarkFailure", cacheFile: fresh });
          await ack(c, lane, { kind: "FingerprintInvalidate", cacheFile: fresh });
        }
      }
      c.close();
    } finally {
      rmSync(work, { recursive: true, force: true });
      await d.dispose();
    }
  },
  { timeout: 60_000 },
);

test("a fingerprint survives a daemon restart (state in the cache file)", async () => {
  const dir = tempDir("zc-fpd-");
  const work = tempDir("zc-fpw-");
  try {
    writeFileSync(join(work, "x.txt"), "1");
    const cf = join(work, "state", "fp.json");
    for (const type of ["two-layer", "hash"]) {
      const req = checkReq(cf, work, type, { extensions: ["txt"] });
      let d = await startDaemon({ dir });
      let c = await RawClient.connect(d.endpoint);
      assert.deepEqual(await check(c, "bincode", req), ["run", "no cache file", []]);
      await ack(c, "bincode", { kind: "FingerprintMarkSuccess", cacheFile: cf });
      c.close();
      await d.dispose();

      d = await startDaemon({ dir });
      c = await RawClient.connect(d.endpoint);
      assert.deepEqual(await check(c, "prost", req), ["skip", null, []]);
      writeFileSync(join(work, "x.txt"), "22");
      c.close();
      await d.dispose();

      d = await startDaemon({ dir });
      c = await RawClient.connect(d.endpoint);
      assert.deepEqual(
        await check(c, "frame", req),
        ["run", "content changed", type === "two-layer" ? ["x.txt"] : []],
      );
      await ack(c, "frame", { kind: "FingerprintInvalidate", cacheFile: cf });
      writeFileSync(join(work, "x.txt"), "1");
      c.close();
      await d.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}, { timeout: 90_000 });

test("withExtension() replaces the last extension as Rust's Path::with_extension", () => {
  assert.equal(withExtension("/a/fp.json", "pending"), "/a/fp.pending");
  assert.equal(withExtension("/a/lint", "pending"), "/a/lint.pending");
  assert.equal(withExtension("/a/.hidden", "pending"), "/a/.hidden.pending");
  assert.equal(withExtension("/a/x.tar.gz", "pending"), "/a/x.tar.pending");
});

const GLOBS: [string, string, string, boolean][] = [
  ["**/*.rs matches at the top", "**/*.rs", "a.rs", true],
  ["**/*.rs matches deep", "**/*.rs", "src/x/a.rs", true],
  ["*.rs crosses / (globset default)", "*.rs", "src/a.rs", true],
  ["src/*.c does not match another dir", "src/*.c", "lib/a.c", false],
  ["? matches one character", "a?.c", "ab.c", true],
  ["[ab] class", "[ab].c", "b.c", true],
  ["[!ab] negated class", "[!ab].c", "a.c", false],
  ["{c,h} alternation", "**/*.{c,h}", "inc/x.h", true],
  ["a literal dot is literal", "a.c", "abc", false],
  ["build/** matches below build", "build/**", "build/x/y.o", true],
];
for (const [name, glob, path, want] of GLOBS) {
  test(`globToRegExp(): ${name}`, () => {
    assert.equal(globToRegExp(glob).test(path), want);
  });
}

const SCANS: [
  string,
  Partial<{ extensions: string[]; includeGlobs: string[]; exclude: string[] }>,
  string[],
][] = [
  ["all files, hidden included, sorted", {}, [
    ".hidden.c",
    "b/x.C",
    "b/y.h",
    "build/out.c",
    "node_modules/m.c",
    "top.c",
    "top.txt",
  ]],
  ["extensions are case-insensitive, no dot", { extensions: ["c"] }, [
    ".hidden.c",
    "b/x.C",
    "build/out.c",
    "node_modules/m.c",
    "top.c",
  ]],
  ["exclude names directories (without globs)", {
    extensions: ["c", "h"],
    exclude: ["build", "node_modules"],
  }, [".hidden.c", "b/x.C", "b/y.h", "top.c"]],
  ["include globs", { includeGlobs: ["b/**"] }, ["b/x.C", "b/y.h"]],
  ["include globs with exclude globs (dir/** prunes)", {
    includeGlobs: ["**/*.c"],
    exclude: ["build/**", "node_modules"],
  }, [".hidden.c", "top.c"]],
];
for (const [name, opts, want] of SCANS) {
  test(`scanFiles(): ${name}`, () => {
    const root = tempDir("zc-fps-");
    try {
      for (const f of want.concat(SCANS[0][2])) {
        mkdirSync(join(root, f, ".."), { recursive: true });
        writeFileSync(join(root, f), f);
      }
      const got = scanFiles(
        root,
        opts.extensions ?? [],
        opts.includeGlobs ?? [],
        opts.exclude ?? [],
      )
        .map((f) => f.relative);
      assert.deepEqual(got, want);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
