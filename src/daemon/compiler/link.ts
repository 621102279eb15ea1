/**
 * The link driver: archivers (`ar`, `*-ar`, `llvm-ar`), GNU `ld`/`ld.bfd`/
 * `ld.gold`, LLD (`ld.lld`, `lld`, `wasm-ld`) and compiler drivers used as
 * linkers (`gcc ... -o app a.o b.o -lm`). It turns one `LinkEphemeral`
 * into a plan: pass through (with the reason), or the output, the ordered
 * inputs (every file argument, linker scripts, version scripts and every
 * library `-l` resolves to outside the system directories), the flags
 * that go into the key in order, declared side outputs (`-Map`), and the
 * non-determinism hint zccache gives (`D` for archives, `--build-id=sha1`
 * for `--build-id=uuid`).
 *
 * Source: zccache@1cc82c3:crates/zccache-compiler/src/parse_archiver.rs,
 * parse_linker/{gnu_ld,compiler_driver,detect}.rs,
 * crates/zccache-daemon-core/src/daemon/server/handle_link.rs.
 *
 * @module
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import {
  EMCC_FILE_OPTS,
  EMCC_VALUE_OPTS,
  emscriptenIdentity,
  isEmscriptenTool,
} from "./emscripten.ts";

/** Link tool families. */
export type LinkFamily = "ar" | "ld" | "driver";

/** A cacheable link. */
export interface LinkPlan {
  kind: "cacheable";
  family: LinkFamily;
  /** Absolute output path. */
  output: string;
  /** Ordered inputs as named (relative to the cwd, or absolute). */
  inputs: string[];
  /** Key arguments in order (inputs stand as `<in:N>`, the output as `<out>`). */
  keyArgs: string[];
  /** Declared secondary outputs (absolute). */
  sideOutputs: string[];
  /** Flag that would make the invocation deterministic, or null when it is. */
  nonDeterministic: string | null;
  /** LTO code generation at link time (the cwd may reach debug info). */
  lto: boolean;
}

/** The driver's decision. */
export type LinkDecision = LinkPlan | { kind: "passthrough"; reason: string };

function stem(tool: string): string {
  let b = basename(tool.replace(/\\/g, "/")).toLowerCase();
  b = b.replace(/\.exe$/, "");
  return b;
}

/** The link family of a tool by name, or null (a compiler driver is "driver"). */
export function linkFamilyOf(tool: string): LinkFamily | null {
  const b = stem(tool);
  if (b === "ar" || b.endsWith("-ar") || /^llvm-ar(-\d+)?$/.test(b) || /-ar-\d+$/.test(b)) {
    return "ar";
  }
  if (/^(ld|ld\.bfd|ld\.gold|ld\.lld|lld|wasm-ld|ld64\.lld)(-\d+)?$/.test(b) || b.endsWith("-ld")) {
    return "ld";
  }
  if (
    /^(?:.*-)?(?:gcc|g\+\+|cc|c\+\+)(?:-\d+(?:\.\d+)*)?$/.test(b) || b.includes("clang") ||
    isEmscriptenTool(b)
  ) {
    return b.startsWith("clang-cl") ? null : "driver";
  }
  return null;
}

/** Library directories whose contents are the system's (not hashed; the tool hash covers them). */
const SYSTEM_DIRS = [
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/usr/lib",
  "/usr/lib32",
  "/usr/lib64",
  "/usr/libx32",
  "/usr/local/lib",
];

/** True when `dir` (absolute) is a system library directory or below one. */
export function isSystemDir(dir: string): boolean {
  const d = dir.replace(/\/+$/, "");
  return SYSTEM_DIRS.some((s) => d === s || d.startsWith(s + "/"));
}

const SOURCE_EXT =
  /\.(c|cc|cp|cpp|cxx|c\+\+|C|CPP|m|mm|M|i|ii|mi|mii|s|S|sx|f|for|f90|f95|f03|f08|F|F90|go|d|ads|adb|cu|hip|cl|h|hh|hpp|hxx)$/;

