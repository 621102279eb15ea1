/**
 * IPC round-trip latency: a 64-byte request and its 64-byte reply over a
 * Unix socket, client and echo server in separate processes using the same
 * runtime and transport adapter (the "daemon + client" picture).
 *
 * Usage:
 *   deno run -A bench/ipc_latency.ts --all [--runs 5] [--n 10000]   # every runtime/adapter, markdown table
 *   bun bench/ipc_latency.ts --all
 *   deno run -A bench/ipc_latency.ts server <deno|node> <socket>      # one echo server
 *   deno run -A bench/ipc_latency.ts client <deno|node> <socket> [n] [warmup]
 *   (the same with `bun` and <bun|node>; `node <bundle>` with <node>)
 *
 * `--all` runs deno native, deno node:net, bun native, bun node:net and
 * Node 20 node:net (Node runs a `bun build --target=node` bundle of this
 * file). Each configuration runs `--runs` times; the table gives the median
 * of the per-run p50s and the median of the per-run p99s.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { transportByName } from "../src/transport/select.ts";
import type { Conn } from "../src/transport/types.ts";

const FRAME = 64;

interface RunResult {
  runtime: string;
  transport: string;
  n: number;
  p50us: number;
  p99us: number;
  meanUs: number;
}

function currentRuntimeName(): string {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Bun ? "bun" : g.Deno ? "deno" : "node";
}

async function serve(transportName: string, socket: string): Promise<void> {
  const t = transportByName(transportName);
  try {
    fs.unlinkSync(socket);
  } catch { /* not there */ }
  const listener = await t.listen(socket);
  process.stdout.write("ready\n");
  for await (const conn of listener) {
    void (async () => {
      for await (const chunk of conn) await conn.write(chunk);
      await conn.close();
    })();
  }
}

async function readN(conn: Conn, n: number): Promise<void> {
  let got = 0;
  while (got < n) {
    const c = await conn.read();
    if (c === null) throw new Error("server closed the connection");
    got += c.byteLength;
  }
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function client(
  transportName: string,
  socket: string,
  n: number,
  warmup: number,
): Promise<RunResult> {
  const t = transportByName(transportName);
  const conn = await t.connect(socket, { timeoutMs: 5000 });
  const frame = new Uint8Array(FRAME);
  new DataView(frame.buffer).setUint32(0, FRAME - 4, true);
  for (let i = 0; i < warmup; i++) {
    await conn.write(frame);
    await readN(conn, FRAME);
  }
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await conn.write(frame);
    await readN(conn, FRAME);
    samples[i] = performance.now() - t0;
  }
  await conn.close();
  const sorted = Array.from(samples).sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  return {
    runtime: currentRuntimeName(),
    transport: transportName,
    n,
    p50us: percentile(sorted, 50) * 1000,
    p99us: percentile(sorted, 99) * 1000,
    meanUs: mean * 1000,
  };
}

interface Config {
  label: string;
  cmd: string;
  args: (mode: string, socket: string, extra: string[]) => string[];
  transport: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

async function runOnce(cfg: Config, socket: string, n: number, warmup: number): Promise<RunResult> {
  const server = spawn(cfg.cmd, cfg.args("server", socket, []), {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (out.includes("ready")) resolve();
    });
    server.on("exit", (code) => reject(new Error(`${cfg.label} server exited with ${code}`)));
  });
  try {
    const r = spawnSync(cfg.cmd, cfg.args("client", socket, [String(n), String(warmup)]), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (r.status !== 0) throw new Error(`${cfg.label} client exited with ${r.status}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as RunResult;
  } finally {
    server.kill("SIGKILL");
    await new Promise((r) => server.once("exit", r));
  }
}

async function all(runs: number, n: number, warmup: number): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zcbench-"));
  const configs: Config[] = [];
  if (have("deno")) {
    for (const tr of ["deno", "node"]) {
      configs.push({
        label: `Deno ${tr === "deno" ? "native (Deno.connect/listen)" : "node:net"}`,
        cmd: "deno",
        args: (m, s, x) => ["run", "-A", self, m, tr, s, ...x],
        transport: tr,
      });
    }
  }
  if (have("bun")) {
    for (const tr of ["bun", "node"]) {
      configs.push({
        label: `Bun ${tr === "bun" ? "native (Bun.connect/listen)" : "node:net"}`,
        cmd: "bun",
        args: (m, s, x) => [self, m, tr, s, ...x],
        transport: tr,
      });
    }
    if (have("node")) {
      const bundle = path.join(tmp, "ipc_latency.mjs");
      const b = spawnSync("bun", ["build", self, "--target=node", "--outfile", bundle], {
        stdio: "ignore",
      });
      if (b.status === 0) {
        configs.push({
          label: "Node node:net",
          cmd: "node",
          args: (m, s, x) => [bundle, m, "node", s, ...x],
          transport: "node",
        });
      }
    }
  }
  const ver = (cmd: string) =>
    have(cmd) ? spawnSync(cmd, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] : "-";
  const lines = [
    `${runs} runs × ${n} round trips (after ${warmup} warm-up) per configuration; client and echo`,
    `server are separate processes using the same runtime and adapter; 64-byte request, 64-byte`,
    `reply, one connection. Median over runs of the per-run p50 / p99 / mean.`,
    `Machine: ${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? ""}, ${os.type()} ${os.release()};`,
    `${ver("deno")}, bun ${ver("bun")}, node ${ver("node")}. Load average at start: ` +
    os.loadavg().map((x) => x.toFixed(2)).join(" ") + ".",
    "",
    "| Runtime / adapter (both ends) | p50 | p99 | mean |",
    "|---|---|---|---|",
  ];
  for (const cfg of configs) {
    const results: RunResult[] = [];
    for (let i = 0; i < runs; i++) {
      results.push(await runOnce(cfg, path.join(tmp, `b${i}.sock`), n, warmup));
    }
    const f = (x: number) => `${x.toFixed(1)} µs`;
    lines.push(
      `| ${cfg.label} | ${f(median(results.map((r) => r.p50us)))} | ${
        f(median(results.map((r) => r.p99us)))
      } | ${f(median(results.map((r) => r.meanUs)))} |`,
    );
    console.error(lines[lines.length - 1]);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(lines.join("\n"));
}

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
}

async function main(): Promise<void> {
  // Deno's argv is [deno, script, ...]; Bun's and Node's are [runtime, script, ...].
  const args = process.argv.slice(2);
  if (args[0] === "server") return await serve(args[1], args[2]);
  if (args[0] === "client") {
    const r = await client(args[1], args[2], Number(args[3] ?? 10000), Number(args[4] ?? 1000));
    console.log(JSON.stringify(r));
    process.exit(0);
  }
  if (args.includes("--all")) {
    await all(flag(args, "--runs", 5), flag(args, "--n", 10000), flag(args, "--warmup", 1000));
    return;
  }
  console.error(
    "usage: ipc_latency.ts --all [--runs 5] [--n 10000] | server|client <transport> <socket>",
  );
  process.exit(2);
}

await main();
