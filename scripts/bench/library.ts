/**
 * The build-script API against a process per compile (issue 11), one run:
 *   warm   Lua 5.4.4 (34 TUs) through `ZccacheClient.compileMany` (2 workers)
 *          vs `make -j2` with `CC="ccache gcc"` and with `CC="zccache gcc"`;
 *   hit    per-compile warm-hit latency through `zc.compile()` vs one
 *          `ccache gcc` process per file;
 *   cold   every TU new through `compileMany` vs plain `make -j2`.
 * Interleaved rounds, medians. The Lua sources are fetched offline by
 * scripts/bench/fetch_lua.sh into $ANCHORS_SRC/lua-5.4.4 (default /tmp/benchsrc).
 *
 *   bun scripts/bench/library.ts [--rounds 3]     (or deno run -A)
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ZccacheClient } from "../../mod.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = execFileSync("bash", [join(REPO, "scripts/bench/fetch_lua.sh")], {
  encoding: "utf8",
}).trim();
const ri = process.argv.indexOf("--rounds");
const ROUNDS = ri > 0 ? Number(process.argv[ri + 1]) : 3;
if (!existsSync(SRC)) {
  console.error(`library.ts: no Lua sources in ${SRC}`);
  process.exit(2);
}
const FLAGS = ["-std=gnu99", "-O2", "-Wall", "-Wextra", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"];
const W = mkdtempSync(join(tmpdir(), "zc-lib-bench-"));
const work = join(W, "lua");
mkdirSync(join(work, "obj"), { recursive: true });
cpSync(SRC, join(work, "src"), { recursive: true });
const sources = readdirSync(join(work, "src")).filter((f) => f.endsWith(".c")).sort();
writeFileSync(
  join(work, "Makefile"),
  "SRCS := $(wildcard src/*.c)\nOBJS := $(patsubst src/%.c,obj/%.o,$(SRCS))\nall: $(OBJS)\n" +
    `obj/%.o: src/%.c\n\t$(CC) ${FLAGS.join(" ")} $(SALT) -c $< -o $@\n`,
);
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  ZCCACHE_CACHE_DIR: join(W, "zc"),
  CCACHE_DIR: join(W, "cc"),
};
const zcCli = existsSync(join(REPO, "dist/zccache"))
  ? join(REPO, "dist/zccache")
  : `${process.execPath} ${"Deno" in globalThis ? "run -A " : ""}${join(REPO, "cli.ts")}`;

const clean = () => {
  for (const f of readdirSync(join(work, "obj"))) rmSync(join(work, "obj", f));
};
const make = (cc: string, salt = ""): number => {
  clean();
  const t = performance.now();
  const r = spawnSync("make", ["-s", "-j2", `CC=${cc}`, `SALT=${salt}`], { cwd: work, env });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return performance.now() - t;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const jobs = (salt: string[]) =>
  sources.map((s) => ({
    compiler: "gcc",
    args: [...FLAGS, ...salt, "-c", `src/${s}`, "-o", `obj/${s.replace(/\.c$/, ".o")}`],
    cwd: work,
    env,
  }));

const zc = await ZccacheClient.connect({ cacheDir: join(W, "zc"), env });
const rows: Record<string, number[]> = {};
const add = (k: string, v: number) => (rows[k] ??= []).push(v);
try {
  // Fill both caches once.
  make("ccache gcc");
  await zc.compileMany(jobs([]), { concurrency: 2 });
  make(`${zcCli} gcc`);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["lib", "ccache", "wrapper"] : ["wrapper", "ccache", "lib"];
    for (const o of order) {
      if (o === "lib") {
        clean();
        const t = performance.now();
        const res = await zc.compileMany(jobs([]), { concurrency: 2 });
        add("warm compileMany", performance.now() - t);
        if (!res.every((x) => x.cached)) throw new Error("compileMany: not all hits");
      } else if (o === "ccache") add("warm make -j2 ccache", make("ccache gcc"));
      else add("warm make -j2 zccache wrapper", make(`${zcCli} gcc`));
    }
    // Per-compile hit latency: lzio.c through zc.compile vs a ccache process.
    const one = jobs([]).find((j) => j.args.includes("src/lzio.c"))!;
    const t1 = performance.now();
    for (let i = 0; i < 20; i++) await zc.compile(one);
    add("hit zc.compile (lzio.c)", (performance.now() - t1) / 20);
    const t2 = performance.now();
    for (let i = 0; i < 20; i++) {
      execFileSync("ccache", ["gcc", ...one.args], { cwd: work, env });
    }
    add("hit ccache gcc process (lzio.c)", (performance.now() - t2) / 20);
    // Cold: every TU new.
    const salt = `-DLIB_BENCH_SALT=${r}${process.pid}`;
    clean();
    const t3 = performance.now();
    await zc.compileMany(jobs([salt]), { concurrency: 2 });
    add("cold compileMany", performance.now() - t3);
    add("cold make -j2 plain gcc", make("gcc", `${salt}-plain`));
  }
} finally {
  await zc.close();
  spawnSync(zcCli.split(" ")[0], [...zcCli.split(" ").slice(1), "stop"], { env });
  rmSync(W, { recursive: true, force: true });
}
const m = (k: string) => median(rows[k]);
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
console.log(
  `Rounds: ${ROUNDS}; ${sources.length} TUs; runtime ${
    "Deno" in globalThis ? "deno" : "bun"
  }; wrapper: ${zcCli}`,
);
console.log("| measure | ms (median) | vs ccache |");
console.log("| --- | --: | --: |");
const cc = m("warm make -j2 ccache");
for (const k of ["warm compileMany", "warm make -j2 ccache", "warm make -j2 zccache wrapper"]) {
  console.log(`| ${k} | ${fmt(m(k))} | ${(cc / m(k)).toFixed(1)}x |`);
}
const ch = m("hit ccache gcc process (lzio.c)");
for (const k of ["hit zc.compile (lzio.c)", "hit ccache gcc process (lzio.c)"]) {
  console.log(`| ${k} | ${fmt(m(k))} | ${(ch / m(k)).toFixed(1)}x |`);
}
const pc = m("cold make -j2 plain gcc");
for (const k of ["cold compileMany", "cold make -j2 plain gcc"]) {
  console.log(`| ${k} | ${fmt(m(k))} | ${(pc / m(k)).toFixed(2)}x vs plain |`);
}
