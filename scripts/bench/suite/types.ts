/**
 * The raw results of `deno task bench:all` (written as JSON, e.g.
 * bench/results/latest.json), from which the report and the chart are made.
 *
 * @module
 */
import type { Summary } from "./stats.ts";

/** One timed series: one launcher in one (project, mode), over all rounds. */
export interface SeriesRow {
  /** `build`: a whole project by `make -jN`; `hit`: one compile invocation. */
  kind: "build" | "hit";
  /** Project (`lua`, `sqlite`, `mini`) or, for hits, the file (`tiny`, `lzio`, `mini`). */
  project: string;
  /** `cold`, `warm`, `touch` or `hit`. */
  mode: string;
  /** `none` (plain gcc), `ccache`, `sccache`, `zccache`, `zccache-lib`, `hello`. */
  launcher: string;
  /** Every timed run, ms. */
  samples_ms: number[];
  /** Per round: the median of its runs and the CPU per run (process tree + daemon), ms. */
  rounds: { round: number; median_ms: number; cpu_ms: number | null }[];
  /** Over all samples, ms. */
  summary: Summary;
  /** Median over rounds of this / ccache (same round); null without ccache. */
  x_ccache: number | null;
  /** Median over rounds of this / plain gcc (cold and hit only). */
  x_none: number | null;
  /** Median over rounds of the CPU per run, ms. */
  cpu_ms: number | null;
  /** Median over rounds of this CPU / plain gcc's CPU (same round). */
  cpu_x_none: number | null;
  /** Cache counters over the timed runs (null: not known). */
  hits: number | null;
  /** Cache misses over the timed runs (null: not known). */
  misses: number | null;
  /** CPU steal during the series, %. */
  steal_pct: number;
  /** Load average (1 min) at the start of the series. */
  load1: number;
}

/** Daemon start-up samples. */
export interface StartRow {
  /** `zccache` or `sccache`. */
  launcher: string;
  /** What was timed, e.g. `spawn to first Pong, populated cache`. */
  what: string;
  /** Samples, ms. */
  samples_ms: number[];
  /** Their summary. */
  summary: Summary;
}

/** Peak and current RSS of a daemon at one moment, KiB. */
export interface RssPoint {
  /** When, e.g. `idle`, `after 50000 hits`. */
  at: string;
  /** VmRSS, KiB. */
  rss_kb: number;
  /** VmHWM (peak), KiB. */
  hwm_kb: number;
}

/** Everything one run of the suite measured. */
export interface Results {
  /** Format tag. */
  schema: "zccache-ts/bench-all/1";
  /** ISO date of the start. */
  date: string;
  /** Seconds the run took. */
  duration_s: number;
  /** The command line. */
  command: string;
  /** Options in effect. */
  options: {
    rounds: number;
    rounds_heavy_cold: number;
    runs_warm: number;
    runs_touch: number;
    hit_runs: number;
    lib_hits: number;
    flood_hits: number;
    jobs: number;
    smoke: boolean;
    only: string[];
    lib_runtime: string;
  };
  /** The machine. */
  machine: {
    nproc: number;
    model: string;
    mem_total_mb: number;
    kernel: string;
    load_start: number[];
    load_end: number[];
    steal_pct: number;
  };
  /** Tool versions (`null`: not installed). */
  versions: Record<string, string | null>;
  /** Launchers skipped, with the reason. */
  skipped: { launcher: string; reason: string }[];
  /** The multi-TU project of the targets: `lua`, or `mini` in a smoke run. */
  main_project: string;
  /** Projects: translation units and flags. */
  projects: Record<string, { tus: number; cflags: string; touch?: string }>;
  /** Build and hit series. */
  series: SeriesRow[];
  /** Daemon start-up. */
  start: StartRow[];
  /** Daemon RSS over time, per launcher. */
  daemon_rss: Record<string, RssPoint[]>;
  /** Library flood: hits sent and how long they took. */
  flood: { hits: number; seconds: number; runtime: string } | null;
  /** Peak RSS of one warm-hit process (the whole process tree), KiB, per launcher. */
  client_rss_kb: Record<string, number>;
  /** Binary sizes, bytes. */
  binary: { zccache: number | null; hello: number | null; zccache_path: string | null };
}
