/**
 * GCC/Clang command-line parser: decides whether a compile is cacheable, finds
 * its sources, output and depfile, and derives the argument list that goes
 * into the cache key.
 *
 * Cacheability follows zccache's `parse_invocation`
 * (zccache@1cc82c3:crates/zccache-compiler/src/parse.rs) with the key gaps of
 * its spec section 2.12 closed: every argument is keyed in order except the
 * output path and the depfile path (and, when the user did not ask for a
 * depfile, nothing dep-related exists to drop); `-g*`, `-U`, and the values of
 * options such as `-target X` / `-arch X` / `-isysroot X` / `-Xclang X` are
 * keyed; flags that produce side outputs the cache cannot capture
 * (`--coverage`, `-gsplit-dwarf`, `-save-temps`, `-ftime-trace`, ...) or read
 * inputs the depfile does not list (`-fprofile-use`, `-fplugin`, `-specs`)
 * make the compile non-cacheable.
 *
 * @module
 */
import { basename, extname, isAbsolute, join, resolve } from "node:path";

/** Options whose value is the NEXT argument when written separately. */
const SEPARATE_VALUE = new Set([
  "-o",
  "-D",
  "-U",
  "-I",
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include",
  "-imacros",
  "-include-pch",
  "-isysroot",
  "--sysroot",
  "-target",
  "--target",
  "-MF",
  "-MQ",
  "-MT",
  "-MJ",
  "-x",
  "-arch",
  "-Xclang",
  "-Xpreprocessor",
  "-Xassembler",
  "-Xlinker",
  "-mllvm",
  "--serialize-diagnostics",
  "-iprefix",
  "-iwithprefix",
  "-iwithprefixbefore",
  "-imultilib",
  "-L",
  "-l",
  "-B",
  "-F",
  "-aux-info",
  "-ivfsoverlay",
  "-iframework",
  "-gcc-toolchain",
  "-resource-dir",
  "-working-directory",
  "--param",
  "-dumpbase",
  "-dumpbase-ext",
  "-dumpdir",
  "-z",
  "-u",
  "-T",
  "-e",
]);

/** Options whose value is a path (for deciding whether the cwd matters). */
const PATH_OPTIONS = [
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include-pch",
  "-include",
  "-imacros",
  "-isysroot",
  "--sysroot",
  "-iprefix",
  "-iwithprefixbefore",
  "-iwithprefix",
  "-ivfsoverlay",
  "-iframework",
  "-gcc-toolchain",
  "--gcc-toolchain",
  "-resource-dir",
  "-working-directory",
  "-I",
  "-L",
  "-B",
  "-F",
];

/** Exact flags that are never cacheable, with the reason. */
const NON_CACHEABLE_EXACT: Record<string, string> = {
  "-E": "preprocessing only (-E)",
  "-M": "dependency generation only (-M)",
  "-MM": "dependency generation only (-MM)",
  "-S": "assembly output (-S)",
  "-fsyntax-only": "no output (-fsyntax-only)",
  "-###": "driver dry run (-###)",
  "-v": "verbose driver output (-v)",
  "--version": "version query",
  "--help": "help query",
  "-dumpversion": "version query",
  "-dumpfullversion": "version query",
  "-dumpmachine": "target query",
  "-dumpspecs": "specs query",
  "-MJ": "compilation database side output (-MJ)",
  "--coverage": "coverage side output (--coverage)",
  "-ftest-coverage": "coverage side output (-ftest-coverage)",
  "-fprofile-arcs": "coverage side output (-fprofile-arcs)",
  "-gsplit-dwarf": "split DWARF side output (-gsplit-dwarf)",
  "-fstack-usage": "stack usage side output (-fstack-usage)",
  "-aux-info": "prototype side output (-aux-info)",
  "--serialize-diagnostics": "diagnostics side output (--serialize-diagnostics)",
  "-fmodules": "clang modules cache",
  "-fcxx-modules": "clang modules cache",
  "--precompile": "module precompilation",
  "-fsave-optimization-record": "optimization record side output",
};

/** Flag prefixes that are never cacheable, with the reason. */
const NON_CACHEABLE_PREFIX: [string, string][] = [
  ["-print-", "driver query (-print-*)"],
  ["--print-", "driver query (--print-*)"],
  ["-save-temps", "temporary files side output (-save-temps)"],
  ["-ftime-trace", "time trace side output (-ftime-trace)"],
  ["-fdump-", "compiler dump side output (-fdump-*)"],
  ["-fcallgraph-info", "call graph side output (-fcallgraph-info)"],
  ["-fprofile-generate", "profile path embedded (-fprofile-generate)"],
  ["-fprofile-use", "untracked profile input (-fprofile-use)"],
  ["-fprofile-instr-use", "untracked profile input (-fprofile-instr-use)"],
  ["-fprofile-sample-use", "untracked profile input (-fprofile-sample-use)"],
  ["-fauto-profile", "untracked profile input (-fauto-profile)"],
  ["-fplugin", "untracked compiler plugin (-fplugin)"],
  ["-specs", "untracked specs file (-specs)"],
  ["-Wp,", "options passed straight to the preprocessor (-Wp,)"],
  ["-fmodules-cache-path", "clang modules cache"],
  ["-fmodule-file", "clang module input"],
  ["-fsave-optimization-record", "optimization record side output"],
  ["-foptimization-record-file", "optimization record side output"],
  ["-fsanitize-coverage-", "coverage side output"],
];

