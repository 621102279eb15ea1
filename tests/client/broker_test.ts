/**
 * The running-process broker lane: a fake broker on a real Unix socket that
 * speaks the real Hello request/response bytes, fake brokers that fail in
 * each way (all fall back silently), the test seam and the disable switch.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { create, toBinary } from "@bufbuild/protobuf";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { toHex } from "../../src/core/bytes.ts";
import { FrameKind, HelloReplySchema } from "../../src/core/gen/running_process_broker_v1_pb.ts";
import {
  type DaemonConnectRoute,
  daemonControlRoundtrip,
  IpcConnection,
} from "../../src/client/mod.ts";
import { blake3Small, hashTo16Hex } from "../../src/client/_blake3.ts";
import { defaultBrokerEndpoint, encodeHelloRequest } from "../../src/client/broker.ts";
import { encodeEnvelope, rpFrame } from "../../src/core/envelope.ts";

const encodeRpFrame = (init: Parameters<typeof rpFrame>[0]) => encodeEnvelope(rpFrame(init));
import { defaultTransport } from "../../src/transport/select.ts";
import type { Conn, Listener } from "../../src/transport/types.ts";
import { startTestDaemon, type TestDaemon } from "./_v15_daemon.ts";

const ascii = (s: string) => toHex(new TextEncoder().encode(s));

test("encodeHelloRequest() is byte-identical to the 1.12.2 Hello for PID 4242", () => {
  const expected = "013f000000" + "0801" + "2239" +
    "08011001" + "1a07" + ascii("zccache") + "2206" + ascii("1.12.2") + "3001" +
    "4205" + ascii("hello") + "509221" + "5a0f" + ascii("running-process") + "6205" +
    ascii("4.4.0") + "2801";
  assert.equal(toHex(encodeHelloRequest(4242)), expected);
});

test("blake3Small() matches the BLAKE3 reference vectors", () => {
  assert.equal(
    toHex(blake3Small(new Uint8Array(0))),
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  );
  const input = Uint8Array.from({ length: 1023 }, (_, i) => i % 251);
  assert.equal(toHex(blake3Small(input)).slice(0, 16), "10108970eeda3eb9");
  assert.equal(hashTo16Hex(new TextEncoder().encode("abc")), "6437b3ac38465133");
});

type BrokerMode =
  | "ok"
  | "garbage"
  | "wrong-kind"
  | "wrong-protocol"
  | "refused"
  | "missing-result"
  | "empty-pipe"
  | "close"
  | "slow";

interface FakeBroker {
  received: Uint8Array[];
  readonly accepted: number;
  close(): Promise<void>;
}

function negotiatedReply(backendPipe: string): Uint8Array {
  return toBinary(
    HelloReplySchema,
    create(HelloReplySchema, {
      result: {
        case: "negotiated",
        value: {
          negotiatedProtocol: 1,
          daemonVersion: "1.12.2",
          backendPipe,
          keepaliveIntervalSecs: 1800n,
          serverCapabilities: 1n,
        },
      },
    }),
  );
}

async function startBroker(
  path: string,
  mode: BrokerMode,
  backendPipe: string,
): Promise<FakeBroker> {
  mkdirSync(dirname(path), { recursive: true });
  const listener: Listener = await defaultTransport().listen(path);
  const received: Uint8Array[] = [];
  const open: Conn[] = [];
  let accepted = 0;
  const serve = async (conn: Conn, index: number) => {
    let buf = new Uint8Array(0);
    // Read the whole Hello (5-byte header + body).
    while (buf.length < 5 || buf.length < 5 + new DataView(buf.buffer).getUint32(1, true)) {
      const c = await conn.read();
      if (c === null) return;
      const next = new Uint8Array(buf.length + c.length);
      next.set(buf, 0);
      next.set(c, buf.length);
      buf = next;
      received[index] = buf;
    }
    const reply = (payload: Uint8Array, kind = FrameKind.RESPONSE, payloadProtocol = 0) =>
      encodeRpFrame({ envelopeVersion: 1, kind, payloadProtocol, payload, requestId: 1n });
    switch (mode) {
      case "ok":
        await conn.write(reply(negotiatedReply(backendPipe)));
        break;
      case "garbage":
        await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
        break;
      case "wrong-kind":
        await conn.write(reply(negotiatedReply(backendPipe), FrameKind.REQUEST));
        break;
      case "wrong-protocol":
        await conn.write(reply(negotiatedReply(backendPipe), FrameKind.RESPONSE, 0xb232));
        break;
      case "refused":
        await conn.write(reply(toBinary(
          HelloReplySchema,
          create(HelloReplySchema, {
            result: { case: "refused", value: { reason: "no servicedef", code: 2 } },
          }),
        )));
        break;
      case "missing-result":
        await conn.write(reply(new Uint8Array(0)));
        break;
      case "empty-pipe":
        await conn.write(reply(negotiatedReply("")));
        break;
      case "close":
        break;
      case "slow":
        return; // keep the connection open, never answer
    }
    await conn.close();
  };
  const loop = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (conn === null) return;
      open.push(conn);
      received[accepted] = new Uint8Array(0);
      void serve(conn, accepted++).catch(() => {});
    }
  })();
  return {
    received,
    get accepted() {
      return accepted;
    },
    async close() {
      await listener.close();
      await loop;
      for (const c of open) await c.close().catch(() => {});
    },
  };
}

interface World {
  dir: string;
  env: Record<string, string | undefined>;
  brokerPath: string;
  direct: TestDaemon;
  backend: TestDaemon;
  close(): Promise<void>;
}

async function world(extraEnv: Record<string, string | undefined> = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "zcc-brk-"));
  const env = { XDG_RUNTIME_DIR: dir, ZCCACHE_TS_BROKER_TIMEOUT_MS: "300", ...extraEnv };
  const brokerPath = defaultBrokerEndpoint(env);
  assert.ok(brokerPath !== null, "this host must yield a broker endpoint");
  assert.ok(brokerPath.startsWith(join(dir, "running-process", "broker", "rpb-v1-")));
  assert.ok(brokerPath.endsWith("-shared.sock"));
  const direct = await startTestDaemon(join(dir, "direct.sock"), ["dual"]);
  const backend = await startTestDaemon(join(dir, "backend.sock"), ["dual"]);
  return {
    dir,
    env,
    brokerPath,
    direct,
    backend,
    async close() {
      await direct.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Connect through connectDaemon, Ping, and report the route. */
