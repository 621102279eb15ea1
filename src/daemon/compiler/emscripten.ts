/**
 * What an Emscripten `emcc`/`em++` invocation depends on beyond its
 * arguments and the files it names, for the compile and link keys.
 *
 * `emcc` is a Python driver around clang, wasm-ld, binaryen and node. The
 * wrapper's own hash says nothing about those, so the key adds
 * ({@link emscriptenIdentity}):
 *
 * - the Emscripten root (`dirname(realpath(emcc))`, where `emcc.py` is), its
 *   `emscripten-version.txt`, `emscripten-revision.txt` and the content of
 *   `emcc.py`;
 * - the configuration file emcc 3.1.6 uses (`tools/config.py`: `EM_CONFIG`,
 *   else `<root>/.emscripten`, else `<root>/../../.emscripten` as emsdk
 *   embeds it, else `~/.emscripten`): its path and content, and the values
 *   emcc takes from it (`LLVM_ROOT`, `BINARYEN_ROOT`, `NODE_JS`, `CACHE`,
 *   `FROZEN_CACHE`, the `*_ADD_VERSION` suffixes...) after the `EM_<KEY>`
 *   overrides. A file of plain `KEY = 'literal'` lines is read here; any
 *   other (emsdk's computes paths) is evaluated by Python as emcc does,
 *   memoised by its content, the environment and the cwd;
 * - every `EM_*`, `EMCC_*`, `EMMAKEN_*`, `EMSDK*` variable (`EMCC_CFLAGS` is
 *   appended to the command line by emcc), and `LLVM_ADD_VERSION`/
 *   `CLANG_ADD_VERSION`;
 * - the content hash of the tools it runs: clang for a compile; wasm-ld,
 *   llvm-nm, llvm-objcopy, binaryen's wasm-opt / wasm-emscripten-finalize
 *   and node for a link;
 * - the sysroot cache's identity: its path, whether it is frozen, the
 *   `sysroot_install.stamp`, and for a link the (name, size, mtime) of every
 *   library under `<cache>/sysroot/lib` (emcc links them implicitly). The
 *   sysroot *headers* a compile reads are not keyed here: they are in the
 *   compile's depfile and tracked like any header (a file-hash memo makes
 *   them one `stat` each on a hit), which is exact where a cache-wide stamp
 *   would not be.
 *
 * Passed through (never cached): `--em-config`/`--cache`/`--compiler-wrapper`
 * and `COMPILER_WRAPPER` (other tools or caches), `EMCC_DEBUG`,
 * `EMCC_DEBUG_SAVE`, `EMCC_STDERR_FILE`, `EMPROFILE`, `EMCC_SAVE_OPT_TEMP`
 * (files written outside the outputs), and an `EMCC_CFLAGS` whose tokens
 * would change what the cache sees (outputs, inputs, debug info, dep files).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import { sha256Hex } from "../hash.ts";

/** True when `tool` is `emcc` or `em++` (also `emcc.py`, `em++.bat`, `.exe`). */
export function isEmscriptenTool(tool: string): boolean {
  const b = basename(tool.replace(/\\/g, "/")).toLowerCase().replace(/\.(py|bat|exe|cmd)$/, "");
  return b === "emcc" || b === "em++";
}

/** Config keys emcc 3.1.6 takes from the file (tools/config.py CONFIG_KEYS). */
const CONFIG_KEYS = [
  "NODE_JS",
  "BINARYEN_ROOT",
  "SPIDERMONKEY_ENGINE",
  "V8_ENGINE",
  "LLVM_ROOT",
  "LLVM_ADD_VERSION",
  "CLANG_ADD_VERSION",
  "CLOSURE_COMPILER",
  "JAVA",
  "JS_ENGINE",
  "JS_ENGINES",
  "WASMER",
  "WASMTIME",
  "WASM_ENGINES",
  "FROZEN_CACHE",
  "CACHE",
  "PORTS",
  "COMPILER_WRAPPER",
];

