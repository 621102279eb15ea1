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
  "-ivfsoverlay": "virtual file system overlay (-ivfsoverlay)",
  "-include-pch": "precompiled header input (-include-pch)",
  "-include-pth": "precompiled header input (-include-pth)",
  "-fpch-preprocess": "precompiled header preprocessing (-fpch-preprocess)",
  "-fprofile-use": "profile data named after the output (-fprofile-use without a file)",
  "-fprofile-instr-use": "implicit profile data file (-fprofile-instr-use)",
  "-MV": "NMake depfile format (-MV)",
  "-MG": "missing headers treated as generated (-MG)",
  "-frewrite-includes": "rewritten includes",
  "-fcoverage-mapping": "coverage mapping embeds paths",
  "-fprofile-instr-generate": "profile path embedded (-fprofile-instr-generate)",
  "-fdebug-compilation-dir": "compilation directory option",
  "-gen-cdb-fragment-path": "compilation database side output",
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
  ["-fmodules-cache-path", "clang modules cache"],
  ["-fmodule-file", "clang module input"],
  ["-fsave-optimization-record", "optimization record side output"],
  ["-foptimization-record-file", "optimization record side output"],
  ["-fsanitize-coverage-", "coverage side output"],
  ["-ivfsoverlay", "virtual file system overlay (-ivfsoverlay)"],
  ["-include-pch", "precompiled header input (-include-pch)"],
  ["--embed-dir", "embedded resource directory (--embed-dir)"],
  ["-fmodule-map-file", "clang module map input"],
  ["-fmodules", "clang modules"],
  ["-fprofile-instr-generate", "profile path embedded (-fprofile-instr-generate)"],
  ["-fcs-profile-generate", "profile path embedded (-fcs-profile-generate)"],
  ["-fdebug-compilation-dir", "compilation directory option"],
  ["-fcoverage-compilation-dir", "compilation directory option"],
  ["-gen-cdb-fragment-path", "compilation database side output"],
  ["-fstack-usage", "stack usage side output (-fstack-usage)"],
  ["-ftest-coverage", "coverage side output (-ftest-coverage)"],
  ["-fprofile-arcs", "coverage side output (-fprofile-arcs)"],
  ["-fprofile-update", "coverage side output"],
  ["-fprofile-note", "coverage side output"],
  ["-fprofile-dir", "coverage side output"],
  ["-fprofile-abs-path", "coverage side output"],
  ["-fbranch-probabilities", "profile data named after the output"],
  ["-fdiagnostics-format=sarif-file", "diagnostics side output"],
  ["-fdiagnostics-format=json-file", "diagnostics side output"],
  ["-fsave-optimization-record", "optimization record side output"],
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
export const Role = {
  Other: 0,
  /** `-o X` / `-oX` (both argument slots). */
  Output: 1,
  /** `-MF X` / `-MFX`. */
  DepfilePath: 2,
  /** `-MD`, `-MMD`, `-MP`. */
  DepFlag: 3,
  Source: 4,
  /** `-MT X` / `-MQ X` (both slots) and the joined forms. */
  DepTarget: 5,
  /** `-Wp,-MD,file` / `-Wp,-MMD,file`. */
  WpDeps: 6,
} as const;
/** One of {@link Role}. */
export type Role = typeof Role[keyof typeof Role];

/** A dependency-file target from `-MT` (raw) or `-MQ` (make-quoted). */
export interface DepTargetSpec {
  quote: boolean;
  value: string;
}

/** What the user asked for in the way of a depfile. */
export interface DepRequest {
  /** `MD`: every header; `MMD`: no system headers. */
  style: "MD" | "MMD";
  /** `flags`: `-MD`/`-MMD` on the command line; `wp`: `-Wp,-MD,file`. */
  via: "flags" | "wp";
  /** Explicit depfile path (`-MF`, or the `-Wp,` file), else null. */
  mf: string | null;
  /** `-MT`/`-MQ` targets in command-line order (empty: the default target). */
  targets: DepTargetSpec[];
  /** `-MP`: phony targets for each header. */
  phony: boolean;
}

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
  /** The user's depfile request, or null. */
  deps: DepRequest | null;
  /** True when the working directory can change the result (see {@link parseInvocation}). */
  cwdRelevant: boolean;
  /** Role of every expanded argument. */
  roles: Role[];
  /** The object records the whole command line (clang `-frecord-command-line` and kin). */
  recordsCommandLine: boolean;
  /** The last colour option the user gave (`-fdiagnostics-color=...`, ...), or null. */
  colorChoice: string | null;
  /** Files named by options that the compiler reads (ignore lists, profiles, specs, plugins). */
  inputFiles: string[];
  /** Debug info requested (`-g*` other than `-g0`). */
  debug: boolean;
  /** `-fdebug-prefix-map=`/`-ffile-prefix-map=` pairs (OLD, NEW), in order. */
  prefixMaps: [string, string][];
  /** The last `-x` language, or null. */
  lang: string | null;
  /** `-include`/`-imacros` files as written (searched from the cwd first). */
  forcedIncludes: string[];
  /** `-nostdinc` and kin were given (informational). */
  nostdinc: boolean;
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

