/**
 * A real project built through the launcher: CMake + Ninja (or plain Make
 * when cmake/ninja are missing) with `CMAKE_C_COMPILER_LAUNCHER` = a script
 * that runs this CLI. Cold build, clean, warm build all hits, touch one
 * header -> only its dependents recompile; the program runs.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import {
  disposeWorld,
  have,
  makeWorld,
  runProcess,
  statusJson,
  type World,
  writeLauncher,
} from "./_e2e.ts";

const useCmake = have("cmake") && have("ninja");
const canRun = have("gcc") && (useCmake || have("make"));

function writeProject(src: string): void {
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "shapes.h"), "#pragma once\nint area(int w, int h);\n#define SCALE 1\n");
  writeFileSync(join(src, "util.h"), "#pragma once\nint twice(int x);\n");
  writeFileSync(
    join(src, "main.c"),
    '#include <stdio.h>\n#include "shapes.h"\n#include "util.h"\n' +
      'int main(void) { printf("area=%d twice=%d\\n", area(3, 4) * SCALE, twice(21)); return 0; }\n',
  );
  writeFileSync(
    join(src, "shapes.c"),
    '#include "shapes.h"\nint area(int w, int h) { return w * h; }\n',
  );
  writeFileSync(join(src, "util.c"), '#include "util.h"\nint twice(int x) { return 2 * x; }\n');
  writeFileSync(join(src, "extra.c"), "int extra(void) { return 7; }\n");
  writeFileSync(
    join(src, "CMakeLists.txt"),
    "cmake_minimum_required(VERSION 3.10)\nproject(demo C)\n" +
      "add_executable(demo main.c shapes.c util.c extra.c)\n",
  );
  writeFileSync(
    join(src, "Makefile"),
    "CC ?= cc\nOBJS = main.o shapes.o util.o extra.o\n" +
      "demo: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n" +
      "%.o: %.c\n\t$(LAUNCHER) $(CC) -MMD -MP -O1 -c $< -o $@\n" +
      "clean:\n\trm -f $(OBJS) demo\n-include $(OBJS:.o=.d)\n",
  );
}

async function step(cmd: string, args: string[], w: World, cwd: string, env = w.env) {
  const r = await runProcess(cmd, args, { env, cwd });
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} failed:\n${r.out}\n${r.err}`);
  return r;
}

test(
  "CMake/Ninja (or Make) build through the launcher: cold, clean, warm all hits, touched header",
  async () => {
    const w = makeWorld("cmake");
    try {
      const src = join(w.dir, "src");
      const build = join(w.dir, "build");
      writeProject(src);
      const launcher = writeLauncher(join(w.dir, "zccache-launcher"));
      const env = { ...w.env, CC: "gcc" };
      let buildCmd: () => Promise<{ out: string }>;
      let cleanCmd: () => Promise<unknown>;
      let exe: string;
      if (useCmake) {
        mkdirSync(build);
        await step(
          "cmake",
          [
            "-G",
            "Ninja",
            "-S",
            src,
            "-B",
            build,
            "-DCMAKE_C_COMPILER=gcc",
            `-DCMAKE_C_COMPILER_LAUNCHER=${launcher}`,
            "-DCMAKE_BUILD_TYPE=Release",
          ],
          w,
          w.dir,
          env,
        );
        buildCmd = () => step("ninja", ["-C", build, "-v"], w, build, env);
        cleanCmd = () => step("ninja", ["-C", build, "clean"], w, build, env);
        exe = join(build, "demo");
      } else {
        const menv = { ...env, LAUNCHER: launcher };
        buildCmd = () => step("make", ["-C", src], w, src, menv);
        cleanCmd = () => step("make", ["-C", src, "clean"], w, src, menv);
        exe = join(src, "demo");
      }
      const countCompiles = (out: string) => out.split("\n").filter((l) => /\s-c\s/.test(l)).length;

      // Cold: 4 misses.
      await buildCmd();
      let st = await statusJson(w);
      assert.equal(st.cache_misses, 4);
      assert.equal(st.cache_hits, 0);
      assert.equal((await step(exe, [], w, w.dir)).out, "area=12 twice=42\n");

      // Clean + warm: 4 hits, no new misses.
      await cleanCmd();
      await buildCmd();
      st = await statusJson(w);
      assert.equal(st.cache_hits, 4);
      assert.equal(st.cache_misses, 4);
      assert.equal((await step(exe, [], w, w.dir)).out, "area=12 twice=42\n");

      // Touch a header (new content): only main.c and shapes.c recompile and miss.
      writeFileSync(
        join(src, "shapes.h"),
        "#pragma once\nint area(int w, int h);\n#define SCALE 2\n",
      );
      const touched = await buildCmd();
      if (useCmake) assert.equal(countCompiles(touched.out), 2, touched.out);
      st = await statusJson(w);
      assert.equal(st.cache_misses, 6, "the two dependents of shapes.h missed");
      assert.equal(st.cache_hits, 4, "nothing else was even compiled");
      assert.equal((await step(exe, [], w, w.dir)).out, "area=24 twice=42\n");

      // Revert the header, clean, rebuild: everything is a hit again.
      writeFileSync(
        join(src, "shapes.h"),
        "#pragma once\nint area(int w, int h);\n#define SCALE 1\n",
      );
      await cleanCmd();
      await buildCmd();
      st = await statusJson(w);
      assert.equal(st.cache_misses, 6);
      assert.equal(st.cache_hits, 8);
      assert.equal((await step(exe, [], w, w.dir)).out, "area=12 twice=42\n");
    } finally {
      await disposeWorld(w);
    }
  },
  { ignore: !canRun, timeout: 180_000 },
);
