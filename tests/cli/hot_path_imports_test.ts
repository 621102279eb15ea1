/**
 * The wrapper hot path (`zccache gcc ...`) must not load commander, the
 * protobuf runtime/schema, the prost codec or daemon code. This walks the
 * STATIC import graph of `cli.ts` (dynamic `import()` is lazy and allowed)
 * from the source files and checks every module reached.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "../_harness.ts";

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** Static import/export-from specifiers of a TS module (type-only imports excluded). */
function staticImports(source: string): string[] {
  const out: string[] = [];
  const noComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of noComments.matchAll(re)) {
    if (m[2]) continue; // `import type ...`
    if (m[1] === "export" && !m[3]) continue;
    // `import { type A, type B } from` is type-only too
    const clause = m[3] ?? "";
    const names = clause.match(/\{([^}]*)\}/);
    if (names && !/^\s*\w/.test(clause.replace(names[0], "").replace(/from\s+$/, "").trim())) {
      const parts = names[1].split(",").map((s) => s.trim()).filter(Boolean);
      if (parts.length > 0 && parts.every((p) => p.startsWith("type "))) continue;
    }
    out.push(m[4]);
  }
  return out;
}

function graph(entry: string): { local: string[]; external: string[] } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const stack = [resolve(entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        assert.ok(existsSync(target), `${file} imports missing ${spec}`);
        stack.push(target);
      } else {
        external.add(spec);
      }
    }
  }
  return { local: [...seen].map((f) => f.slice(REPO.length + 1)).sort(), external: [...external] };
}

test("cli.ts static import graph stays off commander, protobuf, prost and daemon code", () => {
  const { local, external } = graph(join(REPO, "cli.ts"));
  assert.ok(local.includes("src/cli/wrap.ts"), "the wrapper is reached statically");
  // The compile round trip has its own straight-line codec; the schema-driven
  // one (and its schema) load only for other requests or an unusual reply.
  assert.ok(local.includes("src/core/compile_codec.ts"), "the wrapper speaks bincode");
  assert.ok(!local.includes("src/core/bincode.ts"), "schema-driven bincode on the hot path");
  assert.ok(!local.includes("src/core/schema.ts"), "the schema on the hot path");
  for (const f of local) {
    assert.ok(!f.startsWith("src/daemon/"), `daemon module on the hot path: ${f}`);
    assert.ok(!f.startsWith("src/core/gen/"), `generated protobuf on the hot path: ${f}`);
    assert.ok(
      !/src\/core\/(prost|frame_v1|wire|json_value)\.ts$/.test(f),
      `lazy lane loaded: ${f}`,
    );
    assert.ok(f !== "src/cli/commands.ts", "commander commands on the hot path");
    assert.ok(f !== "src/cli/wire.ts", "wire inspector on the hot path");
  }
  for (const spec of external) {
    assert.ok(!spec.startsWith("commander"), `commander imported statically`);
    assert.ok(!spec.startsWith("@bufbuild/"), `protobuf imported statically: ${spec}`);
    assert.ok(spec.startsWith("node:"), `unexpected external import on the hot path: ${spec}`);
  }
});

test("staticImports() ignores type-only and dynamic imports", () => {
  const src = `import type { A } from "./a.ts";\nimport { type B } from "./b.ts";\n` +
    `import { c } from "./c.ts";\nconst d = await import("./d.ts");\nexport { e } from "./e.ts";\n`;
  assert.deepEqual(staticImports(src), ["./c.ts", "./e.ts"]);
});
