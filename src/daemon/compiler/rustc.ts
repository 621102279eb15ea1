/**
 * The rustc driver (`RUSTC_WRAPPER=zccache cargo build`): argument
 * classification ({@link planRustc}), rustc's dep-info ({@link parseRustDepInfo}),
 * the outputs a run wrote ({@link rustOutputs}), native libraries found
 * through `-L`/`-l` ({@link nativeLibraries}) and the toolchain identity
 * ({@link RustcIdentities}). The rust lane (`../rust_lane.ts`) runs it.
 *
 * Facts (zccache 1.12.2 daemon-spec 2.13, sccache `compiler/rust.rs`, and
 * rustc 1.63 observed):
 * - cacheable crate types `lib`, `rlib`, `staticlib`, `proc-macro`, `bin`
 *   (the default, and `--test`); `dylib`/`cdylib`, probes (`-vV`,
 *   `--print`, `--explain`), stdin (`-`) and no `.rs` source pass through;
 * - rustc runs **in place** with the user's arguments: its outputs and the
 *   paths they record (debuginfo's comp dir, the dep-info's targets, the
 *   `{"artifact":...}` notifications) are exactly a plain run's. The key
 *   therefore holds every argument verbatim and the cwd, so a hit restores
 *   to the very paths the entry was made for and nothing needs rewriting;
 * - with no dep-info asked for, `--emit=dep-info=<private>` is added (rustc
 *   keeps one dep-info path, so never when the user asked for one), and its
 *   `{"artifact":"<private>","emit":"dep-info"}` line is dropped from stderr;
 * - rustc 1.63 names the metadata target `<dir>/<name><extra>.rmeta` in the
 *   dep-info while writing `lib<name><extra>.rmeta`; both are accepted;
 * - `-C incremental` passes through uncached: a hit would leave the
 *   incremental directory behind the outputs, and an incremental compile's
 *   bytes depend on the session it reuses (cargo: `CARGO_INCREMENTAL=0`).
 *
 * @module
 */
import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { CompilerIdentityCache } from "../hash.ts";
import { sha256Hex } from "../hash.ts";
import type { ProcessRunner } from "./driver.ts";

/** Crate types whose outputs are cached. */
export const CACHEABLE_CRATE_TYPES: ReadonlySet<string> = new Set([
  "lib",
  "rlib",
  "staticlib",
  "proc-macro",
  "bin",
]);

/** Emit kinds whose outputs are cached (all of rustc's, listed in its dep-info). */
const EMIT_KINDS = new Set([
  "link",
  "metadata",
  "dep-info",
  "obj",
  "asm",
  "llvm-ir",
  "llvm-bc",
  "mir",
]);

/** Options that take a value (separate, `--opt=value`, or `-Xvalue` for short ones). */
const VALUE_OPTIONS = new Set([
  "--crate-type",
  "--crate-name",
  "--edition",
  "--emit",
  "--print",
  "-o",
  "--out-dir",
  "--explain",
  "--target",
  "-L",
  "-l",
  "--cfg",
  "--check-cfg",
  "--extern",
  "--extern-location",
  "--sysroot",
  "--error-format",
  "--json",
  "--color",
  "--diagnostic-width",
  "--cap-lints",
  "-A",
  "-W",
  "-D",
  "-F",
  "--allow",
  "--warn",
  "--deny",
  "--forbid",
  "--force-warn",
  "-C",
  "--codegen",
  "-Z",
  "--remap-path-prefix",
  "--env-set",
]);

/** Short value options accepted glued (`-Lfoo`, `-Copt-level=2`). */
const SHORT_GLUED = ["-L", "-l", "-C", "-A", "-W", "-D", "-F", "-Z", "-o"];

/** Long aliases of short lint/codegen options. */
const ALIAS: Record<string, string> = {
  "--codegen": "-C",
  "--allow": "-A",
  "--warn": "-W",
  "--deny": "-D",
  "--forbid": "-F",
};

