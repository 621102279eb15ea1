/**
 * Compiler family detection by file name only (never by running the
 * compiler), after zccache's `detect_family`
 * (zccache@1cc82c3:crates/zccache-compiler/src/detect.rs).
 *
 * @module
 */

/** The compiler families the engine knows. Only `gcc` and `clang` are cached. */
export const CompilerFamily = {
  Gcc: "gcc",
  Clang: "clang",
  Msvc: "msvc",
  Rustc: "rustc",
  Other: "other",
} as const;

/** One of {@link CompilerFamily}. */
export type CompilerFamily = typeof CompilerFamily[keyof typeof CompilerFamily];

const GCC_NAMES = /^(?:.*-)?(?:gcc|g\+\+|cc|c\+\+)(?:-\d+(?:\.\d+)*)?$/;

/**
 * Detect the family of a compiler from its path.
 *
 * `gcc`, `g++`, `cc`, `c++` (also versioned `gcc-12` and target-prefixed
 * `x86_64-linux-gnu-gcc-12`) are GCC; any name containing `clang`, and
 * `emcc`/`em++`, are Clang; `clang-cl`/`cl` are MSVC (not cached here);
 * `rustc`/`clippy-driver` are Rustc (not cached here); anything else is Other
 * (passed through uncached).
 *
 * @example
 * ```ts
 * import { detectFamily } from "./detect.ts";
 * detectFamily("/usr/bin/clang-14"); // "clang"
 * detectFamily("x86_64-linux-gnu-gcc-12"); // "gcc"
 * ```
 */
export function detectFamily(path: string): CompilerFamily {
  let base = path.replace(/\\/g, "/");
  base = base.slice(base.lastIndexOf("/") + 1);
  // Drop one extension (".exe", ".py" for emcc.py, ...) but keep version dots.
  const ext = /\.(exe|py|bat|cmd)$/i.exec(base);
  if (ext) base = base.slice(0, ext.index);
  const lower = base.toLowerCase();
  if (lower === "rustc" || lower.startsWith("rustc-") || lower.startsWith("clippy-driver")) {
    return CompilerFamily.Rustc;
  }
  if (lower === "clang-cl" || lower.startsWith("clang-cl-") || lower === "cl") {
    return CompilerFamily.Msvc;
  }
  if (lower.includes("clang") || lower === "emcc" || lower === "em++") return CompilerFamily.Clang;
  if (GCC_NAMES.test(lower)) return CompilerFamily.Gcc;
  return CompilerFamily.Other;
}
