/**
 * What bounds the hit path: the runtime's own floor measured beside the
 * product, in one interleaved run (the profile behind BENCHMARKS.md's
 * "What bounds the targets not met").
 *
 *   bun scripts/bench/floor.ts [--runs 200]
 *
 * Process floor (compiled with `bun build --compile --bytecode`, as
 * `dist/zccache` is): an empty program, `console.log` hello world, a client
 * that only connects and sends a Ping, and a client that does exactly one
 * warm compile round trip (CompileEphemeral encoded by `compile_codec.ts`,
 * the daemon's reply read, its exit code returned) — against the product's
 * `zccache gcc` and `ccache gcc` on the same tiny file, and peak RSS of each.
 * Daemon floor: a compiled idle `Bun.listen` server's RSS (anonymous and
 * file-backed) against the zccache daemon's; per-hit time of the engine
 * alone (in process), a Ping round trip and a library hit.
 *
 * Needs bun, gcc, ccache and a built `dist/zccache` (built when missing).
 * Prints Markdown on stdout; progress on stderr.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildRusage, rusageOf } from "./suite/procfs.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ri = process.argv.indexOf("--runs");
const RUNS = ri > 0 ? Number(process.argv[ri + 1]) : 200;
const W = mkdtempSync(join(tmpdir(), "zc-floor-"));
const log = (s: string) => process.stderr.write(`floor: ${s}\n`);
const ZC = join(REPO, "dist/zccache");
if (!existsSync(ZC)) {
  log("building dist/zccache");
  spawnSync("bun", [join(REPO, "scripts/build_binary.ts")], { stdio: "inherit" });
}
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  ZCCACHE_CACHE_DIR: join(W, "zc"),
  CCACHE_DIR: join(W, "cc"),
};
mkdirSync(join(W, "bin"));
writeFileSync(join(W, "tiny.c"), "int f(int x) { return x * 2; }\n");

function compile(name: string, source: string): string {
  const src = join(W, "bin", `${name}.ts`);
  writeFileSync(src, source);
  const out = join(W, "bin", name);
  const r = spawnSync("bun", [
    "build",
    "--compile",
    "--bytecode",
    "--minify",
    "--format=esm",
    src,
    "--outfile",
    out,
  ], { cwd: REPO, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  return out;
}

const codec = JSON.stringify(join(REPO, "src/core/compile_codec.ts"));
const bins = {
  empty: compile("empty", "export {};\n"),
  hello: compile("hello", 'console.log("hello");\n'),
  ping: compile(
    "ping",
    `const bytes = new Uint8Array([8, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0]);
await new Promise<void>((done) => {
  Bun.connect({ unix: process.env.ZCCACHE_CACHE_DIR + "/daemon.sock", socket: {
    open(s) { s.write(bytes); }, data(s) { s.end(); done(); }, close() { done(); }, error() { done(); },
  } });
});
`,
  ),
  roundtrip: compile(
    "roundtrip",
    `import { decodeCompileReplyFrame, encodeCompileRequestFrame } from ${codec};
const [tool, ...args] = process.argv.slice(2);
const cwd = process.cwd();
const bytes = encodeCompileRequestFrame({
  kind: "CompileEphemeral", clientPid: process.pid, workingDir: cwd,
  compiler: Bun.which(tool)!, args, cwd,
  env: Object.entries(process.env).map(([k, v]) => [k, v ?? ""]), stdin: new Uint8Array(0),
})!;
let buf = new Uint8Array(0);
const code = await new Promise<number>((done) => {
  Bun.connect({ unix: process.env.ZCCACHE_CACHE_DIR + "/daemon.sock", socket: {
    open(s) { s.write(bytes); },
    data(s, d) {
      const next = new Uint8Array(buf.length + d.length); next.set(buf); next.set(d, buf.length); buf = next;
      const r = decodeCompileReplyFrame(buf);
      if (r) { done(r.message.kind === "CompileResult" ? r.message.exitCode : 1); s.end(); }
    },
    close() { done(1); }, error() { done(1); },
  } });
});
process.exit(code);
`,
  ),
  idleServer: compile(
    "idle_server",
    `Bun.listen({ unix: process.argv[2], socket: { data() {} } });
setTimeout(() => process.exit(0), 600_000);
`,
  ),
};

// Peak RSS of one process tree: the suite's own helper.
const helper = buildRusage(join(W, "bin"));
if (!("path" in helper)) throw new Error(`rusage helper: ${helper.error}`);
const RUSAGE = helper.path;

const tiny = ["gcc", "-O2", "-c", "tiny.c", "-o", "t.o"];
const cmds: [string, string[]][] = [
  ["compiled Bun, empty program", [bins.empty]],
  ['compiled Bun, console.log("hello")', [bins.hello]],
  ["compiled Bun, connect + Ping round trip", [bins.ping]],
  ["compiled Bun, one warm compile round trip (the floor of a hit)", [bins.roundtrip, ...tiny]],
  ["zccache gcc (the product)", [ZC, ...tiny]],
  ["ccache gcc", ["ccache", ...tiny]],
];
const run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { cwd: W, env, stdio: "ignore" });
run([ZC, "start"]);
for (let i = 0; i < 3; i++) for (const [, argv] of cmds) run(argv); // prime both caches

log(`${RUNS} interleaved runs of ${cmds.length} commands`);
const times: number[][] = cmds.map(() => []);
for (let i = 0; i < RUNS; i++) {
  for (let j = 0; j < cmds.length; j++) {
    const t = performance.now();
    const r = run(cmds[j][1]);
    times[j].push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${cmds[j][0]} exited ${r.status}`);
  }
}
const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)];
const rss = cmds.map(([, argv]) => {
  const xs = [0, 1, 2].map(() =>
    rusageOf(spawnSync(RUSAGE, argv, { cwd: W, env, encoding: "utf8" }).stderr)?.maxrssKb ?? NaN
  );
  return q(xs, 0.5);
});

// Daemon side.
const statusOf = (pid: number) => {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
};
const daemonPid = Number(readFileSync(join(W, "zc/daemon.lock"), "utf8"));
const sock = join(W, "idle.sock");
const server = spawn(bins.idleServer, [sock], { stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1000));
const idleServer = statusOf(server.pid!);
server.kill();
const daemonAfterHits = statusOf(daemonPid);
run([ZC, "stop"]);
const fresh = spawn(ZC, ["daemon", "--foreground"], { env, stdio: "ignore" });
await new Promise((r) => setTimeout(r, 1000));
const daemonIdle = statusOf(fresh.pid!);
fresh.kill();
await new Promise((r) => fresh.on("exit", r));

// Per hit inside the daemon: the engine alone, a Ping, a library hit.
const { CompileEngine } = await import("../../src/daemon/engine.ts");
const { ZccacheClient } = await import("../../mod.ts");
const { IpcConnection } = await import("../../src/client/ipc_connection.ts");
const engine = new CompileEngine({ cacheDir: join(W, "engine") });
const req = {
  compiler: spawnSync("sh", ["-c", "command -v gcc"], { encoding: "utf8" }).stdout.trim(),
  args: ["-O2", "-c", "tiny.c", "-o", "e.o"],
  cwd: W,
  env,
  stdin: new Uint8Array(0),
  clientPid: process.pid,
};
for (let i = 0; i < 300; i++) await engine.compile(req);
const engineUs: number[] = [];
for (let i = 0; i < 3000; i++) {
  const t = performance.now();
  await engine.compile(req);
  engineUs.push((performance.now() - t) * 1000);
}
await engine.close();
run([ZC, "start"]);
const conn = await IpcConnection.connect(join(W, "zc/daemon.sock"), { env });
const pingUs: number[] = [];
for (let i = 0; i < 3300; i++) {
  const t = performance.now();
  await conn.send({ kind: "Ping" });
  await conn.recv();
  if (i >= 300) pingUs.push((performance.now() - t) * 1000);
}
await conn.close();
const zc = await ZccacheClient.connect({ cacheDir: join(W, "zc"), env, autoStart: false });
const libUs: number[] = [];
const job = { compiler: "gcc", args: ["-O2", "-c", "tiny.c", "-o", "l.o"], cwd: W, env };
for (let i = 0; i < 3300; i++) {
  const t = performance.now();
  await zc.compile(job);
  if (i >= 300) libUs.push((performance.now() - t) * 1000);
}
await zc.close();
run([ZC, "stop"]);
rmSync(W, { recursive: true, force: true });

const ms = (x: number) => x.toFixed(2);
const mb = (kb: number) => (kb / 1024).toFixed(1);
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(
  `Measured ${new Date().toISOString()}, bun ${process.versions.bun}, load ${load}, ${RUNS} runs.`,
);
console.log("");
console.log("| one process (tiny file, warm) | min | p25 | median | peak RSS |");
console.log("| --- | --: | --: | --: | --: |");
cmds.forEach(([name], j) => {
  console.log(
    `| ${name} | ${ms(q(times[j], 0))} ms | ${ms(q(times[j], 0.25))} ms | ${
      ms(q(times[j], 0.5))
    } ms | ${mb(rss[j])} MiB |`,
  );
});
console.log("");
console.log("| daemon side | median | p10 |");
console.log("| --- | --: | --: |");
console.log(
  `| engine hit, in process (no IPC) | ${q(engineUs, 0.5).toFixed(0)} µs | ${
    q(engineUs, 0.1).toFixed(0)
  } µs |`,
);
console.log(
  `| Ping round trip, one connection | ${q(pingUs, 0.5).toFixed(0)} µs | ${
    q(pingUs, 0.1).toFixed(0)
  } µs |`,
);
console.log(
  `| library hit (\`zc.compile\`), one connection | ${q(libUs, 0.5).toFixed(0)} µs | ${
    q(libUs, 0.1).toFixed(0)
  } µs |`,
);
console.log("");
console.log("| RSS | total | anonymous | file-backed (the executable's pages) |");
console.log("| --- | --: | --: | --: |");
console.log(
  `| compiled Bun idle \`Bun.listen\` server | ${mb(idleServer.rss)} MiB | ${
    mb(idleServer.anon)
  } MiB | ${mb(idleServer.file)} MiB |`,
);
console.log(
  `| zccache daemon, idle 1 s after start | ${mb(daemonIdle.rss)} MiB | ${
    mb(daemonIdle.anon)
  } MiB | ${mb(daemonIdle.file)} MiB |`,
);
console.log(
  `| zccache daemon after the hits above | ${mb(daemonAfterHits.rss)} MiB | ${
    mb(daemonAfterHits.anon)
  } MiB | ${mb(daemonAfterHits.file)} MiB |`,
);