/** Variables that only name directories, jobserver fds or incremental state: never keyed. */
export const CARGO_ENV_UNKEYED: ReadonlySet<string> = new Set([
  "CARGO_MANIFEST_DIR",
  "CARGO_MANIFEST_PATH",
  "CARGO_TARGET_DIR",
  "CARGO_BUILD_TARGET_DIR",
  "CARGO_TARGET_TMPDIR",
  "CARGO_MAKEFLAGS",
  "CARGO_INCREMENTAL",
  "CARGO_HOME",
  "CARGO_RUSTC_CURRENT_DIR",
]);

/** Non-`CARGO_*` variables that change what rustc produces. */
export const RUST_KEY_ENV: readonly string[] = [
  "RUSTC_BOOTSTRAP",
  "RUST_TARGET_PATH",
  "RUSTC_LOG",
  "LIBRARY_PATH",
  "SDKROOT",
  "MACOSX_DEPLOYMENT_TARGET",
  "IPHONEOS_DEPLOYMENT_TARGET",
  "SOURCE_DATE_EPOCH",
];

/** The keyed environment of a rustc request: `CARGO_*` (less {@link CARGO_ENV_UNKEYED}) and {@link RUST_KEY_ENV}. */
export function rustKeyEnv(env: Record<string, string>): [string, string | null][] {
  const out: [string, string | null][] = [];
  for (const k of Object.keys(env).sort()) {
    if (k.startsWith("CARGO_") && !CARGO_ENV_UNKEYED.has(k)) out.push([k, env[k]]);
  }
  for (const k of RUST_KEY_ENV) out.push([k, env[k] ?? null]);
  return out;
}

/** True when the tool's name says rustc (`rustc`, `rustc-1.63`, `x86_64-…-rustc`); identity confirms. */
export function rustcByName(compiler: string): boolean {
  let b = compiler.slice(Math.max(compiler.lastIndexOf("/"), compiler.lastIndexOf("\\")) + 1);
  b = b.toLowerCase().replace(/\.exe$/, "");
  return /(^|[-_.])rustc($|[-_.])/.test(b) && !b.includes("clippy");
}

/** One `--extern`: the name part as written (modifiers kept) and the file, if any. */
export interface RustExtern {
  name: string;
  /** Absolute path, or null for a sysroot crate (`--extern proc_macro`). */
  path: string | null;
}

/** What the driver found in a cacheable rustc command line. */
export interface RustPlan {
  crateName: string | null;
  crateTypes: string[];
  /** Emit kinds as asked (`["link"]` when no `--emit`). */
  emit: string[];
  /** Explicit `--emit kind=path` destinations (absolute). */
  emitPaths: Map<string, string>;
  /** Absolute source path, and as written. */
  source: string;
  sourceName: string;
  outDir: string | null;
  output: string | null;
  extraFilename: string;
  externs: RustExtern[];
  /** `-L [kind=]dir`: kind (`all` when none) and absolute dir. */
  searchDirs: { kind: string; dir: string }[];
  /** `-l [kind[:mods]=]name[:rename]`: kind and the file name stem. */
  nativeLibs: { kind: string; name: string }[];
  /** Files named by `-C link-arg(s)` that exist (absolute). */
  linkArgFiles: string[];
  /** `-C linker=` as written, or null. */
  linker: string | null;
  /** The user's dep-info file (absolute), or null when none was asked for. */
  userDepInfo: string | null;
  /** An explicit `--color`, or `--error-format=json` (no terminal colouring). */
  colorFixed: boolean;
  /** Links with the system linker (bin, proc-macro, `--test`). */
  links: boolean;
  /** Directories a stored output may be restored into. */
  outputDirs: Set<string>;
}

/** A driver's decision. */
export type RustDecision = { kind: "passthrough"; reason: string } | {
  kind: "cacheable";
  plan: RustPlan;
};

