/**
 * `deno task bench:all`: zccache-ts against plain gcc, ccache and sccache on
 * real projects (issue 13), in interleaved rounds, and the tables of
 * BENCHMARKS.md (between `<!-- bench:all begin -->` and `<!-- bench:all end -->`),
 * the raw JSON (bench/results/latest.json) and the chart (docs/bench.svg).
 *
 *   deno task bench:all [--rounds N] [--smoke] [--only lua,sqlite,hit,start,mem,size]
 *                       [--out DIR] [--no-write] [--md FILE] [--hits N] [--jobs N]
 *                       [--lib-runtime bun|deno] [--zccache PATH] [--work DIR] [--keep-work]
 *   deno task bench:all --report-only bench/results/latest.json   (re-render, no measuring)
 *
 * What it runs (ideas of ../shared/bench/anchors.sh, own code):
 * - Lua 5.4.4 (34 TUs, scripts/bench/fetch_lua.sh, Debian's source package) and the
 *   SQLite amalgamation (`npm pack better-sqlite3@12.11.1`), cached under
 *   $ANCHORS_SRC (default /tmp/benchsrc). `--smoke`: a generated 4-TU project instead
 *   (no network), one round, few runs.
 * - Launchers: `none` (plain gcc), ccache, sccache (own SCCACHE_DIR, private port, server
 *   started once), zccache (dist/zccache, built first when missing or older than the
 *   sources; own ZCCACHE_CACHE_DIR, so its own daemon), and the library path
 *   (`ZccacheClient.compileMany` on 2 connections, scripts/bench/suite/lib_worker.ts, Bun
 *   by default) against the same daemon. A launcher whose tool is missing is skipped with
 *   one line.
 * - Builds by `make -s -jN` timed by `hyperfine -N` (objects removed in --prepare):
 *   cold (a forced-include salt header rewritten before every run: every TU misses),
 *   warm (all hit), touch (one Lua file gets a new line: 33 hits + 1 miss).
 * - One hit per process (`hyperfine -N`) on a tiny file and a real TU (lzio.c), with a
 *   compiled-Bun hello world as the floor; one hit through the library on one connection.
 * - Daemon start (spawn to the first Pong; `sccache --start-server` for comparison),
 *   daemon RSS idle and after `--hits` library hits, the peak RSS of one hit process, the
 *   CPU of cold builds (process tree + daemon, /proc/PID/stat) vs plain gcc, the binary
 *   size vs a compiled hello world.
 * Noise: launchers interleaved in rounds (order rotated per round); medians, min–max and
 * IQR; ratios to ccache and plain gcc paired by round. Progress goes to stderr.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { clientEndpoint, daemonControlRoundtrip } from "../../src/client/mod.ts";
import {
  buildRusage,
  cpuTicks,
  loadAvg,
  pidsWithEnv,
  rssOf,
  rusageOf,
  stealPct,
  stealSnap,
} from "./suite/procfs.ts";
import { derive, renderMarkdown, splice } from "./suite/report.ts";
import { median, rotate, summarize } from "./suite/stats.ts";
import { renderSvg } from "./suite/svg.ts";
import type { Results, RssPoint, SeriesRow, StartRow } from "./suite/types.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const T0 = performance.now();

// ------------------------------------------------------------------ options
const argv = [...Deno.args];
function flag(name: string): boolean {
  const i = argv.indexOf(name);
  if (i < 0) return false;
  argv.splice(i, 1);
  return true;
}
function opt(name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined) die(`${name} needs a value`);
  argv.splice(i, 2);
  return v;
}
function die(msg: string): never {
  console.error(`bench:all: ${msg}`);
  Deno.exit(2);
}
function log(msg: string) {
  const t = ((performance.now() - T0) / 1000).toFixed(0).padStart(4);
  console.error(`[bench:all ${t}s] ${msg}`);
}

const SMOKE = flag("--smoke");
const NO_WRITE = flag("--no-write");
const KEEP_WORK = flag("--keep-work");
const reportOnly = opt("--report-only");
const outOpt = opt("--out");
const mdOpt = opt("--md");
const workOpt = opt("--work");
const zcOpt = opt("--zccache") ?? Deno.env.get("ZCCACHE_BIN");
const ROUNDS = Number(opt("--rounds") ?? (SMOKE ? 1 : 3));
const ROUNDS_HEAVY = Math.min(ROUNDS, SMOKE ? 1 : 2);
const JOBS = Number(opt("--jobs") ?? 2);
const FLOOD = Number(opt("--hits") ?? (SMOKE ? 300 : 50_000));
const LIB_RT = opt("--lib-runtime") ?? (which("bun") ? "bun" : "deno");
const onlyOpt = opt("--only");
if (argv.length) die(`unexpected argument(s): ${argv.join(" ")} (see scripts/bench/all.ts)`);
if (!(ROUNDS >= 1)) die("--rounds must be >= 1");
const SECTIONS = ["lua", "sqlite", "hit", "start", "mem", "size"];
const ONLY = onlyOpt ? onlyOpt.split(",").map((s) => s.trim()).filter(Boolean) : SECTIONS;
for (const s of ONLY) if (!SECTIONS.includes(s)) die(`--only: unknown section ${s}`);
const want = (s: string) => ONLY.includes(s);
const RUNS_WARM = SMOKE ? 2 : 3;
const RUNS_TOUCH = SMOKE ? 1 : 2;
const HIT_RUNS = SMOKE ? 3 : 15;
const LIB_HITS = SMOKE ? 50 : 300;
const START_N = SMOKE ? 1 : Math.max(ROUNDS, 3);

const OUT = resolve(outOpt ?? join(REPO, "bench/results"));
const SVG_PATH = outOpt ? join(OUT, "bench.svg") : join(REPO, "docs/bench.svg");
const MD_PATH = resolve(mdOpt ?? join(REPO, "BENCHMARKS.md"));
const command = `deno task bench:all${Deno.args.length ? " " + Deno.args.join(" ") : ""}`;

function which(name: string): string | null {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!d) continue;
    const p = join(d, name);
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return null;
}

interface RunOut {
  code: number;
  out: string;
  err: string;
}
async function run(
  cmd: string,
  args: string[],
  o: { env?: Record<string, string>; cwd?: string } = {},
): Promise<RunOut> {
  try {
    const r = await new Deno.Command(cmd, {
      args,
      cwd: o.cwd,
      env: o.env,
      clearEnv: o.env !== undefined,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const td = new TextDecoder();
    return { code: r.code, out: td.decode(r.stdout), err: td.decode(r.stderr) };
  } catch (e) {
    return { code: 127, out: "", err: String(e) };
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ outputs
async function writeOutputs(r: Results) {
  derive(r.series);
  mkdirSync(OUT, { recursive: true });
  mkdirSync(dirname(SVG_PATH), { recursive: true });
  const json = join(OUT, "latest.json");
  Deno.writeTextFileSync(json, JSON.stringify(r, null, 2) + "\n");
  const svgRel = outOpt ? SVG_PATH : "docs/bench.svg";
  const block = renderMarkdown(r, svgRel);
  Deno.writeTextFileSync(join(OUT, "tables.md"), block);
  Deno.writeTextFileSync(SVG_PATH, renderSvg(r));
  const toFmt = [json, join(OUT, "tables.md"), SVG_PATH];
  if (!NO_WRITE) {
    const md = existsSync(MD_PATH) ? readFileSync(MD_PATH, "utf8") : "# Benchmarks\n";
    Deno.writeTextFileSync(MD_PATH, splice(md, block));
    toFmt.push(MD_PATH);
  }
  // Keep the files in `deno fmt` style (CI runs deno fmt --check); best effort.
  await run(Deno.execPath(), ["fmt", "-q", "--config", join(REPO, "deno.json"), ...toFmt], {
    cwd: REPO,
  });
  log(
    `wrote ${json}, ${join(OUT, "tables.md")}, ${SVG_PATH}${NO_WRITE ? "" : `, ${MD_PATH}`}`,
  );
}

if (reportOnly) {
  const r = JSON.parse(readFileSync(reportOnly, "utf8")) as Results;
  await writeOutputs(r);
  Deno.exit(0);
}

// ------------------------------------------------------------------ tools
for (const t of ["gcc", "make", "hyperfine"]) {
  if (!which(t)) die(`${t} not found on PATH (apt-get install -y ${t})`);
}
const runId = `bench-${Deno.pid}-${Date.now()}`;
const MARK = "ZCCACHE_BENCH_ALL_LAUNCHER";
const W = resolve(workOpt ?? Deno.makeTempDirSync({ prefix: "zcb-", dir: "/tmp" }));
mkdirSync(W, { recursive: true });
for (const d of ["src", "proj", "obj", "salt", "cache", "hf", "bin"]) {
  mkdirSync(join(W, d), { recursive: true });
}
const SRC_ROOT = Deno.env.get("ANCHORS_SRC") ?? "/tmp/benchsrc";
const TCK = Number((await run("getconf", ["CLK_TCK"])).out.trim()) || 100;
const results: Results = {
  schema: "zccache-ts/bench-all/1",
  date: new Date().toISOString(),
  duration_s: 0,
  command,
  options: {
    rounds: ROUNDS,
    rounds_heavy_cold: ROUNDS_HEAVY,
    runs_warm: RUNS_WARM,
    runs_touch: RUNS_TOUCH,
    hit_runs: HIT_RUNS,
    lib_hits: LIB_HITS,
    flood_hits: FLOOD,
    jobs: JOBS,
    smoke: SMOKE,
    only: ONLY,
    lib_runtime: LIB_RT,
  },
  machine: {
    nproc: navigator.hardwareConcurrency,
    model: (/model name\s*:\s*(.*)/.exec(readText("/proc/cpuinfo")) ?? [])[1] ?? "unknown",
    mem_total_mb: Math.round(
      Number((/MemTotal:\s+(\d+)/.exec(readText("/proc/meminfo")) ?? [])[1] ?? 0) / 1024,
    ),
    kernel: Deno.osRelease(),
    load_start: loadAvg(),
    load_end: [],
    steal_pct: 0,
  },
  versions: {},
  skipped: [],
  main_project: SMOKE ? "mini" : "lua",
  projects: {},
  series: [],
  start: [],
  daemon_rss: {},
  flood: null,
  client_rss_kb: {},
  binary: { zccache: null, hello: null, zccache_path: null },
};
const steal0 = stealSnap();
function readText(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}
function skip(launcher: string, reason: string) {
  log(`${launcher}: skipped (${reason})`);
  results.skipped.push({ launcher, reason });
}

// ------------------------------------------------------------------ zccache binary
async function zccacheBinary(): Promise<string | null> {
  if (zcOpt) {
    if (!existsSync(zcOpt)) {
      skip("zccache", `--zccache ${zcOpt} does not exist`);
      return null;
    }
    return resolve(zcOpt);
  }
  const bin = join(REPO, "dist/zccache");
  const newest = (p: string): number => {
    try {
      const st = statSync(p);
      if (!st.isDirectory()) return st.mtimeMs;
      let m = 0;
      for (const e of readdirSync(p)) m = Math.max(m, newest(join(p, e)));
      return m;
    } catch {
      return 0;
    }
  };
  const srcTime = Math.max(
    newest(join(REPO, "src")),
    newest(join(REPO, "cli.ts")),
    newest(join(REPO, "mod.ts")),
    newest(join(REPO, "package.json")),
    newest(join(REPO, "scripts/build_binary.ts")),
  );
  if (existsSync(bin) && statSync(bin).mtimeMs >= srcTime) return bin;
  if (!which("bun")) {
    if (existsSync(bin)) {
      log("dist/zccache is older than the sources and bun is missing: using it as it is");
      return bin;
    }
    skip("zccache", "dist/zccache missing and bun not found to build it");
    return null;
  }
  log(`${existsSync(bin) ? "dist/zccache is stale" : "dist/zccache missing"}: building it`);
  // Built beside it, then renamed over it: processes running the old one keep their inode.
  const tmp = join(REPO, "dist", `.zccache-bench-${Deno.pid}`);
  mkdirSync(join(REPO, "dist"), { recursive: true });
  const b = await run("bun", [join(REPO, "scripts/build_binary.ts"), "--outfile", tmp], {
    cwd: REPO,
  });
  if (b.code !== 0 || !existsSync(tmp)) {
    rmSync(tmp, { force: true });
    skip("zccache", `bun scripts/build_binary.ts failed: ${b.err.trim().split("\n").pop()}`);
    return null;
  }
  Deno.renameSync(tmp, bin);
  return bin;
}

// ------------------------------------------------------------------ versions
async function first(cmd: string, args: string[]): Promise<string | null> {
  if (!which(cmd)) return null;
  const r = await run(cmd, args);
  const line = (r.out || r.err).trim().split("\n")[0];
  return r.code === 0 && line ? line.trim() : null;
}
async function versions(zc: string | null) {
  const v = results.versions;
  v.gcc = await first("gcc", ["-dumpfullversion"]);
  v.ccache = (await first("ccache", ["--version"]))?.split(" ").pop() ?? null;
  v.sccache = (await first("sccache", ["--version"]))?.split(" ").pop() ?? null;
  v.hyperfine = (await first("hyperfine", ["--version"]))?.split(" ").pop() ?? null;
  v.deno = Deno.version.deno;
  v.bun = await first("bun", ["--version"]);
  v.make = (await first("make", ["--version"]))?.replace(/^GNU Make /, "") ?? null;
  const rev = await run("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO });
  const dirty = await run("git", ["status", "--porcelain", "--", "src", "cli.ts", "mod.ts"], {
    cwd: REPO,
  });
  v.zccache_ts = rev.code === 0
    ? `${rev.out.trim()}${dirty.out.trim() ? " (src modified)" : ""}`
    : null;
  v.zccache_binary = zc ? await first(zc, ["--version"]) : null;
}

// ------------------------------------------------------------------ projects
interface Project {
  name: string;
  dir: string; // private copy of the sources
  cflags: string[];
  sources: string[]; // .c file names
  touch?: string;
}
const projects: Project[] = [];

async function luaSources(): Promise<string | null> {
  const r = await run("bash", [join(REPO, "scripts/bench/fetch_lua.sh")], {
    env: { ...Deno.env.toObject(), ANCHORS_SRC: SRC_ROOT },
  });
  const dir = r.out.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !existsSync(join(dir, "lapi.c"))) {
    log(`lua: sources not available (${r.err.trim() || "fetch_lua.sh failed"}): skipped`);
    return null;
  }
  return dir;
}
async function sqliteSources(): Promise<string | null> {
  const dir = join(SRC_ROOT, "package/deps/sqlite3");
  if (existsSync(join(dir, "sqlite3.c"))) return dir;
  const tgz = join(SRC_ROOT, "better-sqlite3-12.11.1.tgz");
  mkdirSync(SRC_ROOT, { recursive: true });
  if (!existsSync(tgz)) {
    if (!which("npm")) {
      log("sqlite: npm not found to fetch better-sqlite3: skipped");
      return null;
    }
    log("sqlite: npm pack better-sqlite3@12.11.1");
    const p = await run("npm", ["pack", "better-sqlite3@12.11.1"], { cwd: SRC_ROOT });
    if (p.code !== 0) {
      log(`sqlite: npm pack failed: ${p.err.trim().split("\n").pop()}: skipped`);
      return null;
    }
  }
  const x = await run("tar", ["xzf", tgz, "package/deps/sqlite3"], { cwd: SRC_ROOT });
  if (x.code !== 0 || !existsSync(join(dir, "sqlite3.c"))) {
    log(`sqlite: tar failed: ${x.err.trim()}: skipped`);
    return null;
  }
  return dir;
}

function copySources(from: string, to: string): string[] {
  mkdirSync(to, { recursive: true });
  const files = readdirSync(from).filter((f) => f.endsWith(".c") || f.endsWith(".h"));
  for (const f of files) Deno.copyFileSync(join(from, f), join(to, f));
  return files.filter((f) => f.endsWith(".c")).sort();
}

function miniProject(to: string): string[] {
  mkdirSync(to, { recursive: true });
  Deno.writeTextFileSync(join(to, "mini.h"), "#include <stdio.h>\nint mini_sum(int n);\n");
  const names = ["ma", "mb", "mc", "md"];
  names.forEach((n, i) =>
    Deno.writeTextFileSync(
      join(to, `${n}.c`),
      `#include "mini.h"\n#include <string.h>\n` +
        `int ${n}_f(const char *s) { int t = ${i}; for (size_t k = 0; k < strlen(s); k++) t += s[k] * ${
          i + 3
        }; return t; }\n` +
        `void ${n}_p(void) { printf("%d\\n", ${n}_f("${n}")); }\n`,
    )
  );
  return names.map((n) => `${n}.c`);
}

async function setupProjects() {
  if (SMOKE) {
    if (want("lua") || want("hit") || want("mem")) {
      const dir = join(W, "src/mini");
      projects.push({
        name: "mini",
        dir,
        cflags: ["-O2", "-Wall"],
        sources: miniProject(dir),
        touch: "ma.c",
      });
    }
  } else {
    if (want("lua") || want("hit") || want("mem")) {
      const s = await luaSources();
      if (s) {
        const dir = join(W, "src/lua");
        projects.push({
          name: "lua",
          dir,
          cflags: ["-std=gnu99", "-O2", "-Wall", "-Wextra", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"],
          sources: copySources(s, dir),
          touch: "lapi.c",
        });
      }
    }
    if (want("sqlite")) {
      const s = await sqliteSources();
      if (s) {
        const dir = join(W, "src/sqlite");
        projects.push({ name: "sqlite", dir, cflags: ["-O2"], sources: copySources(s, dir) });
      }
    }
  }
  for (const p of projects) {
    results.projects[p.name] = {
      tus: p.sources.length,
      cflags: p.cflags.join(" "),
      ...(p.touch ? { touch: p.touch } : {}),
    };
    if (p.touch) Deno.copyFileSync(join(p.dir, p.touch), join(W, "proj", `${p.name}.touch`));
  }
  Deno.writeTextFileSync(join(W, "src/tiny.c"), "int bench_tiny(int x) { return x * 3 + 1; }\n");
  // prep PROJECT LAUNCHER MODE: hyperfine --prepare (untimed).
  Deno.writeTextFileSync(
    join(W, "bin/prep"),
    `#!/usr/bin/env bash
set -e
p=$1 l=$2 m=$3
rm -rf "${W}/obj/$l-$p"; mkdir -p "${W}/obj/$l-$p"
if [ "$m" = cold ]; then
  printf 'extern int bench_salt_%s;\\n' "\${EPOCHREALTIME/./}$$" > "${W}/salt/$l-$p.h"
elif [ "$m" = touch ]; then
  t=$(cat "${W}/proj/$p.touchname")
  cp "${W}/proj/$p.touch" "${W}/src/$p/$t"
  printf 'int bench_touch_%s = %s;\\n' "\${EPOCHREALTIME/./}$$" "$RANDOM" >> "${W}/src/$p/$t"
fi
`,
  );
  Deno.chmodSync(join(W, "bin/prep"), 0o755);
  for (const p of projects) {
    if (p.touch) Deno.writeTextFileSync(join(W, "proj", `${p.name}.touchname`), p.touch);
    // A salt header for every launcher from the start (`--only` may skip the cold series).
    for (const l of ["none", "ccache", "sccache", "zccache", "zccache-lib"]) {
      Deno.writeTextFileSync(join(W, "salt", `${l}-${p.name}.h`), "extern int bench_salt_0;\n");
    }
  }
}

// ------------------------------------------------------------------ launchers
type Launcher = "none" | "ccache" | "sccache" | "zccache" | "zccache-lib" | "hello";
let ZC: string | null = null;
let HELLO: string | null = null;
const sccachePort = 20000 + Math.floor(Math.random() * 20000);
const baseEnv = (() => {
  const e = Deno.env.toObject();
  for (const k of Object.keys(e)) {
    if (/^(CCACHE_|SCCACHE_|ZCCACHE_|RUSTC_WRAPPER$)/.test(k)) delete e[k];
  }
  return e;
})();
function envOf(l: Launcher): Record<string, string> {
  const d = join(W, "cache", l === "zccache-lib" ? "zccache" : l);
  const e: Record<string, string> = {
    ...baseEnv,
    [MARK]: `${runId}:${l === "zccache-lib" ? "zccache" : l}`,
  };
  if (l === "ccache") e.CCACHE_DIR = d;
  if (l === "sccache") {
    Object.assign(e, {
      SCCACHE_DIR: d,
      SCCACHE_SERVER_PORT: String(sccachePort),
      SCCACHE_IDLE_TIMEOUT: "0",
    });
  }
  if (l === "zccache" || l === "zccache-lib") {
    Object.assign(e, { ZCCACHE_CACHE_DIR: d, ZCCACHE_IDLE_TIMEOUT_SECS: "0" });
  }
  return e;
}
/** The compiler command a launcher puts in front of gcc (`CC=`). */
function ccOf(l: Launcher): string {
  if (l === "none") return "gcc";
  if (l === "zccache") return `${ZC} gcc`;
  return `${l} gcc`;
}
function daemonPids(l: Launcher): number[] {
  if (l === "none" || l === "hello") return [];
  return pidsWithEnv(MARK, `${runId}:${l === "zccache-lib" ? "zccache" : l}`);
}
function daemonTicks(l: Launcher): number {
  return daemonPids(l).reduce((a, p) => a + cpuTicks(p), 0);
}
function daemonRss(l: Launcher, at: string): RssPoint | null {
  let best: RssPoint | null = null;
  for (const p of daemonPids(l)) {
    const r = rssOf(p);
    if (r && (!best || r.hwm_kb > best.hwm_kb)) best = { at, ...r };
  }
  return best;
}
function pushRss(l: string, p: RssPoint | null) {
  if (p) (results.daemon_rss[l] ??= []).push(p);
}

