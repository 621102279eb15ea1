/**
 * `deno task check:core`: prove that `src/core` is runtime-agnostic.
 *
 * 1. No `node:` imports, no `Deno.` and no `Bun.` in any `src/core` file
 *    (comments included in the scan for imports, excluded for globals).
 * 2. Every `src/core` file type-checks with only the `esnext` and `dom`
 *    libraries: no Deno namespace, no Node or Bun types.
 *
 * Exits 1 on any violation.
 *
 * @module
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const coreDir = join(root, "src", "core");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  );
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const files = walk(coreDir).sort();
const violations: string[] = [];
for (const file of files) {
  const src = readFileSync(file, "utf8");
  const code = stripComments(src);
  const rel = relative(root, file);
  const checks: [RegExp, string][] = [
    [/(from\s+|import\s*\(\s*|import\s+|require\s*\(\s*)["']node:/, "imports a node: module"],
    [/\bDeno\s*\.\s*[A-Za-z_]/, "uses the Deno namespace"],
    [/\bBun\s*\.\s*[A-Za-z_]/, "uses the Bun namespace"],
    [/(from\s+|import\s*\(\s*)["']bun(:|["'])/, "imports a bun module"],
  ];
  code.split("\n").forEach((line, i) => {
    for (const [re, what] of checks) {
      if (re.test(line)) violations.push(`${rel}:${i + 1}: ${what}: ${line.trim()}`);
    }
  });
}

// Type-check with a config that has no Deno types.
const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const tmpConfig = join(root, ".check_core.tmp.json");
writeFileSync(
  tmpConfig,
  JSON.stringify({
    imports: denoJson.imports ?? {},
    nodeModulesDir: denoJson.nodeModulesDir,
    compilerOptions: { lib: ["esnext", "dom"], types: [], strict: true },
  }),
);
let checkStatus = 1;
try {
  const deno = (globalThis as { Deno?: unknown }).Deno ? process.execPath : "deno";
  const r = spawnSync(
    deno,
    ["check", "--quiet", "--config", tmpConfig, ...files.map((f) => relative(root, f))],
    { cwd: root, stdio: "inherit" },
  );
  checkStatus = r.status ?? 1;
} finally {
  rmSync(tmpConfig, { force: true });
}

for (const v of violations) console.error(v);
if (checkStatus !== 0) {
  console.error("check:core: src/core does not type-check without runtime types");
}
if (violations.length > 0 || checkStatus !== 0) {
  console.error(`check:core: FAILED (${violations.length} purity violations)`);
  process.exit(1);
}
console.log(`check:core: ok (${files.length} files, no runtime APIs, type-checks with esnext+dom)`);
