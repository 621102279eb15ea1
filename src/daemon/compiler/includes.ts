/**
 * What a depfile never says: how each `#include` was searched for.
 *
 * A depfile lists the headers a compile read, not the places the
 * preprocessor looked first and found nothing. A header created later in one
 * of those places (an earlier `-I` directory, next to the including file, a
 * newly created include directory), or one that a `__has_include` test would
 * now find, changes the result although every listed input is unchanged.
 * ccache's manual calls this the one thing direct mode cannot check; this
 * module checks it:
 *
 * 1. {@link probeSearchPath}: the compiler's own include search chain
 *    (`-E -v` on an empty input, memoised per flag set), plus the
 *    directories it ignored because they did not exist.
 * 2. {@link scanText}: every `#include`/`#include_next`/`__has_include` with
 *    a literal name, and the constructs that make a compile uncacheable or
 *    time-dependent (`__TIME__`, `__DATE__`, `__TIMESTAMP__`, `.incbin`,
 *    `#embed`), found in the source and every header.
 * 3. {@link computeProbes}: for each include, the candidates searched before
 *    the file found (and the `.gch` files gcc would prefer), grouped by the
 *    deepest directory that exists: "these names must not appear here".
 * 4. {@link verifyProbes} on a hit: one `stat` per group; a directory whose
 *    mtime changed is listed again (cached by mtime) and its names checked.
 *
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve } from "node:path";
import { emscriptenIdentity, isEmscriptenTool } from "./emscripten.ts";
import { runProcess } from "./run.ts";

/** One `#include`-like reference found in a file. */
export interface IncludeRef {
  name: string;
  /** `<name>` rather than `"name"`. */
  angle: boolean;
  /** `#include_next` / `__has_include_next`. */
  next: boolean;
}

/** What {@link scanText} found in one file. */
export interface ScanInfo {
  includes: IncludeRef[];
  hasIncludes: IncludeRef[];
  time: boolean;
  date: boolean;
  timestamp: boolean;
  /** `.incbin`, `#embed`, `__has_embed`, or an assembler `.include`: unlisted inputs. */
  embed: boolean;
}