/** Cumulative cache counters of a launcher, or null when unknown. */
async function counters(l: Launcher): Promise<[number, number] | null> {
  const env = envOf(l);
  if (l === "ccache") {
    const r = await run("ccache", ["--print-stats"], { env });
    const v = (k: string) => Number((new RegExp(`^${k}\\t(\\d+)`, "m").exec(r.out) ?? [])[1] ?? 0);
    return r.code === 0
      ? [v("direct_cache_hit") + v("preprocessed_cache_hit"), v("cache_miss")]
      : null;
  }
  if (l === "sccache") {
    const r = await run("sccache", ["-s"], { env });
    const h = /^Cache hits\s+(\d+)\s*$/m.exec(r.out);
    const m = /^Cache misses\s+(\d+)\s*$/m.exec(r.out);
    return h && m ? [Number(h[1]), Number(m[1])] : null;
  }
  if (l === "zccache" && ZC) {
    const r = await run(ZC, ["stats", "--json"], { env: { ...env, ZCCACHE_NO_SPAWN: "1" } });
    try {
      const s = JSON.parse(r.out);
      return [Number(s.cache_hits), Number(s.cache_misses)];
    } catch {
      return null;
    }
  }
  return null;
}

// ------------------------------------------------------------------ measuring
interface HfOut {
  times_ms: number[];
  cpu_ms: number;
}
async function hyperfine(
  tag: string,
  cmd: string,
  o: { env: Record<string, string>; cwd?: string; runs: number; prepare?: string },
): Promise<HfOut | null> {
  const json = join(W, "hf", `${tag}.json`);
  const args = ["-N", "--style", "none", "--runs", String(o.runs), "--export-json", json];
  if (o.prepare) args.push("--prepare", o.prepare);
  args.push(cmd);
  const r = await run("hyperfine", args, { env: o.env, cwd: o.cwd ?? W });
  if (r.code !== 0 || !existsSync(json)) {
    log(`hyperfine failed (${tag}): ${(r.err || r.out).trim().split("\n").slice(-3).join(" | ")}`);
    return null;
  }
  const res = JSON.parse(readFileSync(json, "utf8")).results[0];
  return {
    times_ms: (res.times as number[]).map((t) => t * 1000),
    cpu_ms: (Number(res.user) + Number(res.system)) * 1000,
  };
}

