/**
 * Lexical path normalization with the rules of zccache's `NormalizedPath`
 * (zccache@3eae627:crates/zccache/src/core/path.rs, `normalize`), as the
 * Linux build applies them: `/` is the only separator, a backslash is an
 * ordinary character.
 *
 * - `.` components are dropped;
 * - `..` pops the previous normal component, and is kept when there is none
 *   (so `/..` and `../a` stay as they are);
 * - repeated and trailing separators are dropped;
 * - no file system access, no symlink resolution.
 *
 * @module
 */

/** True when `p` cannot change under {@link normalizePath} (the fast path). */
function isNormal(p: string): boolean {
  if (p === "/") return true;
  if (p.endsWith("/")) return false;
  if (p.includes("//")) return false;
  // Any "." or ".." component.
  return !/(^|\/)\.\.?(\/|$)/.test(p);
}

/**
 * Normalize a path lexically, exactly like `NormalizedPath::new` on Unix.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./path.ts";
 * if (normalizePath("/a/./b/../c/") !== "/a/c") throw new Error();
 * if (normalizePath("./x//y") !== "x/y") throw new Error();
 * if (normalizePath("a/..") !== "") throw new Error();
 * ```
 */
export function normalizePath(p: string): string {
  if (isNormal(p)) return p;
  const absolute = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") {
      out.pop();
    } else {
      out.push(part);
    }
  }
  return (absolute ? "/" : "") + out.join("/");
}
