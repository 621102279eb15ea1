/**
 * The report of `deno task bench:all`: issue 13's targets (met / not met,
 * computed from the numbers) and the tables, as Markdown, and the splice of
 * that block into BENCHMARKS.md between the markers. Pure functions of a
 * {@link Results}, so a saved JSON can be re-rendered (`--report-only`).
 *
 * @module
 */
import { median, pairedDiff, pairedRatio, summarize } from "./stats.ts";
import type { Results, SeriesRow } from "./types.ts";

/** The first line of the generated block. */
export const BEGIN_MARK = "<!-- bench:all begin -->";
/** The last line of the generated block. */
export const END_MARK = "<!-- bench:all end -->";

/** One target of issue 13. */
export interface Target {
  /** What is measured. */
  name: string;
  /** The measured value, formatted. */
  measured: string;
  /** The target, formatted. */
  target: string;
  /** measured / limit, formatted (at most 1 is met for "at most" targets, at least 1 for "at least"). */
  ratio: string;
  /** `met`, `not met`, or `not measured`. */
  status: "met" | "not met" | "not measured";
}

/** Display name of a launcher's daemon (or server). */
export function daemonLabel(l: string): string {
  return l === "zccache" ? "zccache-ts daemon" : l === "sccache" ? "sccache server" : l;
}

const LABEL: Record<string, string> = {
  none: "plain gcc",
  ccache: "ccache",
  sccache: "sccache",
  zccache: "zccache-ts (wrapper)",
  "zccache-lib": "zccache-ts (library)",
  hello: "compiled-Bun hello world",
};

/** Display name of a launcher. */
export function label(l: string): string {
  return LABEL[l] ?? l;
}

/** The series row of (project, mode, launcher), if measured. */
export function findRow(
  r: Results,
  project: string,
  mode: string,
  launcher: string,
): SeriesRow | undefined {
  return r.series.find((s) =>
    s.project === project && s.mode === mode && s.launcher === launcher && s.samples_ms.length > 0
  );
}

/** Per-round medians of a row, as a map round -> ms. */
export function roundMap(row: SeriesRow): Map<number, number> {
  return new Map(row.rounds.map((x) => [x.round, x.median_ms]));
}

const ms = (x: number) =>
  !Number.isFinite(x)
    ? "—"
    : x >= 1000
    ? `${(x / 1000).toFixed(2)} s`
    : x >= 100
    ? `${x.toFixed(0)} ms`
    : x >= 10
    ? `${x.toFixed(1)} ms`
    : `${x.toFixed(2)} ms`;
const us = (x: number) => (Number.isFinite(x) ? `${(x * 1000).toFixed(0)} µs` : "—");
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
const xf = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : `${x.toFixed(d)}x`;

function target(
  name: string,
  measured: number | undefined,
  limit: number | undefined,
  fmt: (x: number) => string,
  targetText: (limit: number) => string,
  kind: "max" | "min" = "max",
): Target {
  if (
    measured === undefined || limit === undefined || !Number.isFinite(measured) ||
    !Number.isFinite(limit)
  ) {
    return {
      name,
      measured: measured !== undefined && Number.isFinite(measured) ? fmt(measured) : "—",
      target: limit !== undefined && Number.isFinite(limit) ? targetText(limit) : "—",
      ratio: "—",
      status: "not measured",
    };
  }
  const met = kind === "max" ? measured <= limit : measured >= limit;
  return {
    name,
    measured: fmt(measured),
    target: targetText(limit),
    ratio: (measured / limit).toFixed(2),
    status: met ? "met" : "not met",
  };
}