/** Split `args` into (option, value) pairs and positionals. */
function tokens(args: readonly string[]): { opt: string; value: string | null }[] | string {
  const out: { opt: string; value: string | null }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("@")) return `response file ${a}`;
    if (a === "-" || !a.startsWith("-")) {
      out.push({ opt: "", value: a });
      continue;
    }
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0 && VALUE_OPTIONS.has(a.slice(0, eq))) {
      const o = a.slice(0, eq);
      out.push({ opt: ALIAS[o] ?? o, value: a.slice(eq + 1) });
      continue;
    }
    if (VALUE_OPTIONS.has(a)) {
      if (i + 1 >= args.length) return `${a} without a value`;
      out.push({ opt: ALIAS[a] ?? a, value: args[++i] });
      continue;
    }
    const glued = SHORT_GLUED.find((s) => a.startsWith(s) && a.length > s.length);
    if (glued !== undefined) {
      out.push({ opt: glued, value: a.slice(glued.length) });
      continue;
    }
    out.push({ opt: a, value: null });
  }
  return out;
}

/**
 * Classify a rustc command line (arguments after the compiler), relative
 * to `cwd`. Never touches the file system beyond `stat` of `-C link-arg`
 * operands.
 *
 * @example
 * ```ts
 * import { planRustc } from "./rustc.ts";
 * planRustc(["-vV"], "/src").kind; // "passthrough"
 * planRustc(["--crate-name", "a", "--crate-type", "lib", "src/lib.rs"], "/src").kind; // "cacheable"
 * ```
 */
