/**
 * IpcConnection over the in-memory transport and a real Unix socket.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { toHex } from "../../src/core/bytes.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { decodeWireMessage } from "../../src/core/wire.ts";
import { IpcConnection } from "../../src/client/mod.ts";
import { MemoryTransport } from "../../src/transport/memory.ts";
import { defaultTransport } from "../../src/transport/select.ts";
import type { Conn, Transport } from "../../src/transport/types.ts";

interface Setup {
  transport: Transport;
  path: string;
  cleanup: () => void;
}

const setups: Array<[string, () => Setup]> = [
  [
    "memory",
    () => ({ transport: new MemoryTransport(), path: "/mem/daemon.sock", cleanup: () => {} }),
  ],
  ["unix socket", () => {
    const dir = mkdtempSync(join(tmpdir(), "zcc-ipc-"));
    return {
      transport: defaultTransport(),
      path: join(dir, "d.sock"),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }],
];

/** Connect a client and accept its server side. */
async function pair(
  s: Setup,
): Promise<{ client: IpcConnection; server: Conn; stop: () => Promise<void> }> {
  const listener = await s.transport.listen(s.path);
  const accepted = listener.accept();
  const client = await IpcConnection.connect(s.path, { transport: s.transport, env: {} });
  const server = (await accepted)!;
  return {
    client,
    server,
    stop: async () => {
      await client.close();
      await server.close().catch(() => {});
      await listener.close();
      s.cleanup();
    },
  };
}

/** Read from the server side until `n` bytes arrived. */
async function readN(conn: Conn, n: number): Promise<Uint8Array> {
  let buf = new Uint8Array(0);
  while (buf.length < n) {
    const c = await conn.read();
    if (c === null) break;
    const next = new Uint8Array(buf.length + c.length);
    next.set(buf, 0);
    next.set(c, buf.length);
    buf = next;
  }
  return buf;
}

