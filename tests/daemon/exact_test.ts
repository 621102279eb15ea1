/**
 * The cache is exact: for each class of hazard, the cached compile gives the
 * plain compiler's observable result (exit code, stdout, stderr, every file
 * created or changed, bytes and mode), on gcc and clang, and whatever must
 * invalidate an entry misses. Real compilers, one tiny source per case.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { runProcess } from "../../src/daemon/compiler/run.ts";
import { assertExact, CLANG, exactProject, GCC, restore, snapshot } from "./_exact.ts";

const compilers: [string, string | null][] = [["gcc", GCC], ["clang", CLANG]];

for (const [name, cc] of compilers) {
  const t = (title: string, fn: (cc: string) => Promise<void>) =>
    test(`exact (${name}): ${title}`, () => fn(cc!), { ignore: cc === null });

  // 1. Time macros.
  t("__TIME__ in a header is never served from the cache", async (cc) => {
    const p = exactProject();
    try {
      p.write("t.h", "static const char *when = __TIME__;\n");
      p.write("a.c", '#include "t.h"\nconst char *f(void) { return when; }\n');
      const a = await p.cached(cc, ["-c", "a.c", "-o", "a.o"]);
      assert.equal(a.r.exitCode, 0);
      const b = await p.cached(cc, ["-c", "a.c", "-o", "a.o"]);
      assert.equal(b.r.cached, false, "a __TIME__ compile must not hit");
      assert.equal(b.r.kind, "non_cacheable", "counted as non-cacheable");
      assert.match(b.r.reason ?? "", /__TIME__/);
    } finally {
      await p.done();
    }
  });

  t("__DATE__ hits the same day and misses the next", async (cc) => {
    let now = Date.parse("2026-06-01T12:00:00Z");
    const p = exactProject({ now: () => now });
    try {
      p.write("a.c", "const char *d(void) { return __DATE__; }\n");
      const env = { ...p.env, TZ: "UTC" };
      const [, second] = await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "date", { env });
      // The engine's clock and the compiler's agree only when both say today.
      const today = Date.now();
      now = today;
      const x = await p.cached(cc, ["-c", "a.c", "-o", "a.o"], { env });
      const y = await p.cached(cc, ["-c", "a.c", "-o", "a.o"], { env });
      assert.equal(y.r.cached, true, "same day: hit");
      now = today + 86_400_000;
      const z = await p.cached(cc, ["-c", "a.c", "-o", "a.o"], { env });
      assert.equal(z.r.cached, false, "next day: miss");
      assert.equal(x.r.exitCode, 0);
      void second;
    } finally {
      await p.done();
    }
  });

  t("__TIMESTAMP__: touching the file (same bytes) misses", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "const char *s(void) { return __TIMESTAMP__; }\n");
      const old = new Date(Date.now() - 100_000);
      utimesSync(join(p.dir, "a.c"), old, old);
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "timestamp");
      const later = new Date(Date.now() - 50_000);
      utimesSync(join(p.dir, "a.c"), later, later);
      const r = await p.cached(cc, ["-c", "a.c", "-o", "a.o"]);
      assert.equal(r.r.cached, false);
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "timestamp after touch");
    } finally {
      await p.done();
    }
  });

  // 2. Inputs the depfile never lists.
  t(".incbin data is never cached stale", async (cc) => {
    const p = exactProject();
    try {
      p.write("data.bin", "one");
      p.write(
        "a.c",
        '__asm__(".section .rodata\\n.global blob\\nblob:\\n.incbin \\"data.bin\\"\\n");\n',
      );
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "incbin");
      p.write("data.bin", "two!");
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "incbin changed");
    } finally {
      await p.done();
    }
  });

  t("an option-named input file (-fsanitize-ignorelist= / -specs-like) is keyed", async (cc) => {
    if (name !== "clang") return;
    const p = exactProject();
    try {
      p.write("ign.txt", "fun:nothing\n");
      p.write("a.c", "int f(int *p) { return *p; }\n");
      const args = [
        "-fsanitize=address",
        "-fsanitize-ignorelist=ign.txt",
        "-c",
        "a.c",
        "-o",
        "a.o",
      ];
      const [, b] = await assertExact(p, cc, args, "ignorelist");
      assert.equal(b.cached, true);
      p.write("ign.txt", "fun:f\n");
      const [c] = await assertExact(p, cc, args, "ignorelist changed");
      assert.equal(c.cached, false);
    } finally {
      await p.done();
    }
  });

  // 3. A complete header list whatever the dependency flags.
  for (
    const [flags, label] of [
      [["-MMD"], "-MMD"],
      [["-MD", "-MF", "/dev/null"], "-MD -MF /dev/null"],
      [["-MMD", "-MP", "-MT", "custom-target"], "-MMD -MP -MT"],
      [["-MD", "-MQ", "o$$ut", "-MT", "second"], "-MD -MQ -MT"],
    ] as [string[], string][]
  ) {
    t(`${label}: a changed system header misses; depfile exact`, async (cc) => {
      const p = exactProject();
      try {
        p.write("sys/s.h", "#define S 1\n");
        p.write("a.h", "#define A 2\n");
        p.write("a.c", '#include <s.h>\n#include "a.h"\nint f(void) { return S + A; }\n');
        const args = ["-isystem", "sys", "-c", "a.c", "-o", "a.o", ...flags];
        const [, b] = await assertExact(p, cc, args, label);
        assert.equal(b.cached, true, "repeat hits");
        p.write("sys/s.h", "#define S 5\n");
        const [c] = await assertExact(p, cc, args, `${label} after system header change`);
        assert.equal(c.cached, false, "system header change misses");
        assert.equal(statSync("/dev/null").isCharacterDevice(), true);
      } finally {
        await p.done();
      }
    });
  }

  if (name === "gcc") {
    t("-Wp,-MD,file: depfile exact, system header tracked", async (cc) => {
      const p = exactProject();
      try {
        p.write("sys/s.h", "#define S 1\n");
        p.write("a.c", "#include <s.h>\nint f(void) { return S; }\n");
        const args = ["-isystem", "sys", "-c", "a.c", "-o", "obj.o", "-Wp,-MD,obj.d"];
        await assertExact(p, cc, args, "-Wp,-MD");
        p.write("sys/s.h", "#define S 2\n");
        const [c] = await assertExact(p, cc, args, "-Wp,-MD changed");
        assert.equal(c.cached, false);
      } finally {
        await p.done();
      }
    });
  }

  // 4. Output paths are not key material.
  t("only -o/-MF/-MT changed: a hit with the depfile re-targeted", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.h", "#define A 2\n");
      p.write("a.c", '#include <stdio.h>\n#include "a.h"\nint f(void) { return A; }\n');
      mkdirSync(join(p.dir, "deeply/nested/output/directory"), { recursive: true });
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o", "-MD"], "base");
      const variants = [
        ["-c", "a.c", "-o", "deeply/nested/output/directory/renamed-object.o", "-MD"],
        ["-c", "a.c", "-o", "b.o", "-MD", "-MF", "other.d"],
        ["-c", "a.c", "-o", "b.o", "-MD", "-MT", "a-much-longer-target-name-than-before.o"],
        ["-c", "a.c", "-o", "x.o", "-MMD", "-MP"],
      ];
      for (const v of variants) {
        const [first] = await assertExact(p, cc, v, v.join(" "));
        if (!v.includes("-MMD")) assert.equal(first.cached, true, `${v.join(" ")} hits`);
      }
    } finally {
      await p.done();
    }
  });

  t("the injected depfile never reaches the object; -g objects equal", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(void) { return 3; }\n");
      await assertExact(p, cc, ["-g", "-c", "a.c", "-o", "a.o"], "-g");
      if (name === "clang") {
        const args = ["-frecord-command-line", "-c", "a.c", "-o", "r1.o"];
        await assertExact(p, cc, args, "record-command-line");
        const [other] = await assertExact(p, cc, [...args.slice(0, -1), "r2.o"], "other -o");
        assert.equal(other.cached, false, "recorded command line: -o is key material");
      }
    } finally {
      await p.done();
    }
  });

  // 5. Special outputs.
  t(
    "-o /dev/null and -MF /dev/null stay devices; a character device passes through",
    async (cc) => {
      const p = exactProject();
      try {
        p.write("a.c", "int f(void) { return 3; }\n");
        await assertExact(p, cc, ["-c", "a.c", "-o", "/dev/null"], "-o /dev/null");
        await assertExact(p, cc, ["-c", "a.c", "-o", "a.o", "-MD", "-MF", "/dev/null"], "-MF null");
        assert.equal(statSync("/dev/null").isCharacterDevice(), true);
        const r = await p.cached(cc, ["-c", "a.c", "-o", "/dev/zero"]);
        assert.equal(r.r.cacheable, false);
      } finally {
        await p.done();
      }
    },
  );

  t("an output that is a symlink is written as the compiler writes it", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(void) { return 3; }\n");
      p.write("real.o", "");
      symlinkSync("real.o", join(p.dir, "link.o"));
      await assertExact(p, cc, ["-c", "a.c", "-o", "link.o"], "symlink output");
    } finally {
      await p.done();
    }
  });

  // 6. Side outputs.
  for (
    const flags of [
      ["-save-temps"],
      ["-save-temps=obj"],
      ["-fstack-usage"],
      ["-gsplit-dwarf", "-g"],
    ]
  ) {
    t(`side outputs of ${flags.join(" ")} are what the compiler writes`, async (cc) => {
      if (name === "clang" && flags[0] === "-fstack-usage") return;
      const p = exactProject();
      try {
        p.write("a.c", "int f(void) { return 3; }\n");
        mkdirSync(join(p.dir, "obj"));
        await assertExact(p, cc, [...flags, "-c", "a.c", "-o", "obj/a.o"], flags.join(" "));
      } finally {
        await p.done();
      }
    });
  }

  t("-MD on an assembly source: no depfile is written, a stale one is left alone", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.s", ".text\n.globl f\nf:\n ret\n");
      p.write("a.d", "stale: content\n");
      await assertExact(p, cc, ["-c", "a.s", "-o", "a.o", "-MD"], "asm -MD");
    } finally {
      await p.done();
    }
  });

  // 7. As the user's own process would.
  t("output mode follows the client's umask", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(void) { return 3; }\n");
      for (const umask of [0o077, 0o002]) {
        const pre = snapshot(p.dir);
        for (let i = 0; i < 2; i++) {
          restore(p.dir, pre);
          await p.cached(cc, ["-c", "a.c", "-o", "a.o", "-MD"], {
            client: { umask, stderrTty: false },
          });
          assert.equal(
            (statSync(join(p.dir, "a.o")).mode & 0o777).toString(8),
            (0o666 & ~umask).toString(8),
          );
          assert.equal(
            (statSync(join(p.dir, "a.d")).mode & 0o777).toString(8),
            (0o666 & ~umask).toString(8),
          );
        }
        restore(p.dir, pre);
      }
    } finally {
      await p.done();
    }
  });

  t("a terminal gets coloured diagnostics, a pipe does not (keyed apart)", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(int x) { int unused; return x; }\n");
      const env = { ...p.env, TERM: "xterm" };
      const args = ["-Wall", "-c", "a.c", "-o", "a.o"];
      const tty = { client: { umask: 0o022, stderrTty: true }, env };
      const pipe = { client: { umask: 0o022, stderrTty: false }, env };
      const a = await p.cached(cc, args, tty);
      const b = await p.cached(cc, args, pipe);
      const c = await p.cached(cc, args, tty);
      assert.ok(new TextDecoder().decode(a.r.stderr).includes("\x1b["), "tty: coloured");
      assert.ok(!new TextDecoder().decode(b.r.stderr).includes("\x1b["), "pipe: plain");
      assert.equal(c.r.cached, true);
      assert.ok(new TextDecoder().decode(c.r.stderr).includes("\x1b["), "tty hit: coloured");
    } finally {
      await p.done();
    }
  });

  t("a missing output directory gives exactly the compiler's error", async (cc) => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(void) { return 3; }\n");
      await assertExact(p, cc, ["-c", "a.c", "-o", "nodir/a.o"], "missing dir");
      await assertExact(
        p,
        cc,
        ["-c", "a.c", "-o", "a.o", "-MD", "-MF", "nodir/a.d"],
        "missing dep dir",
      );
    } finally {
      await p.done();
    }
  });

  // 8. A header that appears later.
  t("a header created earlier in the search path invalidates the entry", async (cc) => {
    const p = exactProject();
    try {
      mkdirSync(join(p.dir, "inc1"));
      p.write("inc2/h.h", "#define H 2\n");
      p.write("src/a.c", '#include "h.h"\n#include <stdio.h>\nint f(void) { return H; }\n');
      const args = ["-Iinc1", "-Iinc2", "-Inewdir", "-Ishadow", "-c", "src/a.c", "-o", "a.o"];
      const [, hit] = await assertExact(p, cc, args, "base");
      assert.equal(hit.cached, true);
      const steps: [string, string][] = [
        ["inc1/h.h", "#define H 1\n"], // earlier -I directory
        ["src/h.h", "#define H 0\n"], // next to the source (quote include)
        ["shadow/stdio.h", "#define H 9\n"], // new include directory shadowing a system header
      ];
      for (const [file, text] of steps) {
        p.write(file, text);
        const [first, second] = await assertExact(p, cc, args, `after creating ${file}`);
        assert.equal(first.cached, false, `${file} must invalidate`);
        assert.equal(second.cached, true);
      }
    } finally {
      await p.done();
    }
  });

  t("__has_include: a header that a test would now find invalidates the entry", async (cc) => {
    const p = exactProject();
    try {
      p.write(
        "a.c",
        '#if __has_include("opt.h")\n#include "opt.h"\n#else\n#define OPT 0\n#endif\nint f(void) { return OPT; }\n',
      );
      await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "without opt.h");
      p.write("opt.h", "#define OPT 7\n");
      const [first] = await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "with opt.h");
      assert.equal(first.cached, false);
      rmSync(join(p.dir, "opt.h"));
      const [back] = await assertExact(p, cc, ["-c", "a.c", "-o", "a.o"], "opt.h removed");
      assert.equal(back.cached, true, "the first entry is valid again");
    } finally {
      await p.done();
    }
  });

  if (name === "gcc") {
    t("a precompiled header in use is not cached; one created later invalidates", async (cc) => {
      const p = exactProject();
      try {
        p.write("p.h", "#define V 1\n");
        p.write("u.c", '#include "p.h"\nint v = V;\n');
        const [, b] = await assertExact(p, cc, ["-c", "u.c", "-o", "u.o"], "no pch");
        assert.equal(b.cached, true);
        p.write("p.h", "#define V 2\n");
        // A .gch built from another p.h: gcc prefers it over p.h.
        p.write("other/p.h", "#define V 3\n");
        const g = p.plain(cc, ["-x", "c-header", "other/p.h", "-o", "p.h.gch"]);
        assert.equal(g.status, 0);
        const [x, y] = await assertExact(p, cc, ["-c", "u.c", "-o", "u.o"], "with pch");
        assert.equal(x.cached, false);
        assert.equal(y.cached, false, "a pch compile is not cached");
      } finally {
        await p.done();
      }
    });
  }

  // 10. Concurrency.
  t("two different sources compiled at once to one -o never poison an entry", async (cc) => {
    const p = exactProject();
    try {
      for (let i = 0; i < 2; i++) p.write(`s${i}.c`, `int f${i}(void) { return ${i}; }\n`);
      for (let round = 0; round < 4; round++) {
        await Promise.all([0, 1, 0, 1].map((i) => p.cached(cc, ["-c", `s${i}.c`, "-o", "out.o"])));
      }
      for (const i of [0, 1]) {
        await assertExact(p, cc, ["-c", `s${i}.c`, "-o", "out.o"], `s${i}`);
      }
    } finally {
      await p.done();
    }
  });
}

test("exact: identical concurrent misses compile once and serve all", async () => {
  let compiles = 0;
  const p = exactProject({
    runProcess: (program, args, opts) => {
      if (args.includes("-c")) compiles++;
      return runProcess(program, args, opts);
    },
  });
  try {
    p.write("a.c", "int f(void) { return 3; }\n");
    const rs = await Promise.all(
      [0, 1, 2, 3].map(() => p.cached(GCC!, ["-c", "a.c", "-o", "a.o"])),
    );
    assert.equal(compiles, 1, "one compile for four identical requests");
    assert.equal(rs.filter((r) => r.r.cached).length, 3);
  } finally {
    await p.done();
  }
}, { ignore: GCC === null });

test(
  "exact (gcc): -fdiagnostics-color=auto on a terminal colours like the plain compiler",
  async () => {
    const p = exactProject();
    try {
      p.write("a.c", "int f(int x) { int unused; return x; }\n");
      const env = { ...p.env, TERM: "xterm" };
      const args = ["-fdiagnostics-color=auto", "-Wall", "-c", "a.c", "-o", "a.o"];
      const r = await p.cached(GCC!, args, { env, client: { umask: 0o022, stderrTty: true } });
      assert.ok(new TextDecoder().decode(r.r.stderr).includes("\x1b["));
    } finally {
      await p.done();
    }
  },
  { ignore: GCC === null },
);