/** Environment variables that make emcc write files outside its outputs. */
const PASS_ENV = [
  "EMCC_DEBUG",
  "EMCC_DEBUG_SAVE",
  "EMCC_STDERR_FILE",
  "EMPROFILE",
  "EMCC_SAVE_OPT_TEMP",
];

/** True for an environment variable emcc (or its config) may read. */
function isEmEnv(name: string): boolean {
  return /^(EM_|EMCC_|EMMAKEN_|EMSDK|EMPROFILE$|EMSCRIPTEN)/.test(name) ||
    name === "LLVM_ADD_VERSION" || name === "CLANG_ADD_VERSION";
}

/** The Emscripten identity of one invocation. */
export interface EmscriptenIdentity {
  /** Key fields, in order. */
  fields: string[];
  /** Absolute paths of the tools a compile runs (content-hashed into the key). */
  compileTools: string[];
  /** Absolute paths of the tools a link runs. */
  linkTools: string[];
  /** The sysroot cache directory. */
  cacheDir: string;
  /** Tokens of `EMCC_CFLAGS` (appended to the command line by emcc). */
  cflags: string[];
}

type ConfigValue = string | number | boolean | null | ConfigValue[];

const rootMemo = new Map<string, string | null>();

/** The Emscripten root of `tool` (the directory of `emcc.py`), or null. */
export function emscriptenRoot(tool: string): string | null {
  let r = rootMemo.get(tool);
  if (r !== undefined) return r;
  r = null;
  try {
    const real = realpathSync(tool);
    for (const d of [dirname(real), dirname(tool)]) {
      if (statSync(join(d, "emcc.py"), { throwIfNoEntry: false })?.isFile()) {
        r = d;
        break;
      }
    }
    if (r === null) {
      // Debian's /usr/bin/emcc -> wrapper: `exec python3 "/usr/share/emscripten/$0.py"`.
      const text = readFileSync(real, "latin1").slice(0, 4096);
      const m = /"(\/[^"$]+)\/\$BASENAME\.py"/.exec(text);
      if (m && statSync(join(m[1], "emcc.py"), { throwIfNoEntry: false })?.isFile()) r = m[1];
    }
  } catch {
    r = null;
  }
  rootMemo.set(tool, r);
  return r;
}

const fileMemo = new Map<string, { sig: string; hash: string }>();

/** SHA-256 of a file, memoised by its stat; null when unreadable. */
function fileHash(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    const sig = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const m = fileMemo.get(path);
    if (m !== undefined && m.sig === sig) return m.hash;
    const hash = sha256Hex(readFileSync(path));
    fileMemo.set(path, { sig, hash });
    return hash;
  } catch {
    return null;
  }
}

function statSig(path: string): string {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? "absent" : `${st.size}:${st.mtimeMs}:${st.isFile() ? "f" : "d"}`;
}

/** Which config file emcc uses (tools/config.py). */
export function configPath(root: string, env: Record<string, string>): string {
  const home = env.HOME ?? homedir();
  const expand = (p: string): string =>
    p === "~" ? home : p.startsWith("~/") ? join(home, p.slice(2)) : p;
  if (env.EM_CONFIG !== undefined) return expand(env.EM_CONFIG);
  const embedded = join(root, ".emscripten");
  if (statSync(embedded, { throwIfNoEntry: false })) return embedded;
  const emsdk = join(dirname(dirname(root)), ".emscripten");
  if (statSync(emsdk, { throwIfNoEntry: false })) return emsdk;
  return join(home, ".emscripten");
}

const LITERAL =
  /^([A-Za-z_]\w*)\s*=\s*('[^'\\]*'|"[^"\\]*"|-?\d+|True|False|None|\[(?:\s*(?:'[^'\\]*'|"[^"\\]*")\s*,?)*\s*\])\s*(?:#.*)?$/;

/** Parse a config of plain literal assignments; null when it is anything else. */
function parseLiteralConfig(text: string): Record<string, ConfigValue> | null {
  const out: Record<string, ConfigValue> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LITERAL.exec(line);
    if (m === null) return null;
    out[m[1]] = literal(m[2]);
  }
  return out;
}

