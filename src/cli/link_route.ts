/**
 * Wrapper routing for links and archives (no imports: this is on the
 * wrapper hot path). As zccache's `run_wrap`: an archiver (`ar`, `*-ar`,
 * `llvm-ar`), a linker (`ld`, `ld.bfd`, `ld.gold`, `ld.lld`, `lld`,
 * `wasm-ld`, `*-ld`) or a compiler driver (`cc`, `gcc`, `g++`, `*-gcc`,
 * `*clang*`, `emcc`, `em++`) with none of `-c -E -S --precompile` and no
 * `-x *-header` goes to `LinkEphemeral`; the daemon decides what is cached.
 *
 * Source: zccache@1cc82c3:crates/zccache-cli-core/src/cli/commands/wrap/routing.rs.
 *
 * @module
 */

function toolStem(tool: string): string {
  const b = tool.slice(Math.max(tool.lastIndexOf("/"), tool.lastIndexOf("\\")) + 1);
  return b.toLowerCase().replace(/\.exe$/, "").replace(/^(emcc|em\+\+)\.py$/, "$1");
}

/**
 * True when `zccache <tool> args...` is a link or archive invocation.
 *
 * @example
 * ```ts
 * import { isLinkInvocation } from "./link_route.ts";
 * isLinkInvocation("ar", ["rcsD", "lib.a", "a.o"]); // true
 * isLinkInvocation("gcc", ["-c", "a.c"]); // false
 * ```
 */
export function isLinkInvocation(tool: string, args: readonly string[]): boolean {
  const b = toolStem(tool);
  if (b === "ar" || b.endsWith("-ar") || /^llvm-ar(-\d+)?$/.test(b)) return true;
  if (/^(ld|ld\.bfd|ld\.gold|ld\.lld|lld|wasm-ld)(-\d+)?$/.test(b) || b.endsWith("-ld")) {
    return true;
  }
  const driver = /^(?:.*-)?(?:gcc|g\+\+|cc|c\+\+)(?:-\d+(?:\.\d+)*)?$/.test(b) ||
    (b.includes("clang") && !b.startsWith("clang-cl")) || b === "emcc" || b === "em++";
  if (!driver || args.length === 0) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-c" || a === "-E" || a === "-S" || a === "--precompile" || a === "-") return false;
    if (a === "-M" || a === "-MM") return false;
    const lang = a === "-x" ? args[i + 1] ?? "" : a.startsWith("-x") ? a.slice(2) : null;
    if (lang !== null && lang.includes("header")) return false;
  }
  return true;
}
