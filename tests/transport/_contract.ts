/**
 * The Conn/Listener/Transport contract, written once and run for every
 * adapter (real Unix sockets for deno/bun/node, the in-memory transport).
 */

import assert from "node:assert/strict";
import { isZccacheError } from "../../src/core/errors.ts";
import { osErrorCode } from "../../src/transport/errors.ts";
import { removeStaleSocket } from "../../src/transport/fs_perms.ts";
import type { Conn, Listener, Transport } from "../../src/transport/types.ts";
import { test } from "../_harness.ts";

/** How to exercise one adapter. */
export interface ContractSubject {
  /** Label used in test names, e.g. "deno" or "node under bun". */
  label: string;
  transport: Transport;
  /** A fresh endpoint path/name nobody listens on. */
  newPath(): Promise<string>;
  /** Leave `path` as an endpoint with no listener (a stale socket file). */
  makeStale(path: string): Promise<void>;
  /**
   * Make `path` (already listened on by nobody) a listener that accepts
   * nothing with a full backlog; returns a cleanup. `string` = skip reason.
   */
  makeBusy: ((path: string) => Promise<() => Promise<void>>) | string;
  /** Endpoints are socket files (stale files block `listen` until removed). */
  socketFiles: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function readAll(conn: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const c = await conn.read();
    if (c === null) break;
    parts.push(c);
    n += c.byteLength;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

async function readExactly(conn: Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const c = await conn.read();
    if (c === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    out.set(c.subarray(0, n - off), off);
    off += c.byteLength;
  }
  return out;
}

function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function withPair(
  s: ContractSubject,
  fn: (client: Conn, server: Conn, listener: Listener) => Promise<void>,
): Promise<void> {
  const path = await s.newPath();
  const listener = await s.transport.listen(path);
  try {
    const accepted = listener.accept();
    const client = await s.transport.connect(path, { timeoutMs: 5000 });
    const server = await accepted;
    assert.ok(server, "accept() returned a connection");
    try {
      await fn(client, server, listener);
    } finally {
      await client.close();
      await server.close();
    }
  } finally {
    await listener.close();
  }
}

/** Register the contract tests for one subject. */
export function connContract(s: ContractSubject): void {
  const t = (name: string, fn: () => Promise<void>, ignore = false) =>
    test(`transport ${s.label}: ${name}`, fn, { ignore, timeout: 60_000 });

  t("echo round trip", async () => {
    await withPair(s, async (client, server) => {
      const echo = (async () => {
        for await (const chunk of server) await server.write(chunk);
        await server.closeWrite();
      })();
      await client.write(enc.encode("hello, daemon"));
      assert.equal(dec.decode(await readExactly(client, 13)), "hello, daemon");
      await client.closeWrite();
      assert.equal(await client.read(), null);
      await echo;
    });
  });

  t("an 8 MiB write in one call arrives whole, both directions", async () => {
    const big = pattern(8 << 20, 7);
    await withPair(s, async (client, server) => {
      // Server: read everything, then send it back in ONE write.
      const serverSide = (async () => {
        const got = await readAll(server);
        await server.write(got);
        await server.closeWrite();
        return got;
      })();
      await client.write(big);
      await client.closeWrite();
      const back = await readAll(client);
      const got = await serverSide;
      assert.equal(got.byteLength, big.byteLength);
      assert.ok(sameBytes(got, big), "server received the exact bytes");
      assert.ok(sameBytes(back, big), "client received the exact bytes back");
    });
  });

  t("an 8 MiB echo while both sides stream concurrently", async () => {
    const big = pattern(8 << 20, 3);
    await withPair(s, async (client, server) => {
      const echo = (async () => {
        for await (const chunk of server) await server.write(chunk);
        await server.closeWrite();
      })();
      const [, back] = await Promise.all([
        client.write(big).then(() => client.closeWrite()),
        readAll(client),
      ]);
      await echo;
      assert.ok(sameBytes(back, big));
    });
  });

  t("many small writes issued without awaiting keep their order", async () => {
    const n = 2000;
    await withPair(s, async (client, server) => {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, i, true);
        pending.push(client.write(b));
      }
      pending.push(client.closeWrite());
      const [got] = await Promise.all([readAll(server), Promise.all(pending)]);
      assert.equal(got.byteLength, 4 * n);
      const view = new DataView(got.buffer, got.byteOffset, got.byteLength);
      for (let i = 0; i < n; i++) assert.equal(view.getUint32(4 * i, true), i);
    });
  });