/** Options (joined with `=`) whose value is a file the compiler reads. */
const INPUT_FILE_OPTIONS = [
  "-fsanitize-ignorelist=",
  "-fsanitize-blacklist=",
  "-fsanitize-system-ignorelist=",
  "-fprofile-use=",
  "-fprofile-instr-use=",
  "-fprofile-sample-use=",
  "-fauto-profile=",
  "-fprofile-list=",
  "-fxray-attr-list=",
  "-fxray-always-instrument=",
  "-fxray-never-instrument=",
  "-specs=",
  "--specs=",
  "-fplugin=",
  "-fpass-plugin=",
];

/** Options that make the object record the full command line. */
const RECORD_COMMAND_LINE = new Set([
  "-frecord-command-line",
  "-grecord-command-line",
  "-frecord-gcc-switches",
]);
const NO_RECORD_COMMAND_LINE = new Set([
  "-fno-record-command-line",
  "-gno-record-command-line",
  "-fno-record-gcc-switches",
]);

/** Colour options of gcc and clang. */
function isColorOption(a: string): boolean {
  return a.startsWith("-fdiagnostics-color") || a === "-fno-diagnostics-color" ||
    a === "-fcolor-diagnostics" || a === "-fno-color-diagnostics" ||
    a.startsWith("-fansi-escape-codes");
}

