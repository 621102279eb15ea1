/**
 * Error paths of a real daemon process: version-mismatch reply bytes,
 * garbage closes without a reply, a prost/FrameV1 conversion failure is an
 * Error on the same lane with the connection kept, engine-less requests
 * get an Error naming them, the BackendHandle probe is answered.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import type { Request } from "../../src/core/messages.ts";
import { encodeProbeRequest, probeBackendHandle } from "../../src/daemon/probe.ts";
import { readIdentityFile } from "../../src/daemon/identity.ts";
import { join } from "node:path";
import { RawClient, startDaemon, type TestDaemon } from "./server_helpers.ts";

// deno-lint-ignore no-explicit-any
function vector(name: string): any {
  const all = loadVectors("v1.12.2") as unknown as { vectors: { name: string }[] };
  const v = all.vectors.find((x) => x.name === name);
  if (v === undefined) throw new Error(`missing vector ${name}`);
  return v;
}

let daemon: TestDaemon | null = null;
async function shared(): Promise<TestDaemon> {
  daemon ??= await startDaemon();
  return daemon;
}

test(
  "daemon replies to a v18 frame with the exact 1.12.2 mismatch frame, then closes",
  async () => {
    const d = await shared();
    const v = vector("reply_1_12_2_daemon_got_v18");
    const c = await RawClient.connect(d.endpoint);
    await c.send(fromHex(v.trigger_hex));
    const got = await c.readToClose();
    assert.equal(toHex(got), v.frame_hex);
  },
  { timeout: 60_000 },
);

test("daemon closes without a reply on an undecodable frame", async () => {
  const d = await shared();
  const cases: [string, string][] = [
    ["bincode unknown variant 99", "080000000f00000063000000"],
    ["len below 4", "020000000f000000"],
    ["len above 16 MiB", "010000010f000000"],
    ["prost garbage body", "0800000010000000ffffffff"],
    ["FrameV1 with a broken Frame body", "0104000000ffffffff"],
  ];
  for (const [name, hex] of cases) {
    const c = await RawClient.connect(d.endpoint);
    await c.send(fromHex(hex));
    const got = await c.readToClose();
    assert.equal(got.length, 0, `${name}: no reply bytes`);
  }
  // The daemon is still serving.
  const c = await RawClient.connect(d.endpoint);
  await c.send(encodeBincodeFrame("request", { kind: "Ping" }));
  assert.deepEqual((await c.recv()).message, { kind: "Pong" });
  c.close();
}, { timeout: 60_000 });

test(
  "daemon answers a prost conversion failure with Error on the prost lane and stays open",
  async () => {
    const d = await shared();
    const v = vector("neg_prost_request_missing_body");
    const c = await RawClient.connect(d.endpoint);
    await c.send(fromHex(v.frame_hex));
    const r = await c.recv();
    assert.equal(r.lane, "prost");
    assert.equal(r.requestId, "orphan");
    assert.equal(r.message.kind, "Error");
    await c.send(encodeProstFrame("request", { kind: "Ping" }, "after"));
    const p = await c.recv();
    assert.equal(p.requestId, "after");
    assert.deepEqual(p.message, { kind: "Pong" });
    c.close();
  },
  { timeout: 60_000 },
);

test(
  "daemon answers a FrameV1 conversion failure with Error on the frame lane and stays open",
  async () => {
    const d = await shared();
    const v = vector("frame_conversion_missing_body");
    const c = await RawClient.connect(d.endpoint);
    await c.send(fromHex(v.frame_hex));
    const r = await c.recv();
    assert.equal(r.lane, "frame");
    assert.equal(r.requestId, "orphan");
    assert.equal(r.frameId, 9n);
    assert.equal(r.frameKind, "response");
    assert.equal(r.message.kind, "Error");
    await c.send(encodeFrameV1("request", { kind: "Ping" }, { requestId: "p", frameId: 10n }));
    const p = await c.recv();
    assert.equal(p.frameId, 10n);
    assert.deepEqual(p.message, { kind: "Pong" });
    c.close();
  },
  { timeout: 60_000 },
);

const NEEDS_ENGINE: Request[] = [
  {
    kind: "GenericToolExec",
    tool: "/bin/true",
    args: [],
    cwd: "/",
    env: [],
    inputFiles: [],
    inputExtra: new Uint8Array(),
    outputStreams: { stdout: true, stderr: true },
    outputFiles: [],
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
  },
];

test(
  "daemon without an engine answers GenericToolExec and compiles with an Error (bincode and prost)",
  async () => {
    const d = await shared();
    const c = await RawClient.connect(d.endpoint);
    for (const req of NEEDS_ENGINE) {
      for (const lane of ["bincode", "prost"] as const) {
        await c.send(
          lane === "bincode"
            ? encodeBincodeFrame("request", req)
            : encodeProstFrame("request", req, `u-${req.kind}`),
        );
        const r = await c.recv();
        assert.equal(r.lane, lane);
        assert.equal(r.message.kind, "Error", req.kind);
        if (r.message.kind === "Error") assert.match(r.message.message, /engine unavailable/);
      }
    }
    // Without an engine, compile requests get an Error too (never a hang).
    await c.send(encodeBincodeFrame("request", {
      kind: "CompileEphemeral",
      clientPid: 1,
      workingDir: "/tmp",
      compiler: "/usr/bin/gcc",
      args: ["-c", "x.c"],
      cwd: "/tmp",
      env: null,
      stdin: new Uint8Array(),
    }));
    assert.equal((await c.recv()).message.kind, "Error");
    c.close();
  },
  { timeout: 60_000 },
);

test("daemon answers the BackendHandle probe with its identity and closes", async () => {
  const d = await shared();
  const identity = readIdentityFile(join(d.dir, "daemon.running-process.json"));
  assert.ok(identity !== null);
  assert.equal(identity.pid, d.child.pid);
  // Raw: the reply echoes the nonce, then the connection closes.
  const nonce = new Uint8Array(randomBytes(32));
  const c = await RawClient.connect(d.endpoint);
  await c.send(encodeProbeRequest(nonce));
  const got = await c.readToClose();
  assert.ok(got.length > 5 + 32);
  assert.ok(toHex(got).includes(toHex(nonce)), "nonce echoed");
  // F's caller-side verification accepts it.
  const failure = await probeBackendHandle(d.endpoint, identity, {
    env: {},
    timeoutMs: 5_000,
  });
  assert.equal(failure, null);
}, { timeout: 60_000 });

test("daemon (errors suite) shuts down", async () => {
  const d = await shared();
  const c = await RawClient.connect(d.endpoint);
  await c.send(encodeBincodeFrame("request", { kind: "Shutdown" }));
  assert.deepEqual((await c.recv()).message, { kind: "ShuttingDown" });
  assert.equal(await d.exited, 0);
  await d.dispose();
  daemon = null;
}, { timeout: 60_000 });