function row(kind: "build" | "hit", project: string, mode: string, launcher: string): SeriesRow {
  const r: SeriesRow = {
    kind,
    project,
    mode,
    launcher,
    samples_ms: [],
    rounds: [],
    summary: summarize([]),
    x_ccache: null,
    x_none: null,
    cpu_ms: null,
    cpu_x_none: null,
    hits: null,
    misses: null,
    steal_pct: 0,
    load1: loadAvg()[0],
  };
  results.series.push(r);
  return r;
}

async function libWorker(spec: Record<string, unknown>): Promise<Record<string, unknown> | null> {
  const f = join(W, "hf", `lib-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  Deno.writeTextFileSync(f, JSON.stringify(spec));
  const worker = join(REPO, "scripts/bench/suite/lib_worker.ts");
  const args = LIB_RT === "deno" ? ["run", "-A", worker, f] : [worker, f];
  const r = await run(LIB_RT === "deno" ? Deno.execPath() : "bun", args, {
    cwd: REPO,
    env: envOf("zccache-lib"),
  });
  if (r.code !== 0) {
    log(`library worker failed: ${r.err.trim().split("\n").slice(-3).join(" | ")}`);
    return null;
  }
  try {
    return JSON.parse(r.out.trim().split("\n").pop()!);
  } catch {
    log(`library worker: no JSON (${r.out.slice(0, 200)})`);
    return null;
  }
}
function libJobs(p: Project, saltOf: string) {
  mkdirSync(join(W, "obj", `zccache-lib-${p.name}`), { recursive: true });
  return p.sources.map((s) => ({
    compiler: "gcc",
    args: [
      ...p.cflags,
      "-include",
      join(W, "salt", `${saltOf}-${p.name}.h`),
      "-c",
      join(p.dir, s),
      "-o",
      join(W, "obj", `zccache-lib-${p.name}`, s.replace(/\.c$/, ".o")),
    ],
    output: join(W, "obj", `zccache-lib-${p.name}`, s.replace(/\.c$/, ".o")),
    cwd: W,
    env: envOf("zccache-lib"),
  }));
}

function makefile(p: Project, l: Launcher): string {
  const mk = join(W, "proj", `${p.name}-${l}.mk`);
  Deno.writeTextFileSync(
    mk,
    `# generated by scripts/bench/all.ts\nSRC := ${p.dir}\nOBJ := ${W}/obj/${l}-${p.name}\n` +
      `CC := ${ccOf(l)}\nCFLAGS := ${
        p.cflags.join(" ")
      }\nSALT := -include ${W}/salt/${l}-${p.name}.h\n` +
      `OBJS := $(patsubst %.c,$(OBJ)/%.o,${p.sources.join(" ")})\nall: $(OBJS)\n` +
      `$(OBJ)/%.o: $(SRC)/%.c\n\t$(CC) $(CFLAGS) $(SALT) -c $< -o $@\n`,
  );
  return `make -s -j${JOBS} -f ${mk}`;
}

