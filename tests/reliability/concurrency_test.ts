/**
 * Reliability 1, concurrency: 16 wrapper clients x 40 compiles each, split
 * over two phases of 320 compiles (20 per client per phase, one after
 * another within a client, 16 clients at once), cold (no daemon,
 * empty cache) then warm (same commands, outputs removed). The mix: the same
 * source to the same output from several clients at once, the same source
 * to different outputs, with different flags, and different sources to
 * different outputs. Every object equals plain gcc's, the daemon's counters
 * add up to the compiles sent, nothing hangs and nothing falls back. A second
 * test sends two different sources to ONE output at the same time (8
 * wrappers, cold and warm rounds): the output is always one of the two plain
 * objects, and afterwards each source compiles to plain gcc's object (no
 * entry was poisoned by the other's output).
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

/** The job list: deterministic, same/different sources to same/different outputs. */
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

const SHARED_WRAPPERS = 8;
/** Rounds 0, 2, 4 are cold (new source contents), 1, 3, 5 warm (the same again). */
const SHARED_ROUNDS = 6;

test(
  `concurrency: two different sources to one -o at once (${SHARED_WRAPPERS} wrappers x ${SHARED_ROUNDS} rounds, cold and warm): no poisoned entry`,
  async () => {
    const w = makeWorld("conc1o");
    try {
      mkdirSync(join(w.dir, "ref"));
      const srcs = ["s0.c", "s1.c"];
      const cmd = (src: string, out: string) => ["-O1", "-c", src, "-o", out];
      let refs: Uint8Array[] = [];
      const generation = async (g: number) => {
        writeFileSync(join(w.dir, "s0.c"), `int g0(int x) { return x * 5 + ${g}; }\n`);
        writeFileSync(
          join(w.dir, "s1.c"),
          `int g1a(int x) { return x - ${g}; }\nint g1b(int x) { return x * x * x; }\n`,
        );
        refs = await Promise.all(
          srcs.map((s, i) =>
            plainObject(cmd(s, "x.o"), w.dir, w.env, join(w.dir, "ref", `r${g}_${i}.o`))
          ),
        );
        assert.ok(!sameBytes(refs[0], refs[1]), "the two objects differ");
      };
      let wrong = 0;
      let failed = 0;
      let fellBack = 0;
      let hung = 0;
      let sent = 0;
      const roundMs: number[] = [];
      for (let round = 0; round < SHARED_ROUNDS; round++) {
        if (round % 2 === 0) await generation(round / 2);
        const t0 = performance.now();
        const rs = await Promise.all(
          Array.from(
            { length: SHARED_WRAPPERS },
            (_, i) =>
              runWrapped(["gcc", ...cmd(srcs[(i + round) % 2], "out.o")], {
                env: w.env,
                cwd: w.dir,
                timeoutMs: 60_000,
              }),
          ),
        );
        roundMs.push(Math.round(performance.now() - t0));
        for (const r of rs) {
          sent++;
          if (r.hung) hung++;
          if (r.code !== 0) failed++;
          if (fallbackLines(r.err).length > 0) fellBack++;
          assert.equal(r.code, 0, `round ${round}: ${r.err}`);
        }
        // The last writer wins: one of the two whole objects, never a mix.
        const got = readFileSync(join(w.dir, "out.o"));
        if (!sameBytes(got, refs[0]) && !sameBytes(got, refs[1])) wrong++;
      }
      // No poisoned entry: each source to its own fresh output (a hit) equals plain gcc.
      const h0 = Number((await statusJson(w)).cache_hits);
      for (const [i, s] of srcs.entries()) {
        const r = await runWrapped(["gcc", ...cmd(s, `fresh${i}.o`)], { env: w.env, cwd: w.dir });
        sent++;
        if (r.code !== 0) failed++;
        if (fallbackLines(r.err).length > 0) fellBack++;
        if (!sameBytes(readFileSync(join(w.dir, `fresh${i}.o`)), refs[i])) wrong++;
      }
      const st = await statusJson(w);
      const freshHits = Number(st.cache_hits) - h0;
      report("concurrency_one_output", {
        wrappers: SHARED_WRAPPERS,
        rounds: SHARED_ROUNDS,
        compiles: sent,
        round_ms: roundMs,
        builds_failed: failed,
        fell_back: fellBack,
        hung,
        wrong_objects: wrong,
        fresh_hits: freshHits,
        status: { hits: st.cache_hits, misses: st.cache_misses, total: st.total_compilations },
      });
      assert.equal(hung, 0);
      assert.equal(failed, 0);
      assert.equal(fellBack, 0);
      assert.equal(
        wrong,
        0,
        "every object is one of the two plain objects; fresh compiles equal plain gcc",
      );
      assert.equal(freshHits, 2, "both fresh compiles are hits");
      assert.equal(Number(st.total_compilations), sent, JSON.stringify(st));
    } finally {
      await disposeAll(w);
    }
  },
  { ignore: !have("gcc"), timeout: 90_000 },
);