function literal(v: string): ConfigValue {
  if (v.startsWith("'") || v.startsWith('"')) return v.slice(1, -1);
  if (v === "True") return true;
  if (v === "False") return false;
  if (v === "None") return null;
  if (v.startsWith("[")) return [...v.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2]);
  return Number(v);
}

const PY_EVAL = [
  "import json, sys",
  "d = {}",
  "exec(open(sys.argv[1]).read(), d)",
  "keys = sys.argv[2].split(',')",
  "print(json.dumps({k: d[k] for k in keys if k in d and " +
  "isinstance(d[k], (str, int, bool, list, type(None)))}))",
].join("\n");

const pyMemo = new Map<string, Record<string, ConfigValue> | string>();

/** Evaluate a config file with Python as emcc does (memoised); a string is why it failed. */
function evalConfig(
  path: string,
  sha: string,
  env: Record<string, string>,
  cwd: string,
): Record<string, ConfigValue> | string {
  const envPart = Object.keys(env).sort().map((k) => `${k}=${env[k]}`).join("\0");
  const key = [path, sha, cwd, envPart].join("\0\0");
  let r = pyMemo.get(key);
  if (r !== undefined) return r;
  const py = env.EMSDK_PYTHON || "python3";
  const p = spawnSync(py, ["-c", PY_EVAL, path, CONFIG_KEYS.join(",")], {
    cwd,
    env,
    timeout: 10_000,
    encoding: "utf8",
  });
  if (p.status !== 0) r = `config ${path} could not be evaluated`;
  else {
    try {
      r = JSON.parse(p.stdout) as Record<string, ConfigValue>;
    } catch {
      r = `config ${path} could not be evaluated`;
    }
  }
  if (pyMemo.size > 64) pyMemo.delete(pyMemo.keys().next().value!);
  pyMemo.set(key, r);
  return r;
}

/** `PATH` lookup of a bare program name. */
function which(name: string, env: Record<string, string>, cwd: string): string | null {
  if (name.includes("/")) return resolve(cwd, name);
  for (const d of (env.PATH ?? "").split(delimiter)) {
    if (d === "") continue;
    const p = join(d, name);
    if (statSync(p, { throwIfNoEntry: false })?.isFile()) return p;
  }
  return null;
}

