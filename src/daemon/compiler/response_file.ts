/**
 * `@file` response-file expansion with GCC/Clang quoting rules, nested up to
 * depth 10 with cycle detection; an unreadable file leaves the `@arg` as is
 * (as GCC does). After zccache's
 * zccache@1cc82c3:crates/zccache-compiler/src/response_file.rs.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const MAX_DEPTH = 10;

/**
 * Split response-file text into arguments: whitespace separates, `'` and `"`
 * quote, a backslash escapes the next character (GCC `buildargv`).
 */
export function splitResponseFile(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inArg = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inArg = true;
    } else if (quote !== null) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inArg = true;
    } else if (
      ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\f" || ch === "\v"
    ) {
      if (inArg) out.push(cur);
      cur = "";
      inArg = false;
    } else {
      cur += ch;
      inArg = true;
    }
  }
  if (inArg) out.push(cur);
  return out;
}

/** The result of {@link expandResponseFiles}. */
export interface ExpandedArgs {
  /** The arguments with every readable `@file` replaced by its contents. */
  args: string[];
  /** Absolute paths of the response files that were read. */
  files: string[];
}

/**
 * Expand every `@file` argument (relative paths resolve against `cwd`).
 *
 * @example
 * ```ts
 * import { expandResponseFiles } from "./response_file.ts";
 * expandResponseFiles(["-c", "a.c"], "/tmp").args; // ["-c", "a.c"]
 * ```
 */
export function expandResponseFiles(args: readonly string[], cwd: string): ExpandedArgs {
  const files: string[] = [];
  if (!args.some((a) => a.startsWith("@") && a.length > 1)) return { args: [...args], files };
  const out: string[] = [];
  const walk = (list: readonly string[], depth: number, stack: string[]): void => {
    for (const a of list) {
      if (!a.startsWith("@") || a.length === 1 || depth >= MAX_DEPTH) {
        out.push(a);
        continue;
      }
      const path = resolve(cwd, a.slice(1));
      if (stack.includes(path)) {
        out.push(a);
        continue;
      }
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        out.push(a);
        continue;
      }
      files.push(path);
      walk(splitResponseFile(text), depth + 1, [...stack, path]);
    }
  };
  walk(args, 0, []);
  return { args: out, files };
}