  t("EOF makes read() return null, repeatedly", async () => {
    await withPair(s, async (client, server) => {
      await server.write(enc.encode("bye"));
      await server.close();
      assert.equal(dec.decode(await readAll(client)), "bye");
      assert.equal(await client.read(), null);
      assert.equal(await client.read(), null);
    });
  });

  t("closeWrite() half-closes: the peer reads EOF and can still reply", async () => {
    await withPair(s, async (client, server) => {
      await client.write(enc.encode("request"));
      await client.closeWrite();
      const req = await readAll(server); // ends only because of the FIN
      assert.equal(dec.decode(req), "request");
      await server.write(enc.encode(`reply to ${dec.decode(req)}`));
      await server.close();
      assert.equal(dec.decode(await readAll(client)), "reply to request");
    });
  });

  t("connecting to a missing endpoint is DaemonUnreachable", async () => {
    const path = await s.newPath();
    await assert.rejects(s.transport.connect(path), (e) => isZccacheError(e, "DaemonUnreachable"));
    await assert.rejects(
      s.transport.connect(path, { timeoutMs: 1000 }),
      (e) => isZccacheError(e, "DaemonUnreachable"),
    );
  });

  t("connecting to an endpoint with no listener (stale socket) is DaemonUnreachable", async () => {
    const path = await s.newPath();
    await s.makeStale(path);
    await assert.rejects(s.transport.connect(path), (e) => isZccacheError(e, "DaemonUnreachable"));
  });

  t(
    "connecting to a busy endpoint past timeoutMs is Timeout",
    async () => {
      const path = await s.newPath();
      const cleanup = await (s.makeBusy as (p: string) => Promise<() => Promise<void>>)(path);
      try {
        await assert.rejects(
          s.transport.connect(path, { timeoutMs: 300 }),
          (e) => isZccacheError(e, "Timeout"),
        );
      } finally {
        await cleanup();
      }
    },
    typeof s.makeBusy === "string",
  );

  t("listener close() resolves a pending accept() with null and stops accepting", async () => {
    const path = await s.newPath();
    const listener = await s.transport.listen(path);
    assert.equal(listener.path, path);
    const pending = listener.accept();
    await listener.close();
    assert.equal(await pending, null);
    assert.equal(await listener.accept(), null);
    await listener.close(); // idempotent
    await assert.rejects(s.transport.connect(path), (e) => isZccacheError(e, "DaemonUnreachable"));
  });

  t("listen() on a live endpoint fails with EADDRINUSE", async () => {
    const path = await s.newPath();
    const listener = await s.transport.listen(path);
    try {
      await assert.rejects(s.transport.listen(path), (e) => osErrorCode(e) === "EADDRINUSE");
      // The live listener still serves.
      const c = await s.transport.connect(path);
      const a = await listener.accept();
      await c.close();
      await a?.close();
    } finally {
      await listener.close();
    }
  });

  t(
    "a stale socket file blocks listen() until removeStaleSocket() clears it",
    async () => {
      const path = await s.newPath();
      await s.makeStale(path);
      await assert.rejects(s.transport.listen(path), (e) => osErrorCode(e) === "EADDRINUSE");
      assert.equal(await removeStaleSocket(path), true);
      const listener = await s.transport.listen(path);
      const c = await s.transport.connect(path);
      assert.ok(await listener.accept());
      await c.close();
      await listener.close();
    },
    !s.socketFiles,
  );

  t("for await over a listener yields connections until close()", async () => {
    const path = await s.newPath();
    const listener = await s.transport.listen(path);
    const seen: string[] = [];
    const loop = (async () => {
      for await (const conn of listener) {
        seen.push(dec.decode(await readAll(conn)));
        await conn.close();
        if (seen.length === 2) await listener.close();
      }
    })();
    for (const word of ["one", "two"]) {
      const c = await s.transport.connect(path);
      await c.write(enc.encode(word));
      await c.closeWrite();
      assert.equal(await c.read(), null);
      await c[Symbol.asyncDispose]();
    }
    await loop;
    assert.deepEqual(seen, ["one", "two"]);
  });

  t("writing to a peer that closed fails with DaemonUnreachable", async () => {
    await withPair(s, async (client, server) => {
      await server.close();
      assert.equal(await client.read(), null);
      let error: unknown = null;
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 200 && error === null; i++) {
        try {
          await client.write(chunk);
        } catch (e) {
          error = e;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(isZccacheError(error, "DaemonUnreachable"), `got ${error}`);
    });
  });

  t("close() is idempotent and read() after close() is null", async () => {
    await withPair(s, async (client) => {
      await client.close();
      await client.close();
      assert.equal(await client.read(), null);
      await assert.rejects(client.write(new Uint8Array([1])), (e) => isZccacheError(e));
    });
  });
}
