/**
 * Make-syntax depfile parser (what `-MD -MF` writes): returns the
 * prerequisites of every rule, in order, de-duplicated. Handles line
 * continuations, `\ ` escaped spaces, `\#`, `$$` and `-MP` phony rules.
 * After zccache@1cc82c3:crates/zccache-depgraph/src/depfile/.
 *
 * @module
 */

/**
 * Parse depfile text into the list of prerequisite paths (targets dropped).
 *
 * @example
 * ```ts
 * import { parseDepfile } from "./depfile.ts";
 * parseDepfile("a.o: a.c \\\n  inc/my\\ h.h\n"); // ["a.c", "inc/my h.h"]
 * ```
 */
export function parseDepfile(text: string): string[] {
  const deps: string[] = [];
  const seen = new Set<string>();
  // Tokenise the whole file; a token ending with ':' (or a lone ':') ends the targets.
  let inTargets = true;
  let cur = "";
  let has = false;
  const flush = (): void => {
    if (!has) return;
    if (inTargets) {
      if (cur.endsWith(":")) inTargets = false;
    } else if (!seen.has(cur)) {
      seen.add(cur);
      deps.push(cur);
    }
    cur = "";
    has = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      const next = text[i + 1];
      if (next === "\n") {
        i++;
        flush();
        continue;
      }
      if (next === "\r" && text[i + 2] === "\n") {
        i += 2;
        flush();
        continue;
      }
      if (next === " " || next === "#" || next === "\\") {
        cur += next;
        has = true;
        i++;
        continue;
      }
      cur += ch;
      has = true;
      continue;
    }
    if (ch === "$" && text[i + 1] === "$") {
      cur += "$";
      has = true;
      i++;
      continue;
    }
    if (ch === "\n" || ch === "\r") {
      flush();
      inTargets = true;
      continue;
    }
    if (ch === " " || ch === "\t") {
      flush();
      continue;
    }
    if (ch === ":" && inTargets) {
      // "target:" or "target :"; keep Windows drive letters ("C:\x") intact.
      const next = text[i + 1];
      if (next === undefined || next === " " || next === "\t" || next === "\n" || next === "\r") {
        cur += ":";
        has = true;
        flush();
        if (inTargets) inTargets = false;
        continue;
      }
    }
    cur += ch;
    has = true;
  }
  flush();
  return deps;
}