/** One build series: every launcher once per round, rotated; `runs` runs per call. */
async function series(
  p: Project,
  mode: "cold" | "warm" | "touch",
  rounds: number,
  runs: number,
  warmups: number,
  launchers: Launcher[],
) {
  log(
    `${p.name} ${mode}: ${
      launchers.join(", ")
    }; ${warmups} warm-up + ${rounds} round(s) x ${runs} run(s)`,
  );
  const rows = new Map<Launcher, SeriesRow>();
  const cnt = new Map<Launcher, [number, number]>();
  const active: Launcher[] = [];
  for (const l of launchers) {
    if (l === "zccache-lib") {
      rows.set(l, row("build", p.name, mode, l));
      active.push(l);
      continue;
    }
    const cmd = makefile(p, l);
    let ok = true;
    for (let i = 0; i < warmups && ok; i++) {
      const a = await run(join(W, "bin/prep"), [p.name, l, mode], { env: envOf(l) });
      const b = await run("bash", ["-c", cmd], { env: envOf(l), cwd: W });
      if (a.code !== 0 || b.code !== 0) {
        log(`${l}: ${p.name} ${mode} warm-up failed: ${(a.err + b.err).trim().slice(0, 300)}`);
        ok = false;
      }
    }
    if (!ok) continue;
    rows.set(l, row("build", p.name, mode, l));
    active.push(l);
  }
  const s0 = stealSnap();
  for (let r = 1; r <= rounds; r++) {
    for (const l of rotate(active, r)) {
      const rw = rows.get(l)!;
      if (l === "zccache-lib") {
        const out = await libWorker({
          mode: "many",
          cacheDir: join(W, "cache/zccache"),
          env: envOf("zccache-lib"),
          jobs: libJobs(p, mode === "cold" ? "zccache-lib" : "zccache"),
          runs,
          warmups: 2,
          concurrency: 2,
        });
        if (!out) continue;
        const t = out.times_ms as number[];
        rw.samples_ms.push(...t);
        rw.rounds.push({ round: r, median_ms: median(t), cpu_ms: null });
        rw.hits = (rw.hits ?? 0) + (out.all_cached ? t.length * p.sources.length : 0);
        rw.misses = (rw.misses ?? 0) + (out.all_cached ? 0 : NaN);
        continue;
      }
      const c0 = await counters(l);
      const d0 = daemonTicks(l);
      const hf = await hyperfine(`${p.name}-${mode}-${l}-r${r}`, makefile(p, l), {
        env: envOf(l),
        runs,
        prepare: `${join(W, "bin/prep")} ${p.name} ${l} ${mode}`,
      });
      const d1 = daemonTicks(l);
      const c1 = await counters(l);
      if (!hf) continue;
      const cpu = hf.cpu_ms + ((d1 - d0) / TCK) * 1000 / runs;
      rw.samples_ms.push(...hf.times_ms);
      rw.rounds.push({ round: r, median_ms: median(hf.times_ms), cpu_ms: cpu });
      if (c0 && c1) {
        const prev = cnt.get(l) ?? [0, 0];
        cnt.set(l, [prev[0] + c1[0] - c0[0], prev[1] + c1[1] - c0[1]]);
      }
    }
  }
  const st = stealPct(s0, stealSnap());
  for (const [l, rw] of rows) {
    rw.steal_pct = st;
    const c = cnt.get(l);
    if (c) [rw.hits, rw.misses] = c;
    if (rw.misses !== null && Number.isNaN(rw.misses)) rw.misses = null;
    if (rw.samples_ms.length) {
      log(
        `  ${l}: median ${median(rw.samples_ms).toFixed(1)} ms${
          rw.hits !== null ? `, hits/misses ${rw.hits}/${rw.misses ?? "?"}` : ""
        }`,
      );
    }
  }
  if (mode === "touch" && p.touch) {
    Deno.copyFileSync(join(W, "proj", `${p.name}.touch`), join(p.dir, p.touch));
  }
}