/** Source file extensions GCC and Clang compile with `-c`. */
const SOURCE_EXTENSIONS = new Set([
  "c",
  "cc",
  "cp",
  "cxx",
  "cpp",
  "CPP",
  "c++",
  "C",
  "m",
  "mm",
  "M",
  "i",
  "ii",
  "mi",
  "mii",
  "s",
  "S",
  "sx",
  "cppm",
  "ixx",
]);

/** Argument roles recorded by the parser (index-aligned with the args). */
const Role = {
  Other: 0,
  Output: 1,
  DepfilePath: 2,
  DepFlag: 3,
  Source: 4,
} as const;
type Role = typeof Role[keyof typeof Role];

/** One translation unit of a cacheable invocation. */
export interface CompileUnit {
  /** The source argument as written. */
  source: string;
  /** Index of the source in the expanded args. */
  sourceIndex: number;
  /** The object path as written (`-o` value) or the default `stem.o`. */
  output: string;
  /** The user's depfile path (explicit `-MF` or derived), or null. */
  userDepfile: string | null;
}

/** A parsed cacheable invocation. */
export interface CacheableInvocation {
  kind: "cacheable";
  /** The expanded arguments. */
  args: string[];
  /** One unit per source (more than one only without `-o`). */
  units: CompileUnit[];
  /** True when `-o` was given. */
  explicitOutput: boolean;
  /** The user asked for a depfile (`-MD` or `-MMD`). */
  userDeps: boolean;
  /** True when the working directory can change the result (see {@link parseInvocation}). */
  cwdRelevant: boolean;
  /** Role of every expanded argument. */
  roles: Role[];
}

/** A parsed invocation the cache passes through. */
export interface NonCacheableInvocation {
  kind: "non_cacheable";
  reason: string;
}

/** The result of {@link parseInvocation}. */
export type Invocation = CacheableInvocation | NonCacheableInvocation;

function isRelativePath(p: string): boolean {
  return p !== "" && !isAbsolute(p);
}

function nonCacheableReason(a: string): string | null {
  const exact = NON_CACHEABLE_EXACT[a];
  if (exact !== undefined) return exact;
  for (const [prefix, reason] of NON_CACHEABLE_PREFIX) {
    if (a.startsWith(prefix)) return reason;
  }
  return null;
}

function replaceExtension(p: string, ext: string): string {
  const e = extname(p);
  return (e ? p.slice(0, -e.length) : p) + ext;
}

/**
 * Parse an (already `@file`-expanded) GCC/Clang argument list.
 *
 * Cacheable: `-c` with one source (or several sources without `-o`, one unit
 * each). Non-cacheable: `-E`/`-M`/`-MM`/`-S`, stdin source `-`, no `-c`,
 * several sources with `-o`, non-source inputs, header/PCH languages, side
 * output flags.
 *
 * `cwdRelevant` is true when any source, path option value or output-affecting
 * path is relative, or debug info is requested (`-g*` other than `-g0`:
 * DWARF embeds the compile directory); the engine then puts the working
 * directory into the context key. Otherwise identical absolute-path compiles
 * from different directories share entries.
 *
 * @example
 * ```ts
 * import { parseInvocation } from "./args.ts";
 * parseInvocation(["-c", "/src/a.c", "-o", "a.o"]).kind; // "cacheable"
 * parseInvocation(["-E", "/src/a.c"]).kind; // "non_cacheable"
 * ```
 */
