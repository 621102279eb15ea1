/**
 * `examples/build_bun.ts` under Bun and `examples/build_deno.ts` under Deno
 * build the demo C project (`examples/demo/`) through the build-script API
 * against a private cache dir: a cold build (all misses), a warm build into
 * another directory (all hits, one progress line per job, session stats),
 * and the objects link into a program that runs.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, REPO, runProcess } from "./_e2e.ts";

const SOURCES = readdirSync(join(REPO, "examples", "demo")).filter((f) => f.endsWith(".c")).length;
const EXPECTED = "hello from zccache: 2+3=5 4*5=20 7^2=49 fib(10)=55\n";

const RUNNERS: { name: string; tool: string; argv: (out: string) => string[] }[] = [
  { name: "build_bun.ts", tool: "bun", argv: (out) => [join(REPO, "examples/build_bun.ts"), out] },
  {
    name: "build_deno.ts",
    tool: "deno",
    argv: (out) => [
      "run",
      "-A",
      "--config",
      join(REPO, "deno.json"),
      join(REPO, "examples/build_deno.ts"),
      out,
    ],
  },
];

for (const r of RUNNERS) {
  test(
    `examples/${r.name}: cold then warm build of the demo, progress lines, session stats, a working program`,
    async () => {
      const w = makeWorld(`ex-${r.tool}`);
      try {
        const cold = await runProcess(r.tool, r.argv(join(w.dir, "cold")), {
          env: w.env,
          cwd: w.dir,
        });
        assert.equal(cold.code, 0, cold.out + cold.err);
        const coldLines = cold.out.split("\n");
        assert.equal(
          coldLines.filter((l) => /^\[\d+\/\d+\] \d+ hits \d+ misses$/.test(l)).length,
          SOURCES,
        );
        assert.ok(coldLines.includes(`[${SOURCES}/${SOURCES}] 0 hits ${SOURCES} misses`), cold.out);
        assert.match(
          cold.out,
          new RegExp(`session: ${SOURCES} compiles, 0 hits, ${SOURCES} misses`),
        );

        const warm = await runProcess(r.tool, r.argv(join(w.dir, "warm")), {
          env: w.env,
          cwd: w.dir,
        });
        assert.equal(warm.code, 0, warm.out + warm.err);
        assert.ok(
          warm.out.includes(`[${SOURCES}/${SOURCES}] ${SOURCES} hits 0 misses\n`),
          warm.out,
        );
        assert.match(
          warm.out,
          new RegExp(`session: ${SOURCES} compiles, ${SOURCES} hits, 0 misses`),
        );
        assert.match(warm.out, /linked .*warm\/demo/);

        for (const dir of ["cold", "warm"]) {
          const run = await runProcess(join(w.dir, dir, "demo"), [], { env: w.env });
          assert.equal(run.code, 0);
          assert.equal(run.out, EXPECTED);
        }
        // The cached objects also link with a plain local gcc.
        const objs = readdirSync(join(w.dir, "warm")).filter((f) => f.endsWith(".o"));
        assert.equal(objs.length, SOURCES);
        const ld = await runProcess("gcc", ["-o", "again", ...objs], {
          env: w.env,
          cwd: join(w.dir, "warm"),
        });
        assert.equal(ld.code, 0, ld.err);
        assert.equal(
          (await runProcess(join(w.dir, "warm", "again"), [], { env: w.env })).out,
          EXPECTED,
        );
      } finally {
        await disposeWorld(w);
      }
    },
    { ignore: !have(r.tool) || !have("gcc"), timeout: 90_000 },
  );
}
