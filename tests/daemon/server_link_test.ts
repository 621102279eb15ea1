/**
 * `LinkEphemeral` and `ListRustArtifacts` against the live daemon on all
 * three lanes (bincode, prost, FrameV1): each answers its own response type
 * in the lane of the request. Plus the link driver's plans, one row each.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import type { Request } from "../../src/core/messages.ts";
import { planLink } from "../../src/daemon/compiler/link.ts";
import { RawClient, startDaemon } from "./server_helpers.ts";

type Lane = "bincode" | "prost" | "frame";
const LANES: Lane[] = ["bincode", "prost", "frame"];

function encode(lane: Lane, req: Request, id: string): Uint8Array {
  if (lane === "bincode") return encodeBincodeFrame("request", req);
  if (lane === "prost") return encodeProstFrame("request", req, id);
  return encodeFrameV1("request", req, { requestId: id, frameId: 7n });
}

function haveTools(): boolean {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    execFileSync("ar", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test(
  "daemon serves LinkEphemeral and ListRustArtifacts on bincode, prost and FrameV1",
  async () => {
    const d = await startDaemon({ engine: true });
    const work = mkdtempSync(join(tmpdir(), "zc-link-lanes-"));
    try {
      writeFileSync(join(work, "a.c"), "int a(void) { return 1; }\n");
      execFileSync("gcc", ["-c", "a.c", "-o", "a.o"], { cwd: work });
      const c = await RawClient.connect(d.endpoint);
      const env: [string, string][] = [["PATH", process.env.PATH ?? "/usr/bin:/bin"]];
      for (const lane of LANES) {
        const lib = `lib-${lane}.a`;
        const req: Request = {
          kind: "LinkEphemeral",
          clientPid: process.pid,
          tool: "/usr/bin/ar",
          args: ["rcsD", lib, "a.o"],
          cwd: work,
          env,
        };
        const results = [];
        for (const round of [0, 1]) {
          rmSync(join(work, lib), { force: true });
          await c.send(encode(lane, req, `l-${lane}-${round}`));
          const r = await c.recv();
          assert.equal(r.lane, lane);
          if (lane !== "bincode") assert.equal(r.requestId, `l-${lane}-${round}`);
          assert.equal(r.message.kind, "LinkResult", `${lane}: ${JSON.stringify(r.message)}`);
          if (r.message.kind === "LinkResult") {
            assert.equal(r.message.exitCode, 0);
            assert.equal(r.message.warning, null);
            results.push(r.message.cached);
          }
          assert.ok(readFileSync(join(work, lib)).length > 0);
        }
        // The first lane misses then hits; the others (same key: names as written differ) too.
        assert.deepEqual(results, [false, true], lane);

        // A direct Store of a Rust artifact, then the listing names it.
        const key = `rust-${lane}`;
        await c.send(encode(lane, {
          kind: "Store",
          cacheKey: key,
          artifact: {
            outputs: [{
              name: "libfoo.rlib",
              payload: { kind: "Bytes", value: new Uint8Array([1]) },
            }],
            stdout: new Uint8Array(),
            stderr: new Uint8Array(),
            exitCode: 0,
          },
        }, `s-${lane}`));
        assert.equal((await c.recv()).message.kind, "StoreResult");
        await c.send(encode(lane, { kind: "ListRustArtifacts" }, `r-${lane}`));
        const list = await c.recv();
        assert.equal(list.lane, lane);
        assert.equal(list.message.kind, "RustArtifactList");
        if (list.message.kind === "RustArtifactList") {
          const mine = list.message.artifacts.find((a) => a.cacheKey === key);
          assert.deepEqual(mine, { cacheKey: key, outputNames: ["libfoo.rlib"], payloadCount: 1n });
          // Compile and link entries are not Rust artifacts.
          assert.ok(list.message.artifacts.every((a) => a.cacheKey.startsWith("rust-")));
        }
      }
      await c.send(encodeBincodeFrame("request", { kind: "Status" }));
      const st = (await c.recv()).message;
      assert.equal(st.kind, "Status");
      if (st.kind === "Status") {
        assert.equal(st.value.totalLinks, 6n);
        assert.equal(st.value.linkMisses, 3n);
        assert.equal(st.value.linkHits, 3n);
        assert.equal(st.value.linkNonCacheable, 0n);
      }
      c.close();
    } finally {
      rmSync(work, { recursive: true, force: true });
      await d.dispose();
    }
  },
  { ignore: !haveTools(), timeout: 60_000 },
);

const ROWS: [string, string, string[], string][] = [
  ["ar rcsD is cached", "/usr/bin/ar", ["rcsD", "l.a", "a.o"], "cacheable"],
  ["ar rcs (no D) is cached with a hint", "/usr/bin/ar", ["rcs", "l.a", "a.o"], "cacheable:D"],
  ["ar t passes through", "/usr/bin/ar", ["t", "l.a"], "passthrough"],
  ["ar x passes through", "/usr/bin/ar", ["x", "l.a"], "passthrough"],
  ["ar d passes through", "/usr/bin/ar", ["d", "l.a", "a.o"], "passthrough"],
  ["ar p passes through", "/usr/bin/ar", ["p", "l.a"], "passthrough"],
  ["ar ru (by mtime) passes through", "/usr/bin/ar", ["ru", "l.a", "a.o"], "passthrough"],
  ["llvm-ar qc is cached", "/usr/bin/llvm-ar", ["qcD", "l.a", "a.o"], "cacheable"],
  ["gcc -o app a.o -lm is cached", "/usr/bin/gcc", ["-o", "app", "a.o", "-lm"], "cacheable"],
  ["gcc -c is not a link", "/usr/bin/gcc", ["-c", "a.c"], "passthrough"],
  ["gcc -o app a.c compiles a source", "/usr/bin/gcc", ["-o", "app", "a.c"], "passthrough"],
  ["gcc without -o passes through", "/usr/bin/gcc", ["a.o"], "passthrough"],
  ["gcc --version passes through", "/usr/bin/gcc", ["--version"], "passthrough"],
  ["a missing input passes through", "/usr/bin/gcc", ["-o", "app", "nope.o"], "passthrough"],
  ["@rsp passes through", "/usr/bin/gcc", ["-o", "app", "@args"], "passthrough"],
  [
    "--build-id=uuid is cached with a hint",
    "/usr/bin/gcc",
    ["-o", "app", "a.o", "-Wl,--build-id=uuid"],
    "cacheable:--build-id=sha1 (avoid --build-id=uuid)",
  ],
  ["ld -o out a.o is cached", "/usr/bin/ld", ["-o", "out", "a.o"], "cacheable"],
  ["ld.lld is cached", "/usr/bin/ld.lld", ["-o", "out", "a.o"], "cacheable"],
  ["wasm-ld is cached", "/usr/bin/wasm-ld", ["-o", "out.wasm", "a.o"], "cacheable"],
];

const planDir = mkdtempSync(join(tmpdir(), "zc-link-plan-"));
writeFileSync(join(planDir, "a.o"), "x");
writeFileSync(join(planDir, "libz1.a"), "lib");
for (const [name, tool, args, want] of ROWS) {
  test(`planLink(): ${name}`, () => {
    const p = planLink(tool, args, planDir, {});
    const got = p.kind === "passthrough"
      ? "passthrough"
      : p.nonDeterministic === null
      ? "cacheable"
      : `cacheable:${p.nonDeterministic}`;
    assert.equal(got, want, p.kind === "passthrough" ? p.reason : "");
  });
}

test("planLink(): -l resolved in a -L directory outside the system is an input; -lm is not", () => {
  const p = planLink("/usr/bin/gcc", ["-o", "app", "a.o", "-L.", "-lz1", "-lm"], planDir, {});
  assert.equal(p.kind, "cacheable");
  if (p.kind === "cacheable") {
    assert.deepEqual(p.inputs, ["a.o", "./libz1.a"]);
    assert.deepEqual(p.keyArgs, ["-o", "app", "<in:0>", "-L.", "-lz1=<in:1>", "-lm"]);
  }
});