export function parseInvocation(args: readonly string[]): Invocation {
  const roles: Role[] = new Array(args.length).fill(Role.Other);
  const sources: { source: string; index: number }[] = [];
  let hasC = false;
  let output: string | null = null;
  let depStyle = false;
  let explicitMf: string | null = null;
  let lang: string | null = null;
  let cwdRelevant = false;
  let positionalOnly = false;

  const nc = (reason: string): NonCacheableInvocation => ({ kind: "non_cacheable", reason });

  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (positionalOnly || !a.startsWith("-") || a === "-") {
      if (a === "-") return nc("source read from stdin");
      const ext = extname(a).slice(1);
      if (lang !== null) {
        if (lang.endsWith("-header") || lang.includes("header-unit")) {
          return nc(`precompiled header language -x ${lang}`);
        }
      } else if (!SOURCE_EXTENSIONS.has(ext)) {
        return nc(`non-source input ${JSON.stringify(a)}`);
      }
      roles[i] = Role.Source;
      sources.push({ source: a, index: i });
      if (isRelativePath(a)) cwdRelevant = true;
      continue;
    }
    if (a === "--") {
      positionalOnly = true;
      continue;
    }
    const reason = nonCacheableReason(a);
    if (reason !== null) return nc(reason);

    if (a === "-c") {
      hasC = true;
      continue;
    }
    // Output.
    if (a === "-o" || (a.startsWith("-o") && a.length > 2 && !a.startsWith("-objc"))) {
      let value: string;
      if (a === "-o") {
        if (i + 1 >= args.length) return nc("-o without a value");
        value = args[i + 1];
        roles[i] = Role.Output;
        roles[++i] = Role.Output;
      } else {
        value = a.slice(2);
        roles[i] = Role.Output;
      }
      if (value === "-") return nc("output to stdout");
      output = value;
      continue;
    }
    // Dependency-file flags.
    if (a === "-MD" || a === "-MMD") {
      depStyle = true;
      roles[i] = Role.DepFlag;
      continue;
    }
    if (a === "-MP" || a === "-MG") {
      roles[i] = Role.DepFlag;
      continue;
    }
    if (a === "-MF" || a === "-MT" || a === "-MQ") {
      if (i + 1 >= args.length) return nc(`${a} without a value`);
      const role = a === "-MF" ? Role.DepfilePath : Role.DepFlag;
      if (a === "-MF") explicitMf = args[i + 1];
      roles[i] = role;
      roles[++i] = role;
      continue;
    }
    if (a.startsWith("-MF")) {
      explicitMf = a.slice(3);
      roles[i] = Role.DepfilePath;
      continue;
    }
    if (a.startsWith("-MT") || a.startsWith("-MQ")) {
      roles[i] = Role.DepFlag;
      continue;
    }
    // Language.
    if (a === "-x") {
      if (i + 1 >= args.length) return nc("-x without a value");
      const v = args[++i];
      lang = v === "none" ? null : v;
      continue;
    }
    if (a.startsWith("-x") && a.length > 2) {
      const v = a.slice(2);
      lang = v === "none" ? null : v;
      continue;
    }
    if (a.startsWith("-g") && a !== "-g0") cwdRelevant = true;
    // Path-valued options, joined or separate.
    for (const opt of PATH_OPTIONS) {
      if (a === opt) {
        const v = args[i + 1];
        if (v !== undefined && isRelativePath(v)) cwdRelevant = true;
        break;
      }
      if (a.startsWith(opt)) {
        let v = a.slice(opt.length);
        if (v.startsWith("=")) v = v.slice(1);
        if (isRelativePath(v)) cwdRelevant = true;
        break;
      }
    }
    if (SEPARATE_VALUE.has(a)) {
      if (i + 1 >= args.length) return nc(`${a} without a value`);
      i++;
    }
  }

  if (!hasC) return nc("no -c flag (likely a link invocation)");
  if (sources.length === 0) return nc("no source file");
  if (sources.length > 1 && output !== null) return nc("multiple sources with -o");
  if (sources.length > 1 && explicitMf !== null) return nc("multiple sources with -MF");

  const units: CompileUnit[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    const out = output ?? replaceExtension(basename(s.source), ".o");
    if (seen.has(out)) return nc("two sources share a default output");
    seen.add(out);
    const userDepfile = depStyle ? (explicitMf ?? replaceExtension(out, ".d")) : null;
    units.push({ source: s.source, sourceIndex: s.index, output: out, userDepfile });
  }
  return {
    kind: "cacheable",
    args: [...args],
    units,
    explicitOutput: output !== null,
    userDeps: depStyle,
    cwdRelevant,
    roles,
  };
}

/**
 * The arguments that go into the context key of one unit: every argument in
 * order except the output path (kept when the user's depfile names it as the
 * make target), the depfile path, and the other units' sources.
 */
export function keyArgsForUnit(inv: CacheableInvocation, unit: CompileUnit): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const role = inv.roles[i];
    if (role === Role.DepfilePath) continue;
    if (role === Role.Output && !inv.userDeps) continue;
    if (role === Role.Source && i !== unit.sourceIndex) continue;
    out.push(inv.args[i]);
  }
  if (inv.userDeps && !inv.explicitOutput) out.push(`\0default-output=${unit.output}`);
  return out;
}

/**
 * The arguments to run for one unit of a multi-source invocation: the
 * expanded arguments with the other units' sources removed.
 */
export function compileArgsForUnit(inv: CacheableInvocation, unit: CompileUnit): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    if (inv.roles[i] === Role.Source && i !== unit.sourceIndex) continue;
    out.push(inv.args[i]);
  }
  return out;
}

/** Resolve a path from the command line against the compile's cwd. */
export function resolveArgPath(cwd: string, p: string): string {
  return isAbsolute(p) ? resolve(p) : join(cwd, p);
}