const INCLUDE_RE = /^[ \t]*#[ \t]*(include_next|include|import)[ \t]*([<"])([^>"\n]*)[>"]/gm;
const HAS_INCLUDE_RE = /__has_include(_next)?[ \t]*\([ \t]*([<"])([^>"\n]*)[>"][ \t]*\)/g;
const EMBED_RE = /\.incbin\b|^[ \t]*#[ \t]*embed\b|__has_embed\b|^[ \t]*\.include\b/m;

const latin1 = new TextDecoder("latin1");

/** Scan a source or header for includes and the constructs the key must know about. */
export function scanText(bytes: Uint8Array): ScanInfo {
  const text = latin1.decode(bytes);
  const info: ScanInfo = {
    includes: [],
    hasIncludes: [],
    time: false,
    date: false,
    timestamp: false,
    embed: false,
  };
  if (text.includes("__")) {
    info.time = text.includes("__TIME__");
    info.date = text.includes("__DATE__");
    info.timestamp = text.includes("__TIMESTAMP__");
    if (text.includes("__has_include")) {
      for (const m of text.matchAll(HAS_INCLUDE_RE)) {
        info.hasIncludes.push({ name: m[3], angle: m[2] === "<", next: m[1] !== undefined });
      }
    }
  }
  if (text.includes("#")) {
    for (const m of text.matchAll(INCLUDE_RE)) {
      info.includes.push({ name: m[3], angle: m[2] === "<", next: m[1] === "include_next" });
    }
  }
  info.embed = (text.includes("incbin") || text.includes("embed") || text.includes(".include")) &&
    EMBED_RE.test(text);
  return info;
}

/** The include search chain of one compiler and flag set. */
export interface SearchPath {
  /** Directories searched for `#include "..."` after the includer's own (as named: relative to the cwd, or absolute). */
  quote: string[];
  /** Directories searched for `#include <...>` (as named). */
  bracket: string[];
}

/** A path as the compiler names it: absolute normalised, or relative normalised. */
export function namedPath(p: string): string {
  if (isAbsolute(p)) return resolve(p);
  const n = normalize(p).replace(/\/+$/, "");
  return n === "" ? "." : n;
}

const searchMemo = new Map<string, Promise<SearchPath | null>>();

/** Environment variables that change the search chain. */
const SEARCH_ENV = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH"];

/**
 * The compiler's include search chain for these arguments, from
 * `compiler args -x lang -E -v /dev/null` (memoised per compiler identity,
 * arguments, language, cwd and include-path environment). Directories the
 * compiler ignored because they do not exist are put first in both chains:
 * if one is created later, anything in it is a candidate.
 */
export function probeSearchPath(
  compiler: string,
  identity: string,
  args: readonly string[],
  lang: string,
  cwd: string,
  env: Record<string, string>,
): Promise<SearchPath | null> {
  let envPart = SEARCH_ENV.map((n) => `${n}=${env[n] ?? "\0"}`).join("\0");
  if (isEmscriptenTool(compiler)) {
    // emcc's search chain follows its config, sysroot cache and EMCC_CFLAGS.
    const em = emscriptenIdentity(compiler, args, env, cwd, false);
    envPart += "\0" + ("pass" in em ? `pass:${em.pass}` : em.fields.join("\0"));
  }
  const key = [compiler, identity, lang, cwd, envPart, ...args].join("\0\0");
  let p = searchMemo.get(key);
  if (p === undefined) {
    p = runSearchProbe(compiler, args, lang, cwd, env);
    searchMemo.set(key, p);
    if (searchMemo.size > 512) searchMemo.delete(searchMemo.keys().next().value!);
    p.then((r) => {
      if (r === null) searchMemo.delete(key);
    }, () => searchMemo.delete(key));
  }
  return p;
}

async function runSearchProbe(
  compiler: string,
  args: readonly string[],
  lang: string,
  cwd: string,
  env: Record<string, string>,
): Promise<SearchPath | null> {
  let r;
  try {
    r = await runProcess(compiler, [...args, "-x", lang, "-E", "-v", "/dev/null"], {
      cwd,
      env: { ...env, LC_ALL: "C" },
      stdin: new Uint8Array(),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return null;
  }
  return parseSearchPath(new TextDecoder().decode(r.stderr), cwd);
}

/** Parse the `-v` search list (gcc and clang print the same shape). */
export function parseSearchPath(text: string, cwd: string): SearchPath | null {
  const quote: string[] = [];
  const bracket: string[] = [];
  const missing: string[] = [];
  let state: "none" | "quote" | "bracket" | "done" = "none";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const ign = /^ignoring nonexistent directory "(.*)"$/.exec(line);
    if (ign) {
      missing.push(ign[1]);
      continue;
    }
    if (line.startsWith('#include "..." search starts here:')) {
      state = "quote";
      continue;
    }
    if (line.startsWith("#include <...> search starts here:")) {
      state = "bracket";
      continue;
    }
    if (line.startsWith("End of search list.")) {
      state = "done";
      continue;
    }
    if ((state === "quote" || state === "bracket") && line.startsWith(" ")) {
      const dir = line.trim().replace(/ \((framework directory|headermap)\)$/, "");
      (state === "quote" ? quote : bracket).push(namedPath(dir));
    }
  }
  if (state !== "done") return null;
  void cwd;
  const miss = missing.map(namedPath);
  return { quote: [...miss, ...quote], bracket: [...miss, ...bracket] };
}

/** "These names must (not) exist in this directory." */
export interface ProbeGroup {
  dir: string;
  absent: string[];
  present: string[];
}

interface Listing {
  mtimeNs: bigint;
  names: Set<string>;
}

/**
 * Directory listings, re-read only when the directory's mtime changes. A
 * listing taken within {@link RACY_MS} of the directory's last change is not
 * trusted later (file times tick coarsely: an entry created in the same tick
 * would not move the mtime).
 */
export class DirCache {
  #map = new Map<string, Listing>();
  #max: number;

  /** A cache of at most `max` listings. */
  constructor(max = 4096) {
    this.#max = max;
  }

  /** Names in `dir` (null when it is not a readable directory). */
  names(dir: string): Set<string> | null {
    const st = statSync(dir, { bigint: true, throwIfNoEntry: false });
    if (!st || !st.isDirectory()) {
      this.#map.delete(dir);
      return null;
    }
    const cached = this.#map.get(dir);
    if (cached && cached.mtimeNs === st.mtimeNs) return cached.names;
    let names: Set<string>;
    try {
      names = new Set(readdirSync(dir));
    } catch {
      return null;
    }
    const ageMs = Date.now() - Number(st.mtimeNs / 1_000_000n);
    if (ageMs > RACY_MS) {
      if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!);
      this.#map.set(dir, { mtimeNs: st.mtimeNs, names });
    } else {
      this.#map.delete(dir);
    }
    return names;
  }

  /** Forget everything. */
  clear(): void {
    this.#map.clear();
  }
}

const RACY_MS = 20;

/** Whether `path` exists as a regular file (through symlinks). */
function isFile(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  return st !== undefined && st.isFile();
}

/** Inputs to {@link computeProbes}. */
export interface ProbeInput {
  cwd: string;
  /** The source and every header the compile read, source first, as named (relative or absolute). */
  files: string[];
  /** Scan of each file in `files`. */
  scans: Map<string, ScanInfo>;
  search: SearchPath;
  /** `-include`/`-imacros` values as written. */
  forced: string[];
  /** gcc looks for `<header>.gch` before each header. */
  gch: boolean;
}

/** What {@link computeProbes} found. */
export interface ProbeResult {
  groups: ProbeGroup[];
  /** A precompiled header the compile would use (not cacheable), or null. */
  pch: string | null;
}

/**
 * For every include of every input, the candidate paths the preprocessor
 * tries before the one it finds, grouped by their deepest existing
 * directory. Over-approximates (a candidate that could not matter only costs
 * a miss if it appears), never under-approximates for literal includes.
 */
export function computeProbes(inp: ProbeInput, dirs: DirCache): ProbeResult {
  const absent = new Map<string, Set<string>>();
  const present = new Map<string, Set<string>>();
  let pch: string | null = null;
  const seenRef = new Set<string>();
  const abs = (n: string): string => (isAbsolute(n) ? n : resolve(inp.cwd, n));
  // A directory's name in the form its candidate was named (relative stays relative).
  const named = (absDir: string, like: string): string =>
    isAbsolute(like) ? absDir : relative(inp.cwd, absDir) || ".";

  // Listings for this computation (each directory stat-validated once).
  const memo = new Map<string, Set<string> | null>();
  const ls = (dir: string): Set<string> | null => {
    let n = memo.get(dir);
    if (n === undefined) {
      n = dirs.names(dir);
      memo.set(dir, n);
    }
    return n;
  };
  const markAbsent = (path: string): void => {
    // Walk down from the root through listings (never stat a missing path:
    // that is slow on some runtimes) to the deepest existing directory; the
    // first missing component is the name that must stay absent there.
    const a = abs(path);
    const parts = a.split("/").filter((x) => x !== "");
    let dir = "/";
    for (let i = 0; i < parts.length; i++) {
      const names = ls(dir);
      if (names === null) return; // unreadable: nothing to record
      if (!names.has(parts[i])) {
        const key = named(dir, path);
        let set = absent.get(key);
        if (!set) absent.set(key, set = new Set());
        set.add(parts[i]);
        return;
      }
      if (i === parts.length - 1) return; // exists (as something that is not a usable file)
      dir = dir === "/" ? `/${parts[i]}` : `${dir}/${parts[i]}`;
    }
  };
  const markPresent = (path: string): void => {
    const key = named(dirname(abs(path)), path);
    let set = present.get(key);
    if (!set) present.set(key, set = new Set());
    set.add(basename(path));
  };
  const exists = (path: string): boolean => {
    const a = abs(path);
    const d = dirname(a);
    // Only list a directory whose parent lists it (no stat of missing paths).
    const parent = dirname(d);
    if (d !== parent) {
      const up = ls(parent);
      if (up === null || !up.has(basename(d))) return false;
    }
    const names = ls(d);
    return names !== null && names.has(basename(a)) && isFile(a);
  };
  const search = (chain: readonly string[], name: string, mustExist: boolean): void => {
    for (const d of chain) {
      const p = join(d, name);
      if (inp.gch) {
        const g = `${p}.gch`;
        const ga = abs(g);
        const gd = dirname(ga);
        const up = ls(dirname(gd));
        const names = gd === "/" || (up !== null && up.has(basename(gd))) ? ls(gd) : null;
        if (names !== null && names.has(basename(ga))) {
          pch ??= ga;
        } else {
          markAbsent(g);
        }
      }
      if (exists(p)) {
        if (mustExist) markPresent(p);
        return;
      }
      markAbsent(p);
    }
  };
  const chainFor = (file: string, ref: IncludeRef): string[] | null => {
    const bracket = inp.search.bracket;
    if (ref.next) {
      const all = [...inp.search.quote, ...bracket];
      const fa = abs(file);
      const at = all.findIndex((d) => fa.startsWith(abs(d) + "/"));
      return at < 0 ? null : all.slice(at + 1);
    }
    if (ref.angle) return bracket;
    return [dirname(file), ...inp.search.quote, ...bracket];
  };

  for (const f of inp.forced) {
    if (isAbsolute(f)) continue;
    search([".", ...inp.search.quote, ...inp.search.bracket], f, false);
  }
  for (const file of inp.files) {
    const scan = inp.scans.get(file);
    if (!scan) continue;
    for (const [refs, mustExist] of [[scan.includes, false], [scan.hasIncludes, true]] as const) {
      for (const ref of refs) {
        if (ref.name === "" || isAbsolute(ref.name)) continue;
        const chain = chainFor(file, ref);
        if (chain === null) continue;
        // The same reference from files in the same directory searches the same chain.
        const memo = `${ref.angle && !ref.next ? "" : dirname(file)}\0${+ref.angle}${+ref
          .next}${+mustExist}\0${ref.name}`;
        if (seenRef.has(memo)) continue;
        seenRef.add(memo);
        search(chain, ref.name, mustExist);
      }
    }
  }
  const groups: ProbeGroup[] = [];
  const dirsAll = new Set([...absent.keys(), ...present.keys()]);
  for (const dir of [...dirsAll].sort()) {
    groups.push({
      dir,
      absent: [...(absent.get(dir) ?? [])].sort(),
      present: [...(present.get(dir) ?? [])].sort(),
    });
  }
  return { groups, pch };
}

/**
 * True when every group still holds: no absent name appeared, no present one
 * vanished. Relative group directories are resolved against `cwd`.
 */
export function verifyProbes(groups: readonly ProbeGroup[], dirs: DirCache, cwd: string): boolean {
  for (const g of groups) {
    const names = dirs.names(isAbsolute(g.dir) ? g.dir : resolve(cwd, g.dir));
    if (names === null) return false;
    for (const n of g.absent) if (names.has(n)) return false;
    for (const n of g.present) if (!names.has(n)) return false;
  }
  return true;
}

/** The `-x` language of a source for the search probe, or null when it is not preprocessed. */
export function probeLanguage(
  source: string,
  lang: string | null,
  cxxDriver: boolean,
): string | null {
  if (lang !== null) {
    if (lang === "assembler" || lang.endsWith("cpp-output") || lang === "none") return null;
    return lang;
  }
  const ext = source.slice(source.lastIndexOf(".") + 1);
  switch (ext) {
    case "c":
      return cxxDriver ? "c++" : "c";
    case "m":
      return "objective-c";
    case "mm":
    case "M":
      return "objective-c++";
    case "S":
    case "sx":
      return "assembler-with-cpp";
    case "s":
    case "i":
    case "ii":
    case "mi":
    case "mii":
      return null;
    default:
      return "c++";
  }
}
