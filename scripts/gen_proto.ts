/**
 * `deno task gen:proto`: regenerate `src/core/gen/*_pb.ts` from `proto/*.proto`
 * with protoc-gen-es 2.17.0 (from node_modules) driven by buf 1.75.0 through
 * `npx` (buf is deliberately not a dependency of deno.json/package.json:
 * Deno cannot resolve its platform packages).
 *
 * Usage: `deno run -A scripts/gen_proto.ts [--out <dir>]`. With `--out`, the
 * files are written under `<dir>/src/core/gen/` instead of the repository
 * (the regeneration test diffs that against the committed files).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import process from "node:process";

/** The buf release used for generation (run with `npx -y`). */
export const BUF_PACKAGE = "@bufbuild/buf@1.75.0";

/** Repository root (the directory holding buf.gen.yaml). */
export const REPO_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Result of one generation run. */
export interface GenResult {
  ok: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `buf generate` from the repository root. When `outBase` is given, buf
 * writes below it (`<outBase>/src/core/gen/...`), leaving the tree untouched.
 */
export function generateProto(outBase?: string): GenResult {
  const args = ["-y", BUF_PACKAGE, "generate", "--template", "buf.gen.yaml"];
  if (outBase !== undefined) args.push("--output", outBase);
  const r = spawnSync("npx", args, { cwd: REPO_ROOT, encoding: "utf8" });
  return {
    ok: r.status === 0 && r.error === undefined,
    status: r.status,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
}

function main(argv: string[]): number {
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") out = argv[++i];
    else {
      console.error(`gen_proto: unknown argument ${argv[i]}`);
      return 2;
    }
  }
  const r = generateProto(out);
  if (!r.ok) {
    console.error(`gen_proto: buf generate failed (exit ${r.status})\n${r.stderr}`);
    return 1;
  }
  console.log(`gen_proto: wrote ${out ? join(out, "src/core/gen") : "src/core/gen"}`);
  return 0;
}

if (import.meta.main) {
  const code = main(process.argv.slice(2));
  if (code !== 0) process.exit(code);
}
