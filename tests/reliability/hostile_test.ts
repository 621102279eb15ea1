/**
 * Hostile wire: >= 50k random, truncated, oversize, wrong-version and
 * mutated-valid frames on all three lanes from 8 connections, plus
 * slowloris connections and a connect storm, against a real daemon process
 * while a well-behaved client pings. Asserts: no crash, bounded RSS, RSS
 * back near its start afterwards, ping latency within 2x of idle (or
 * idle + 5 ms), and prints the figures RELIABILITY.md records.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import process from "node:process";
import { runtime, test } from "../_harness.ts";
import { sleep, startDaemon } from "../daemon/server_helpers.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import { encodeProstFrame } from "../../src/core/prost.ts";
import { encodeFrameV1 } from "../../src/core/frame_v1.ts";

const LINUX = process.platform === "linux";
const PING = encodeBincodeFrame("request", { kind: "Ping" });

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** xorshift32 */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const VALID: Uint8Array[] = [
  PING,
  encodeBincodeFrame("request", { kind: "Status" }),
  encodeProstFrame("request", { kind: "Ping" }),
  encodeProstFrame("request", { kind: "Status" }),
  encodeFrameV1("request", { kind: "Ping" }, { requestId: "r", frameId: 1n, frameKind: "request" }),
];

/** One hostile frame of kind `k` (0..7). */
function hostile(r: () => number, k: number): Uint8Array {
  const rand = (n: number) => Uint8Array.from({ length: n }, () => r() & 0xff);
  const base = VALID[r() % VALID.length];
  switch (k) {
    case 0: // random bytes
      return rand(1 + (r() % 64));
    case 1: // truncated valid frame
      return base.subarray(0, 1 + (r() % (base.length - 1)));
    case 2: // oversize declared length, zccache lane
      return cat(u32(16 * 1024 * 1024 + 1 + (r() % 1000)), u32(15));
    case 3: // oversize FrameV1 body
      return cat(Uint8Array.of(1), u32(0x7fffffff), rand(8));
    case 4: // wrong version
      return cat(u32(8), u32([0, 1, 14, 17, 99, 0xffffffff][r() % 6]), rand(4));
    case 5: { // mutated valid frame: flip bytes in the body
      const m = base.slice();
      for (let i = 0; i < 1 + (r() % 3); i++) {
        const at = 4 + (r() % (m.length - 4));
        m[at] ^= 1 + (r() % 255);
      }
      return m;
    }
    case 6: // valid header, garbage body (bincode / prost)
      return cat(u32(4 + 16), u32(r() & 1 ? 15 : 16), rand(16));
    default: // len < 4
      return cat(u32(r() % 4), u32(15));
  }
}

/** A ping client on one connection: returns per-ping latency in ms. */
async function pinger(
  endpoint: string,
): Promise<{ ping: () => Promise<number>; close: () => void }> {
  const s = await connect(endpoint);
  let waiting: (() => void) | null = null;
  let got = 0;
  s.on("data", (b: Uint8Array) => {
    got += b.length;
    if (got >= 12 && waiting !== null) {
      got -= 12;
      const w = waiting;
      waiting = null;
      w();
    }
  });
  return {
    ping: () =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const timer = setTimeout(() => reject(new Error("ping timed out")), 10_000);
        waiting = () => {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        };
        s.write(PING);
      }),
    close: () => s.destroy(),
  };
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test(
  "hostile wire: 50k hostile frames, slowloris and a connect storm while a client pings",
  async () => {
    const d = await startDaemon({});
    const pid = d.child.pid!;
    const TARGET = 50_000;
    let sent = 0;
    let maxRss = 0;
    try {
      const p = await pinger(d.endpoint);
      for (let i = 0; i < 50; i++) await p.ping(); // warm-up
      await sleep(300);
      const rssStart = rssMiB(pid);
      const idle: number[] = [];
      for (let i = 0; i < 200; i++) idle.push(await p.ping());
      const idleMed = median(idle);

      let stop = false;
      const sampler = (async () => {
        while (!stop) {
          maxRss = Math.max(maxRss, rssMiB(pid));
          await sleep(50);
        }
      })();

      // 8 hostile connections, each reconnecting whenever the daemon closes it.
      const attackers = Array.from({ length: 8 }, (_, a) =>
        (async () => {
          const r = rng(0x9e3779b9 ^ (a * 7919));
          while (sent < TARGET) {
            let s: Socket;
            try {
              s = await connect(d.endpoint);
            } catch {
              await sleep(5);
              continue;
            }
            s.on("error", () => {});
            const closed = new Promise<void>((res) => s.once("close", () => res()));
            // A burst: a few valid frames, then hostile ones of every kind.
            const burst: Uint8Array[] = [VALID[r() % VALID.length]];
            for (let i = 0; i < 25; i++) burst.push(hostile(r, r() % 8));
            sent += 25;
            s.write(cat(...burst));
            s.end();
            await Promise.race([closed, sleep(200)]);
            s.destroy();
          }
        })());

      // Slowloris: 64 connections dribbling a 1 MiB frame one byte at a time.
      const loris: Socket[] = [];
      for (let i = 0; i < 64; i++) {
        const s = await connect(d.endpoint);
        s.on("error", () => {});
        s.write(cat(u32(1024 * 1024), u32(15)));
        loris.push(s);
      }
      const lorisTimer = setInterval(() => {
        for (const s of loris) if (!s.destroyed) s.write(Uint8Array.of(0));
      }, 20);

      // Connect storm: 3000 connect/close.
      const storm = (async () => {
        for (let i = 0; i < 3000 && !stop; i++) {
          try {
            const s = await connect(d.endpoint);
            s.destroy();
          } catch {
            await sleep(1);
          }
        }
      })();

      const attacked: number[] = [];
      while (sent < TARGET) {
        attacked.push(await p.ping());
        await sleep(2);
      }
      await Promise.all(attackers);
      await storm;
      clearInterval(lorisTimer);
      for (const s of loris) s.destroy();
      stop = true;
      await sampler;
      const attackMed = median(attacked);

      // The daemon is alive and answers.
      assert.equal(d.child.exitCode, null, "daemon crashed:\n" + d.output().slice(-2000));
      await p.ping();

      // RSS settles back near where it started.
      let rssEnd = rssMiB(pid);
      for (let i = 0; i < 8 && rssEnd > rssStart + 20; i++) {
        await sleep(250);
        await p.ping();
        rssEnd = rssMiB(pid);
      }
      p.close();
      console.log(
        `hostile[${runtime}]: frames=${sent} pings=${attacked.length} idle_median_ms=${
          idleMed.toFixed(3)
        } attack_median_ms=${attackMed.toFixed(3)} rss_start_mib=${
          rssStart.toFixed(1)
        } rss_max_mib=${maxRss.toFixed(1)} rss_end_mib=${rssEnd.toFixed(1)}`,
      );
      assert.ok(sent >= TARGET);
      assert.ok(
        attackMed <= Math.max(2 * idleMed, idleMed + 5),
        `ping median under attack ${attackMed} ms vs idle ${idleMed} ms`,
      );
      assert.ok(maxRss < rssStart + 300, `max RSS ${maxRss} MiB (start ${rssStart})`);
      // Issue 8: within 20 MiB of the start (under Deno the daemon's idle-time
      // GC, src/daemon/idle_gc.ts, returns the burst's uncollected garbage).
      assert.ok(rssEnd <= rssStart + 20, `RSS after ${rssEnd} MiB vs start ${rssStart} MiB`);
    } finally {
      await d.dispose();
    }
  },
  { ignore: !LINUX, timeout: 60_000 },
);