/** One hit per invocation: `hyperfine -N` of one compile (or the hello world, or the library). */
async function hitSeries(
  name: string,
  dir: string,
  file: string,
  cflags: string[],
  ls: Launcher[],
) {
  log(`hit ${name}: ${ls.join(", ")}; ${ROUNDS} round(s) x ${HIT_RUNS} runs`);
  const rows = new Map<Launcher, SeriesRow>();
  const cnt = new Map<Launcher, [number, number]>();
  const cmdOf = (l: Launcher) => {
    if (l === "hello") return HELLO!;
    return `${ccOf(l)} ${cflags.join(" ")} -c ${file} -o ${W}/obj/hit-${name}-${l}.o`;
  };
  const active: Launcher[] = [];
  for (const l of ls) {
    if (l !== "zccache-lib") {
      // Prime: the first compile stores, the second must hit.
      let ok = true;
      for (let i = 0; i < 2 && ok; i++) {
        const r = await run("bash", ["-c", cmdOf(l)], { env: envOf(l), cwd: dir });
        if (r.code !== 0) {
          log(`${l}: hit ${name} priming failed: ${r.err.trim().slice(0, 300)}`);
          ok = false;
        }
      }
      if (!ok) continue;
    }
    rows.set(l, row("hit", name, "hit", l));
    active.push(l);
  }
  const s0 = stealSnap();
  for (let r = 1; r <= ROUNDS; r++) {
    for (const l of rotate(active, r)) {
      const rw = rows.get(l)!;
      if (l === "zccache-lib") {
        const out = await libWorker({
          mode: "hit",
          cacheDir: join(W, "cache/zccache"),
          env: envOf("zccache-lib"),
          jobs: [{
            compiler: "gcc",
            args: [...cflags, "-c", file, "-o", `${W}/obj/hit-${name}-lib.o`],
            cwd: dir,
            env: envOf("zccache-lib"),
          }],
          runs: LIB_HITS,
          warmups: 20,
        });
        if (!out) continue;
        const t = out.times_ms as number[];
        rw.samples_ms.push(...t);
        rw.rounds.push({ round: r, median_ms: median(t), cpu_ms: null });
        if (out.all_cached) rw.hits = (rw.hits ?? 0) + t.length;
        rw.misses = out.all_cached ? (rw.misses ?? 0) : null;
        continue;
      }
      const c0 = await counters(l);
      const d0 = daemonTicks(l);
      const hf = await hyperfine(`hit-${name}-${l}-r${r}`, cmdOf(l), {
        env: envOf(l),
        cwd: dir,
        runs: HIT_RUNS,
      });
      const d1 = daemonTicks(l);
      const c1 = await counters(l);
      if (!hf) continue;
      rw.samples_ms.push(...hf.times_ms);
      rw.rounds.push({
        round: r,
        median_ms: median(hf.times_ms),
        cpu_ms: hf.cpu_ms + ((d1 - d0) / TCK) * 1000 / HIT_RUNS,
      });
      if (c0 && c1) {
        const prev = cnt.get(l) ?? [0, 0];
        cnt.set(l, [prev[0] + c1[0] - c0[0], prev[1] + c1[1] - c0[1]]);
      }
    }
  }
  const st = stealPct(s0, stealSnap());
  for (const [l, rw] of rows) {
    rw.steal_pct = st;
    const c = cnt.get(l);
    if (c) [rw.hits, rw.misses] = c;
    if (rw.samples_ms.length) {
      log(`  ${l}: median ${median(rw.samples_ms).toFixed(l === "zccache-lib" ? 3 : 2)} ms`);
    }
  }
}

