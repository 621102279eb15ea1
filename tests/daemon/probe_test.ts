/**
 * BackendHandle probe (daemon answer, caller verification) and the daemon's
 * pre-bind probe, over real Unix sockets.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import { encodeEnvelope, rpFrame } from "../../src/core/envelope.ts";

const encodeRpFrame = (init: Parameters<typeof rpFrame>[0]) => encodeEnvelope(rpFrame(init));
import {
  currentDaemonIdentity,
  type DaemonIdentity,
  writeIdentityFile,
} from "../../src/daemon/identity.ts";
import { identityFromProto, identityToProto } from "../../src/daemon/identity_proto.ts";
import {
  answerBackendProbe,
  encodeProbeRequest,
  probeBackendHandle,
  probeExistingDaemon,
  serveBackendProbe,
} from "../../src/daemon/probe.ts";
import { defaultTransport } from "../../src/transport/select.ts";
import type { Listener } from "../../src/transport/types.ts";

/** Protobuf varint, hex. */
function varintHex(n: number): string {
  let out = "";
  while (n >= 0x80) {
    out += ((n & 0x7f) | 0x80).toString(16).padStart(2, "0");
    n >>>= 7;
  }
  return out + n.toString(16).padStart(2, "0");
}

const NONCE = Uint8Array.from({ length: 32 }, (_, i) => i);

function identityFor(path: string): DaemonIdentity {
  return {
    pid: 4242,
    exePath: "/opt/zccache/zccache-daemon",
    exeSha256: new Uint8Array(32).fill(7),
    bootId: "boot",
    ipcEndpoint: { namespaceId: "default", path },
    startedAtUnixMs: 1n,
    idleTimeoutSecs: null,
  };
}

test("encodeProbeRequest() matches the running-process probe bytes for nonce 00..1f", () => {
  const expected = "0132000000" + "0801" + "18b2e402" + "2220" + toHex(NONCE) +
    "28" + "808288" + "98c0a08183" + "07";
  assert.equal(toHex(encodeProbeRequest(NONCE)), expected);
});

test("answerBackendProbe() answers a probe with nonce ++ DaemonProcess, ids and trace echoed", () => {
  const id = identityFor("/run/zccache/sock");
  const req = encodeRpFrame({
    envelopeVersion: 1,
    payloadProtocol: 0xb232,
    payload: NONCE,
    requestId: 77n,
    traceparent: "00-abc-def-01",
    tracestate: "k=v",
  });
  const trailing = new Uint8Array([9, 9]);
  const buf = new Uint8Array(req.length + 2);
  buf.set(req, 0);
  buf.set(trailing, req.length);
  const d = answerBackendProbe(buf, id);
  assert.equal(d.lane, "probe");
  if (d.lane !== "probe") return;
  assert.equal(d.consumed, req.length);
  const dp = identityToProto(id);
  const payload = toHex(NONCE) + toHex(dp);
  const tp = "00-abc-def-01";
  const body = "0801" + "1001" + "18b2e402" +
    "22" + varintHex(32 + dp.length) + payload +
    "284d" + "42" + tp.length.toString(16).padStart(2, "0") + toHex(new TextEncoder().encode(tp)) +
    "4a03" + toHex(new TextEncoder().encode("k=v"));
  const len = body.length / 2;
  const header = "01" + toHex(new Uint8Array(new Uint32Array([len]).buffer));
  assert.equal(toHex(d.response), header + body);
  assert.deepEqual(identityFromProto(fromHex(toHex(dp))), id);
});

test("answerBackendProbe() leaves zccache traffic and FrameV1 for the dispatcher", () => {
  const id = identityFor("/s");
  const cases: Array<[string, Uint8Array, string]> = [
    ["bincode Ping", encodeBincodeFrame("request", { kind: "Ping" }), "zccache"],
    ["short buffer", new Uint8Array([1, 2, 3]), "incomplete"],
    [
      "FrameV1 request",
      encodeFrameV1("request", { kind: "Ping" }, { requestId: "control-ping", frameId: 1n }),
      "zccache",
    ],
    [
      "zccache frame whose len low byte is 0x01",
      fromHex("01010000" + "0f000000"),
      "zccache",
    ],
    [
      "other payload protocol",
      encodeRpFrame({ envelopeVersion: 1, payloadProtocol: 0xad01, payload: NONCE }),
      "error",
    ],
    [
      "probe with a 31-byte nonce",
      encodeRpFrame({ envelopeVersion: 1, payloadProtocol: 0xb232, payload: NONCE.subarray(1) }),
      "error",
    ],
    ["oversized body", fromHex("01ffffffff000000"), "error"],
    ["half a frame", encodeProbeRequest(NONCE).subarray(0, 20), "incomplete"],
  ];
  for (const [name, buf, lane] of cases) {
    assert.equal(answerBackendProbe(buf, id).lane, lane, name);
  }
  assert.equal(answerBackendProbe(new Uint8Array(0), id, { eof: true }).lane, "zccache");
  assert.equal(answerBackendProbe(new Uint8Array([1, 2]), id, { eof: true }).lane, "error");
});

