/**
 * Scripted test daemons on a real Unix socket, for the client
 * compatibility harness (as zccache's tests/daemon_wire_protocol_version.rs).
 *
 * Each accepted connection gets the next behaviour of `script` (the last one
 * repeats) and every byte it receives is recorded, so tests can assert on
 * exactly what the client sent:
 *
 * - `"v15"`: a bincode-only 1.11.21-style daemon. It decodes with the
 *   bincode-only decoder; a frame with any other header gets the exact
 *   `reply_1_11_21_daemon_got_v16` reply from the golden vectors, then the
 *   connection is closed. Bincode requests get bincode answers.
 * - `"prost"`: a v16-only daemon: answers every request with a prost frame.
 * - `"dual"`: answers on the lane the request came in (bincode, prost, FrameV1).
 * - `"close"`: reads the first whole frame, then closes without replying.
 * - `"v99"`: answers with a frame whose header version is 99.
 *
 * @module
 */
import { decodeBincodeFrame, encodeBincodeFrame } from "../../src/core/bincode.ts";
import { fromHex } from "../../src/core/bytes.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";
import { fromJsonValue } from "../../src/core/json_value.ts";
import type { Request, Response } from "../../src/core/messages.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { decodeWireMessage } from "../../src/core/wire.ts";
import { defaultTransport } from "../../src/transport/select.ts";
import type { Conn, Listener, Transport } from "../../src/transport/types.ts";
import { loadVectors } from "../_vectors.ts";

/** What a scripted connection does. */
export type Behaviour = "v15" | "prost" | "dual" | "close" | "v99";

/** A running scripted daemon. */
export interface TestDaemon {
  /** Socket path. */
  path: string;
  /** Bytes received, per accepted connection, in accept order. */
  received: Uint8Array[];
  /** Number of accepted connections. */
  readonly accepted: number;
  /** Stop accepting and close every connection. */
  close(): Promise<void>;
}

/** The `reply_1_11_21_daemon_got_v16` frame: a v15-only daemon rejecting v16. */
export function v15OnlyMismatchReply(): Uint8Array {
  const v = loadVectors().replies.find((r) => r.name === "reply_1_11_21_daemon_got_v16");
  if (!v) throw new Error("vector reply_1_11_21_daemon_got_v16 missing");
  return fromHex((v as { frame_hex: string }).frame_hex);
}

/** A realistic `Status` response (from the golden vectors). */
export function sampleStatusResponse(): Response {
  const v = loadVectors().bincode.find((b) => b.name === "bincode_resp_status_shared_daemon");
  if (!v) throw new Error("vector bincode_resp_status_shared_daemon missing");
  return fromJsonValue("response", v.value);
}

/** The daemon's answer to a request (enough for control traffic). */
export function answer(req: Request): Response {
  switch (req.kind) {
    case "Ping":
      return { kind: "Pong" };
    case "Shutdown":
      return { kind: "ShuttingDown" };
    case "Status":
      return sampleStatusResponse();
    case "Clear":
      return {
        kind: "Cleared",
        artifactsRemoved: 1n,
        metadataCleared: 2n,
        depGraphContextsCleared: 3n,
        onDiskBytesFreed: 4n,
      };
    case "ReleaseWorktreeHandles":
      return {
        kind: "ReleaseWorktreeHandlesResult",
        inspected: 2,
        released: 1,
        sessionsDropped: ["s1"],
        unreleased: [req.path],
      };
    default:
      return { kind: "Error", message: `unsupported in test daemon: ${req.kind}` };
  }
}

function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

async function serve(conn: Conn, behaviour: Behaviour, record: (b: Uint8Array) => void) {
  let buf: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      // Try to take one request from the buffer.
      if (buf.length > 0) {
        if (behaviour === "v15") {
          let r;
          try {
            r = decodeBincodeFrame(buf, "request");
          } catch (e) {
            const consumed = (e as { consumed?: number }).consumed ?? 0;
            if ((e as { code?: string }).code === "VersionMismatch" && consumed > 0) {
              await conn.write(v15OnlyMismatchReply());
              return;
            }
            if (consumed === 0 && buf.length < 4) r = null;
            else return;
          }
          if (r) {
            buf = buf.subarray(r.consumed);
            await conn.write(encodeBincodeFrame("response", answer(r.message)));
            continue;
          }
        } else {
          let d;
          try {
            d = decodeWireMessage(buf, "request");
          } catch {
            return;
          }
          if (d) {
            buf = buf.subarray(d.consumed);
            if (behaviour === "close") return;
            const resp = answer(d.message);
            if (behaviour === "v99") {
              const f = encodeBincodeFrame("response", resp);
              new DataView(f.buffer, f.byteOffset).setUint32(4, 99, true);
              await conn.write(f);
            } else if (behaviour === "prost" || d.lane === "prost") {
              await conn.write(encodeProstFrame("response", resp, d.requestId ?? "control-ping"));
            } else if (d.lane === "frame") {
              await conn.write(
                encodeFrameV1("response", resp, {
                  requestId: d.requestId ?? "",
                  frameId: d.frameId ?? 0n,
                  frameKind: "response",
                }),
              );
            } else {
              await conn.write(encodeBincodeFrame("response", resp));
            }
            continue;
          }
        }
      }
      const chunk = await conn.read();
      if (chunk === null) return;
      record(chunk);
      buf = append(buf, chunk);
    }
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Start a scripted daemon on `path` (a fresh socket path in a temp dir). */
export async function startTestDaemon(
  path: string,
  script: Behaviour[],
  transport: Transport = defaultTransport(),
): Promise<TestDaemon> {
  const listener: Listener = await transport.listen(path);
  const received: Uint8Array[] = [];
  const conns: Promise<void>[] = [];
  let accepted = 0;
  const loop = (async () => {
    for (;;) {
      const conn = await listener.accept().catch(() => null);
      if (conn === null) return;
      const index = accepted++;
      received[index] = new Uint8Array(0);
      const behaviour = script[Math.min(index, script.length - 1)];
      conns.push(serve(conn, behaviour, (b) => {
        received[index] = append(received[index], b);
      }));
    }
  })();
  return {
    path,
    received,
    get accepted() {
      return accepted;
    },
    async close() {
      await listener.close();
      await loop;
      await Promise.allSettled(conns);
    },
  };
}