// ------------------------------------------------------------------ daemons
const children = new Set<Deno.ChildProcess>();

async function waitPong(endpoint: string, deadlineMs: number): Promise<boolean> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    try {
      const r = await daemonControlRoundtrip(endpoint, { kind: "Ping" }, {
        timeoutMs: 2000,
        connectTimeoutMs: 200,
        wire: "bincode",
      });
      if (r?.kind === "Pong") return true;
    } catch {
      // not accepting yet
    }
    await sleep(1);
  }
  return false;
}

/** Spawn `zccache daemon --foreground` on `cacheDir`; ms from spawn to the first Pong. */
async function spawnDaemon(cacheDir: string): Promise<{ child: Deno.ChildProcess; ms: number }> {
  const env = { ...envOf("zccache"), ZCCACHE_CACHE_DIR: cacheDir };
  const endpoint = clientEndpoint(env, W);
  const t0 = performance.now();
  const child = new Deno.Command(ZC!, {
    args: ["daemon", "--foreground"],
    env,
    clearEnv: true,
    cwd: W,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  children.add(child);
  const ok = await waitPong(endpoint, 15_000);
  const ms = performance.now() - t0;
  if (!ok) {
    await stopChild(child);
    throw new Error(`zccache daemon on ${cacheDir} did not answer Ping within 15 s`);
  }
  return { child, ms };
}
async function stopChild(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const t = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, 5000);
  await child.status;
  clearTimeout(t);
  children.delete(child);
}

async function stopAll(active: Launcher[]) {
  if (active.includes("sccache")) {
    await run("sccache", ["--stop-server"], { env: envOf("sccache") });
  }
  if (active.includes("zccache") && ZC) {
    await run(ZC, ["stop"], { env: { ...envOf("zccache"), ZCCACHE_NO_SPAWN: "1" } });
  }
  for (const c of [...children]) await stopChild(c);
}

/** Max RSS (KiB) of one process tree, via a wait4() helper built here. */
let RUSAGE: string | null = null;
function setupRusage() {
  const r = buildRusage(join(W, "bin"));
  if ("path" in r) RUSAGE = r.path;
  else log(`rusage helper did not build: ${r.error}`);
}
async function clientRss(l: Launcher, dir: string, file: string, cflags: string[]) {
  if (!RUSAGE) return;
  const argv = l === "hello"
    ? [HELLO!]
    : [...ccOf(l).split(" "), ...cflags, "-c", file, "-o", `${W}/obj/rss-${l}.o`];
  const xs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await run(RUSAGE, argv, { env: envOf(l), cwd: dir });
    const u = rusageOf(r.err);
    if (u && u.exit === 0 && i > 0) xs.push(u.maxrssKb); // the first run primes the cache
  }
  if (xs.length) results.client_rss_kb[l] = median(xs);
}