/** Issue 13's targets, each computed from the results. */
export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const P = r.main_project;
  const PN = P === "lua" ? "Lua" : P;
  const lw = findRow(r, P, "warm", "zccache");
  const lwc = findRow(r, P, "warm", "ccache");
  {
    const t = target(
      `${PN} warm, ${
        r.projects[P]?.tus ?? "?"
      } TUs, \`make -j${r.options.jobs}\` (wrapper), paired ratio to ccache`,
      lw?.x_ccache ?? undefined,
      2,
      (x) =>
        `${x.toFixed(2)}x ccache (${ms(lw!.summary.median)} vs ${ms(lwc?.summary.median ?? NaN)})`,
      (l) => `<= ${l}x ccache`,
    );

    out.push(t);
  }
  const th = findRow(r, "tiny", "hit", "zccache");
  const hello = findRow(r, "tiny", "hit", "hello");
  {
    const over = th && hello ? pairedDiff(roundMap(th), roundMap(hello)) : undefined;
    const t = target(
      "one warm hit, tiny file, one wrapper process",
      th?.summary.median,
      hello ? hello.summary.median + 1.5 : undefined,
      (x) => `${ms(x)} (hello + ${over?.toFixed(2)} ms, paired)`,
      (l) => `<= hello + 1.5 ms = ${ms(l)}`,
    );
    if (over !== undefined && Number.isFinite(over) && t.status !== "not measured") {
      t.status = over <= 1.5 ? "met" : "not met";
      t.ratio = (th!.summary.median / (hello!.summary.median + 1.5)).toFixed(2);
    }
    out.push(t);
  }
  const lib = findRow(r, "tiny", "hit", "zccache-lib");
  out.push(target(
    "one warm hit through the library (`zc.compile`), one connection, tiny file",
    lib?.summary.median,
    0.150,
    us,
    (l) => `<= ${us(l)}`,
  ));
  const lwl = findRow(r, P, "warm", "zccache-lib");
  {
    const speedup = lwl?.x_ccache ? 1 / lwl.x_ccache : undefined;
    out.push(target(
      `${PN} warm through the library (\`compileMany\`, 2 connections) vs ccache's \`make -j${r.options.jobs}\``,
      speedup,
      10,
      (x) =>
        `${x.toFixed(1)}x faster (${ms(lwl!.summary.median)} vs ${ms(lwc?.summary.median ?? NaN)})`,
      (l) => `>= ${l}x faster`,
      "min",
    ));
  }
  for (const p of [P, "sqlite"]) {
    if (p === "sqlite" && !r.projects.sqlite) continue;
    const c = findRow(r, p, "cold", "zccache");
    out.push(target(
      `cold CPU vs plain gcc (${
        p === "lua" ? "Lua" : p === "sqlite" ? "SQLite" : p
      }, paired, daemon CPU included)`,
      c?.cpu_x_none ?? undefined,
      1.05,
      (x) => `${x.toFixed(3)}x`,
      (l) => `<= ${l}x`,
    ));
  }
  const st = r.start.find((s) => s.launcher === "zccache" && s.what.includes("populated")) ??
    r.start.find((s) => s.launcher === "zccache");
  out.push(target(
    `daemon start, spawn to first Pong (${st?.what.replace(/^.*?, /, "") ?? "—"})`,
    st?.summary.median,
    50,
    ms,
    (l) => `<= ${l} ms`,
  ));
  const rss = r.daemon_rss.zccache ?? [];
  const idle = rss.find((x) => x.at.startsWith("idle, populated")) ??
    rss.find((x) => x.at.startsWith("idle"));
  const afters = rss.filter((x) => x.at.startsWith("after"));
  const warmed = afters.length > 1 ? afters[0] : undefined;
  const after = afters.at(-1);
  out.push(target(
    `daemon RSS idle (${idle?.at ?? "idle"})`,
    idle?.rss_kb,
    40 * 1024,
    mb,
    (l) => `<= ${mb(l)}`,
  ));
  {
    // "Flat": what the hits add once the daemon is warm (its code loaded,
    // its caches filled by the first tenth), RSS at the end against RSS
    // then; the peak and the idle RSS are shown beside it.
    const grow = warmed && after ? after.rss_kb - warmed.rss_kb : undefined;
    const n = r.flood?.hits ?? 0;
    out.push(target(
      `daemon RSS growth over ${n} library hits (RSS at the end - RSS ${
        warmed?.at ?? "after the first tenth"
      })`,
      grow,
      5 * 1024,
      (x) =>
        `${x >= 0 ? "+" : ""}${mb(x)} (${mb(warmed!.rss_kb)} -> ${mb(after!.rss_kb)}; idle ${
          idle ? mb(idle.rss_kb) : "?"
        }, peak ${mb(after!.hwm_kb)})`,
      (l) => `<= +${mb(l)}`,
    ));
  }
  out.push(target(
    "wrapper process peak RSS (one warm hit)",
    r.client_rss_kb.zccache,
    25 * 1024,
    mb,
    (l) => `<= ${mb(l)}`,
  ));
  {
    const z = r.binary.zccache ?? undefined;
    const h = r.binary.hello ?? undefined;
    out.push(target(
      "binary size vs a compiled-Bun hello world",
      z === undefined ? undefined : z / 1048576,
      h === undefined ? undefined : h / 1048576 + 5,
      (x) => `${x.toFixed(1)} MiB (hello + ${(x - (h ?? 0) / 1048576).toFixed(1)} MiB)`,
      (l) => `<= hello + 5 MiB = ${l.toFixed(1)} MiB`,
    ));
  }
  return out;
}