interface ProbeServer {
  path: string;
  served: number;
  close(): Promise<void>;
}

/** A daemon that answers probes on a real socket (what G1's server does). */
async function startProbeServer(path: string, identity: DaemonIdentity): Promise<ProbeServer> {
  const listener: Listener = await defaultTransport().listen(path);
  const state = { served: 0 };
  const loop = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (conn === null) return;
      void (async () => {
        try {
          const r = await serveBackendProbe(conn, identity);
          if (r.served) state.served++;
        } catch {
          // error lane: close without a reply
        } finally {
          await conn.close().catch(() => {});
        }
      })();
    }
  })();
  return {
    path,
    get served() {
      return state.served;
    },
    async close() {
      await listener.close();
      await loop;
    },
  };
}

test("probeBackendHandle() succeeds against a live probe server and checks the identity", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-probe-"));
  const path = join(dir, "d.sock");
  const id = identityFor(path);
  const server = await startProbeServer(path, id);
  try {
    const opts = { env: {}, skipProcessChecks: true };
    assert.equal(await probeBackendHandle(path, id, opts), null);
    assert.equal(
      await probeBackendHandle(path, { ...id, bootId: "other" }, opts),
      "IdentityMismatch",
    );
    assert.equal(
      await probeBackendHandle(path, id, { ...opts, env: { ZCCACHE_DAEMON_NAMESPACE: "ns" } }),
      "EndpointMismatch",
    );
    assert.equal(server.served, 2);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("probeBackendHandle() verifies the live process: pid, exe path and SHA-256", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-probe-"));
  const path = join(dir, "d.sock");
  const id = await currentDaemonIdentity(path, { env: {} });
  const server = await startProbeServer(path, id);
  try {
    assert.equal(await probeBackendHandle(path, id, { env: {}, timeoutMs: 2000 }), null);
    assert.equal(
      await probeBackendHandle(path, { ...id, exeSha256: new Uint8Array(32) }, { env: {} }),
      "VerifyPid",
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, { ignore: process.platform !== "linux", timeout: 30_000 });

test("probeExistingDaemon(): live daemon with identity file -> live via BackendHandle", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-probe-"));
  const path = join(dir, "d.sock");
  const identityPath = join(dir, "daemon.running-process.json");
  const id = identityFor(path);
  writeIdentityFile(identityPath, id);
  const server = await startProbeServer(path, id);
  try {
    const r = await probeExistingDaemon(path, { identityPath, env: {}, skipProcessChecks: true });
    assert.deepEqual(r, { live: true, via: "backend-handle" });
    assert.equal(server.served, 1);
    // RUNNING_PROCESS_DISABLE=1 skips the BackendHandle probe, the legacy one still runs.
    const d = await probeExistingDaemon(path, {
      identityPath,
      env: { RUNNING_PROCESS_DISABLE: "1" },
      skipProcessChecks: true,
    });
    assert.deepEqual(d, { live: true, via: "raw-connect" });
    assert.equal(server.served, 1);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("probeExistingDaemon(): no identity file -> legacy raw-connect probe", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-probe-"));
  const path = join(dir, "d.sock");
  const server = await startProbeServer(path, identityFor(path));
  try {
    const r = await probeExistingDaemon(path, { identityPath: join(dir, "none.json"), env: {} });
    assert.deepEqual(r, { live: true, via: "raw-connect" });
    assert.equal(server.served, 0);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("probeExistingDaemon(): stale socket file -> dead", async () => {
  const dir = mkdtempSync(join(tmpdir(), "zcc-probe-"));
  const path = join(dir, "d.sock");
  try {
    // A socket file left behind by a process that died without unlinking it.
    const py = spawnSync("python3", [
      "-c",
      "import socket,sys;s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1]);import os;os._exit(0)",
      path,
    ]);
    if (py.status !== 0 || !existsSync(path)) writeFileSync(path, "");
    const identityPath = join(dir, "daemon.running-process.json");
    writeIdentityFile(identityPath, identityFor(path));
    const r = await probeExistingDaemon(path, { identityPath, env: {}, skipProcessChecks: true });
    assert.deepEqual(r, { live: false, via: "raw-connect" });
    const lockPath = join(dir, "daemon.lock");
    writeFileSync(lockPath, String(process.pid));
    assert.deepEqual(await probeExistingDaemon(path, { identityPath, lockPath, env: {} }), {
      live: false,
      via: "lock",
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { ignore: process.platform === "win32" });
