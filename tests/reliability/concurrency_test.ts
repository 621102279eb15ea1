/**
 * Reliability 1, concurrency: 16 wrapper clients x 40 compiles each, split
 * over two phases of 320 compiles (20 per client per phase, one after
 * another within a client, 16 clients at once), cold (no daemon,
 * empty cache) then warm (same commands, outputs removed). The mix: the same
 * source to the same output from several clients at once, the same source
 * to different outputs, with different flags, and different sources to
 * different outputs (two different sources to ONE output at the same time is
 * left out for now). Every object equals plain gcc's, the daemon's counters
 * add up to the compiles sent, nothing hangs and nothing falls back.
 *
 * `ZCCACHE_REL_COMPILES` sets the number of compiles per phase (default 320; 400 = 16 x 50 over both phases).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "../_harness.ts";
import {
  disposeAll,
  fallbackLines,
  have,
  join,
  makeWorld,
  plainObject,
  report,
  runWrapped,
  sameBytes,
  statusJson,
  type TimedResult,
} from "./_rel.ts";

const CLIENTS = 16;
const COMPILES = Number(process.env.ZCCACHE_REL_COMPILES) || 320;
const SOURCES = Math.max(10, Math.floor(COMPILES / 8));
const FLAGS = [["-O0"], ["-O2"], ["-O1", "-DEXTRA=3"]];

interface Job {
  src: string;
  flags: string[];
  out: string;
}

/** The job list: deterministic, with every kind of overlap except two sources -> one output. */
function jobs(): Job[] {
  const list: Job[] = [];
  for (let i = 0; i < COMPILES; i++) {
    const kind = i % 5;
    const s = i % SOURCES;
    const f = FLAGS[Math.floor(i / SOURCES) % FLAGS.length];
    if (kind === 0) {
      // The same source and flags to the same output: several clients at once.
      list.push({ src: `s${s % 3}.c`, flags: FLAGS[0], out: `out/same${s % 3}.o` });
    } else if (kind === 1) {
      // The same source to many outputs.
      list.push({ src: "s0.c", flags: FLAGS[0], out: `out/many${i}.o` });
    } else {
      // Different sources and flags, each to its own output.
      list.push({ src: `s${s}.c`, flags: f, out: `out/j${i}.o` });
    }
  }
  return list;
}

function args(j: Job): string[] {
  return [...j.flags, "-c", j.src, "-o", j.out];
}

async function runPhase(dir: string, env: Record<string, string>, list: Job[]) {
  const lanes = Array.from({ length: CLIENTS }, () => [] as Job[]);
  list.forEach((j, i) => lanes[i % CLIENTS].push(j));
  const results: { job: Job; r: TimedResult }[] = [];
  const t0 = performance.now();
  await Promise.all(lanes.map(async (lane) => {
    for (const job of lane) {
      const r = await runWrapped(["gcc", ...args(job)], { env, cwd: dir, timeoutMs: 60_000 });
      results.push({ job, r });
    }
  }));
  return { results, ms: performance.now() - t0 };
}

test(
  `concurrency: ${CLIENTS} clients, ${COMPILES} compiles cold then ${COMPILES} warm: objects equal plain gcc, counters add up`,
  async () => {
    const w = makeWorld("conc");
    try {
      mkdirSync(join(w.dir, "out"));
      mkdirSync(join(w.dir, "ref"));
      writeFileSync(
        join(w.dir, "common.h"),
        "#define SCALE 7\nstatic inline int sq(int x) { return x * x; }\n",
      );
      for (let s = 0; s < SOURCES; s++) {
        const body = s % 2 === 0
          ? `#include "common.h"\nint f${s}(int x) { return sq(x) * SCALE + ${s}; }\n`
          : `int f${s}(int x) {\n#ifdef EXTRA\n  return x * EXTRA + ${s};\n#else\n  return x + ${s};\n#endif\n}\n`;
        writeFileSync(join(w.dir, `s${s}.c`), body);
      }
      const list = jobs();
      // The oracle: one plain compile per distinct (source, flags).
      const refs = new Map<string, Uint8Array>();
      for (const j of list) {
        const k = `${j.src} ${j.flags.join(" ")}`;
        if (refs.has(k)) continue;
        refs.set(
          k,
          await plainObject(args(j), w.dir, w.env, join(w.dir, "ref", `r${refs.size}.o`)),
        );
      }
      const ref = (j: Job) => refs.get(`${j.src} ${j.flags.join(" ")}`)!;

      const figures: Record<string, unknown> = { clients: CLIENTS, compiles_per_phase: COMPILES };
      let wrong = 0;
      let failed = 0;
      let fellBack = 0;
      let hung = 0;
      for (const phase of ["cold", "warm"] as const) {
        if (phase === "warm") {
          rmSync(join(w.dir, "out"), { recursive: true });
          mkdirSync(join(w.dir, "out"));
        }
        const { results, ms } = await runPhase(w.dir, w.env, list);
        for (const { job, r } of results) {
          if (r.hung) hung++;
          if (r.code !== 0) failed++;
          if (fallbackLines(r.err).length > 0) fellBack++;
          assert.equal(r.code, 0, `${phase} ${args(job).join(" ")}: ${r.err}`);
        }
        // After the phase (outputs shared by several clients are final now).
        for (const job of list) {
          if (!sameBytes(readFileSync(join(w.dir, job.out)), ref(job))) wrong++;
        }
        const st = await statusJson(w);
        figures[`${phase}_ms`] = Math.round(ms);
        figures[`${phase}_status`] = {
          hits: st.cache_hits,
          misses: st.cache_misses,
          non_cacheable: st.non_cacheable,
          compile_errors: st.compile_errors,
          total: st.total_compilations,
        };
      }
      const st = await statusJson(w);
      const hits = Number(st.cache_hits);
      const misses = Number(st.cache_misses);
      const nonCacheable = Number(st.non_cacheable);
      const errors = Number(st.compile_errors);
      Object.assign(figures, {
        builds_failed: failed,
        fell_back: fellBack,
        hung,
        wrong_objects: wrong,
        distinct_compiles: refs.size,
      });
      report("concurrency", figures);
      assert.equal(hung, 0, "nothing hangs");
      assert.equal(wrong, 0, "every object equals plain gcc's");
      assert.equal(fellBack, 0, "no compile fell back");
      // Every compile reached the daemon and was counted exactly once.
      assert.equal(Number(st.total_compilations), 2 * COMPILES, JSON.stringify(st));
      assert.equal(hits + misses + nonCacheable, 2 * COMPILES, JSON.stringify(st));
      assert.equal(errors, 0);
      // Warm: every compile is a hit (each distinct command was stored cold).
      const cold = figures.cold_status as { hits: number };
      assert.equal(hits - Number(cold.hits), COMPILES, "every warm compile is a hit");
      assert.ok(misses >= refs.size, "each distinct compile missed at least once");
    } finally {
      await disposeAll(w);
    }
  },
  { ignore: !have("gcc"), timeout: 90_000 },
);