async function pingVia(
  w: World,
  env: Record<string, string | undefined>,
): Promise<DaemonConnectRoute> {
  const conn = await IpcConnection.connect(w.direct.path, { env });
  try {
    await conn.send({ kind: "Ping" });
    assert.deepEqual(await conn.recv(5000), { kind: "Pong" });
    return conn.route;
  } finally {
    await conn.close();
  }
}

const unixOnly = process.platform === "win32" || process.platform === "darwin";

test("broker lane: Hello negotiates the backend and the data goes there", async () => {
  const w = await world();
  const broker = await startBroker(w.brokerPath, "ok", w.backend.path);
  try {
    const route = await pingVia(w, { ...w.env, ZCCACHE_BROKER_CONNECT: "1" });
    assert.deepEqual(route, {
      kind: "Broker",
      route: "BrokerNegotiated",
      endpoint: w.backend.path,
    });
    assert.equal(toHex(broker.received[0]), toHex(encodeHelloRequest(process.pid)));
    assert.equal(w.backend.accepted, 1);
    assert.equal(w.direct.accepted, 0);
    assert.equal(toHex(w.backend.received[0]), "080000000f00000000000000");
  } finally {
    await broker.close();
    await w.close();
  }
}, { ignore: unixOnly });

test(
  "broker route: control requests go as FrameV1 frame id 1, ZCCACHE_DAEMON_WIRE ignored",
  async () => {
    const w = await world();
    const broker = await startBroker(w.brokerPath, "ok", w.backend.path);
    try {
      const golden = loadVectors().frame.find((f) => f.name === "frame_req_status_control_id_1")!;
      const reply = await daemonControlRoundtrip(w.direct.path, { kind: "Status" }, {
        env: { ...w.env, ZCCACHE_BROKER_CONNECT: "1", ZCCACHE_DAEMON_WIRE: "bincode" },
      });
      assert.equal(reply?.kind, "Status");
      assert.equal(toHex(w.backend.received[0]), golden.frame_hex);
      assert.equal(w.direct.accepted, 0);
    } finally {
      await broker.close();
      await w.close();
    }
  },
  { ignore: unixOnly },
);

