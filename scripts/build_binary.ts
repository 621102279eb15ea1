/**
 * Build the single-file `zccache` executable with `bun build --compile`
 * (`deno compile` needs a `denort` download, impossible offline; see
 * runtime.md §3). Run with `deno run -A scripts/build_binary.ts` or
 * `bun scripts/build_binary.ts`; `--outfile PATH` overrides `dist/zccache`,
 * `--target bun-linux-arm64` etc. cross-compiles.
 *
 * `--bytecode` needs `--format=esm` because `cli.ts` uses top-level await.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
let outfile = join(repo, "dist", "zccache");
const extra: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--outfile") outfile = args[++i];
  else if (args[i] === "--target") extra.push(`--target=${args[++i]}`);
  else {
    console.error(`build_binary: unexpected argument ${args[i]}`);
    process.exit(2);
  }
}
const bun = process.env.BUN ?? "bun";
const cmd = [
  "build",
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  ...extra,
  join(repo, "cli.ts"),
  "--outfile",
  outfile,
];
console.error(`$ ${bun} ${cmd.join(" ")}`);
const r = spawnSync(bun, cmd, { cwd: repo, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
const v = spawnSync(outfile, ["--version"], { encoding: "utf8" });
if (v.status !== 0 || !v.stdout.includes("wire: zccache 1.12.2")) {
  console.error(`build_binary: ${outfile} --version failed:\n${v.stdout}${v.stderr}`);
  process.exit(1);
}
console.error(`built ${outfile}: ${v.stdout.trim().replace("\n", ", ")}`);