function regularFile(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch {
    return false;
  }
}

/** Shared state while parsing linker arguments (ld, or -Wl, of a driver). */
interface LinkState {
  cwd: string;
  inputs: string[];
  keyArgs: string[];
  libDirs: string[];
  staticLibs: boolean;
  sideOutputs: string[];
  nonDeterministic: string | null;
  output: string | null;
  pass: string | null;
  /** Libraries to resolve after all -L are known: [position in keyArgs, name]. */
  libs: [number, string, boolean][];
}

function addInput(st: LinkState, name: string): void {
  if (name.startsWith("@")) {
    st.pass ??= `response file ${name}`;
    return;
  }
  const abs = isAbsolute(name) ? name : resolve(st.cwd, name);
  if (!regularFile(abs)) {
    st.pass ??= `input ${name} is not a regular file`;
    return;
  }
  st.keyArgs.push(`<in:${st.inputs.length}>`);
  st.inputs.push(name);
}

function addFileOption(st: LinkState, flag: string, name: string): void {
  st.keyArgs.push(flag);
  addInput(st, name);
}

/** ld options whose value is a separate argument (when not written `--opt=value`). */
const LD_WITH_ARG = new Set([
  "-m",
  "-e",
  "--entry",
  "-soname",
  "-h",
  "--soname",
  "-rpath",
  "--rpath",
  "-rpath-link",
  "--rpath-link",
  "-u",
  "--undefined",
  "-y",
  "--trace-symbol",
  "-z",
  "--sysroot",
  "--dynamic-linker",
  "-dynamic-linker",
  "-I",
  "-plugin",
  "--plugin",
  "-plugin-opt",
  "--plugin-opt",
  "-a",
  "-A",
  "--architecture",
  "-b",
  "--format",
  "-G",
  "-O",
  "--hash-style",
  "--defsym",
  "--wrap",
  "--exclude-libs",
  "-Ttext",
  "-Tdata",
  "-Tbss",
  "--section-start",
  "--image-base",
  "--emulation",
  "--threads",
]);

/** ld options naming a file the link reads. */
const LD_FILE_OPTS = new Set([
  "-T",
  "--script",
  "--version-script",
  "--dynamic-list",
  "--default-script",
  "-dT",
]);

/** ld options naming an extra output. */
const LD_SIDE_OPTS = new Set(["-Map", "--Map", "--out-implib", "--dependency-file"]);

/** ld options the cache cannot reason about. */
const LD_PASS = new Set(["-R", "--just-symbols", "-f", "--auxiliary", "-F", "--filter", "-c"]);