export function planRustc(args: readonly string[], cwd: string): RustDecision {
  const pass = (reason: string): RustDecision => ({ kind: "passthrough", reason });
  const toks = tokens(args);
  if (typeof toks === "string") return pass(toks);
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const sources: string[] = [];
  const crateTypes: string[] = [];
  let emit: string[] | null = null;
  const emitPaths = new Map<string, string>();
  let crateName: string | null = null;
  let outDir: string | null = null;
  let output: string | null = null;
  let extra = "";
  let linker: string | null = null;
  let colorFixed = false;
  let test = false;
  const externs: RustExtern[] = [];
  const searchDirs: RustPlan["searchDirs"] = [];
  const nativeLibs: RustPlan["nativeLibs"] = [];
  const linkArgFiles: string[] = [];
  for (const { opt, value } of toks) {
    const v = value ?? "";
    switch (opt) {
      case "":
        sources.push(v);
        break;
      case "-V":
      case "--version":
      case "-vV":
      case "-Vv":
      case "-h":
      case "--help":
        return pass(`probe ${opt}`);
      case "--print":
        return pass("probe --print");
      case "--explain":
        return pass("--explain");
      case "--test":
        test = true;
        break;
      case "--crate-type":
        for (const t of v.split(",")) if (t !== "") crateTypes.push(t.trim());
        break;
      case "--crate-name":
        crateName = v;
        break;
      case "--emit":
        emit ??= [];
        for (const part of v.split(",")) {
          const e = part.indexOf("=");
          const kind = e < 0 ? part : part.slice(0, e);
          if (!EMIT_KINDS.has(kind)) return pass(`--emit ${kind}`);
          if (e >= 0) {
            const p = part.slice(e + 1);
            if (p === "-" || p === "") return pass(`--emit ${kind} to stdout`);
            emitPaths.set(kind, at(p));
          }
          if (!emit.includes(kind)) emit.push(kind);
        }
        break;
      case "-o":
        output = at(v);
        break;
      case "--out-dir":
        outDir = at(v);
        break;
      case "--target":
        if (v.endsWith(".json") || v.includes("/")) return pass(`target spec file ${v}`);
        break;
      case "--sysroot":
        return pass("--sysroot (its standard library is not identified)");
      case "--color":
        colorFixed = true;
        break;
      case "--error-format":
        if (v.startsWith("json")) colorFixed = true;
        break;
      case "-Z":
        return pass(`unstable option -Z ${v}`);
      case "--extern": {
        const e = v.indexOf("=");
        if (e < 0) externs.push({ name: v, path: null });
        else externs.push({ name: v.slice(0, e), path: at(v.slice(e + 1)) });
        break;
      }
      case "-L": {
        const e = v.indexOf("=");
        const known = e > 0 && /^(dependency|crate|native|framework|all)$/.test(v.slice(0, e));
        searchDirs.push({
          kind: known ? v.slice(0, e) : "all",
          dir: at(known ? v.slice(e + 1) : v),
        });
        break;
      }
      case "-l": {
        const e = v.indexOf("=");
        const kind = e < 0 ? "dylib" : v.slice(0, e).split(":")[0];
        const name = (e < 0 ? v : v.slice(e + 1)).split(":")[0];
        nativeLibs.push({ kind, name });
        break;
      }
      case "-C": {
        const e = v.indexOf("=");
        const k = e < 0 ? v : v.slice(0, e);
        const val = e < 0 ? "" : v.slice(e + 1);
        if (k === "incremental") return pass("incremental compilation (-C incremental)");
        if (k === "help") return pass("-C help");
        if (k === "save-temps" && val !== "no" && val !== "n" && val !== "off") {
          return pass("-C save-temps");
        }
        if (k === "split-debuginfo" && val !== "off") return pass(`-C split-debuginfo=${val}`);
        if (k === "profile-generate" || k === "profile-use" || k === "profile-sample-use") {
          return pass(`-C ${k}`);
        }
        if (k === "extra-filename") extra = val;
        if (k === "linker") linker = val;
        if (k === "link-arg" || k === "link-args") {
          for (const w of k === "link-arg" ? [val] : val.split(/\s+/)) {
            if (w === "" || w.startsWith("-")) continue;
            const st = statSync(at(w), { throwIfNoEntry: false });
            if (st?.isFile()) linkArgFiles.push(at(w));
          }
        }
        break;
      }
      default:
        break;
    }
  }
  if (sources.length === 0) return pass("no source file");
  if (sources.length > 1) return pass("more than one source file");
  const sourceName = sources[0];
  if (sourceName === "-") return pass("source from stdin");
  if (!sourceName.endsWith(".rs")) return pass(`source ${sourceName} is not a .rs file`);
  if (crateTypes.length === 0) crateTypes.push("bin");
  for (const t of crateTypes) {
    if (!CACHEABLE_CRATE_TYPES.has(t)) return pass(`crate type ${t}`);
  }
  const kinds = emit ?? ["link"];
  let userDepInfo: string | null = null;
  if (kinds.includes("dep-info")) {
    userDepInfo = emitPaths.get("dep-info") ?? null;
    if (userDepInfo === null) {
      if (output !== null) {
        userDepInfo = join(dirname(output), basename(output).replace(/\.[^.]*$/, "") + ".d");
      } else if (crateName !== null) userDepInfo = join(outDir ?? cwd, `${crateName}${extra}.d`);
      else return pass("dep-info without --crate-name");
    }
  }
  const outputDirs = new Set<string>([outDir ?? cwd]);
  if (output !== null) outputDirs.add(dirname(output));
  for (const p of emitPaths.values()) outputDirs.add(dirname(p));
  const links = test || crateTypes.includes("bin") || crateTypes.includes("proc-macro");
  return {
    kind: "cacheable",
    plan: {
      crateName,
      crateTypes,
      emit: kinds,
      emitPaths,
      source: at(sourceName),
      sourceName,
      outDir,
      output,
      extraFilename: extra,
      externs,
      searchDirs,
      nativeLibs,
      linkArgFiles,
      linker,
      userDepInfo,
      colorFixed,
      links,
      outputDirs,
    },
  };
}

/**
 * The arguments of the cached run: the user's, plus `--emit=dep-info=<private>`
 * when no dep-info was asked for (with `link` when no `--emit` was given:
 * any `--emit` replaces rustc's default), plus `--color=always` when the
 * client's terminal would have coloured the diagnostics.
 */