/** `-Wa,`/`-Xassembler` options that write files the cache cannot capture. */
function assemblerSideOutput(opts: string[]): string | null {
  for (const o of opts) {
    if (/^-a[a-z]*=/.test(o)) return `assembler listing file (${o})`;
    if (o === "--MD" || o.startsWith("--MD=")) return "assembler depfile (--MD)";
    if (o === "-o") return "assembler output override";
    if (o.startsWith("--gdwarf-cie") || o.startsWith("-Map")) return `assembler side output (${o})`;
  }
  return null;
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
  let depStyle: "MD" | "MMD" | null = null;
  let depVia: "flags" | "wp" = "flags";
  let explicitMf: string | null = null;
  const targets: DepTargetSpec[] = [];
  let phony = false;
  let lang: string | null = null;
  let cwdRelevant = false;
  let positionalOnly = false;
  let records = false;
  let colorChoice: string | null = null;
  const inputFiles: string[] = [];
  let debug = false;
  const prefixMaps: [string, string][] = [];
  const forcedIncludes: string[] = [];
  let nostdinc = false;

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
      // Any -MMD may drop system headers from the user's depfile: then the
      // complete list comes from a separate pass.
      if (depStyle !== "MMD") depStyle = a === "-MD" ? "MD" : "MMD";
      roles[i] = Role.DepFlag;
      continue;
    }
    if (a === "-MP") {
      phony = true;
      roles[i] = Role.DepFlag;
      continue;
    }
    if (a === "-MF") {
      if (i + 1 >= args.length) return nc(`${a} without a value`);
      explicitMf = args[i + 1];
      roles[i] = Role.DepfilePath;
      roles[++i] = Role.DepfilePath;
      continue;
    }
    if (a === "-MT" || a === "-MQ") {
      if (i + 1 >= args.length) return nc(`${a} without a value`);
      targets.push({ quote: a === "-MQ", value: args[i + 1] });
      roles[i] = Role.DepTarget;
      roles[++i] = Role.DepTarget;
      continue;
    }
    if (a.startsWith("-MF")) {
      explicitMf = a.slice(3);
      roles[i] = Role.DepfilePath;
      continue;
    }
    if (a.startsWith("-MT") || a.startsWith("-MQ")) {
      targets.push({ quote: a.startsWith("-MQ"), value: a.slice(3) });
      roles[i] = Role.DepTarget;
      continue;
    }
    if (a.startsWith("-Wp,")) {
      const parts = a.slice(4).split(",");
      if ((parts[0] === "-MD" || parts[0] === "-MMD") && parts.length === 2 && parts[1] !== "") {
        depStyle = parts[0] === "-MD" ? "MD" : "MMD";
        depVia = "wp";
        explicitMf = parts[1];
        roles[i] = Role.WpDeps;
        continue;
      }
      return nc("options passed straight to the preprocessor (-Wp,)");
    }
    if (a === "-Xclang" || a === "-Xpreprocessor") {
      const v = args[i + 1] ?? "";
      const r = nonCacheableReason(v) ??
        (["-load", "-add-plugin", "-plugin", "-include-pch", "-fmodule-file", "-ast-dump"].some((
            x,
          ) => v === x || v.startsWith(x + "=")
          ) || v.startsWith("-MT") || v.startsWith("-dependency")
          ? `${a} ${v}`
          : null);
      if (r !== null) return nc(`option passed to the compiler itself: ${r}`);
    }
    if (a.startsWith("-Wa,") || a === "-Xassembler") {
      const opts = a === "-Xassembler" ? [args[i + 1] ?? ""] : a.slice(4).split(",");
      const side = assemblerSideOutput(opts);
      if (side !== null) return nc(side);
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
    if (RECORD_COMMAND_LINE.has(a)) records = true;
    else if (NO_RECORD_COMMAND_LINE.has(a)) records = false;
    if (isColorOption(a)) {
      // "auto" is what the compiler does anyway: colour on a terminal.
      colorChoice = a === "-fdiagnostics-color=auto" ? null : a;
    }
    if (a === "-nostdinc" || a === "-nostdinc++" || a === "-nostdlibinc") nostdinc = true;
    if (a.startsWith("-g")) debug = a !== "-g0";
    if (a.startsWith("-fdebug-prefix-map=") || a.startsWith("-ffile-prefix-map=")) {
      const v = a.slice(a.indexOf("=") + 1);
      const eq = v.lastIndexOf("=");
      if (eq > 0) prefixMaps.push([v.slice(0, eq), v.slice(eq + 1)]);
    }
    for (const opt of INPUT_FILE_OPTIONS) {
      if (a.startsWith(opt)) {
        const v = a.slice(opt.length);
        if (v === "") return nc(`${opt} without a file`);
        inputFiles.push(v);
        if (isRelativePath(v)) cwdRelevant = true;
        break;
      }
    }
    if (a === "-include" || a === "-imacros") {
      const v = args[i + 1];
      if (v !== undefined) forcedIncludes.push(v);
    } else if (a.startsWith("-include") && a.length > 8 && !a.startsWith("-include-")) {
      forcedIncludes.push(a.slice(8));
    } else if (a.startsWith("--include=")) {
      forcedIncludes.push(a.slice(10));
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
  if (depStyle === null && (explicitMf !== null || targets.length > 0 || phony)) {
    // -MF/-MT/-MP without -MD/-MMD do nothing for a -c compile; key them as plain args.
    for (let i = 0; i < roles.length; i++) {
      if (roles[i] === Role.DepfilePath || roles[i] === Role.DepTarget) roles[i] = Role.Other;
      if (roles[i] === Role.DepFlag) roles[i] = Role.Other;
    }
    explicitMf = null;
    targets.length = 0;
    phony = false;
  }

  const units: CompileUnit[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    const out = output ?? replaceExtension(basename(s.source), ".o");
    if (seen.has(out)) return nc("two sources share a default output");
    seen.add(out);
    const userDepfile = depStyle !== null ? (explicitMf ?? replaceExtension(out, ".d")) : null;
    units.push({ source: s.source, sourceIndex: s.index, output: out, userDepfile });
  }
  return {
    kind: "cacheable",
    args: [...args],
    units,
    explicitOutput: output !== null,
    userDeps: depStyle !== null,
    deps: depStyle === null
      ? null
      : { style: depStyle, via: depVia, mf: explicitMf, targets: [...targets], phony },
    cwdRelevant,
    roles,
    recordsCommandLine: records,
    colorChoice,
    inputFiles,
    debug,
    prefixMaps,
    lang,
    forcedIncludes,
    nostdinc,
  };
}

/**
 * The arguments that go into the context key of one unit: every argument in
 * order except the output path, the depfile path, the depfile targets and the
 * other units' sources. Output paths are not key material (a hit restores to
 * whatever `-o`/`-MF`/`-MT` the request names), except when the object
 * records the command line (`recordsCommandLine`): then every argument is.
 */
export function keyArgsForUnit(inv: CacheableInvocation, unit: CompileUnit): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const role = inv.roles[i];
    if (role === Role.Source && i !== unit.sourceIndex) continue;
    if (!inv.recordsCommandLine) {
      if (role === Role.DepfilePath || role === Role.Output || role === Role.DepTarget) continue;
      if (role === Role.WpDeps) {
        out.push(inv.args[i].slice(0, inv.args[i].lastIndexOf(",")));
        continue;
      }
    }
    out.push(inv.args[i]);
  }
  if (inv.recordsCommandLine && !inv.explicitOutput) out.push(`\0default-output=${unit.output}`);
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

/** Options a private run controls: what to put in place of the user's outputs. */
export interface PrivateRunPaths {
  /** Where the compiler writes the object. */
  object: string;
  /** Where the compiler writes the depfile (when one is written). */
  depfile: string;
  /** Append `-MD -MF depfile` when the user asked for no depfile (clang). */
  injectDeps: boolean;
  /** Replace only the object path (assembly sources: dependency options are no-ops). */
  onlyOutput?: boolean;
}