/** Parse GNU-ld-style arguments into `st` (also used for a driver's `-Wl,`). */
function parseLdArgs(st: LinkState, args: readonly string[], fromDriver: boolean): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = (): string | null => {
      if (i + 1 >= args.length) {
        st.pass ??= `${a} without a value`;
        return null;
      }
      return args[++i];
    };
    if (a === "-o" || a === "--output") {
      const v = next();
      if (v !== null) st.output = v;
      continue;
    }
    if (a.startsWith("--output=")) {
      st.output = a.slice(9);
      continue;
    }
    if (!fromDriver && a.startsWith("-o") && a.length > 2) {
      st.output = a.slice(2);
      continue;
    }
    if (!a.startsWith("-") || a === "-") {
      if (a === "-") {
        st.pass ??= "input from stdin";
        continue;
      }
      addInput(st, a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 && a.startsWith("--") ? a.slice(0, eq) : a;
    if (a === "-L" || a === "--library-path") {
      const v = next();
      if (v !== null) st.libDirs.push(v);
      st.keyArgs.push(a, v ?? "");
      continue;
    }
    if (a.startsWith("-L") || a.startsWith("--library-path=")) {
      st.libDirs.push(a.startsWith("-L") ? a.slice(2) : a.slice(15));
      st.keyArgs.push(a);
      continue;
    }
    if (a === "-l" || a === "--library") {
      const v = next();
      if (v !== null) {
        st.keyArgs.push(`-l${v}`);
        st.libs.push([st.keyArgs.length - 1, v, st.staticLibs]);
      }
      continue;
    }
    if (a.startsWith("-l") || a.startsWith("--library=")) {
      const v = a.startsWith("-l") ? a.slice(2) : a.slice(10);
      st.keyArgs.push(a);
      st.libs.push([st.keyArgs.length - 1, v, st.staticLibs]);
      continue;
    }
    if (a === "-Bstatic" || a === "-dn" || a === "-non_shared" || a === "-static") {
      st.staticLibs = true;
      st.keyArgs.push(a);
      continue;
    }
    if (a === "-Bdynamic" || a === "-dy" || a === "-call_shared") {
      st.staticLibs = false;
      st.keyArgs.push(a);
      continue;
    }
    if (a === "--build-id=uuid") st.nonDeterministic = "--build-id=sha1 (avoid --build-id=uuid)";
    if (LD_PASS.has(name)) {
      st.pass ??= `linker option ${a}`;
      continue;
    }
    if (LD_FILE_OPTS.has(name)) {
      if (eq > 0 && a.startsWith("--")) addFileOption(st, `${name}=`, a.slice(eq + 1));
      else {
        const v = next();
        if (v !== null) addFileOption(st, a, v);
      }
      continue;
    }
    if (a.startsWith("-T") && a.length > 2 && !/^-T(text|data|bss)/.test(a)) {
      addFileOption(st, "-T", a.slice(2));
      continue;
    }
    if (LD_SIDE_OPTS.has(name) || a.startsWith("-Map=")) {
      const v = a.startsWith("-Map=") ? a.slice(5) : eq > 0 ? a.slice(eq + 1) : next();
      if (v !== null) {
        st.keyArgs.push(`${name}:${v}`);
        st.sideOutputs.push(resolve(st.cwd, v));
      }
      continue;
    }
    if (LD_WITH_ARG.has(a)) {
      const v = next();
      st.keyArgs.push(a, v ?? "");
      continue;
    }
    st.keyArgs.push(a);
  }
}

/** Resolve `-l` names in the -L directories (and LIBRARY_PATH for a driver). */
function resolveLibs(st: LinkState, extraDirs: string[]): void {
  const dirs = [...st.libDirs, ...extraDirs];
  for (const [pos, name, statik] of st.libs) {
    const files = name.startsWith(":")
      ? [name.slice(1)]
      : statik
      ? [`lib${name}.a`]
      : [`lib${name}.so`, `lib${name}.a`];
    let found: string | null = null;
    let system = false;
    search: for (const d of dirs) {
      const absDir = isAbsolute(d) ? d : resolve(st.cwd, d);
      for (const f of files) {
        if (regularFile(`${absDir}/${f}`)) {
          system = isSystemDir(absDir);
          found = `${d.replace(/\/+$/, "")}/${f}`;
          break search;
        }
      }
    }
    if (found === null || system) continue; // the system's library: the tool hash covers it
    st.keyArgs[pos] = `${st.keyArgs[pos]}=<in:${st.inputs.length}>`;
    st.inputs.push(found);
  }
}

function newState(cwd: string): LinkState {
  return {
    cwd,
    inputs: [],
    keyArgs: [],
    libDirs: [],
    staticLibs: false,
    sideOutputs: [],
    nonDeterministic: null,
    output: null,
    pass: null,
    libs: [],
  };
}