export function rustRunArgs(
  args: readonly string[],
  plan: RustPlan,
  privateDepInfo: string,
  color: boolean,
): string[] {
  const out = [...args];
  if (plan.userDepInfo === null) {
    const hadEmit = args.some((a) => a === "--emit" || a.startsWith("--emit="));
    out.push(`--emit=${hadEmit ? "" : "link,"}dep-info=${privateDepInfo}`);
  }
  if (color) out.push("--color=always");
  return out;
}

/** rustc's dep-info, parsed. */
export interface RustDepInfo {
  /** Targets of rules with prerequisites: the files rustc wrote (as written). */
  targets: string[];
  /** Every prerequisite, unescaped, in order of first appearance. */
  deps: string[];
  /** `# env-dep:NAME[=value]`: each name (sorted, unique). */
  envDeps: string[];
}

/** Split a make word list, honouring `\ ` escapes. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && (s[i + 1] === " " || s[i + 1] === "\\")) {
      cur += s[++i];
    } else if (c === " " || c === "\t") {
      if (cur !== "") out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur !== "") out.push(cur);
  return out;
}

/** The index of the rule's `: ` separator (a path may hold `:`; rustc escapes spaces only). */
function ruleColon(line: string): number {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\\") {
      i++;
      continue;
    }
    if (line[i] === ":" && (i + 1 === line.length || line[i + 1] === " ")) return i;
  }
  return -1;
}

/**
 * Parse rustc's dep-info: one rule per output, phony rules per input,
 * `# env-dep:` comments.
 *
 * @example
 * ```ts
 * import { parseRustDepInfo } from "./rustc.ts";
 * const d = parseRustDepInfo("out/liba.rlib: src/lib.rs src/m.rs\n\nsrc/lib.rs:\n# env-dep:X=1\n");
 * d.targets; // ["out/liba.rlib"]
 * d.deps; // ["src/lib.rs", "src/m.rs"]
 * d.envDeps; // ["X"]
 * ```
 */
export function parseRustDepInfo(text: string): RustDepInfo {
  const targets: string[] = [];
  const deps: string[] = [];
  const seen = new Set<string>();
  const env = new Set<string>();
  for (const raw of text.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith("# env-dep:")) {
      const rest = line.slice(10);
      const eq = rest.indexOf("=");
      const name = eq < 0 ? rest : rest.slice(0, eq);
      if (name !== "") env.add(name);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    const c = ruleColon(line);
    if (c < 0) continue;
    const rhs = words(line.slice(c + 1));
    if (rhs.length === 0) continue; // a phony rule for one input
    for (const t of words(line.slice(0, c))) if (!targets.includes(t)) targets.push(t);
    for (const d of rhs) {
      if (!seen.has(d)) {
        seen.add(d);
        deps.push(d);
      }
    }
  }
  return { targets, deps, envDeps: [...env].sort() };
}

/** The value rustc's `env!`/`option_env!` sees: null when unset (distinct from ""). */
export function envDepValues(
  names: readonly string[],
  env: Record<string, string>,
): [string, string | null][] {
  return names.map((n) => [n, Object.hasOwn(env, n) ? env[n] : null]);
}

/** One file rustc wrote. */
export interface RustOutputFile {
  path: string;
  executable: boolean;
}

/**
 * The outputs a run wrote: the dep-info's targets (absolute), the user's
 * dep-info, and for a `.rmeta` target named without `lib` the `lib…` file
 * rustc 1.63 writes. A file counts only when it is a regular file written
 * since `sinceMs`. Returns the files and the targets not found.
 */
