/**
 * Reliability 2, daemon death: 20 rounds of 8 parallel compiles of small
 * sources, alternating cold (new sources) and warm (the previous round's
 * sources again), with every daemon of the world SIGKILLed at a random
 * moment (seeded) in each round. Every compile exits 0 with the object plain
 * gcc makes; the next round's wrappers start a new daemon; a final pass over
 * every source with a live daemon serves no torn or wrong object.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { test } from "../_harness.ts";
import {
  daemonProcesses,
  delay,
  disposeAll,
  fallbackLines,
  have,
  HAVE_PROC,
  join,
  makeWorld,
  plainObject,
  report,
  runWrapped,
  sameBytes,
} from "./_rel.ts";

const ROUNDS = 20;
const PARALLEL = 8;

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test(
  `daemon death: SIGKILL at random points in ${ROUNDS} rounds x ${PARALLEL} parallel compiles`,
  async () => {
    const seed = Number(process.env.ZCCACHE_REL_SEED) || 20261202;
    const rand = prng(seed);
    const w = makeWorld("death");
    try {
      mkdirSync(join(w.dir, "out"));
      mkdirSync(join(w.dir, "ref"));
      const refs = new Map<string, Uint8Array>();
      const cmd = (src: string, out: string) => ["-O1", "-c", src, "-o", out];
      const sourcesOf = (round: number) =>
        Array.from({ length: PARALLEL }, (_, i) => `d${round - (round % 2)}_${i}.c`);
      let kills = 0;
      let failed = 0;
      let wrong = 0;
      let fellBack = 0;
      let restarted = 0;
      let extraLines = 0;
      const reasons = new Set<string>();
      for (let round = 0; round < ROUNDS; round++) {
        const warm = round % 2 === 1;
        const srcs = sourcesOf(round);
        if (!warm) {
          for (const [i, s] of srcs.entries()) {
            writeFileSync(
              join(w.dir, s),
              `int d${round}_${i}(int x) {\n  int s = 0;\n  for (int k = 0; k < x; k++) s += k * ${
                i + 1
              };\n  return s + ${round};\n}\n`,
            );
            refs.set(
              s,
              await plainObject(cmd(s, "x.o"), w.dir, w.env, join(w.dir, "ref", s + ".o")),
            );
          }
        }
        const before = new Set(daemonProcesses(w.cacheDir));
        const runs = srcs.map((s, i) =>
          runWrapped(["gcc", ...cmd(s, `out/r${round}_${i}.o`)], {
            env: w.env,
            cwd: w.dir,
            timeoutMs: 60_000,
          })
        );
        // Kill at a random point: before the daemon is up, while it starts,
        // mid-compile or while it stores/serves.
        await delay(Math.floor(rand() * 900));
        const victims = daemonProcesses(w.cacheDir);
        if (victims.some((p) => !before.has(p))) restarted++;
        for (const pid of victims) {
          try {
            process.kill(pid, "SIGKILL");
            kills++;
          } catch {
            // already gone
          }
        }
        const results = await Promise.all(runs);
        for (const [i, r] of results.entries()) {
          assert.equal(r.hung, false, `round ${round} compile ${i} hung`);
          if (r.code !== 0) failed++;
          assert.equal(r.code, 0, `round ${round} compile ${i}: ${r.err}`);
          const fb = fallbackLines(r.err);
          if (fb.length > 0) fellBack++;
          for (const l of fb) reasons.add(l.replace(/\/\S+/g, "<path>"));
          if (r.err.trim() !== "" && r.err.trim().split("\n").length > 1) extraLines++;
          assert.ok(fb.length <= 1, `at most one line: ${r.err}`);
        }
        await delay(100); // orphaned compilers of the killed daemon finish
        for (const [i, s] of srcs.entries()) {
          const got = readFileSync(join(w.dir, "out", `r${round}_${i}.o`));
          if (!sameBytes(got, refs.get(s)!)) wrong++;
        }
      }
      // Afterwards, with a live daemon: every source once more (hits or
      // misses), and again (hits): nothing torn is ever served.
      let servedAfter = 0;
      for (const pass of [0, 1]) {
        const all = [...refs.keys()];
        for (let at = 0; at < all.length; at += PARALLEL) {
          const batch = all.slice(at, at + PARALLEL);
          const results = await Promise.all(
            batch.map((s) =>
              runWrapped(["gcc", ...cmd(s, `out/final${pass}_${s}.o`)], {
                env: w.env,
                cwd: w.dir,
                timeoutMs: 60_000,
              })
            ),
          );
          for (const [k, r] of results.entries()) {
            assert.equal(r.code, 0, r.err);
            if (fallbackLines(r.err).length > 0) fellBack++;
            const s = batch[k];
            if (!sameBytes(readFileSync(join(w.dir, "out", `final${pass}_${s}.o`)), refs.get(s)!)) {
              wrong++;
            }
            servedAfter++;
          }
        }
      }
      const live = daemonProcesses(w.cacheDir);
      report("daemon_death", {
        seed,
        rounds: ROUNDS,
        parallel: PARALLEL,
        compiles: ROUNDS * PARALLEL + servedAfter,
        sigkills: kills,
        rounds_with_restarted_daemon: restarted,
        builds_failed: failed,
        fell_back: fellBack,
        wrong_objects: wrong,
        multi_line_stderr: extraLines,
        daemons_after: HAVE_PROC ? live.length : "n/a",
        fallback_reasons: [...reasons],
      });
      assert.equal(wrong, 0, "no wrong or torn object");
      assert.equal(failed, 0);
      if (HAVE_PROC) {
        assert.ok(kills >= ROUNDS / 2, `daemons were killed (${kills})`);
        assert.equal(live.length, 1, "the next calls restarted exactly one daemon");
      }
    } finally {
      await disposeAll(w);
    }
  },
  { ignore: !have("gcc") || !HAVE_PROC, timeout: 90_000 },
);
