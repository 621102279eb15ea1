/**
 * Compatibility harness for the control round trip (zccache
 * tests/daemon_wire_protocol_version.rs and ipc/mod_tests.rs twins), over
 * real Unix sockets.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { toHex } from "../../src/core/bytes.ts";
import { isZccacheError } from "../../src/core/errors.ts";
import { daemonRequest } from "../../src/client/control.ts";
import { pingDaemon } from "../../src/client/spawn.ts";
import {
  daemonControlRoundtrip,
  IpcConnection,
  parseWireSelection,
  releaseWorktreeHandles,
} from "../../src/client/mod.ts";
import {
  type Behaviour,
  sampleStatusResponse,
  startTestDaemon,
  type TestDaemon,
} from "./_v15_daemon.ts";

const PROST_PING = "15000000100000000a00a2060c" + toHex(new TextEncoder().encode("control-ping"));
const BINCODE_PING = "080000000f00000000000000";
const BINCODE_STATUS = "080000000f00000002000000";
const PROST_STATUS = "17000000100000001a00a2060e" +
  toHex(new TextEncoder().encode("control-status"));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "zcc-ctl-"));
}

async function withDaemon(
  script: Behaviour[],
  fn: (d: TestDaemon) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const d = await startTestDaemon(join(dir, "daemon.sock"), script);
  try {
    await fn(d);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const AUTO = {} as Record<string, string | undefined>;

test("auto client falls back to bincode against a v15-only daemon (Ping)", async () => {
  await withDaemon(["v15"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Ping" }, { env: AUTO });
    assert.deepEqual(reply, { kind: "Pong" });
    assert.equal(d.accepted, 2);
    // The first bytes were a prost v16 frame with the control request id...
    assert.equal(toHex(d.received[0]), PROST_PING);
    // ...and the retry is the same request as a bincode v15 frame.
    assert.equal(toHex(d.received[1]), BINCODE_PING);
  });
});

test("auto client falls back to bincode against a v15-only daemon (Status)", async () => {
  await withDaemon(["v15"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Status" }, { env: AUTO });
    assert.deepEqual(reply, sampleStatusResponse());
    assert.equal(toHex(d.received[0]), PROST_STATUS);
    assert.equal(toHex(d.received[1]), BINCODE_STATUS);
  });
});

test("the v15-only daemon's rejection is byte-identical to reply_1_11_21_daemon_got_v16", async () => {
  await withDaemon(["v15"], async (d) => {
    const conn = await IpcConnection.connect(d.path);
    await conn.sendProst({ kind: "Ping" });
    const r = await conn.recvWire(5000);
    assert.equal(r?.lane, "bincode");
    assert.equal(r?.message.kind, "Error");
    const v = loadVectors().replies.find((x) =>
      x.name === "reply_1_11_21_daemon_got_v16"
    ) as unknown as {
      value: { Error: { message: string } };
      trigger_hex: string;
      auto_fallback: { retry_request_hex: string };
    };
    assert.equal((r!.message as { message: string }).message, v.value.Error.message);
    assert.equal(toHex(d.received[0]), v.trigger_hex);
    assert.equal(await conn.recvWire(5000), null); // the daemon closed
    await conn.close();
  });
});

test("auto client falls back when the daemon closes with no reply", async () => {
  await withDaemon(["close", "dual"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Ping" }, { env: AUTO });
    assert.deepEqual(reply, { kind: "Pong" });
    assert.equal(d.accepted, 2);
    assert.equal(toHex(d.received[1]), BINCODE_PING);
  });
});

test("auto client falls back on a reply with an unknown header version", async () => {
  await withDaemon(["v99", "dual"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Clear" }, { env: AUTO });
    assert.equal(reply?.kind, "Cleared");
    assert.equal(d.accepted, 2);
    assert.equal(toHex(d.received[1]), "080000000f00000008000000");
  });
});

test("auto client against a dual daemon gets the prost reply with no retry", async () => {
  await withDaemon(["dual"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Status" }, { env: AUTO });
    assert.deepEqual(reply, sampleStatusResponse());
    assert.equal(d.accepted, 1);
  });
});

test("forced prost never falls back", async () => {
  await withDaemon(["v15"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Ping" }, {
      env: { ZCCACHE_DAEMON_WIRE: "prost" },
    });
    assert.equal(reply?.kind, "Error");
    assert.match((reply as { message: string }).message, /protocol version mismatch/);
    assert.equal(d.accepted, 1);
  });
});

test("forced prost surfaces a no-reply close as null", async () => {
  await withDaemon(["close"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Ping" }, {
      env: { ZCCACHE_DAEMON_WIRE: "v16" },
    });
    assert.equal(reply, null);
    assert.equal(d.accepted, 1);
  });
});

test("forced bincode never sends prost", async () => {
  await withDaemon(["dual"], async (d) => {
    for (const req of [{ kind: "Ping" }, { kind: "Status" }] as const) {
      const reply = await daemonControlRoundtrip(d.path, req, {
        env: { ZCCACHE_DAEMON_WIRE: " Bincode-V15 " },
      });
      assert.ok(reply !== null);
    }
    assert.equal(d.accepted, 2);
    assert.equal(toHex(d.received[0]), BINCODE_PING);
    assert.equal(toHex(d.received[1]), BINCODE_STATUS);
  });
});

test("forced bincode receives a prost reply as VersionMismatch{15,16}", async () => {
  await withDaemon(["prost"], async (d) => {
    await assert.rejects(
      daemonControlRoundtrip(d.path, { kind: "Ping" }, { env: { ZCCACHE_DAEMON_WIRE: "v15" } }),
      (e: unknown) =>
        isZccacheError(e, "VersionMismatch") && e.expected === 15 && e.received === 16,
    );
  });
});

test("forced frame sends FrameV1 with frame id 1 and no fallback", async () => {
  const golden = loadVectors().frame.find((f) => f.name === "frame_req_status_control_id_1")!;
  await withDaemon(["dual"], async (d) => {
    const reply = await daemonControlRoundtrip(d.path, { kind: "Status" }, {
      env: { ZCCACHE_DAEMON_WIRE: "frame" },
    });
    assert.deepEqual(reply, sampleStatusResponse());
    assert.equal(toHex(d.received[0]), golden.frame_hex);
  });
  await withDaemon(["v15"], async (d) => {
    // A v15-only daemon reads `01 1d 00 00` as a 7425-byte length and waits
    // for the rest; the client times out and no bincode retry happens.
    await assert.rejects(
      daemonControlRoundtrip(d.path, { kind: "Ping" }, {
        env: { ZCCACHE_DAEMON_WIRE: "frame-v1" },
        timeoutMs: 200,
      }),
      (e: unknown) => isZccacheError(e, "Timeout"),
    );
    assert.equal(d.accepted, 1);
  });
});

test("a receive timeout is returned, not retried", async () => {
  await withDaemon(["v15"], async (d) => {
    // Half a bincode frame: the daemon waits for the rest and never replies.
    const conn = await IpcConnection.connect(d.path, { recvTimeoutMs: 100 });
    await conn.sendRaw(new Uint8Array([0x20, 0, 0, 0, 0x0f, 0, 0, 0]));
    await assert.rejects(conn.recv(), (e: unknown) => isZccacheError(e, "Timeout"));
    await conn.close();
  });
});

test("invalid ZCCACHE_DAEMON_WIRE is an Endpoint error with zccache's text", async () => {
  await assert.rejects(
    daemonControlRoundtrip("/nonexistent/zccache.sock", { kind: "Ping" }, {
      env: { ZCCACHE_DAEMON_WIRE: " JSON " },
    }),
    (e: unknown) =>
      isZccacheError(e, "Endpoint") &&
      e.message === 'invalid ZCCACHE_DAEMON_WIRE="json"; expected auto, bincode, prost, or frame',
  );
  assert.equal(parseWireSelection(undefined), "auto");
  assert.equal(parseWireSelection(""), "auto");
  assert.equal(parseWireSelection("V16"), "prost");
});

test("a missing endpoint is DaemonUnreachable and not retried", async () => {
  const dir = tempDir();
  try {
    await assert.rejects(
      daemonControlRoundtrip(join(dir, "none.sock"), { kind: "Ping" }, { env: AUTO }),
      (e: unknown) => isZccacheError(e, "DaemonUnreachable"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("releaseWorktreeHandles sends direct v16 prost and gets the prost result", async () => {
  const golden = loadVectors().prost.find((p) => p.name === "prost_req_release_worktree_handles")!;
  await withDaemon(["dual"], async (d) => {
    const path = "/work/tree";
    const reply = await releaseWorktreeHandles(d.path, path, { env: AUTO });
    assert.deepEqual(reply, {
      kind: "ReleaseWorktreeHandlesResult",
      inspected: 2,
      released: 1,
      sessionsDropped: ["s1"],
      unreleased: [path],
    });
    const sent = d.received[0];
    assert.equal(new DataView(sent.buffer, sent.byteOffset).getUint32(4, true), 16);
    assert.ok(
      toHex(sent).includes(toHex(new TextEncoder().encode("control-release-worktree-handles"))),
    );
    assert.equal(golden.request_id, "control-release-worktree-handles");
  });
});

test("releaseWorktreeHandles falls back to bincode against a v15-only daemon", async () => {
  await withDaemon(["v15"], async (d) => {
    const reply = await releaseWorktreeHandles(d.path, "/w", { env: AUTO });
    assert.equal(reply?.kind, "ReleaseWorktreeHandlesResult");
    assert.equal(d.accepted, 2);
  });
});

test("daemonRequest: a control request takes the auto fallback, as daemonControlRoundtrip", async () => {
  await withDaemon(["v15"], async (d) => {
    const reply = await daemonRequest(d.path, { kind: "Status" }, { env: AUTO });
    assert.deepEqual(reply, sampleStatusResponse());
    assert.equal(toHex(d.received[0]), PROST_STATUS);
    assert.equal(toHex(d.received[1]), BINCODE_STATUS);
  });
});

test("daemonRequest: a non-control request is one bincode frame in auto (no fallback)", async () => {
  await withDaemon(["dual"], async (d) => {
    const reply = await daemonRequest(d.path, { kind: "SessionStats", sessionId: "s1" }, {
      env: AUTO,
    });
    assert.equal(reply?.kind, "Error"); // the scripted daemon knows only control traffic
    assert.equal(d.accepted, 1);
    assert.equal(
      new DataView(d.received[0].buffer, d.received[0].byteOffset).getUint32(4, true),
      15,
    );
  });
});

test("daemonRequest: a pinned wire ignores ZCCACHE_DAEMON_WIRE (lifecycle probes: bincode)", async () => {
  await withDaemon(["v15"], async (d) => {
    const env = { ZCCACHE_DAEMON_WIRE: "bogus" };
    await assert.rejects(
      daemonRequest(d.path, { kind: "Ping" }, { env }),
      (e: unknown) => isZccacheError(e, "Endpoint"),
    );
    const reply = await daemonRequest(d.path, { kind: "Ping" }, { env, wire: "bincode" });
    assert.deepEqual(reply, { kind: "Pong" });
    assert.ok(await pingDaemon(d.path, 2_000, env));
    assert.equal(d.accepted, 2);
    assert.equal(toHex(d.received[0]), BINCODE_PING);
  });
});