function cpuCell(s: SeriesRow): string {
  const c = s.rounds.map((x) => x.cpu_ms).filter((x): x is number => x !== null);
  if (!c.length || s.cpu_ms === null) return "—";
  return c.length > 1
    ? `${ms(s.cpu_ms)} (${ms(Math.min(...c))}–${ms(Math.max(...c))})`
    : ms(s.cpu_ms);
}

function cell(x: number | null | undefined, f: (x: number) => string): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : f(x);
}

/** The whole generated Markdown block (without the markers). */
export function renderMarkdown(r: Results, svgPath = "docs/bench.svg"): string {
  const L: string[] = [];
  const v = r.versions;
  const m = r.machine;
  L.push(
    `Generated by \`${r.command}\` on ${r.date} in ${(r.duration_s / 60).toFixed(1)} min` +
      `${r.options.smoke ? " (**smoke run: tiny inputs, one round; not a measurement**)" : ""}.`,
  );
  L.push("");
  L.push(
    `Machine: ${m.nproc} CPUs (${m.model}), ${(m.mem_total_mb / 1024).toFixed(1)} GiB, ` +
      `Linux ${m.kernel}; load average ${m.load_start.join(" ")} at the start, ` +
      `${m.load_end.join(" ")} at the end; CPU steal ${m.steal_pct.toFixed(1)}% over the run. ` +
      `Versions: gcc ${v.gcc ?? "—"}, ccache ${v.ccache ?? "—"}, sccache ${v.sccache ?? "—"}, ` +
      `hyperfine ${v.hyperfine ?? "—"}, deno ${v.deno ?? "—"}, bun ${v.bun ?? "—"}, ` +
      `zccache-ts ${v.zccache_ts ?? "—"}; library client runtime: ${r.options.lib_runtime}. ` +
      `Rounds: ${r.options.rounds} (SQLite cold: ${r.options.rounds_heavy_cold}), ` +
      `\`make -j${r.options.jobs}\`.`,
  );
  if (r.skipped.length) {
    L.push("");
    L.push(`Skipped: ${r.skipped.map((s) => `${s.launcher} (${s.reason})`).join("; ")}.`);
  }
  L.push("");
  L.push("### Targets (issue 13)");
  L.push("");
  L.push("| target | measured | limit | measured / limit | status |");
  L.push("| --- | --- | --- | --- | --- |");
  for (const t of targets(r)) {
    L.push(`| ${t.name} | ${t.measured} | ${t.target} | ${t.ratio} | ${t.status} |`);
  }
  L.push("");
  L.push(
    "Ratios to ccache and to plain gcc are paired: the median over rounds of the ratio of the " +
      "two launchers' medians in the same round; `time / ccache` above 1 is slower than ccache. " +
      "`met` / `not met` is computed from the numbers above; the runs of the issue's targets " +
      "are the rows below.",
  );
  L.push("");
  L.push(`![cold, warm and touch builds per tool](${svgPath})`);

  const builds = r.series.filter((s) => s.kind === "build");
  if (builds.length) {
    L.push("");
    L.push("### Builds (`make -j" + r.options.jobs + "`, wall time)");
    L.push("");
    L.push(
      "| project | mode | launcher | median | min–max | time / ccache (paired) | CPU per build (rounds) | CPU vs plain gcc | hits / misses |",
    );
    L.push("| --- | --- | --- | --: | --: | --: | --: | --: | --: |");
    for (const s of builds) {
      const p = r.projects[s.project];
      L.push(
        `| ${s.project}${p ? ` (${p.tus} TU${p.tus === 1 ? "" : "s"})` : ""} | ${s.mode} | ${
          label(s.launcher)
        } | ${ms(s.summary.median)} | ${ms(s.summary.min)}–${ms(s.summary.max)} | ${
          xf(s.x_ccache)
        } | ${cpuCell(s)} | ${xf(s.cpu_x_none, 3)} | ${
          s.hits === null ? "—" : `${s.hits} / ${s.misses}`
        } |`,
      );
    }
    L.push("");
    L.push(
      "cold: every TU misses (a forced-include salt header rewritten before each run); warm: all " +
        `hit; touch: one file (${
          Object.entries(r.projects).filter(([, p]) => p.touch).map(([n, p]) => `${n}: ${p.touch}`)
            .join(", ")
        }) gets a new line before each run (all hit but that one). The ` +
        "library rows are `ZccacheClient.compileMany` on 2 connections against the same daemon as " +
        "the wrapper. CPU = user+sys of the build's process tree plus the daemon's CPU during the " +
        "series (/proc/PID/stat, reaped children included), per build, median and min–max over " +
        "rounds; on a shared VM the CPU time of the same compile varies with contention, so " +
        "trust a CPU ratio only when its rounds agree. hits / misses are the tool's own " +
        "counters over the timed runs.",
    );
  }
  const hits = r.series.filter((s) => s.kind === "hit");
  if (hits.length) {
    L.push("");
    L.push("### One compile invocation that hits (`hyperfine -N`)");
    L.push("");
    L.push(
      "| file | launcher | median | IQR | min–max | time / ccache (paired) | time / plain compile |",
    );
    L.push("| --- | --- | --: | --: | --: | --: | --: |");
    for (const s of hits) {
      const f = s.launcher === "zccache-lib" ? us : ms;
      L.push(
        `| ${s.project} | ${label(s.launcher)}${
          s.launcher === "none" ? " (the compile itself)" : ""
        } | ${f(s.summary.median)} | ${f(s.summary.q1)}–${f(s.summary.q3)} | ${f(s.summary.min)}–${
          f(s.summary.max)
        } | ${xf(s.x_ccache)} | ${xf(s.x_none)} |`,
      );
    }
    L.push("");
    L.push(
      'The hello world is `console.log("hello")` built with `bun build --compile --minify` ' +
        "(the runtime's floor for one process); the library rows are one `zc.compile()` on one " +
        "kept connection (no process start).",
    );
  }
  if (r.start.length) {
    L.push("");
    L.push("### Daemon start and memory");
    L.push("");
    L.push("| launcher | start: what | median | min–max | n |");
    L.push("| --- | --- | --: | --: | --: |");
    for (const s of r.start) {
      L.push(
        `| ${daemonLabel(s.launcher)} | ${s.what} | ${ms(s.summary.median)} | ${
          ms(s.summary.min)
        }–${ms(s.summary.max)} | ${s.summary.n} |`,
      );
    }
  }
  const rssL = Object.entries(r.daemon_rss);
  if (rssL.length) {
    L.push("");
    L.push("| daemon | when | RSS | peak RSS (VmHWM) |");
    L.push("| --- | --- | --: | --: |");
    for (const [l, pts] of rssL) {
      for (const p of pts) {
        L.push(`| ${daemonLabel(l)} | ${p.at} | ${mb(p.rss_kb)} | ${mb(p.hwm_kb)} |`);
      }
    }
    if (r.flood) {
      L.push("");
      L.push(
        `The ${r.flood.hits} hits: \`compileMany\` over the project's TUs on 2 connections ` +
          `(${r.flood.runtime}), ${r.flood.seconds.toFixed(1)} s, ${
            (r.flood.seconds * 1e6 / Math.max(1, r.flood.hits)).toFixed(0)
          } µs per hit.`,
      );
    }
  }
  const cr = Object.entries(r.client_rss_kb);
  if (cr.length || r.binary.zccache !== null) {
    L.push("");
    L.push("### Process size");
    L.push("");
    L.push("| what | peak RSS of one warm hit (process tree) |");
    L.push("| --- | --: |");
    for (const [l, kb] of cr) L.push(`| ${label(l)} | ${mb(kb)} |`);
    L.push("");
    L.push("| binary | size |");
    L.push("| --- | --: |");
    L.push(`| zccache-ts (\`dist/zccache\`) | ${cell(r.binary.zccache, (b) => mb(b / 1024))} |`);
    L.push(
      `| compiled-Bun hello world (\`bun build --compile --minify\`) | ${
        cell(r.binary.hello, (b) => mb(b / 1024))
      } |`,
    );
  }
  return L.join("\n") + "\n";
}