export function rustOutputs(
  info: RustDepInfo,
  plan: RustPlan,
  cwd: string,
  privateDepInfo: string,
  sinceMs: number,
): { files: RustOutputFile[]; missing: string[] } {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const want = info.targets.map(at).filter((t) => t !== privateDepInfo);
  if (plan.userDepInfo !== null && !want.includes(plan.userDepInfo)) want.push(plan.userDepInfo);
  const files: RustOutputFile[] = [];
  const missing: string[] = [];
  const fresh = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    // File times come from the kernel's coarse clock (a jiffy behind `Date.now()`).
    return st !== undefined && st.isFile() && st.mtimeMs >= sinceMs - FRESH_SLACK_MS
      ? st
      : undefined;
  };
  for (const t of want) {
    let path = t;
    let st = fresh(t);
    if (st === undefined && t.endsWith(".rmeta") && !basename(t).startsWith("lib")) {
      path = join(dirname(t), `lib${basename(t)}`);
      st = fresh(path);
    }
    if (st === undefined) missing.push(t);
    else if (!files.some((f) => f.path === path)) {
      files.push({ path, executable: (st.mode & 0o111) !== 0 });
    }
  }
  return { files, missing };
}

/** How far a fresh file's mtime may lag the clock read before the run. */
export const FRESH_SLACK_MS = 20;

/** File names a `-l` library may have in a search directory. */
function libFileNames(kind: string, name: string): string[] {
  if (kind === "static") return [`lib${name}.a`, `${name}.lib`];
  if (kind === "framework") return [name];
  return [`lib${name}.so`, `lib${name}.a`, `lib${name}.dylib`, `${name}.lib`, `${name}.dll`];
}

/**
 * Every file a `-l` could resolve to in the `-L` directories (native and
 * all kinds, in order): whichever the linker picks is among them, so their
 * (path, content hash) pairs key the compile (a changed or new library
 * misses). Libraries rustc finds elsewhere (the system's) are not hashed.
 */
export function nativeLibraries(plan: RustPlan): string[] {
  const out: string[] = [];
  if (plan.nativeLibs.length === 0) return out;
  for (const { kind, dir } of plan.searchDirs) {
    if (kind === "dependency" || kind === "crate") continue;
    for (const lib of plan.nativeLibs) {
      for (const n of libFileNames(lib.kind, lib.name)) {
        const p = join(dir, n);
        if (statSync(p, { throwIfNoEntry: false })?.isFile() && !out.includes(p)) out.push(p);
      }
    }
  }
  return out;
}

/** `name` on the `PATH` of `env` (or as a path), or null. */
export function findOnPath(name: string, env: Record<string, string>, cwd: string): string | null {
  if (name.includes("/")) {
    const p = isAbsolute(name) ? name : resolve(cwd, name);
    return statSync(p, { throwIfNoEntry: false })?.isFile() ? p : null;
  }
  for (const d of (env.PATH ?? "/usr/bin:/bin").split(":")) {
    if (d === "") continue;
    const p = join(isAbsolute(d) ? d : resolve(cwd, d), name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o111) !== 0) return p;
  }
  return null;
}

/** (name, size, mtime) of the files in `dir` whose name passes `keep`, sorted. */
function listing(dir: string, keep: (n: string) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter(keep).sort();
  } catch {
    return [];
  }
  return names.map((n) => {
    const st = statSync(join(dir, n), { throwIfNoEntry: false });
    return `${n}:${st?.size ?? "?"}:${st?.mtimeMs ?? "?"}`;
  });
}

/**
 * Toolchain identity: `rustc -vV` (must say `binary: rustc`), the binary's
 * content hash, and the (name, size, mtime) of `librustc_driver-*` and of
 * every standard library of every target in the sysroot, memoised by the
 * binary's path, size and mtime. A rustup proxy is first resolved to its
 * toolchain's rustc (`--print sysroot` with the request's env and cwd,
 * memoised by `RUSTUP_TOOLCHAIN` when cargo set it).
 */
export class RustcIdentities {
  #run: ProcessRunner;
  #hashes: CompilerIdentityCache;
  #memo = new Map<string, { size: number; mtimeMs: number; id: Promise<string | null> }>();
  #proxies = new Map<string, Promise<string | null>>();