/**
 * The argument list of a private run of one unit: the user's arguments with
 * the object written to `paths.object`, the user's depfile (if any) written
 * to `paths.depfile` with the same targets the user's command would give it,
 * and the other units' sources removed.
 */
export function privateRunArgs(
  inv: CacheableInvocation,
  unit: CompileUnit,
  paths: PrivateRunPaths,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const role = inv.roles[i];
    const a = inv.args[i];
    if (role === Role.Source && i !== unit.sourceIndex) continue;
    if (role === Role.Output) continue;
    if (paths.onlyOutput) {
      out.push(a);
      continue;
    }
    if (role === Role.DepfilePath || role === Role.DepTarget) continue;
    if (role === Role.WpDeps) {
      out.push(`${a.slice(0, a.lastIndexOf(","))},${paths.depfile}`);
      continue;
    }
    out.push(a);
  }
  out.push("-o", paths.object);
  if (paths.onlyOutput) return out;
  const deps = inv.deps;
  if (deps !== null && deps.via === "flags") {
    out.push("-MF", paths.depfile);
    if (deps.targets.length === 0) out.push("-MQ", unit.output);
    for (const t of deps.targets) out.push(t.quote ? "-MQ" : "-MT", t.value);
  } else if (deps === null && paths.injectDeps) {
    out.push("-MD", "-MF", paths.depfile);
  }
  return out;
}

/**
 * Arguments of a dependency-discovery run (`-M -MF file`, preprocessing
 * only): the unit's arguments without outputs and dependency options.
 */
export function discoveryArgs(
  inv: CacheableInvocation,
  unit: CompileUnit,
  depfile: string,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    const role = inv.roles[i];
    if (role === Role.Source && i !== unit.sourceIndex) continue;
    if (role !== Role.Other && role !== Role.Source) continue;
    if (inv.args[i] === "-c") continue;
    out.push(inv.args[i]);
  }
  out.push("-M", "-MF", depfile);
  return out;
}

/** Options (prefixes) that can change the include search path. */
const SEARCH_OPTION_PREFIXES = [
  "-I",
  "-i",
  "-nostd",
  "-nobuiltininc",
  "--sysroot",
  "-target",
  "--target",
  "-stdlib",
  "-B",
  "--gcc-toolchain",
  "-gcc-toolchain",
  "-resource-dir",
  "-F",
  "-arch",
  "--driver-mode",
  "-m32",
  "-m64",
  "-mx32",
  "-m16",
  "-mabi",
  "--cuda-path",
  "-cxx-isystem",
];

/**
 * Arguments that shape the include search path (for the `-E -v` probe): the
 * user's options that can move an include directory, with their values;
 * nothing else (so `-D`/`-O` changes share one probe).
 */
export function searchPathArgs(inv: CacheableInvocation): string[] {
  const out: string[] = [];
  for (let i = 0; i < inv.args.length; i++) {
    if (inv.roles[i] !== Role.Other) continue;
    const a = inv.args[i];
    if (a === "-include" || a === "-imacros" || a.startsWith("-include") || a === "-x") {
      if (a === "-include" || a === "-imacros" || a === "-x") i++;
      continue;
    }
    if (!SEARCH_OPTION_PREFIXES.some((p) => a.startsWith(p))) {
      if (SEPARATE_VALUE.has(a)) i++;
      continue;
    }
    out.push(a);
    if (SEPARATE_VALUE.has(a) && i + 1 < inv.args.length) out.push(inv.args[++i]);
  }
  return out;
}

/** The make target text of a depfile for this unit, as the compiler prints it. */
export function depTargetText(inv: CacheableInvocation, unit: CompileUnit): string[] {
  const deps = inv.deps;
  if (deps === null) return [];
  if (deps.via === "wp") return [makeQuote(replaceExtension(basename(unit.source), ".o"))];
  if (deps.targets.length === 0) return [makeQuote(unit.output)];
  return deps.targets.map((t) => t.quote ? makeQuote(t.value) : t.value);
}

/** Make quoting as gcc's `munge` and clang's `QuoteTarget` do it. */
export function makeQuote(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === " " || c === "\t") {
      for (let j = i - 1; j >= 0 && s[j] === "\\"; j--) out += "\\";
      out += "\\";
    } else if (c === "$") out += "$";
    else if (c === "#") out += "\\";
    out += c;
  }
  return out;
}

/** Resolve a path from the command line against the compile's cwd. */
export function resolveArgPath(cwd: string, p: string): string {
  return isAbsolute(p) ? resolve(p) : join(cwd, p);
}