function finish(
  st: LinkState,
  family: LinkFamily,
  lto: boolean,
  extraDirs: string[],
): LinkDecision {
  if (st.pass !== null) return { kind: "passthrough", reason: st.pass };
  if (st.output === null) return { kind: "passthrough", reason: "link without -o" };
  if (st.inputs.length === 0) return { kind: "passthrough", reason: "link without input files" };
  resolveLibs(st, extraDirs);
  const output = resolve(st.cwd, st.output);
  if (st.inputs.some((i) => resolve(st.cwd, i) === output)) {
    return { kind: "passthrough", reason: "output is also an input" };
  }
  return {
    kind: "cacheable",
    family,
    output,
    inputs: st.inputs,
    keyArgs: [`-o`, st.output, ...st.keyArgs],
    sideOutputs: st.sideOutputs,
    nonDeterministic: st.nonDeterministic,
    lto,
  };
}

/** GNU ar and llvm-ar: create/replace operations (`r`, `q`) are cached. */
function planArchive(args: readonly string[], cwd: string): LinkDecision {
  if (args.length < 2) return { kind: "passthrough", reason: "archiver without an archive" };
  const op = args[0];
  if (!/^-?[A-Za-z]+$/.test(op)) {
    return { kind: "passthrough", reason: `archiver operation ${op}` };
  }
  const letters = op.replace(/^-/, "");
  // `s` is an operation only on its own (ranlib); beside `r`/`q` it is the index modifier.
  const ops = [...letters].filter((c) => "dmpqrtx".includes(c));
  if (ops.length !== 1 || (ops[0] !== "r" && ops[0] !== "q")) {
    return { kind: "passthrough", reason: `archiver operation ${op} is not create/replace` };
  }
  for (const c of letters) {
    if (!"rqcsSDUvfP".includes(c)) {
      return { kind: "passthrough", reason: `archiver modifier ${c} in ${op}` };
    }
  }
  const st = newState(cwd);
  st.output = args[1];
  st.keyArgs.push(op);
  for (const m of args.slice(2)) {
    if (m.startsWith("-")) {
      st.pass ??= `archiver option ${m}`;
      continue;
    }
    addInput(st, m);
  }
  // zccache: an archive without `D` is non-deterministic (timestamps, uid/gid).
  st.nonDeterministic = letters.includes("D") && !letters.includes("U") ? null : "D";
  if (st.pass !== null) return { kind: "passthrough", reason: st.pass };
  if (st.inputs.length === 0) return { kind: "passthrough", reason: "archive without members" };
  const output = resolve(cwd, st.output);
  return {
    kind: "cacheable",
    family: "ar",
    output,
    inputs: st.inputs,
    keyArgs: [op, st.output, ...st.keyArgs.slice(1)],
    sideOutputs: [],
    nonDeterministic: st.nonDeterministic,
    lto: false,
  };
}

/** Driver options whose value is the next argument. */
const DRIVER_WITH_ARG = new Set([
  "-I",
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include",
  "-imacros",
  "-u",
  "-e",
  "-z",
  "--param",
  "-target",
  "-arch",
  "--sysroot",
  "-isysroot",
  "-aux-info",
  "-dumpbase",
  "-dumpdir",
  "-D",
  "-U",
]);