const failures: BrokerMode[] = [
  "garbage",
  "wrong-kind",
  "wrong-protocol",
  "refused",
  "missing-result",
  "empty-pipe",
  "close",
  "slow",
];
for (const mode of failures) {
  test(
    `broker lane: a broker that answers "${mode}" falls back to the direct connect`,
    async () => {
      const w = await world();
      const broker = await startBroker(w.brokerPath, mode, w.backend.path);
      try {
        const route = await pingVia(w, { ...w.env, ZCCACHE_BROKER_CONNECT: "1" });
        assert.deepEqual(route, { kind: "Direct" });
        assert.equal(broker.accepted, 1);
        assert.equal(w.direct.accepted, 1);
        assert.equal(w.backend.accepted, 0);
      } finally {
        await broker.close();
        await w.close();
      }
    },
    { ignore: unixOnly },
  );
}

test("broker lane: no broker listening (refused) falls back to the direct connect", async () => {
  const w = await world();
  try {
    const route = await pingVia(w, { ...w.env, ZCCACHE_BROKER_CONNECT: "1" });
    assert.deepEqual(route, { kind: "Direct" });
    assert.equal(w.direct.accepted, 1);
  } finally {
    await w.close();
  }
}, { ignore: unixOnly });

test("broker lane: a broker-side failure never hides the direct connect's own error", async () => {
  const w = await world();
  try {
    await assert.rejects(
      IpcConnection.connect(join(w.dir, "nothing.sock"), {
        env: { ...w.env, ZCCACHE_BROKER_CONNECT: "1" },
      }),
      (e: unknown) => (e as { code?: string }).code === "DaemonUnreachable",
    );
  } finally {
    await w.close();
  }
});

test("broker lane: only ZCCACHE_BROKER_CONNECT=1 exactly requests it", async () => {
  const w = await world();
  const broker = await startBroker(w.brokerPath, "ok", w.backend.path);
  try {
    for (const v of ["true", "yes", "", "01"]) {
      assert.deepEqual(await pingVia(w, { ...w.env, ZCCACHE_BROKER_CONNECT: v }), {
        kind: "Direct",
      });
    }
    assert.equal(broker.accepted, 0);
  } finally {
    await broker.close();
    await w.close();
  }
}, { ignore: unixOnly });

test("RUNNING_PROCESS_DISABLE=1 bypasses the broker lane and the seam", async () => {
  const w = await world();
  const broker = await startBroker(w.brokerPath, "ok", w.backend.path);
  try {
    const route = await pingVia(w, {
      ...w.env,
      ZCCACHE_BROKER_CONNECT: "1",
      RUNNING_PROCESS_FAKE_BACKEND: w.backend.path,
      RUNNING_PROCESS_DISABLE: "1",
    });
    assert.deepEqual(route, { kind: "Direct" });
    assert.equal(broker.accepted, 0);
    assert.equal(w.backend.accepted, 0);
  } finally {
    await broker.close();
    await w.close();
  }
}, { ignore: unixOnly });

test(
  "RUNNING_PROCESS_DISABLE other than 1 fails running-process's parser: silent direct",
  async () => {
    const w = await world();
    const broker = await startBroker(w.brokerPath, "ok", w.backend.path);
    try {
      const route = await pingVia(w, {
        ...w.env,
        ZCCACHE_BROKER_CONNECT: "1",
        RUNNING_PROCESS_DISABLE: "0",
      });
      assert.deepEqual(route, { kind: "Direct" });
      assert.equal(broker.accepted, 0);
    } finally {
      await broker.close();
      await w.close();
    }
  },
  { ignore: unixOnly },
);

test("RUNNING_PROCESS_FAKE_BACKEND seam: resolution dial, then data to the seam (HelloSkip)", async () => {
  const w = await world();
  try {
    const route = await pingVia(w, { ...w.env, RUNNING_PROCESS_FAKE_BACKEND: w.backend.path });
    assert.deepEqual(route, { kind: "Broker", route: "HelloSkip", endpoint: w.backend.path });
    assert.equal(w.backend.accepted, 2);
    assert.equal(w.backend.received[0].length, 0); // the dropped resolution dial
    assert.equal(toHex(w.backend.received[1]), "080000000f00000000000000");
    assert.equal(w.direct.accepted, 0);
  } finally {
    await w.close();
  }
});

test("RUNNING_PROCESS_FAKE_BACKEND to a missing endpoint falls back to direct", async () => {
  const w = await world();
  try {
    const route = await pingVia(w, {
      ...w.env,
      RUNNING_PROCESS_FAKE_BACKEND: join(w.dir, "missing.sock"),
    });
    assert.deepEqual(route, { kind: "Direct" });
    assert.equal(w.direct.accepted, 1);
  } finally {
    await w.close();
  }
});
