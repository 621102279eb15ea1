/**
 * `GenericToolExec` against the live daemon with the real engine: a shell
 * code generator cached by its declared inputs and outputs on bincode, prost
 * and FrameV1 (each answering `GenericToolExecResult`), outputs restored
 * byte-identical with their modes, rerun when an input changes, only the
 * declared environment, the args filter, cache policies, a depfile second
 * stage, and identical concurrent requests running the tool once.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import type { Request, RequestOf, Response } from "../../src/core/messages.ts";
import { RawClient, startDaemon, tempDir } from "./server_helpers.ts";

type Lane = "bincode" | "prost" | "frame";
const LANES: Lane[] = ["bincode", "prost", "frame"];

function encode(lane: Lane, req: Request, id: string): Uint8Array {
  if (lane === "bincode") return encodeBincodeFrame("request", req);
  if (lane === "prost") return encodeProstFrame("request", req, id);
  return encodeFrameV1("request", req, { requestId: id, frameId: 5n });
}

let seq = 0;
async function exec(
  c: RawClient,
  lane: Lane,
  req: Request,
): Promise<Extract<Response, { kind: "GenericToolExecResult" }>> {
  const id = `x-${seq++}`;
  await c.send(encode(lane, req, id));
  const r = await c.recv();
  assert.equal(r.lane, lane);
  if (lane !== "bincode") assert.equal(r.requestId, id);
  assert.equal(r.message.kind, "GenericToolExecResult", JSON.stringify(r.message));
  if (r.message.kind !== "GenericToolExecResult") throw new Error("unreachable");
  return r.message;
}

const GEN = `#!/bin/sh
# A code generator: reads in.txt, writes out.h and an executable run.sh.
echo run >> "$COUNTER"
[ -n "$SLEEP" ] && sleep "$SLEEP"
{ echo "/* generated */"; sed 's/^/#define /' in.txt; } > out.h
printf '#!/bin/sh\\necho %s\\n' "$GREETING" > run.sh
chmod 750 run.sh
echo "generated from $(wc -l < in.txt) line(s), HOME=\${HOME:-unset}"
echo "warning: be careful" >&2
[ -n "$DEPFILE" ] && printf 'out.h: in.txt extra.h\\n' > gen.d
exit 0
`;

function request(
  dir: string,
  more: Partial<RequestOf<"GenericToolExec">> = {},
): RequestOf<"GenericToolExec"> {
  return {
    kind: "GenericToolExec",
    tool: "/bin/sh",
    args: ["gen.sh"],
    cwd: dir,
    env: [["PATH", "/usr/bin:/bin"], ["GREETING", "hi"], ["COUNTER", join(dir, "count")]],
    inputFiles: ["gen.sh", "in.txt"],
    inputExtra: new Uint8Array(),
    outputStreams: { stdout: true, stderr: true },
    outputFiles: ["out.h", "run.sh"],
    toolHash: null,
    cachePolicy: "Normal",
    cwdInKey: false,
    includeScanFiles: [],
    includeDirs: [],
    systemIncludeDirs: [],
    iquoteDirs: [],
    depfile: null,
    nonDeterministic: false,
    keyArgsFilter: [],
    ...more,
  };
}

function runs(dir: string): number {
  try {
    return readFileSync(join(dir, "count"), "utf8").split("\n").filter((l) => l !== "").length;
  } catch {
    return 0;
  }
}

function setup(dir: string): void {
  writeFileSync(join(dir, "gen.sh"), GEN);
  chmodSync(join(dir, "gen.sh"), 0o755);
  writeFileSync(join(dir, "in.txt"), "A 1\nB 2\n");
  rmSync(join(dir, "count"), { force: true });
}

test(
  "daemon serves GenericToolExec on bincode, prost and FrameV1: miss, hit restoring bytes and modes, rerun on an input change",
  async () => {
    const d = await startDaemon({ engine: true });
    const root = tempDir("zc-exec-");
    try {
      const c = await RawClient.connect(d.endpoint);
      for (const lane of LANES) {
        const dir = join(root, lane);
        mkdirSync(dir);
        setup(dir);
        const req = request(dir, { inputExtra: new TextEncoder().encode(lane) });
        const cold = await exec(c, lane, req);
        assert.equal(cold.cached, false);
        assert.equal(cold.exitCode, 0);
        assert.equal(
          new TextDecoder().decode(cold.stdout),
          "generated from 2 line(s), HOME=unset\n",
        );
        assert.equal(new TextDecoder().decode(cold.stderr), "warning: be careful\n");
        assert.deepEqual(cold.outputFiles.map((o) => o.name), ["out.h", "run.sh"]);
        assert.match(cold.cacheKeyHex, /^[0-9a-f]{64}$/);
        const outH = readFileSync(join(dir, "out.h"));
        const runSh = readFileSync(join(dir, "run.sh"));
        assert.equal(statSync(join(dir, "run.sh")).mode & 0o777, 0o750);
        rmSync(join(dir, "out.h"));
        rmSync(join(dir, "run.sh"));

        const warm = await exec(c, lane, req);
        assert.equal(warm.cached, true);
        assert.equal(warm.cacheKeyHex, cold.cacheKeyHex);
        assert.deepEqual(warm.stdout, cold.stdout);
        assert.deepEqual(warm.stderr, cold.stderr);
        assert.deepEqual(readFileSync(join(dir, "out.h")), outH);
        assert.deepEqual(readFileSync(join(dir, "run.sh")), runSh);
        assert.equal(statSync(join(dir, "run.sh")).mode & 0o777, 0o750);
        assert.deepEqual(warm.outputFiles.map((o) => o.name), [
          join(dir, "out.h"),
          join(dir, "run.sh"),
        ]);
        assert.equal(runs(dir), 1);

        // An input changes: the tool runs again.
        writeFileSync(join(dir, "in.txt"), "A 1\nB 2\nC 3\n");
        const again = await exec(c, lane, req);
        assert.equal(again.cached, false);
        assert.match(readFileSync(join(dir, "out.h"), "utf8"), /#define C 3/);
        assert.equal(runs(dir), 2);
        // A declared env var is key material.
        const env = await exec(c, lane, {
          ...req,
          env: [...req.env.slice(0, 2), ["COUNTER", join(dir, "count")], ["X", "1"]],
        });
        assert.equal(env.cached, false);
        assert.equal(runs(dir), 3);
      }
      c.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
      await d.dispose();
    }
  },
  { timeout: 60_000 },
);

test(
  "GenericToolExec: args filter, stream selection, policies, depfile stage, missing input",
  async () => {
    const d = await startDaemon({ engine: true });
    const dir = tempDir("zc-exec2-");
    try {
      setup(dir);
      const c = await RawClient.connect(d.endpoint);
      const filtered = (ts: string) =>
        request(dir, { args: ["gen.sh", `--stamp=${ts}`], keyArgsFilter: ["^--stamp="] });
      assert.equal((await exec(c, "bincode", filtered("1"))).cached, false);
      assert.equal((await exec(c, "bincode", filtered("2"))).cached, true);
      // Streams not asked for are empty (but kept in the cache).
      const quiet = await exec(c, "bincode", {
        ...filtered("3"),
        outputStreams: { stdout: false, stderr: true },
      });
      assert.equal(quiet.cached, true);
      assert.equal(quiet.stdout.length, 0);
      assert.ok(quiet.stderr.length > 0);
      // Bypass and non-deterministic always run; ReadOnly looks up but never stores.
      const n = runs(dir);
      assert.equal(
        (await exec(c, "bincode", { ...filtered("4"), cachePolicy: "Bypass" })).cached,
        false,
      );
      assert.equal(
        (await exec(c, "bincode", { ...filtered("5"), nonDeterministic: true })).cached,
        false,
      );
      assert.equal(
        (await exec(c, "bincode", { ...filtered("6"), cachePolicy: "ReadOnly" })).cached,
        true,
      );
      const ro = request(dir, { cachePolicy: "ReadOnly", inputExtra: new Uint8Array([9]) });
      assert.equal((await exec(c, "bincode", ro)).cached, false);
      assert.equal((await exec(c, "bincode", ro)).cached, false);
      assert.equal(runs(dir), n + 4);

      // Depfile: the listed dependency (extra.h, not declared) becomes key material.
      writeFileSync(join(dir, "extra.h"), "1");
      const dep = request(dir, {
        env: [...request(dir).env, ["DEPFILE", "1"]],
        depfile: "gen.d",
      });
      assert.equal((await exec(c, "bincode", dep)).cached, false);
      assert.equal((await exec(c, "bincode", dep)).cached, true);
      writeFileSync(join(dir, "extra.h"), "2");
      assert.equal((await exec(c, "bincode", dep)).cached, false);
      assert.equal((await exec(c, "bincode", dep)).cached, true);

      // An undeclarable input is the request's error, as zccache's.
      await c.send(encodeBincodeFrame("request", request(dir, { inputFiles: ["nope.txt"] })));
      const bad = (await c.recv()).message;
      assert.equal(bad.kind, "Error");
      if (bad.kind === "Error") assert.match(bad.message, /cannot hash input file .*nope\.txt/);
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await d.dispose();
    }
  },
  { timeout: 60_000 },
);

test("GenericToolExec: identical concurrent requests run the tool once", async () => {
  const d = await startDaemon({ engine: true });
  const dir = tempDir("zc-exec3-");
  try {
    setup(dir);
    const req = request(dir, { env: [...request(dir).env, ["SLEEP", "0.5"]] });
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(d.endpoint)));
    const results = await Promise.all(clients.map((c) => exec(c, "bincode", req)));
    assert.equal(runs(dir), 1);
    assert.equal(results.filter((r) => !r.cached).length, 1);
    assert.ok(results.every((r) => r.exitCode === 0 && r.cacheKeyHex === results[0].cacheKeyHex));
    for (const c of clients) c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await d.dispose();
  }
}, { timeout: 60_000 });
