/**
 * Build the single-file `zccache` executable with `bun build --compile`
 * (`deno compile` needs a `denort` download, impossible offline; see
 * runtime.md §3). Run with `deno run -A scripts/build_binary.ts` or
 * `bun scripts/build_binary.ts`.
 *
 *   (no flags)          dist/zccache for the host (offline)
 *   --outfile PATH      another output path
 *   --target T          cross-compile one target (e.g. bun-linux-arm64)
 *   --all               every release target into dist/ (or --outdir):
 *                       zccache-linux-x64, -linux-arm64, -darwin-x64,
 *                       -darwin-arm64, -windows-x64.exe, and SHA256SUMS
 *                       (`sha256sum -c SHA256SUMS`); Bun fetches each
 *                       target's runtime from the npm registry once. A
 *                       target it cannot fetch is skipped with one line.
 *   --no-bytecode       ~3.4 MiB smaller, ~3x slower start (see BENCHMARKS.md)
 *
 * `--bytecode` needs `--format=esm` because `cli.ts` uses top-level await.
 * The binary reads no `.env` or `bunfig.toml` from the directory it runs
 * in (a compiler wrapper must not take a project's environment).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Release targets: Bun `--target` and artifact suffix. */
const RELEASE: [string, string][] = [
  ["bun-linux-x64", "linux-x64"],
  ["bun-linux-arm64", "linux-arm64"],
  ["bun-darwin-x64", "darwin-x64"],
  ["bun-darwin-arm64", "darwin-arm64"],
  ["bun-windows-x64", "windows-x64.exe"],
];
/** Per-target budget (a runtime download included). */
const TARGET_TIMEOUT_MS = 300_000;

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
let outfile = join(repo, "dist", "zccache");
let outdir = join(repo, "dist");
let target: string | null = null;
let all = false;
let bytecode = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--outfile") outfile = args[++i];
  else if (args[i] === "--outdir") outdir = args[++i];
  else if (args[i] === "--target") target = args[++i];
  else if (args[i] === "--all") all = true;
  else if (args[i] === "--no-bytecode") bytecode = false;
  else {
    console.error(`build_binary: unexpected argument ${args[i]}`);
    process.exit(2);
  }
}
const bun = process.env.BUN ?? "bun";

/** `bun build --compile` one target; the error text on failure. */
function build(out: string, tgt: string | null): string | null {
  const cmd = [
    "build",
    "--compile",
    "--minify",
    ...(bytecode ? ["--bytecode"] : []),
    "--format=esm",
    // Code splitting: every lazily imported part of the CLI (commander, the
    // daemon, the wire inspector...) is its own embedded chunk, loaded only
    // when a command needs it, so a warm wrapper hit loads only its own code
    // (~4 ms less start-up; BENCHMARKS.md).
    "--splitting",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...(tgt !== null ? [`--target=${tgt}`] : []),
    join(repo, "cli.ts"),
    "--outfile",
    out,
  ];
  console.error(`$ ${bun} ${cmd.join(" ")}`);
  const r = spawnSync(bun, cmd, {
    cwd: repo,
    encoding: "utf8",
    timeout: TARGET_TIMEOUT_MS,
    stdio: ["ignore", "inherit", "pipe"],
  });
  if (r.status === 0) return null;
  process.stderr.write(r.stderr ?? "");
  if (r.error) return r.error.message;
  const lines = (r.stderr ?? "").trim().split("\n").filter((l) => l.trim() !== "");
  return lines.at(-1) ?? `exit ${r.status}`;
}

/** `<out> --version` must name the 1.12.2 wire. */
function verify(out: string): void {
  const v = spawnSync(out, ["--version"], { encoding: "utf8" });
  if (v.status !== 0 || !v.stdout.includes("wire: zccache 1.12.2")) {
    console.error(`build_binary: ${out} --version failed:\n${v.stdout}${v.stderr}`);
    process.exit(1);
  }
  const mib = (statSync(out).size / 1048576).toFixed(1);
  console.error(`built ${out} (${mib} MiB): ${v.stdout.trim().replace("\n", ", ")}`);
}

if (!all) {
  const err = build(outfile, target);
  if (err !== null) {
    console.error(`build_binary: ${target ?? "host"}: ${err}`);
    process.exit(1);
  }
  if (target === null) verify(outfile);
  else console.error(`built ${outfile} for ${target}`);
  process.exit(0);
}

mkdirSync(outdir, { recursive: true });
const hostArch = process.arch === "arm64" ? "arm64" : "x64";
const host = `bun-${process.platform === "win32" ? "windows" : process.platform}-${hostArch}`;
const built: string[] = [];
const skipped: string[] = [];
for (const [tgt, suffix] of RELEASE) {
  const out = join(outdir, `zccache-${suffix}`);
  const err = build(out, tgt);
  if (err !== null) {
    console.error(`build_binary: ${tgt}: skipped, Bun could not build it here (${err})`);
    skipped.push(tgt);
    continue;
  }
  if (tgt === host) verify(out);
  built.push(out);
}
const sums = built.map((p) =>
  `${createHash("sha256").update(readFileSync(p)).digest("hex")}  ${basename(p)}\n`
).join("");
writeFileSync(join(outdir, "SHA256SUMS"), sums);
for (const p of built) {
  console.error(`${basename(p)}  ${(statSync(p).size / 1048576).toFixed(1)} MiB`);
}
console.error(
  `build_binary: ${built.length}/${RELEASE.length} targets in ${outdir}, SHA256SUMS written` +
    (skipped.length > 0 ? `; skipped: ${skipped.join(", ")}` : ""),
);
process.exit(built.length > 0 ? 0 : 1);