// ------------------------------------------------------------------ main
let active: Launcher[] = [];
const onSignal = () => {
  log("interrupted: stopping daemons");
  stopAll(active).finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
try {
  log(
    `work dir ${W}; sources ${SRC_ROOT}; rounds ${ROUNDS}; ${SMOKE ? "smoke; " : ""}sections ${
      ONLY.join(",")
    }`,
  );
  ZC = await zccacheBinary();
  await versions(ZC);
  active = ["none"];
  for (const l of ["ccache", "sccache"] as const) {
    if (which(l)) active.push(l);
    else skip(l, `${l} not on PATH (apt-get install -y ${l})`);
  }
  if (ZC) active.push("zccache");
  if (ZC && !which(LIB_RT)) skip("zccache-lib", `${LIB_RT} not on PATH for the library worker`);
  const lib = ZC !== null && which(LIB_RT) !== null;
  if (which("bun")) {
    const hs = join(W, "bin/hello.ts");
    Deno.writeTextFileSync(hs, 'console.log("hello");\n');
    const hb = await run("bun", [
      "build",
      "--compile",
      "--minify",
      hs,
      "--outfile",
      join(W, "bin/hello"),
    ], { cwd: join(W, "bin") });
    if (hb.code === 0) HELLO = join(W, "bin/hello");
    else log(`compiled-Bun hello world did not build: ${hb.err.trim().split("\n").pop()}`);
  } else skip("hello", "bun not on PATH (the compiled hello world is the floor)");
  setupRusage();
  await setupProjects();

  // Daemons, started once (timed).
  if (active.includes("sccache")) {
    const t = performance.now();
    const r = await run("sccache", ["--start-server"], { env: envOf("sccache") });
    if (r.code !== 0) {
      skip("sccache", `sccache --start-server failed: ${r.err.trim().split("\n").pop()}`);
      active = active.filter((l) => l !== "sccache");
    } else {
      log(`sccache server started in ${(performance.now() - t).toFixed(0)} ms`);
      await sleep(1000);
      pushRss("sccache", daemonRss("sccache", "idle, 1 s after start"));
    }
  }
  if (active.includes("zccache")) {
    const t = performance.now();
    const r = await run(ZC!, ["start"], { env: envOf("zccache") });
    if (r.code !== 0) {
      skip("zccache", `zccache start failed: ${r.err.trim().split("\n").pop()}`);
      active = active.filter((l) => l !== "zccache");
    } else {
      log(`zccache daemon started in ${(performance.now() - t).toFixed(0)} ms (zccache start)`);
      await sleep(1000);
      pushRss("zccache", daemonRss("zccache", "idle, empty cache, 1 s after `zccache start`"));
    }
  }
  const cachedNow = () => active.filter((l) => l !== "none");
  const withLib = (ls: Launcher[]) =>
    lib && ls.includes("zccache") ? [...ls, "zccache-lib" as Launcher] : ls;

  // Builds.
  for (const p of projects) {
    const isHeavy = p.name === "sqlite";
    if (p.name !== "sqlite" && !want("lua")) continue;
    if (isHeavy) {
      await series(p, "cold", ROUNDS_HEAVY, 1, 0, active);
      if (cachedNow().length) await series(p, "warm", ROUNDS, RUNS_WARM, 1, withLib(cachedNow()));
    } else {
      await series(p, "cold", ROUNDS, 1, 1, active);
      if (cachedNow().length) {
        await series(p, "warm", ROUNDS, RUNS_WARM, 1, withLib(cachedNow()));
        await series(p, "touch", ROUNDS, RUNS_TOUCH, 1, cachedNow());
      }
    }
  }

  // One hit per invocation.
  const main = projects.find((p) => p.name !== "sqlite");
  const realFile = main ? (main.name === "lua" ? "lzio.c" : main.sources[0]) : null;
  if (want("hit")) {
    const ls = withLib(active);
    await hitSeries("tiny", join(W, "src"), "tiny.c", ["-O2"], HELLO ? [...ls, "hello"] : ls);
    if (main && realFile) {
      await hitSeries(
        main.name === "lua" ? "lzio" : main.name,
        main.dir,
        realFile,
        main.cflags,
        ls,
      );
    }
  }
  if (want("mem")) {
    log("peak RSS of one warm-hit process");
    for (const l of [...active, ...(HELLO ? ["hello" as Launcher] : [])]) {
      await clientRss(l, join(W, "src"), "tiny.c", ["-O2"]);
    }
  }
  for (const l of cachedNow()) pushRss(l, daemonRss(l, "end of the build and hit series"));

  // Daemon start-up (fresh daemons, killed again).
  if (want("start")) {
    if (active.includes("zccache")) {
      const fresh: number[] = [];
      const wall: number[] = [];
      log(`daemon start: zccache x${START_N} (fresh cache dir)`);
      for (let i = 0; i < START_N; i++) {
        const d = join(W, "cache", `start-${i}`);
        try {
          const { child, ms } = await spawnDaemon(d);
          fresh.push(ms);
          if (i === 0) {
            await sleep(1000);
            const pid = child.pid;
            const r = rssOf(pid);
            if (r && !want("mem")) pushRss("zccache", { at: "idle, empty cache, 1 s", ...r });
          }
          await stopChild(child);
        } catch (e) {
          log(String(e));
        }
        const d2 = join(W, "cache", `startw-${i}`);
        const env = { ...envOf("zccache"), ZCCACHE_CACHE_DIR: d2 };
        const t = performance.now();
        const r = await run(ZC!, ["start"], { env });
        if (r.code === 0) wall.push(performance.now() - t);
        await run(ZC!, ["stop"], { env: { ...env, ZCCACHE_NO_SPAWN: "1" } });
      }
      const add = (what: string, xs: number[]) =>
        xs.length &&
        results.start.push({ launcher: "zccache", what, samples_ms: xs, summary: summarize(xs) });
      add("spawn to first Pong, empty cache", fresh);
      add("`zccache start` wall (CLI process included), empty cache", wall);
    }
    if (active.includes("sccache")) {
      log(`daemon start: sccache --start-server x${START_N} (fresh dir, own port)`);
      const xs: number[] = [];
      for (let i = 0; i < START_N; i++) {
        const env = {
          ...envOf("sccache"),
          SCCACHE_DIR: join(W, "cache", `sstart-${i}`),
          SCCACHE_SERVER_PORT: String(sccachePort + 1 + i),
        };
        const t = performance.now();
        const r = await run("sccache", ["--start-server"], { env });
        if (r.code === 0) xs.push(performance.now() - t);
        await run("sccache", ["--stop-server"], { env });
      }
      if (xs.length) {
        results.start.push({
          launcher: "sccache",
          what: "`sccache --start-server` wall (returns once the server answers), empty cache",
          samples_ms: xs,
          summary: summarize(xs),
        } as StartRow);
      }
    }
  }

  // The populated cache: restart the main zccache daemon there (start-up and memory).
  if (active.includes("zccache") && (want("start") || want("mem"))) {
    await run(ZC!, ["stop"], { env: { ...envOf("zccache"), ZCCACHE_NO_SPAWN: "1" } });
    await sleep(300);
    const pop: number[] = [];
    const n = want("start") ? START_N : 0;
    for (let i = 0; i <= n; i++) {
      let d: { child: Deno.ChildProcess; ms: number };
      try {
        d = await spawnDaemon(join(W, "cache/zccache"));
      } catch (e) {
        log(String(e));
        break;
      }
      if (i < n) {
        pop.push(d.ms);
        await stopChild(d.child);
        continue;
      }
      // The last one stays for the memory run.
      if (want("mem") && main && lib) {
        await sleep(1000);
        const idle = rssOf(d.child.pid);
        if (idle) pushRss("zccache", { at: "idle, populated cache, 1 s after start", ...idle });
        log(`daemon memory: ${FLOOD} hits through the library`);
        const out = await libWorker({
          mode: "flood",
          cacheDir: join(W, "cache/zccache"),
          env: envOf("zccache-lib"),
          jobs: libJobs(main, "zccache").map((j) => ({ ...j, output: undefined })),
          hits: FLOOD,
          concurrency: 2,
          pid: d.child.pid,
        });
        if (out) {
          const pts = out.rss as RssPoint[];
          for (const p of pts.slice(1)) pushRss("zccache", p);
          results.flood = {
            hits: Number(out.hits),
            seconds: Number(out.seconds),
            runtime: String(out.runtime),
          };
          if (!out.all_cached) log("daemon memory: not every request was a hit");
          log(`  ${out.hits} hits in ${Number(out.seconds).toFixed(1)} s`);
        }
      }
      await stopChild(d.child);
    }
    if (pop.length) {
      results.start.unshift({
        launcher: "zccache",
        what: `spawn to first Pong, populated cache (${main?.name ?? "?"} builds)`,
        samples_ms: pop,
        summary: summarize(pop),
      });
    }
  }

  if (want("size")) {
    if (ZC) results.binary.zccache = statSync(ZC).size;
    if (HELLO) results.binary.hello = statSync(HELLO).size;
    results.binary.zccache_path = ZC ? ZC.replace(REPO + "/", "") : null;
  }
} finally {
  await stopAll(active);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}
results.machine.load_end = loadAvg();
results.machine.steal_pct = stealPct(steal0, stealSnap());
results.duration_s = (performance.now() - T0) / 1000;
await writeOutputs(results);
if (!KEEP_WORK) rmSync(W, { recursive: true, force: true });
else log(`work dir kept: ${W}`);
for (const t of (await import("./suite/report.ts")).targets(results)) {
  log(`target: ${t.name}: ${t.measured} (${t.target}) ${t.status}`);
}
