/**
 * The package imported from outside the repository, as a user's project
 * depends on it: a temporary project runs the build-script API
 * (`ZccacheClient.connect` with auto-start, two compiles, `status`) and the
 * `./daemon` entry (`startDaemon`, a compile against it) from its own
 * directory.
 *
 * - Deno: the project's deno.json `"links": ["<checkout>"]` resolves
 *   `jsr:@zccache/zccache-ts` (and `/client`, `/daemon`) to this checkout,
 *   offline, with the package's own `imports` for its npm dependencies.
 * - Bun: `bun link` of the checkout (into a private `BUN_INSTALL`) and a
 *   `"link:zccache-ts"` dependency; and a `"file:<checkout>"` dependency.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, have, makeWorld, REPO, runProcess, type World } from "./_e2e.ts";

/** The user's build script; `PKG` is the package's import specifier. */
function script(pkg: string): string {
  return `import { ZccacheClient } from "${pkg}";
import { startDaemon } from "${pkg}/daemon";
import { writeFileSync } from "node:fs";

writeFileSync("a.c", "int a(void) { return 1; }\\n");
const out = [];
{
  await using zc = await ZccacheClient.connect();
  for (let i = 0; i < 2; i++) {
    const r = await zc.compile({ compiler: "gcc", args: ["-c", "a.c", "-o", "a.o"] });
    out.push([r.exitCode, r.cached]);
  }
  const s = await zc.status();
  out.push([Number(s.cacheHits), Number(s.cacheMisses)]);
}
{
  await using d = await startDaemon({ cacheDir: "embedded-cache" });
  await using zc = await ZccacheClient.connect({ endpoint: d.endpoint, autoStart: false });
  const r = await zc.compile({ compiler: "gcc", args: ["-c", "a.c", "-o", "b.o"] });
  out.push([r.exitCode, r.cached, d.owned]);
}
console.log(JSON.stringify(out));
`;
}

const EXPECTED = [[0, false], [0, true], [1, 1], [0, false, true]];

async function runProject(w: World, cmd: string, args: string[], cwd: string): Promise<void> {
  const r = await runProcess(cmd, args, { env: w.env, cwd });
  assert.equal(r.code, 0, r.out + r.err);
  assert.deepEqual(JSON.parse(r.out.trim().split("\n").at(-1)!), EXPECTED, r.out + r.err);
  const stop = await runProcess(cmd === "deno" ? "deno" : "bun", stopArgv(cmd), {
    env: w.env,
    cwd,
  });
  assert.equal(stop.code, 0, stop.err);
}

function stopArgv(cmd: string): string[] {
  return cmd === "deno"
    ? ["run", "-A", "--config", join(REPO, "deno.json"), join(REPO, "cli.ts"), "stop"]
    : [join(REPO, "cli.ts"), "stop"];
}

test(
  "outside import (Deno): links -> jsr:@zccache/zccache-ts, API and ./daemon from a temp project",
  async () => {
    const w = makeWorld("oi-deno");
    try {
      const proj = join(w.dir, "proj");
      mkdirSync(proj);
      writeFileSync(join(proj, "deno.json"), JSON.stringify({ links: [REPO] }, null, 2));
      writeFileSync(join(proj, "build.ts"), script("jsr:@zccache/zccache-ts"));
      await runProject(w, "deno", ["run", "-A", "build.ts"], proj);
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: !have("deno") || !have("gcc"), timeout: 120_000 },
);

test("outside import (Bun): bun link, API and ./daemon from a temp project", async () => {
  const w = makeWorld("oi-bunlink");
  try {
    const env = { ...w.env, BUN_INSTALL: join(w.dir, "bun-home") };
    const linked = await runProcess("bun", ["link"], { env, cwd: REPO });
    assert.equal(linked.code, 0, linked.err);
    const proj = join(w.dir, "proj");
    mkdirSync(proj);
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({
        name: "p",
        private: true,
        type: "module",
        dependencies: { "zccache-ts": "link:zccache-ts" },
      }),
    );
    const inst = await runProcess("bun", ["install"], { env, cwd: proj });
    assert.equal(inst.code, 0, inst.err);
    writeFileSync(join(proj, "build.ts"), script("zccache-ts"));
    await runProject({ ...w, env }, "bun", ["build.ts"], proj);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("bun") || !have("gcc"), timeout: 120_000 });

test("outside import (Bun): a file: dependency on the checkout", async () => {
  const w = makeWorld("oi-bunfile");
  try {
    const proj = join(w.dir, "proj");
    mkdirSync(proj);
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({
        name: "p",
        private: true,
        type: "module",
        dependencies: { "zccache-ts": `file:${REPO}` },
      }),
    );
    const inst = await runProcess("bun", ["install"], { env: w.env, cwd: proj });
    assert.equal(inst.code, 0, inst.err);
    writeFileSync(join(proj, "build.ts"), script("zccache-ts"));
    await runProject(w, "bun", ["build.ts"], proj);
  } finally {
    await disposeWorld(w);
  }
}, { ignore: !have("bun") || !have("gcc"), timeout: 120_000 });