/** A compiler driver used as a linker. */
function planDriver(
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  em: boolean,
): LinkDecision {
  const st = newState(cwd);
  let lto = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = (): string | null => {
      if (i + 1 >= args.length) {
        st.pass ??= `${a} without a value`;
        return null;
      }
      return args[++i];
    };
    if (
      a === "-c" || a === "-S" || a === "-E" || a === "-M" || a === "-MM" || a === "--precompile"
    ) {
      return { kind: "passthrough", reason: `${a} is not a link` };
    }
    if (em && emccLinkArg(st, args, i, (n) => (i += n))) continue;
    if (a === "-o") {
      st.output = next();
      continue;
    }
    if (a.startsWith("-o") && a.length > 2) {
      st.output = a.slice(2);
      continue;
    }
    if (a === "-x" || a.startsWith("-x")) return { kind: "passthrough", reason: "-x language" };
    if (a.startsWith("-Wl,")) {
      parseLdArgs(st, a.slice(4).split(","), true);
      continue;
    }
    if (a === "-Xlinker") {
      const v = next();
      if (v !== null) parseLdArgs(st, [v], true);
      continue;
    }
    if (a === "-B" || a.startsWith("-B") || a.startsWith("-specs") || a.startsWith("--specs")) {
      return { kind: "passthrough", reason: `${a.slice(0, 6)} changes the tools or specs` };
    }
    if (a.startsWith("-fplugin") || a === "-wrapper" || a.startsWith("-fprofile-use")) {
      return { kind: "passthrough", reason: `${a} reads files the cache does not hash` };
    }
    if (a.startsWith("-flto") && a !== "-flto=none") lto = true;
    if (a.startsWith("-fno-lto")) lto = false;
    if (a === "-L" || a.startsWith("-L") || a === "-l" || a.startsWith("-l")) {
      parseLdArgs(st, a === "-L" || a === "-l" ? [a, next() ?? ""] : [a], true);
      continue;
    }
    if (a === "-static") {
      st.staticLibs = true;
      st.keyArgs.push(a);
      continue;
    }
    if (a === "-T") {
      const v = next();
      if (v !== null) addFileOption(st, a, v);
      continue;
    }
    if (a === "-") return { kind: "passthrough", reason: "input from stdin" };
    if (!a.startsWith("-")) {
      if (SOURCE_EXT.test(a)) return { kind: "passthrough", reason: `compiles source ${a}` };
      addInput(st, a);
      continue;
    }
    if (DRIVER_WITH_ARG.has(a)) {
      st.keyArgs.push(a, next() ?? "");
      continue;
    }
    if (a.startsWith("-M")) return { kind: "passthrough", reason: `${a} is not a link` };
    st.keyArgs.push(a);
  }
  const libraryPath = (env.LIBRARY_PATH ?? "").split(":").filter((p) => p !== "");
  return finish(st, "driver", lto, libraryPath);
}

/** Most files an `--embed-file`/`--preload-file` directory may hold before the link passes through. */
const MAX_PACKAGED_FILES = 10_000;

/**
 * Add the files of an emcc `--embed-file`/`--preload-file` source (a file,
 * or a directory walked in name order) as inputs, their names relative to
 * the source in the key.
 */
function addPackagedSource(st: LinkState, flag: string, value: string): void {
  const at = value.replace(/@@/g, "__").indexOf("@");
  const src = (at < 0 ? value : value.slice(0, at)).replace(/@@/g, "@");
  st.keyArgs.push(`${flag}=${value}`);
  const abs = isAbsolute(src) ? src : resolve(st.cwd, src);
  const top = lstatSync(abs, { throwIfNoEntry: false });
  if (top === undefined) {
    st.pass ??= `${flag} ${src} does not exist`;
    return;
  }
  if (top.isFile()) {
    addInput(st, src);
    return;
  }
  if (!top.isDirectory()) {
    st.pass ??= `${flag} ${src} is not a file or directory`;
    return;
  }
  let count = 0;
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir).sort()) {
      if (st.pass !== null) return;
      const p = join(dir, n);
      const s = lstatSync(p);
      if (s.isDirectory()) {
        st.keyArgs.push(`<dir:${rel}${n}>`);
        walk(p, `${rel}${n}/`);
      } else if (s.isFile()) {
        if (++count > MAX_PACKAGED_FILES) st.pass ??= `${flag} ${src}: too many files`;
        st.keyArgs.push(`<file:${rel}${n}>`);
        addInput(st, join(src, rel, n));
      } else st.pass ??= `${flag} ${src}: ${rel}${n} is not a regular file`;
    }
  };
  try {
    walk(abs, "");
  } catch {
    st.pass ??= `${flag} ${src} unreadable`;
  }
}

/**
 * One emcc-specific link argument at `args[i]`: `-s NAME=V`/`-sNAME=V`
 * (settings; `-sNAME=@file` reads the file), and the emcc options of
 * {@link EMCC_VALUE_OPTS} (`--opt value` or `--opt=value`): files they name
 * are inputs, `--js-transform` runs a command (passes through). Returns
 * true when consumed (`skip(n)` skips the value).
 */
