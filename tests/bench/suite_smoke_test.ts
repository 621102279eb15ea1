/**
 * The benchmark suite (`deno task bench:all`, scripts/bench/all.ts) keeps working:
 *
 * - under Deno and Bun: the report, the targets, the BENCHMARKS.md splice and the SVG
 *   from a synthetic result (pure functions, milliseconds);
 * - under Deno only: the whole suite in `--smoke` mode (a generated 4-TU project, one
 *   round) into a temp out dir with `--no-write`, then the JSON, the tables and the SVG
 *   it produced. Bun skips it: the suite is a Deno program (`deno run`), so running it
 *   again from `bun test` would measure the same thing twice (~20 s on 2 cores) for no
 *   extra coverage. Skipped with a reason when gcc, make, hyperfine, ccache, sccache or
 *   bun is missing.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtime, test } from "../_harness.ts";
import {
  BEGIN_MARK,
  derive,
  END_MARK,
  renderMarkdown,
  splice,
  targets,
} from "../../scripts/bench/suite/report.ts";
import { renderSvg } from "../../scripts/bench/suite/svg.ts";
import { pairedRatio, rotate, summarize } from "../../scripts/bench/suite/stats.ts";
import type { Results, SeriesRow } from "../../scripts/bench/suite/types.ts";

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

function have(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function row(
  kind: "build" | "hit",
  project: string,
  mode: string,
  launcher: string,
  perRound: number[],
  cpu: number | null = null,
): SeriesRow {
  return {
    kind,
    project,
    mode,
    launcher,
    samples_ms: perRound,
    rounds: perRound.map((m, i) => ({ round: i + 1, median_ms: m, cpu_ms: cpu && cpu * (i + 1) })),
    summary: summarize([]),
    x_ccache: null,
    x_none: null,
    cpu_ms: null,
    cpu_x_none: null,
    hits: 34,
    misses: 0,
    steal_pct: 0,
    load1: 0.1,
  };
}

function synthetic(): Results {
  return {
    schema: "zccache-ts/bench-all/1",
    date: "2026-01-01T00:00:00.000Z",
    duration_s: 60,
    command: "deno task bench:all",
    options: {
      rounds: 2,
      rounds_heavy_cold: 2,
      runs_warm: 3,
      runs_touch: 2,
      hit_runs: 15,
      lib_hits: 300,
      flood_hits: 50000,
      jobs: 2,
      smoke: false,
      only: ["lua"],
      lib_runtime: "bun",
    },
    machine: {
      nproc: 2,
      model: "test cpu",
      mem_total_mb: 4096,
      kernel: "6.0",
      load_start: [0.1, 0.1, 0.1],
      load_end: [0.2, 0.2, 0.2],
      steal_pct: 0,
    },
    versions: { gcc: "12.2.0", ccache: "4.7.5", sccache: "0.4.0", zccache_ts: "abc1234" },
    skipped: [],
    main_project: "lua",
    projects: { lua: { tus: 34, cflags: "-O2", touch: "lapi.c" } },
    series: derive([
      row("build", "lua", "cold", "none", [4000, 4200], 7000),
      row("build", "lua", "cold", "ccache", [4400, 4600], 7300),
      row("build", "lua", "cold", "zccache", [4300, 4500], 7200),
      row("build", "lua", "warm", "ccache", [80, 100]),
      row("build", "lua", "warm", "zccache", [150, 190]),
      row("build", "lua", "warm", "zccache-lib", [7, 9]),
      row("hit", "tiny", "hit", "hello", [4, 4]),
      row("hit", "tiny", "hit", "zccache", [5, 5.2]),
      row("hit", "tiny", "hit", "zccache-lib", [0.1, 0.12]),
    ]),
    start: [{
      launcher: "zccache",
      what: "spawn to first Pong, populated cache (lua builds)",
      samples_ms: [30, 40],
      summary: summarize([30, 40]),
    }],
    daemon_rss: {
      zccache: [
        { at: "idle, populated cache, 1 s after start", rss_kb: 30000, hwm_kb: 31000 },
        { at: "after 5000 hits", rss_kb: 60000, hwm_kb: 61000 },
        { at: "after 50000 hits", rss_kb: 32000, hwm_kb: 33000 },
      ],
    },
    flood: { hits: 50000, seconds: 20, runtime: "bun" },
    client_rss_kb: { zccache: 30000 },
    binary: { zccache: 108 * 1048576, hello: 104 * 1048576, zccache_path: "dist/zccache" },
  };
}

test("bench suite: stats, targets, report, splice and SVG from a synthetic result", () => {
  assert.deepEqual(rotate([1, 2, 3], 2), [2, 3, 1]);
  assert.equal(pairedRatio(new Map([[1, 2], [2, 6]]), new Map([[1, 1], [2, 2]])), 2.5);
  const r = synthetic();
  const warm = r.series.find((s) => s.mode === "warm" && s.launcher === "zccache")!;
  assert.ok(Math.abs(warm.x_ccache! - 1.8875) < 1e-9, String(warm.x_ccache)); // (1.875 + 1.9) / 2
  const cold = r.series.find((s) => s.mode === "cold" && s.launcher === "zccache")!;
  assert.ok(Math.abs(cold.cpu_x_none! - 7200 / 7000) < 1e-9);
  const t = targets(r);
  assert.equal(t.length, 10, JSON.stringify(t.map((x) => x.name)));
  const by = (re: RegExp) => t.find((x) => re.test(x.name))!;
  assert.equal(by(/warm, 34 TUs/).status, "met");
  assert.equal(by(/one warm hit, tiny/).status, "met"); // hello + 1.1 ms
  assert.equal(by(/through the library \(`zc/).status, "met"); // 150 µs
  assert.equal(by(/warm through the library/).status, "met"); // 90/8 = 11x
  assert.equal(by(/cold CPU/).status, "met"); // 1.029x
  assert.equal(by(/daemon start/).status, "met");
  assert.equal(by(/RSS idle/).status, "met");
  assert.equal(by(/RSS growth/).status, "met"); // 33000 - 30000 KiB
  assert.equal(by(/wrapper process peak/).status, "not met");
  assert.equal(by(/binary size/).status, "met");
  const md = renderMarkdown(r);
  assert.match(md, /### Targets \(issue 13\)/);
  assert.match(md, /\| lua \(34 TUs\) \| warm \| zccache-ts \(wrapper\) \| 170 ms \|/);
  assert.match(md, /docs\/bench\.svg/);
  const doc = `# Benchmarks\n\nhand-written\n\n${BEGIN_MARK}\nold\n${END_MARK}\n\n## More\n`;
  const out = splice(doc, md);
  assert.ok(out.startsWith("# Benchmarks\n\nhand-written\n\n"));
  assert.ok(out.endsWith(`${END_MARK}\n\n## More\n`));
  assert.ok(!out.includes("\nold\n"));
  assert.equal(splice(out, md), out, "splicing twice changes nothing");
  const svg = renderSvg(r);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /lua warm/);
  assert.equal((svg.match(/<rect /g) ?? []).length > 6, true);
  assert.ok(svg.trim().endsWith("</svg>"));
});

const missing = ["gcc", "make", "hyperfine", "ccache", "sccache", "bun", "deno"].filter((t) =>
  !have(t)
);
if (missing.length) {
  console.error(`bench suite smoke run skipped: ${missing.join(", ")} not on PATH`);
} else if (runtime === "bun") {
  console.error(
    "bench suite smoke run skipped under Bun: the suite is a Deno program; `deno test` runs it",
  );
}

test("bench suite: `bench:all --smoke` produces the JSON, the tables and the SVG", () => {
  const out = mkdtempSync(join(tmpdir(), "zc-bench-smoke-"));
  try {
    const bin = join(out, "zccache");
    const b = spawnSync("bun", [join(REPO, "scripts/build_binary.ts"), "--outfile", bin], {
      cwd: REPO,
      encoding: "utf8",
    });
    assert.equal(b.status, 0, b.stderr);
    const md = join(out, "BENCHMARKS.md");
    const r = spawnSync(
      "deno",
      [
        "run",
        "-A",
        join(REPO, "scripts/bench/all.ts"),
        "--smoke",
        "--no-write",
        "--out",
        out,
        "--md",
        md,
        "--zccache",
        bin,
      ],
      { cwd: REPO, encoding: "utf8", timeout: 55_000 },
    );
    assert.equal(r.status, 0, `${r.stderr}\n${r.error ?? ""}`);
    assert.match(r.stderr, /\[bench:all +\d+s\] mini cold/);
    assert.ok(!existsSync(md), "--no-write leaves BENCHMARKS.md alone");
    const res = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as Results;
    assert.equal(res.schema, "zccache-ts/bench-all/1");
    assert.equal(res.options.smoke, true);
    assert.equal(res.projects.mini.tus, 4);
    const get = (p: string, m: string, l: string) =>
      res.series.find((s) => s.project === p && s.mode === m && s.launcher === l);
    for (const l of ["none", "ccache", "sccache", "zccache"]) {
      const c = get("mini", "cold", l);
      assert.ok(c && c.summary.median > 1 && c.summary.median < 30_000, `${l} cold`);
      if (l !== "none") assert.equal(c!.misses, 4, `${l} cold: 4 misses`);
    }
    for (const l of ["ccache", "sccache", "zccache", "zccache-lib"]) {
      const w = get("mini", "warm", l);
      assert.ok(w && w.summary.median > 0 && w.summary.median < 10_000, `${l} warm`);
      assert.equal(w!.misses, 0, `${l} warm: no miss`);
      assert.ok(w!.hits! >= 4, `${l} warm: hits`);
    }
    for (const l of ["ccache", "sccache", "zccache"]) {
      const t = get("mini", "touch", l)!;
      assert.equal(t.misses, 1, `${l} touch: one miss`);
      assert.equal(t.hits, 3, `${l} touch: three hits`);
    }
    const cold = get("mini", "cold", "zccache")!;
    assert.ok(cold.cpu_x_none! > 0.5 && cold.cpu_x_none! < 20, String(cold.cpu_x_none));
    const lib = get("tiny", "hit", "zccache-lib")!;
    assert.ok(lib.summary.median > 0.01 && lib.summary.median < 1000, String(lib.summary.median));
    assert.ok(get("tiny", "hit", "hello")!.summary.median > 0.5);
    assert.ok(res.start.some((s) => s.launcher === "zccache" && s.summary.median > 0));
    assert.ok(res.start.some((s) => s.launcher === "sccache" && s.summary.median > 0));
    const rss = res.daemon_rss.zccache;
    assert.ok(rss.some((p) => p.at.startsWith("idle") && p.rss_kb > 1000));
    assert.ok(rss.some((p) => p.at.startsWith("after") && p.hwm_kb > 1000));
    assert.ok(res.flood && res.flood.hits >= 300);
    assert.ok(res.client_rss_kb.zccache > 1000 && res.client_rss_kb.ccache > 100);
    assert.ok(res.binary.zccache! > res.binary.hello! && res.binary.hello! > 1e6);
    const tables = readFileSync(join(out, "tables.md"), "utf8");
    assert.match(tables, /### Targets \(issue 13\)/);
    assert.equal((tables.match(/\| (met|not met) +\|/g) ?? []).length, 10, tables);
    assert.match(tables, /\| mini \(4 TUs\) +\| warm +\| zccache-ts \(library\) +\|/);
    const svg = readFileSync(join(out, "bench.svg"), "utf8");
    assert.match(svg, /^<svg /);
    assert.match(svg, /mini cold/);
    assert.match(svg, /mini touch/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, { ignore: missing.length > 0 || runtime === "bun", timeout: 60_000 });
