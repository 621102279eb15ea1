/**
 * The gcc/clang driver (gcc, g++, cc, c++, clang, clang++, and emcc/em++ as
 * clang): argument classification ({@link parseInvocation}), the flavor of
 * the binary (`--version`, memoised by content hash: `cc` may be clang), and
 * per unit the key arguments, the private run and where its header list
 * comes from.
 *
 * Private runs: the compiler writes the object and the user's depfile into
 * the daemon's private directory (`-o`/`-MF` replaced; `-MQ <user -o>` added
 * when the user named no target, which is the target the compiler would
 * have printed), so concurrent compiles never see each other's outputs and
 * nothing injected reaches the object. The complete header list comes from:
 * the user's own `-MD` depfile; else, with no user depfile, gcc's
 * `SUNPRO_DEPENDENCIES` (no argument added) or clang's `-MD -MF` (verified
 * not to change clang's object); else (`-MMD`, which omits system headers)
 * a separate `-M` preprocessing run beside the compile.
 *
 * When the object records its command line (clang `-frecord-command-line`,
 * `-grecord-command-line`, `-frecord-gcc-switches`), nothing may change:
 * the compile runs in place with the user's exact arguments and every
 * argument, outputs included, is key material.
 *
 * @module
 */
import { lstatSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve } from "node:path";
import type { CompilerIdentityCache } from "../hash.ts";
import { envNeedsCwd } from "../cache/key.ts";
import { CompilerFamily, detectFamily } from "./detect.ts";
import { expandResponseFiles } from "./response_file.ts";
import {
  compileArgsForUnit,
  depTargetText,
  discoveryArgs,
  keyArgsForUnit,
  parseInvocation,
  privateRunArgs,
  resolveArgPath,
  Role,
  searchPathArgs,
} from "./args.ts";
import { emscriptenIdentity, isEmscriptenTool, normalizeEmccArgs } from "./emscripten.ts";
import { namedPath, probeLanguage } from "./includes.ts";
import type {
  CompilerDriver,
  DriverPlan,
  DriverRequest,
  OutputTarget,
  ProcessRunner,
  RunPlan,
  UnitPlan,
} from "./driver.ts";

const flavorMemo = new Map<string, Promise<"gcc" | "clang">>();

/** Classify an output path: a writable target, `/dev/null` (discarded), or a reason to pass through. */
export function classifyOutput(path: string): OutputTarget | string {
  if (path === "/dev/null") return { path: null };
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) {
    const dir = statSync(dirname(path), { throwIfNoEntry: false });
    if (!dir || !dir.isDirectory()) return `output directory of ${path} does not exist`;
    return { path };
  }
  if (st.isSymbolicLink()) return `output ${path} is a symbolic link`;
  if (!st.isFile()) return `output ${path} is not a regular file`;
  return { path };
}

/** `p`, or a rejection with the abort reason as soon as `signal` aborts. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The base directory (absolute, containing `cwd`), or null. */
function baseDirFor(value: string | undefined, cwd: string): string | null {
  if (value === undefined || value === "" || !isAbsolute(value)) return null;
  const b = resolve(value);
  if (b === "/") return null;
  return cwd === b || cwd.startsWith(b + "/") ? b : null;
}

function under(p: string, base: string): boolean {
  return p === base || p.startsWith(base + "/");
}

/** Rewrite an absolute path under `base` (bare or after a path option) relative to `cwd`. */
function relocateArg(a: string, base: string, cwd: string): string {
  if (isAbsolute(a)) return under(resolve(a), base) ? relative(cwd, a) || "." : a;
  for (const opt of RELOCATED_OPTIONS) {
    if (a.startsWith(opt) && a.length > opt.length) {
      const v = a.slice(opt.length);
      if (isAbsolute(v) && under(resolve(v), base)) return opt + (relative(cwd, v) || ".");
      return a;
    }
  }
  return a;
}

/** Key form of a prefix map: an OLD under `base` is named relative to `cwd`. */
function relocateMapArg(a: string, base: string, cwd: string): string {
  const eq = a.indexOf("=");
  const v = a.slice(eq + 1);
  const last = v.lastIndexOf("=");
  if (last <= 0) return a;
  const old = v.slice(0, last);
  if (!isAbsolute(old) || !under(resolve(old), base)) return a;
  return `${a.slice(0, eq + 1)}\0rel:${relative(cwd, old) || "."}=${v.slice(last + 1)}`;
}

const RELOCATED_OPTIONS = [
  "-I",
  "-isystem",
  "-iquote",
  "-idirafter",
  "-include",
  "-imacros",
  "--sysroot=",
  "-isysroot",
  "-fsanitize-ignorelist=",
  "-fsanitize-blacklist=",
  "-fprofile-use=",
  "-fprofile-instr-use=",
  "-fprofile-sample-use=",
];

/** gcc's `auto_enable_urls()` (diagnostic-color.cc) for a terminal client. */
function wouldLinkUrls(req: DriverRequest): boolean {
  const colorterm = req.env.COLORTERM;
  if (colorterm === "xfce4-terminal" || colorterm === "gnome-terminal") return false;
  if (req.env.GCC_URLS !== undefined || req.env.TERM_URLS !== undefined) return true;
  const term = req.env.TERM;
  if (colorterm === undefined && (term === "xterm" || term === "linux")) return false;
  return true;
}