function emccLinkArg(
  st: LinkState,
  args: readonly string[],
  i: number,
  skip: (n: number) => void,
): boolean {
  const a = args[i];
  const setting = (s: string): void => {
    const eq = s.indexOf("=");
    if (eq > 0 && s[eq + 1] === "@") addFileOption(st, `-s${s.slice(0, eq + 1)}@`, s.slice(eq + 2));
    else st.keyArgs.push(`-s${s}`);
  };
  if (a === "-s") {
    const n = args[i + 1];
    if (n !== undefined && /^[A-Z][A-Z0-9_]*$/.test(n.split("=")[0])) {
      setting(n);
      skip(1);
      return true;
    }
    return false;
  }
  if (a.startsWith("-s") && /^[A-Z][A-Z0-9_]*$/.test(a.slice(2).split("=")[0])) {
    setting(a.slice(2));
    return true;
  }
  if (!a.startsWith("--")) return false;
  const eq = a.indexOf("=");
  const name = eq > 0 ? a.slice(0, eq) : a;
  if (!EMCC_VALUE_OPTS.has(name)) return false;
  let value: string;
  if (eq > 0) value = a.slice(eq + 1);
  else {
    if (i + 1 >= args.length) {
      st.pass ??= `${a} without a value`;
      return true;
    }
    value = args[i + 1];
    skip(1);
  }
  if (name === "--js-transform" || name === "--compiler-wrapper" || name === "--cache") {
    st.pass ??= `emcc ${name} runs or reads what the cache cannot hash`;
  } else if (EMCC_FILE_OPTS.has(name)) addFileOption(st, `${name}=`, value);
  else if (name === "--embed-file" || name === "--preload-file") {
    addPackagedSource(st, name, value);
  } else st.keyArgs.push(`${name}=${value}`);
  return true;
}

/**
 * emcc/em++ as a linker: the driver's plan plus the Emscripten identity
 * (version, config, EM_* environment, sysroot libraries; ./emscripten.ts)
 * in the key and the tools it runs (clang, wasm-ld, binaryen, node) as
 * content-hashed inputs.
 */
function planEmcc(
  tool: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): LinkDecision {
  const id = emscriptenIdentity(tool, args, env, cwd, true);
  if ("pass" in id) return { kind: "passthrough", reason: id.pass };
  for (const a of args) {
    if (a.startsWith("-gseparate-dwarf") || a.startsWith("-gsplit-dwarf")) {
      return { kind: "passthrough", reason: `${a} writes a side file elsewhere` };
    }
  }
  const d = planDriver(args, cwd, env, true);
  if (d.kind !== "cacheable") return d;
  const keyArgs = [...d.keyArgs, ...id.fields];
  const inputs = [...d.inputs];
  for (const t of id.linkTools) {
    keyArgs.push(`em-tool:${t}=<in:${inputs.length}>`);
    inputs.push(t);
  }
  return { ...d, keyArgs, inputs };
}

/**
 * Plan a `LinkEphemeral`: `tool` is the resolved tool path.
 *
 * @example
 * ```ts
 * import { planLink } from "./link.ts";
 * planLink("/usr/bin/ar", ["t", "lib.a"], "/tmp", {}).kind; // "passthrough"
 * ```
 */
export function planLink(
  tool: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
): LinkDecision {
  const family = linkFamilyOf(tool);
  if (family === null) {
    return { kind: "passthrough", reason: `${basename(tool)} is not a known linker or archiver` };
  }
  if (family === "ar") return planArchive(args, cwd);
  if (family === "driver" && isEmscriptenTool(tool)) return planEmcc(tool, args, cwd, env);
  if (family === "driver") return planDriver(args, cwd, env, false);
  const st = newState(cwd);
  parseLdArgs(st, args, false);
  return finish(st, "ld", st.keyArgs.some((a) => a.startsWith("-plugin")), []);
}
