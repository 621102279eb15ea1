/**
 * The library path of `deno task bench:all`, run as its own process (Bun by
 * default, or Deno) so the client runtime is the one a build script uses:
 *
 *   bun scripts/bench/suite/lib_worker.ts SPEC.json
 *
 * SPEC: `{ mode, cacheDir, env, jobs, runs?, warmups?, concurrency?, hits?, pid? }`
 *   many   `compileMany(jobs)` `runs` times (outputs removed before each, untimed)
 *   hit    `compile(jobs[0])` `runs` times on one kept connection, each timed
 *   flood  `hits` hits cycling over `jobs` on `concurrency` connections, reading
 *          the daemon's (`pid`) RSS before, after a tenth, and at the end
 * Prints one JSON object on stdout.
 *
 * @module
 */
import { readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { type CompileJob, ZccacheClient } from "../../../mod.ts";
import { rssOf } from "./procfs.ts";

interface Spec {
  mode: "many" | "hit" | "flood";
  cacheDir: string;
  env: Record<string, string>;
  jobs: (CompileJob & { output?: string })[];
  runs?: number;
  warmups?: number;
  concurrency?: number;
  hits?: number;
  pid?: number;
}

const spec = JSON.parse(readFileSync(process.argv[2], "utf8")) as Spec;
const zc = await ZccacheClient.connect({
  cacheDir: spec.cacheDir,
  env: spec.env,
  autoStart: false,
});
const jobs: CompileJob[] = spec.jobs.map(({ output: _o, ...j }) => j);
const clean = () => {
  for (const j of spec.jobs) if (j.output) rmSync(j.output, { force: true });
};
const conc = spec.concurrency ?? 2;
const out: Record<string, unknown> = { runtime: "Deno" in globalThis ? "deno" : "bun" };
try {
  if (spec.mode === "many") {
    const times: number[] = [];
    let allCached = true;
    for (let i = 0; i < (spec.warmups ?? 1); i++) {
      clean();
      await zc.compileMany(jobs, { concurrency: conc, fallback: false });
    }
    for (let i = 0; i < (spec.runs ?? 3); i++) {
      clean();
      const t = performance.now();
      const res = await zc.compileMany(jobs, { concurrency: conc, fallback: false });
      times.push(performance.now() - t);
      if (!res.every((x) => x.cached && x.exitCode === 0)) allCached = false;
    }
    Object.assign(out, { times_ms: times, all_cached: allCached });
  } else if (spec.mode === "hit") {
    const times: number[] = [];
    let allCached = true;
    for (let i = 0; i < (spec.warmups ?? 20); i++) await zc.compile(jobs[0], { fallback: false });
    for (let i = 0; i < (spec.runs ?? 200); i++) {
      const t = performance.now();
      const r = await zc.compile(jobs[0], { fallback: false });
      times.push(performance.now() - t);
      if (!r.cached) allCached = false;
    }
    Object.assign(out, { times_ms: times, all_cached: allCached });
  } else {
    const total = spec.hits ?? 1000;
    const points: { at: string; rss_kb: number; hwm_kb: number }[] = [];
    const mark = (at: string) => {
      const r = spec.pid ? rssOf(spec.pid) : null;
      if (r) points.push({ at, ...r });
    };
    mark("before the hits");
    const t = performance.now();
    let done = 0;
    let allCached = true;
    let tenth = false;
    while (done < total) {
      const n = Math.min(total - done, Math.max(jobs.length, 64));
      const batch = Array.from({ length: n }, (_, i) => jobs[(done + i) % jobs.length]);
      const res = await zc.compileMany(batch, { concurrency: conc, fallback: false });
      if (!res.every((x) => x.cached)) allCached = false;
      done += n;
      if (!tenth && done >= total / 10) {
        tenth = true;
        mark(`after ${done} hits`);
      }
    }
    const seconds = (performance.now() - t) / 1000;
    mark(`after ${done} hits`);
    Object.assign(out, { seconds, hits: done, rss: points, all_cached: allCached });
  }
} finally {
  await zc.close();
}
console.log(JSON.stringify(out));