/**
 * BENCHMARKS.md with the generated block replaced (or inserted after the
 * "how to run" section when the markers are missing: at the end).
 */
export function splice(md: string, block: string): string {
  const full = `${BEGIN_MARK}\n\n${block.trim()}\n\n${END_MARK}`;
  const b = md.indexOf(BEGIN_MARK);
  const e = md.indexOf(END_MARK);
  if (b >= 0 && e > b) return md.slice(0, b) + full + md.slice(e + END_MARK.length);
  return md.trimEnd() + "\n\n" + full + "\n";
}

/** Median of the samples of a row, or NaN (for the chart). */
export function med(row: SeriesRow | undefined): number {
  return row ? median(row.samples_ms) : NaN;
}

/**
 * Fill the derived fields of every row from its samples: the summary, the
 * paired ratios to ccache and to plain gcc (cold and hit series), the CPU
 * per run and its paired ratio to plain gcc.
 */
export function derive(rows: SeriesRow[]): SeriesRow[] {
  const key = (s: SeriesRow, l: string) => `${s.kind}|${s.project}|${s.mode}|${l}`;
  const by = new Map(rows.map((s) => [key(s, s.launcher), s]));
  const cpuMap = (s: SeriesRow) =>
    new Map(
      s.rounds.filter((x) => x.cpu_ms !== null).map((x) => [x.round, x.cpu_ms as number]),
    );
  for (const s of rows) {
    s.summary = summarize(s.samples_ms);
    const cpus = s.rounds.map((x) => x.cpu_ms).filter((x): x is number => x !== null);
    s.cpu_ms = cpus.length ? median(cpus) : null;
  }
  for (const s of rows) {
    const cc = by.get(key(s, "ccache"));
    const none = by.get(key(s, "none"));
    const fin = (x: number) => (Number.isFinite(x) ? x : null);
    s.x_ccache = cc && cc.samples_ms.length ? fin(pairedRatio(roundMap(s), roundMap(cc))) : null;
    s.x_none = none && none.samples_ms.length
      ? fin(pairedRatio(roundMap(s), roundMap(none)))
      : null;
    s.cpu_x_none = none && s.cpu_ms !== null ? fin(pairedRatio(cpuMap(s), cpuMap(none))) : null;
  }
  return rows;
}
