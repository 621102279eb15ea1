/**
 * Layering check: dependencies point one way,
 * `core` <- `transport` <- `client` | `daemon` <- `cli`.
 * A file may import from its own layer and the layers below it; `client`
 * and `daemon` are siblings and import neither each other nor `cli`.
 * Static and dynamic relative imports are both checked.
 *
 *   deno run -A scripts/check_layers.ts        (exit 1 and one line per violation)
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");

/** Which layers each layer may import. */
const ALLOWED: Record<string, readonly string[]> = {
  core: ["core"],
  transport: ["core", "transport"],
  client: ["core", "transport", "client"],
  daemon: ["core", "transport", "daemon"],
  cli: ["core", "transport", "client", "daemon", "cli"],
};

function layerOf(file: string): string | null {
  const rel = relative(SRC, file);
  if (rel.startsWith("..")) return null;
  return rel.split("/")[0] ?? null;
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

const violations: string[] = [];
let files = 0;
for (const file of walk(SRC, [])) {
  const from = layerOf(file);
  if (from === null || !(from in ALLOWED)) continue;
  files++;
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(file), spec);
    const to = layerOf(target);
    if (to === null) {
      violations.push(`${relative(ROOT, file)}: imports ${spec} from outside src/`);
    } else if (!ALLOWED[from].includes(to)) {
      violations.push(`${relative(ROOT, file)} (${from}) imports ${spec} (${to})`);
    }
  }
}
if (violations.length > 0) {
  for (const v of violations) console.error(`check:layers: ${v}`);
  console.error(`check:layers: ${violations.length} import(s) against the layering`);
  process.exit(1);
}
console.log(`check:layers: ok (${files} files; core <- transport <- client | daemon <- cli)`);