for (const [name, make] of setups) {
  test(`IpcConnection.send()/recv() round-trip bincode v15 (${name})`, async () => {
    const { client, server, stop } = await pair(make());
    try {
      await client.send({ kind: "Ping" });
      assert.equal(toHex(await readN(server, 12)), "080000000f00000000000000");
      // Two replies in one write, then one split across writes.
      const pong = encodeBincodeFrame("response", { kind: "Pong" });
      const err = encodeBincodeFrame("response", { kind: "Error", message: "x".repeat(300) });
      const both = new Uint8Array(pong.length + err.length);
      both.set(pong, 0);
      both.set(err, pong.length);
      await server.write(both.subarray(0, 20));
      await server.write(both.subarray(20));
      assert.deepEqual(await client.recv(), { kind: "Pong" });
      assert.deepEqual(await client.recv(), { kind: "Error", message: "x".repeat(300) });
    } finally {
      await stop();
    }
  });

  test(`IpcConnection.recv() rejects a prost reply as VersionMismatch{15,16} (${name})`, async () => {
    const { client, server, stop } = await pair(make());
    try {
      await server.write(encodeProstFrame("response", { kind: "Pong" }, "control-ping"));
      await server.write(encodeBincodeFrame("response", { kind: "ShuttingDown" }));
      await assert.rejects(
        client.recv(),
        (e: unknown) =>
          isZccacheError(e, "VersionMismatch") && e.expected === 15 && e.received === 16,
      );
      // The bad frame was consumed; the next one decodes.
      assert.deepEqual(await client.recv(), { kind: "ShuttingDown" });
    } finally {
      await stop();
    }
  });

  test(`IpcConnection.sendProst()/recvWire() accept every lane (${name})`, async () => {
    const { client, server, stop } = await pair(make());
    try {
      await client.sendProst({ kind: "Status" });
      const got = decodeWireMessage(await readN(server, 0x17 + 4), "request");
      assert.equal(got?.lane, "prost");
      assert.equal(got?.requestId, "control-status");
      await client.sendProst({ kind: "Ping" }, "my-id");
      assert.equal(
        decodeWireMessage(await readN(server, 8 + 2 + 3 + 5), "request")?.requestId,
        "my-id",
      );
      await server.write(encodeProstFrame("response", { kind: "Pong" }, "control-status"));
      await server.write(encodeBincodeFrame("response", { kind: "Pong" }));
      await server.write(
        encodeFrameV1("response", { kind: "Pong" }, { requestId: "f", frameId: 9n }),
      );
      assert.deepEqual(await client.recvWire(), {
        lane: "prost",
        message: { kind: "Pong" },
        requestId: "control-status",
      });
      assert.deepEqual(await client.recvWire(), { lane: "bincode", message: { kind: "Pong" } });
      const f = await client.recvWire();
      assert.equal(f?.lane, "frame");
      assert.equal(f?.frameId, 9n);
      assert.equal(f?.frameKind, "response");
    } finally {
      await stop();
    }
  });

  test(`IpcConnection.sendFrame() numbers frames 1, 2, 3 on one connection (${name})`, async () => {
    const { client, server, stop } = await pair(make());
    try {
      const ids: bigint[] = [];
      for (let i = 0; i < 3; i++) ids.push(await client.sendFrame({ kind: "Ping" }));
      assert.deepEqual(ids, [1n, 2n, 3n]);
      let buf = new Uint8Array(0);
      const seen: bigint[] = [];
      while (seen.length < 3) {
        const d = decodeWireMessage(buf, "request");
        if (d) {
          assert.equal(d.lane, "frame");
          assert.equal(d.requestId, "control-ping");
          seen.push(d.frameId!);
          await server.write(
            encodeFrameV1("response", { kind: "Pong" }, {
              requestId: d.requestId!,
              frameId: d.frameId!,
            }),
          );
          buf = buf.subarray(d.consumed);
          continue;
        }
        const c = (await server.read())!;
        const next = new Uint8Array(buf.length + c.length);
        next.set(buf, 0);
        next.set(c, buf.length);
        buf = next;
      }
      assert.deepEqual(seen, [1n, 2n, 3n]);
      for (const id of [1n, 2n, 3n]) {
        const r = await client.recvFrame();
        assert.equal(r?.frameId, id);
        assert.deepEqual(r?.message, { kind: "Pong" });
      }
    } finally {
      await stop();
    }
  });

  test(`IpcConnection receive timeout keeps buffered bytes (${name})`, async () => {
    const { client, server, stop } = await pair(make());
    try {
      const pong = encodeBincodeFrame("response", { kind: "Pong" });
      await server.write(pong.subarray(0, 5));
      await assert.rejects(
        client.recv(50),
        (e: unknown) => isZccacheError(e, "Timeout") && /recv timed out after 50ms/.test(e.message),
      );
      client.setRecvTimeout(60);
      await assert.rejects(client.recvWire(), (e: unknown) => isZccacheError(e, "Timeout"));
      await server.write(pong.subarray(5));
      assert.deepEqual(await client.recv(5000), { kind: "Pong" });
    } finally {
      await stop();
    }
  });

  test(`IpcConnection: EOF mid-frame is ConnectionClosed, clean EOF is null (${name})`, async () => {
    const a = await pair(make());
    try {
      await a.server.write(encodeBincodeFrame("response", { kind: "Pong" }).subarray(0, 7));
      await a.server.close();
      await assert.rejects(a.client.recv(), (e: unknown) => isZccacheError(e, "ConnectionClosed"));
    } finally {
      await a.stop();
    }
    const b = await pair(make());
    try {
      await b.server.write(encodeBincodeFrame("response", { kind: "Pong" }));
      await b.server.close();
      assert.deepEqual(await b.client.recvWire(), { lane: "bincode", message: { kind: "Pong" } });
      assert.equal(await b.client.recvWire(), null);
      assert.equal(await b.client.recv(), null);
    } finally {
      await b.stop();
    }
  });
}

test("IpcConnection.connect() to a missing socket is DaemonUnreachable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-ipc-"));
  try {
    await assert.rejects(
      IpcConnection.connect(join(dir, "missing.sock"), { env: {} }),
      (e: unknown) => isZccacheError(e, "DaemonUnreachable"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
