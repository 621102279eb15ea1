/**
 * The daemon as a real process, over a real Unix socket: every control
 * request on all three lanes, the reply in the lane of the request, ids
 * echoed; Shutdown per lane removes socket, lock and identity.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import type { Request } from "../../src/core/messages.ts";
import { IpcConnection } from "../../src/client/ipc_connection.ts";
import { daemonControlRoundtrip } from "../../src/client/control.ts";
import { type DecodedReply, RawClient, startDaemon, type TestDaemon } from "./server_helpers.ts";

type Lane = "bincode" | "prost" | "frame";
const LANES: Lane[] = ["bincode", "prost", "frame"];

function encode(lane: Lane, req: Request, id: string, frameId: bigint): Uint8Array {
  switch (lane) {
    case "bincode":
      return encodeBincodeFrame("request", req);
    case "prost":
      return encodeProstFrame("request", req, id);
    case "frame":
      return encodeFrameV1("request", req, { requestId: id, frameId });
  }
}

async function roundtrip(
  c: RawClient,
  lane: Lane,
  req: Request,
  id = `t-${req.kind}`,
  frameId = 0x0102030405060708n,
): Promise<DecodedReply> {
  await c.send(encode(lane, req, id, frameId));
  const r = await c.recv();
  assert.equal(r.lane, lane, `reply lane for ${req.kind}`);
  if (lane !== "bincode") assert.equal(r.requestId, id);
  if (lane === "frame") {
    assert.equal(r.frameId, frameId);
    assert.equal(r.frameKind, "response");
  }
  return r;
}

for (const lane of LANES) {
  test(
    `daemon serves Ping/Status/Clear/ReleaseWorktreeHandles/Shutdown on the ${lane} lane`,
    async () => {
      const d = await startDaemon();
      try {
        const identity = join(d.dir, "daemon.running-process.json");
        const lock = join(d.dir, "daemon.lock");
        assert.ok(existsSync(identity), "identity file while running");
        const id = JSON.parse(readFileSync(identity, "utf-8"));
        assert.equal(id.pid, d.child.pid);
        assert.equal(id.ipc_endpoint.path, d.endpoint);
        assert.equal(readFileSync(lock, "utf-8"), String(d.child.pid));

        // Several requests on one connection, in order.
        const c = await RawClient.connect(d.endpoint);
        assert.deepEqual((await roundtrip(c, lane, { kind: "Ping" })).message, { kind: "Pong" });
        const st = (await roundtrip(c, lane, { kind: "Status" })).message;
        assert.equal(st.kind, "Status");
        if (st.kind === "Status") {
          assert.equal(st.value.version, "1.12.2");
          assert.equal(st.value.endpoint, d.endpoint);
          assert.equal(st.value.cacheDir, d.dir);
          assert.equal(st.value.daemonNamespace, "default");
          assert.deepEqual(st.value.privateDaemon, {
            enabled: false,
            owners: [],
            privateEnvKeys: [],
          });
          assert.equal(st.value.cacheHits, 0n);
          assert.equal(st.value.sessionsActive, 0n);
        }
        assert.deepEqual((await roundtrip(c, lane, { kind: "Clear" })).message, {
          kind: "Cleared",
          artifactsRemoved: 0n,
          metadataCleared: 0n,
          depGraphContextsCleared: 0n,
          onDiskBytesFreed: 0n,
        });
        assert.deepEqual(
          (await roundtrip(c, lane, { kind: "ReleaseWorktreeHandles", path: "/nonexistent/wt" }))
            .message,
          {
            kind: "ReleaseWorktreeHandlesResult",
            inspected: 0,
            released: 0,
            sessionsDropped: [],
            unreleased: [],
          },
        );
        // Refuses a path that contains the cache root.
        const refused = (await roundtrip(c, lane, { kind: "ReleaseWorktreeHandles", path: "/" }))
          .message;
        assert.equal(refused.kind, "Error");

        // A second, idle connection must not keep the daemon alive.
        const idle = await RawClient.connect(d.endpoint);
        assert.deepEqual((await roundtrip(c, lane, { kind: "Shutdown" })).message, {
          kind: "ShuttingDown",
        });
        await c.readToClose();
        assert.equal(await d.exited, 0);
        await idle.readToClose();
        assert.ok(!existsSync(d.endpoint), "socket removed");
        assert.ok(!existsSync(identity), "identity removed");
        assert.ok(!existsSync(lock), "lock removed");
        const log = readFileSync(join(d.dir, "zccache-ts", "daemon.log"), "utf-8");
        assert.match(log, / spawn /);
        assert.match(log, / died-shutdown reason=graceful-shutdown/);
      } finally {
        await d.dispose();
      }
    },
    { timeout: 60_000 },
  );
}

test("daemon: lanes can change from request to request on one connection", async () => {
  const d = await startDaemon();
  try {
    const c = await RawClient.connect(d.endpoint);
    for (const lane of ["frame", "bincode", "prost", "bincode", "frame"] as Lane[]) {
      assert.deepEqual((await roundtrip(c, lane, { kind: "Ping" }, "x", 7n)).message, {
        kind: "Pong",
      });
    }
    // Two pipelined requests in one write are answered in order.
    const both = new Uint8Array([
      ...encode("prost", { kind: "Ping" }, "first", 0n),
      ...encode("frame", { kind: "Status" }, "second", 9n),
    ]);
    await c.send(both);
    const a = await c.recv();
    const b = await c.recv();
    assert.equal(a.requestId, "first");
    assert.equal(a.message.kind, "Pong");
    assert.equal(b.requestId, "second");
    assert.equal(b.frameId, 9n);
    assert.equal(b.message.kind, "Status");
    c.close();
  } finally {
    await d.dispose();
  }
}, { timeout: 60_000 });

test("daemon answers F's IpcConnection and the auto control round trip", async () => {
  let d: TestDaemon | null = null;
  try {
    d = await startDaemon();
    const conn = await IpcConnection.connect(d.endpoint);
    await conn.send({ kind: "Ping" });
    assert.deepEqual(await conn.recv(), { kind: "Pong" });
    await conn.sendProst({ kind: "Status" });
    const w = await conn.recvWire();
    assert.equal(w?.lane, "prost");
    assert.equal(w?.requestId, "control-status");
    assert.equal(w?.message.kind, "Status");
    const fid = await conn.sendFrame({ kind: "Ping" });
    const f = await conn.recvFrame();
    assert.equal(f?.lane, "frame");
    assert.equal(f?.frameId, fid);
    assert.deepEqual(f?.message, { kind: "Pong" });
    await conn.close();

    const env = { ...process.env, ZCCACHE_DAEMON_WIRE: "auto" };
    const st = await daemonControlRoundtrip(d.endpoint, { kind: "Status" }, { env });
    assert.equal(st?.kind, "Status");
    const bye = await daemonControlRoundtrip(d.endpoint, { kind: "Shutdown" }, {
      env: { ...env, ZCCACHE_DAEMON_WIRE: "bincode" },
    });
    assert.deepEqual(bye, { kind: "ShuttingDown" });
    assert.equal(await d.exited, 0);
  } finally {
    await d?.dispose();
  }
}, { timeout: 60_000 });
