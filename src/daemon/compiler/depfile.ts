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

/** The first rule of a depfile as printed tokens, and the text after it. */
export interface DepfileRule {
  /** Targets as printed (already make-quoted). */
  targets: string[];
  /** Prerequisites as printed (escaped as the compiler escapes them). */
  deps: string[];
  /** Everything after the first rule's final newline (phony rules), verbatim. */
  rest: string;
}

/**
 * Split the first rule of a compiler-written depfile into printed tokens
 * (escapes kept), so it can be printed again with other targets.
 * Returns null when the text is not one rule the compiler would write.
 */
export function splitFirstRule(text: string): DepfileRule | null {
  // The first rule ends at the first newline not preceded by a backslash.
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\n" && text[i - 1] !== "\\") {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const rule = text.slice(0, end).replace(/\\\r?\n/g, " ");
  const tokens: string[] = [];
  let cur = "";
  for (let i = 0; i < rule.length; i++) {
    const ch = rule[i];
    if (ch === "\\" && i + 1 < rule.length) {
      cur += ch + rule[i + 1];
      i++;
      continue;
    }
    if (ch === " " || ch === "\t") {
      if (cur !== "") tokens.push(cur);
      cur = "";
      continue;
    }
    cur += ch;
  }
  if (cur !== "") tokens.push(cur);
  const targets: string[] = [];
  let i = 0;
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === ":") {
      i++;
      break;
    }
    if (t.endsWith(":")) {
      targets.push(t.slice(0, -1));
      i++;
      break;
    }
    targets.push(t);
  }
  if (targets.length === 0) return null;
  return { targets, deps: tokens.slice(i), rest: text.slice(end + 1) };
}

/** The unescaped length of a printed depfile token (clang wraps on raw lengths). */
function rawLength(printed: string): number {
  let n = 0;
  for (let i = 0; i < printed.length; i++) {
    const c = printed[i];
    if (c === "\\" && (printed[i + 1] === " " || printed[i + 1] === "#")) continue;
    if (c === "\\" && printed[i + 1] === "\\") {
      // "\\\\ " -> "\\ ": doubled backslashes before a space.
      let j = i;
      while (printed[j] === "\\") j++;
      if (printed[j] === " ") {
        const count = j - i;
        n += (count - 1) / 2;
        i = j - 1;
        continue;
      }
    }
    if (c === "$" && printed[i + 1] === "$") {
      n++;
      i++;
      continue;
    }
    n++;
  }
  return n;
}

/**
 * Print the first rule of a depfile as gcc (>= 10, `mkdeps.cc` `make_write`,
 * 72 columns) or clang (`DependencyFileGenerator`, 75 columns) prints it, for
 * the given printed targets and prerequisites.
 */
export function renderFirstRule(
  flavor: "gcc" | "clang",
  targets: readonly string[],
  deps: readonly string[],
): string {
  let out = "";
  if (flavor === "gcc") {
    const colmax = 72;
    let col = 0;
    const write = (name: string): void => {
      if (col) {
        if (col + name.length > colmax) {
          out += " \\\n";
          col = 0;
        }
        col++;
        out += " ";
      }
      col += name.length;
      out += name;
    };
    for (const t of targets) write(t);
    out += ":";
    col++;
    for (const d of deps) write(d);
    return out + "\n";
  }
  const max = 75;
  let columns = 0;
  for (const t of targets) {
    const n = t.length;
    if (columns === 0) columns += n;
    else if (columns + n + 2 > max) {
      columns = n + 2;
      out += " \\\n  ";
    } else {
      columns += n + 1;
      out += " ";
    }
    out += t;
  }
  out += ":";
  columns += 1;
  for (const d of deps) {
    const n = rawLength(d);
    if (columns + (n + 1) + 2 > max) {
      out += " \\\n ";
      columns = 2;
    }
    out += " " + d;
    columns += n + 1;
  }
  return out + "\n";
}

/**
 * The depfile text a compile with `targets` would have written, given the
 * text written for another target list: the first rule is printed again with
 * the compiler's line wrapping; phony rules are kept. Returns the input when
 * the targets are the same, and null when the text cannot be re-targeted.
 */
export function retargetDepfile(
  flavor: "gcc" | "clang",
  text: string,
  targets: readonly string[],
): string | null {
  const rule = splitFirstRule(text);
  if (rule === null) return null;
  if (rule.targets.length === targets.length && rule.targets.every((t, i) => t === targets[i])) {
    return text;
  }
  return renderFirstRule(flavor, targets, rule.deps) + rule.rest;
}