  /** Identities probed with `run`, binaries hashed through `hashes`. */
  constructor(run: ProcessRunner, hashes: CompilerIdentityCache) {
    this.#run = run;
    this.#hashes = hashes;
  }

  async #sysroot(rustc: string, env: Record<string, string>, cwd: string): Promise<string | null> {
    const r = await this.#run(rustc, ["--print", "sysroot"], {
      cwd,
      env,
      stdin: new Uint8Array(0),
    }).catch(() => null);
    if (r === null || r.exitCode !== 0) return null;
    const s = new TextDecoder().decode(r.stdout).trim();
    return s === "" ? null : s;
  }

  /** The real rustc behind `compiler` for this request (a rustup proxy resolved). */
  async #resolve(compiler: string, env: Record<string, string>, cwd: string) {
    let real: string;
    try {
      real = realpathSync(compiler);
    } catch {
      return null;
    }
    if (!basename(real).startsWith("rustup")) return real;
    const toolchain = env.RUSTUP_TOOLCHAIN;
    const find = async () => {
      const s = await this.#sysroot(compiler, env, cwd);
      return s === null ? null : join(s, "bin", "rustc");
    };
    if (toolchain === undefined || toolchain === "") return await find();
    const k = `${compiler}\0${toolchain}\0${env.RUSTUP_HOME ?? ""}`;
    let p = this.#proxies.get(k);
    if (p === undefined) {
      p = find();
      this.#proxies.set(k, p);
    }
    return await p;
  }

  /** The identity hash of the rustc a request runs, or null when it is not rustc. */
  async identity(compiler: string, env: Record<string, string>, cwd: string) {
    const rustc = await this.#resolve(compiler, env, cwd);
    if (rustc === null) return null;
    const st = statSync(rustc, { throwIfNoEntry: false });
    if (!st?.isFile()) return null;
    const m = this.#memo.get(rustc);
    if (m !== undefined && m.size === st.size && m.mtimeMs === st.mtimeMs) return await m.id;
    const id = this.#compute(rustc, env);
    this.#memo.set(rustc, { size: st.size, mtimeMs: st.mtimeMs, id });
    const r = await id;
    if (r === null) this.#memo.delete(rustc);
    return r;
  }

  async #compute(rustc: string, env: Record<string, string>): Promise<string | null> {
    const probeEnv: Record<string, string> = { PATH: env.PATH ?? "/usr/bin:/bin" };
    if (env.LD_LIBRARY_PATH !== undefined) probeEnv.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH;
    const [vv, sysroot, bin] = await Promise.all([
      this.#run(rustc, ["-vV"], { cwd: "/", env: probeEnv, stdin: new Uint8Array(0) })
        .catch(() => null),
      this.#sysroot(rustc, probeEnv, "/"),
      this.#hashes.identity(rustc).catch(() => null),
    ]);
    if (vv === null || vv.exitCode !== 0 || sysroot === null || bin === null) return null;
    const text = new TextDecoder().decode(vv.stdout);
    if (!/^binary: rustc$/m.test(text)) return null;
    const host = /^host: (\S+)$/m.exec(text)?.[1] ?? "";
    // Debian's multiarch directory: the triple without its vendor.
    const multiarch = host.replace(/^([^-]+)-[^-]+-/, "$1-");
    const driver = (n: string) => n.startsWith("librustc_driver");
    const parts = [text, bin, sysroot];
    for (const d of [join(sysroot, "lib"), join(sysroot, "lib", multiarch)]) {
      parts.push(...listing(d, driver));
    }
    const rustlib = join(sysroot, "lib", "rustlib");
    let targets: string[] = [];
    try {
      targets = readdirSync(rustlib).sort();
    } catch {
      // no standard library: rustc fails itself
    }
    for (const t of targets) parts.push(t, ...listing(join(rustlib, t, "lib"), () => true));
    return sha256Hex(parts.join("\n"));
  }
}