/** Would the plain compiler colour its diagnostics for this client? */
function wouldColor(req: DriverRequest, flavor: "gcc" | "clang"): boolean {
  if (!req.stderrTty) return false;
  const term = req.env.TERM;
  if (term === undefined || term === "" || term === "dumb") return false;
  if (flavor === "gcc") return req.env.GCC_COLORS !== "";
  // LLVM's terminalHasColors(): the terminal types it knows to colour.
  return term === "ansi" || term === "cygwin" || term === "linux" ||
    /^(screen|xterm|vt100|rxvt|tmux)/.test(term) ||
    term.endsWith("color");
}

/** The gcc/clang {@link CompilerDriver}. */
export class GccDriver implements CompilerDriver {
  readonly family = "gcc-clang";
  #identities: CompilerIdentityCache;
  #run: ProcessRunner;

  /** A driver hashing compilers with `identities`, probing with `run`. */
  constructor(identities: CompilerIdentityCache, run: ProcessRunner) {
    this.#identities = identities;
    this.#run = run;
  }

  /** gcc- and clang-named compilers (see `detectFamily`). */
  handles(compiler: string): boolean {
    const f = detectFamily(compiler);
    return f === CompilerFamily.Gcc || f === CompilerFamily.Clang;
  }

  /** `gcc` or `clang`, from the binary's `--version` (memoised by its hash; 5 s at most). */
  flavor(compiler: string, hash: string): Promise<"gcc" | "clang"> {
    let p = flavorMemo.get(hash);
    if (p === undefined) {
      const byName = detectFamily(compiler) === CompilerFamily.Clang ? "clang" : "gcc";
      p = this.#run(compiler, ["--version"], {
        cwd: "/",
        env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
        stdin: new Uint8Array(),
        signal: AbortSignal.timeout(5_000),
      }).then(
        (r) => {
          const text = new TextDecoder().decode(r.stdout).toLowerCase();
          if (text.includes("clang") || text.includes("emscripten")) return "clang";
          if (text.includes("free software foundation") || text.includes("gcc")) return "gcc";
          return byName;
        },
        () => byName,
      );
      flavorMemo.set(hash, p);
    }
    return p;
  }

  /** See {@link CompilerDriver.plan}. */
  async plan(req: DriverRequest): Promise<DriverPlan> {
    let { args } = expandResponseFiles(req.args, req.cwd);
    // emcc/em++: the Emscripten version, config, EM_* environment and the
    // clang it runs are key material (see ./emscripten.ts).
    const emKey: string[] = [];
    if (isEmscriptenTool(req.compiler)) {
      const em = emscriptenIdentity(req.compiler, args, req.env, req.cwd, false);
      if ("pass" in em) return { kind: "passthrough", reason: em.pass };
      args = normalizeEmccArgs(args);
      emKey.push(...em.fields);
      for (const t of em.compileTools) {
        emKey.push(`em-tool:${t}=${await this.#identities.identity(t)}`);
      }
    }
    let inv = parseInvocation(args);
    if (inv.kind === "non_cacheable") return { kind: "passthrough", reason: inv.reason };
    const basedir = baseDirFor(req.env.ZCCACHE_BASEDIR, req.cwd);
    if (basedir !== null) {
      // As ccache's base_dir: input paths under the base directory are made
      // relative to the cwd, for the compile itself and so for its key.
      const roles = inv.roles;
      args = args.map((a, i) =>
        roles[i] === Role.Other || roles[i] === Role.Source ? relocateArg(a, basedir, req.cwd) : a
      );
      inv = parseInvocation(args);
      if (inv.kind === "non_cacheable") return { kind: "passthrough", reason: inv.reason };
    }
    if (req.env.DEPENDENCIES_OUTPUT !== undefined || req.env.SUNPRO_DEPENDENCIES !== undefined) {
      return {
        kind: "passthrough",
        reason: "DEPENDENCIES_OUTPUT/SUNPRO_DEPENDENCIES side output",
      };
    }
    const compilerHash = await this.#identities.identity(req.compiler);
    const flavor = await raceAbort(this.flavor(req.compiler, compilerHash), req.signal);
    if (inv.deps?.via === "wp" && flavor === "clang") {
      return { kind: "passthrough", reason: "clang -Wp,-MD depfile" };
    }
    // gcc also links option names (OSC 8) on some terminals; forcing that is
    // recorded in -g debug info, so it is only forced where nothing records it.
    const urls = flavor === "gcc" && wouldLinkUrls(req) &&
      !args.some((a) => a.startsWith("-fdiagnostics-urls") || a === "-frecord-gcc-switches") &&
      !inv.debug;
    const colored = wouldColor(req, flavor) && inv.colorChoice === null &&
      !inv.recordsCommandLine;
    const optionInputs: string[] = [];
    for (const f of inv.inputFiles) {
      const abs = resolveArgPath(req.cwd, f);
      const st = statSync(abs, { throwIfNoEntry: false });
      if (!st || !st.isFile()) {
        return { kind: "passthrough", reason: `option input ${f} is not a file` };
      }
      optionInputs.push(abs);
    }
    // Inputs are stored as the compiler names them (relative to the cwd, or
    // absolute) and verified where they are for each request, so the cwd is
    // key material only where the object records it: debug info's compile
    // directory (unless a prefix map rewrites it), a recorded command line,
    // tools found relative to it (-B), or relative include paths from the
    // environment.
    let cwdRelevant = inv.recordsCommandLine || envNeedsCwd(req.env) ||
      args.some((a, i) =>
        a === "-working-directory" || a.startsWith("-working-directory=") ||
        (a === "-B" && !isAbsolute(args[i + 1] ?? "/")) ||
        (a.startsWith("-B") && a.length > 2 && !isAbsolute(a.slice(2)))
      );
    const extraKey: string[] = [...emKey];
    if (inv.debug && !cwdRelevant) {
      const map = inv.prefixMaps.findLast(([old]) => {
        const o = resolve(req.cwd, old);
        return req.cwd === o || req.cwd.startsWith(o + "/");
      });
      if (map === undefined) cwdRelevant = true;
      else {
        const o = resolve(req.cwd, map[0]);
        extraKey.push(`debug-cwd=${map[1]}${req.cwd.slice(o.length)}`);
      }
    }
    const single = inv.units.length === 1;
    const base = basename(req.compiler);
    const cxx = /\+\+|^c\+\+|g\+\+|clang\+\+/.test(base);
    const units: UnitPlan[] = [];
    for (const unit of inv.units) {
      const source = resolveArgPath(req.cwd, unit.source);
      const object = classifyOutput(resolveArgPath(req.cwd, unit.output));
      if (typeof object === "string") return { kind: "passthrough", reason: object };
      let depfile: OutputTarget | null = null;
      if (unit.userDepfile !== null) {
        const d = classifyOutput(resolveArgPath(req.cwd, unit.userDepfile));
        if (typeof d === "string") return { kind: "passthrough", reason: d };
        depfile = d;
      }
      if (inv.recordsCommandLine && (object.path === null || depfile?.path === null)) {
        return { kind: "passthrough", reason: "command line recorded with a /dev/null output" };
      }
      const ext = unit.source.slice(unit.source.lastIndexOf(".") + 1);
      const rawAssembly = inv.lang === "assembler" || (inv.lang === null && ext === "s");
      const deps = inv.deps;
      const unitArgs = single ? args : compileArgsForUnit(inv, unit);
      const run = (paths: { object: string; depfile: string; discovery: string }): RunPlan => {
        const env = { ...req.env };
        if (inv.recordsCommandLine) {
          const full = deps !== null && deps.style === "MD";
          return {
            args: unitArgs,
            env,
            headerList: rawAssembly ? "none" : full ? "depfile" : "discovery",
            discoveryArgs: rawAssembly || full ? null : discoveryArgs(inv, unit, paths.discovery),
            inPlace: true,
          };
        }
        const runArgs = privateRunArgs(inv, unit, {
          ...paths,
          injectDeps: flavor === "clang",
          onlyOutput: rawAssembly,
        });
        if (deps === null && flavor === "gcc" && !rawAssembly) {
          env.SUNPRO_DEPENDENCIES = paths.depfile;
        }
        if (colored) {
          runArgs.push(flavor === "gcc" ? "-fdiagnostics-color=always" : "-fcolor-diagnostics");
          if (urls) runArgs.push("-fdiagnostics-urls=always");
        }
        const needDiscovery = deps !== null && deps.style === "MMD" && !rawAssembly;
        return {
          args: runArgs,
          env,
          headerList: rawAssembly ? "none" : needDiscovery ? "discovery" : "depfile",
          discoveryArgs: needDiscovery ? discoveryArgs(inv, unit, paths.discovery) : null,
          inPlace: false,
        };
      };
      units.push({
        source,
        sourceName: namedPath(unit.source),
        userArgs: unitArgs,
        keyArgs: [
          ...extraKey,
          ...keyArgsForUnit(inv, unit).map((a) =>
            basedir === null ? a : a.startsWith("-fdebug-prefix-map=") ||
                a.startsWith("-ffile-prefix-map=") || a.startsWith("-fmacro-prefix-map=")
              ? relocateMapArg(a, basedir, req.cwd)
              : a
          ),
        ],

        cwdRelevant,
        object,
        depfile,
        depTargets: depTargetText(inv, unit),
        run,
        optionInputs,
        forcedIncludes: inv.forcedIncludes,
        searchArgs: searchPathArgs(inv),
        searchLang: rawAssembly ? null : probeLanguage(unit.source, inv.lang, cxx),
        rawAssembly,
      });
    }
    return {
      kind: "cacheable",
      family: detectFamily(req.compiler),
      flavor,
      compilerHash,
      colored: colored ? (urls ? "color+urls" : "color") : "",
      units,
    };
  }
}