/** Shell-like split of `EMCC_CFLAGS` (emcc uses `shlex.split`); null when quoted or escaped. */
export function splitCflags(v: string): string[] | null {
  if (/['"\\]/.test(v)) return null;
  return v.split(/\s+/).filter((t) => t !== "");
}

/** Why an `EMCC_CFLAGS` token would make the cache wrong, or null. */
function cflagRisk(t: string, link: boolean): string | null {
  if (!t.startsWith("-") || t === "-") return "names an input";
  if (t.startsWith("@")) return "is a response file";
  if (/^-(o|M|E$|S$|c$|x|g|Wp,|save-temps|B|include|imacros)/.test(t)) return "changes outputs";
  if (
    /^-(f|g)record|prefix-map|^-working-directory|^--(em-config|cache|compiler-wrapper)/.test(t)
  ) {
    return "changes what the cache sees";
  }
  if (link && (t.startsWith("--") || /^-(l|L|Wl,|Xlinker|s.*=@)/.test(t))) {
    return "names link inputs";
  }
  return null;
}

const libSigMemo = new Map<string, { at: number; sig: string }>();

/** (name, size, mtime) of every file under `dir`, hashed: the implicit link libraries. */
function treeSignature(dir: string): string {
  const m = libSigMemo.get(dir);
  // Within one second, many links of one build share one walk.
  if (m !== undefined && Date.now() - m.at < 1000) return m.sig;
  const rows: string[] = [];
  const walk = (d: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      rows.push(`${rel}:unreadable`);
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(p, `${rel}${n}/`);
      else rows.push(`${rel}${n}:${st.size}:${st.mtimeMs}`);
    }
  };
  walk(dir, "");
  const sig = sha256Hex(rows.join("\n"));
  libSigMemo.set(dir, { at: Date.now(), sig });
  return sig;
}

/**
 * The Emscripten identity of `emcc`/`em++` at `tool` for one request, or the
 * reason it must pass through. `link` adds what a link reads (the tools it
 * runs and the sysroot libraries).
 */
export function emscriptenIdentity(
  tool: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  link: boolean,
): EmscriptenIdentity | { pass: string } {
  const root = emscriptenRoot(tool);
  if (root === null) return { pass: `emscripten root of ${tool} not found` };
  for (const a of args) {
    if (a === "--em-config" || a.startsWith("--cache") || a.startsWith("--compiler-wrapper")) {
      return { pass: `emcc ${a}` };
    }
    if (a === "--clear-cache" || a === "--clear-ports" || a === "--check" || a === "--show-ports") {
      return { pass: `emcc ${a}` };
    }
  }
  for (const n of PASS_ENV) {
    const v = env[n];
    if (v !== undefined && v !== "" && v !== "0") return { pass: `${n} writes side files` };
  }
  let cflags: string[] = [];
  if (env.EMCC_CFLAGS !== undefined && env.EMCC_CFLAGS.trim() !== "") {
    const t = splitCflags(env.EMCC_CFLAGS);
    if (t === null) return { pass: "EMCC_CFLAGS with quotes or escapes" };
    for (const x of t) {
      const why = cflagRisk(x, link);
      if (why !== null) return { pass: `EMCC_CFLAGS ${x} ${why}` };
    }
    cflags = t;
  }
  const fields: string[] = [`emscripten-root=${root}`];
  for (const f of ["emscripten-version.txt", "emscripten-revision.txt"]) {
    let v = "absent";
    try {
      v = readFileSync(join(root, f), "utf8").trim();
    } catch {
      // absent
    }
    fields.push(`${f}=${v}`);
  }
  const emccPy = fileHash(join(root, "emcc.py"));
  if (emccPy === null) return { pass: `${root}/emcc.py unreadable` };
  fields.push(`emcc.py=${emccPy}`);
  const cfgPath = configPath(root, env);
  let cfgText: string;
  try {
    cfgText = readFileSync(cfgPath, "utf8");
  } catch {
    return { pass: `emscripten config ${cfgPath} unreadable` };
  }
  const cfgSha = sha256Hex(cfgText);
  fields.push(`em-config=${cfgPath}`, `em-config-sha=${cfgSha}`);
  let cfg = parseLiteralConfig(cfgText);
  if (cfg === null) {
    const r = evalConfig(cfgPath, cfgSha, env, cwd);
    if (typeof r === "string") return { pass: r };
    cfg = r;
  }
  const eff: Record<string, ConfigValue> = {};
  for (const k of CONFIG_KEYS) {
    const e = env[`EM_${k}`];
    if (e !== undefined) eff[k] = e;
    else if (k in cfg) eff[k] = cfg[k];
  }
  if (eff.COMPILER_WRAPPER) return { pass: "emscripten COMPILER_WRAPPER" };
  if (typeof eff.LLVM_ROOT !== "string" || typeof eff.BINARYEN_ROOT !== "string") {
    return { pass: "emscripten config without LLVM_ROOT/BINARYEN_ROOT" };
  }
  fields.push(`em-config-values=${JSON.stringify(eff)}`);
  for (const n of Object.keys(env).filter(isEmEnv).sort()) fields.push(`env:${n}=${env[n]}`);
  const home = env.HOME ?? homedir();
  const expand = (p: string): string => p.startsWith("~/") ? join(home, p.slice(2)) : p;
  let cacheDir = typeof eff.CACHE === "string" && eff.CACHE !== "" ? expand(eff.CACHE) : "";
  if (cacheDir === "") {
    cacheDir = eff.FROZEN_CACHE ? join(root, "cache") : join(home, ".emscripten_cache");
  }
  cacheDir = resolve(cwd, cacheDir);
  fields.push(
    `em-cache=${cacheDir}`,
    `em-sysroot-stamp=${statSig(join(cacheDir, "sysroot_install.stamp"))}`,
  );
  const llvmRoot = expand(eff.LLVM_ROOT);
  const llvmSuffix = (k: string): string => {
    const v = eff[k] ?? env[k];
    return typeof v === "string" && v !== "" ? `-${v}` : typeof v === "number" ? `-${v}` : "";
  };
  const clangSuffix = llvmSuffix("CLANG_ADD_VERSION");
  const llvmToolSuffix = llvmSuffix("LLVM_ADD_VERSION");
  const compileTools = [join(llvmRoot, `clang${clangSuffix}`)];
  const binaryen = join(expand(eff.BINARYEN_ROOT), "bin");
  const linkTools = [
    ...compileTools,
    join(llvmRoot, `wasm-ld${llvmToolSuffix}`),
    join(llvmRoot, `llvm-nm${llvmToolSuffix}`),
    join(llvmRoot, `llvm-objcopy${llvmToolSuffix}`),
    join(binaryen, "wasm-opt"),
    join(binaryen, "wasm-emscripten-finalize"),
    join(binaryen, "wasm-metadce"),
  ];
  const node = Array.isArray(eff.NODE_JS) ? eff.NODE_JS[0] : eff.NODE_JS;
  if (typeof node === "string" && node !== "") {
    const n = which(expand(node), env, cwd);
    if (n !== null) linkTools.push(n);
    fields.push(`node=${node}`);
  }
  const existing = (ps: string[]): string[] =>
    ps.filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
  if (existing(compileTools).length === 0) {
    return { pass: `emscripten clang ${compileTools[0]} not found` };
  }
  if (link) {
    fields.push(`em-sysroot-libs=${treeSignature(join(cacheDir, "sysroot", "lib"))}`);
  }
  return {
    fields,
    compileTools: existing(compileTools),
    linkTools: existing(linkTools),
    cacheDir,
    cflags,
  };
}

/** The content hash of a tool (memoised by stat), or null. */
export function toolHash(path: string): string | null {
  return fileHash(path);
}

/**
 * emcc's `-s NAME=VALUE` (two arguments) as `-sNAME=VALUE` and `--opt value`
 * as `--opt=value` for the emcc options that take a value: emcc's own
 * parser (`is_dash_s_for_emcc`, `check_arg`) treats both spellings alike,
 * so the rewrite is exact, and the cache's argument parser sees no stray
 * positional. A lone `-s` (strip) stays.
 */
export function normalizeEmccArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const n = args[i + 1];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a === "-s" && n !== undefined && /^[A-Z][A-Z0-9_]*$/.test(n.split("=")[0])) {
      out.push(`-s${n}`);
      i++;
      continue;
    }
    if (EMCC_VALUE_OPTS.has(a) && n !== undefined) {
      out.push(`${a}=${n}`);
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** emcc options whose value is the next argument (or after `=`), emcc.py `check_arg`. */
export const EMCC_VALUE_OPTS: ReadonlySet<string> = new Set([
  "--js-opts",
  "--llvm-opts",
  "--llvm-lto",
  "--closure-args",
  "--closure",
  "--js-transform",
  "--pre-js",
  "--post-js",
  "--extern-pre-js",
  "--extern-post-js",
  "--compiler-wrapper",
  "--oformat",
  "--minify",
  "--embed-file",
  "--preload-file",
  "--exclude-file",
  "--shell-file",
  "--source-map-base",
  "--js-library",
  "--cache",
  "--memory-init-file",
  "--valid-abspath",
  "--default-obj-ext",
  "--output_eol",
]);

/** emcc options whose value is a file the link reads. */
export const EMCC_FILE_OPTS: ReadonlySet<string> = new Set([
  "--pre-js",
  "--post-js",
  "--extern-pre-js",
  "--extern-post-js",
  "--shell-file",
  "--js-library",
]);
