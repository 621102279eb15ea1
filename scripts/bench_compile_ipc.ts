/**
 * Warm-hit latency through the library/IPC alone: ONE connection, N
 * `CompileEphemeral` requests in a row (no wrapper process start-up).
 * Prints one JSON line `{runtime, n, median_us, p90_us, p99_us, hits}`.
 *
 * Usage (the daemon must be running and the compile already cached):
 *   ZCCACHE_CACHE_DIR=... deno run -A scripts/bench_compile_ipc.ts [--n 2000] -- gcc -O2 -c x.c -o x.o
 *
 * @module
 */
import process from "node:process";
import { IpcConnection } from "../src/client/ipc_connection.ts";
import { resolveTool } from "../src/cli/wrap.ts";
import type { Request } from "../src/core/messages.ts";
import { endpointFromEnv } from "../src/transport/endpoint.ts";

const argv = process.argv.slice(2);
let n = 2000;
const sep = argv.indexOf("--");
const opts = sep < 0 ? [] : argv.slice(0, sep);
const cmd = sep < 0 ? argv : argv.slice(sep + 1);
for (let i = 0; i < opts.length; i++) if (opts[i] === "--n") n = Number(opts[++i]);
const env = process.env as Record<string, string>;
const cwd = process.cwd();
const compiler = resolveTool(cmd[0], env, cwd) ?? cmd[0];
const req: Request = {
  kind: "CompileEphemeral",
  clientPid: process.pid,
  workingDir: cwd,
  compiler,
  args: cmd.slice(1),
  cwd,
  env: Object.entries(env),
  stdin: new Uint8Array(0),
};
const conn = await IpcConnection.connect(endpointFromEnv(env, process.platform, { cwd }));
const times: number[] = [];
let hits = 0;
for (let i = 0; i < n + 50; i++) {
  const t0 = performance.now();
  await conn.send(req);
  const r = await conn.recv();
  const dt = performance.now() - t0;
  if (r?.kind !== "CompileResult" || r.exitCode !== 0) {
    console.error(`unexpected reply: ${JSON.stringify(r?.kind)}`);
    process.exit(1);
  }
  if (i >= 50) {
    times.push(dt * 1000);
    if (r.cached) hits++;
  }
}
await conn.close();
times.sort((a, b) => a - b);
const q = (p: number) =>
  Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))]);
console.log(JSON.stringify({
  runtime: "Deno" in globalThis ? "deno" : "bun",
  n,
  median_us: q(0.5),
  p90_us: q(0.9),
  p99_us: q(0.99),
  hits,
}));
