/**
 * Lexical path helpers that reproduce Rust `std::path` behaviour for the
 * platform *given as a parameter* (not the one we run on), so endpoint
 * derivation can be tested for Linux, macOS and Windows on any OS.
 *
 * Reproduces: `std::path::Path::{components, is_absolute, join, parent}` and
 * zccache@3eae627:crates/zccache/src/core/path.rs `normalize` (drop `.`,
 * `..` pops a preceding normal component, otherwise is kept).
 *
 * Pure: no I/O, no runtime APIs.
 *
 * @module
 */

/** A platform name as `process.platform` ("linux", "darwin", "win32") or `Deno.build.os` ("windows"). */
export type Platform = string;

/** True for the Windows platform names of Node ("win32") and Deno ("windows"). */
export function isWindows(platform: Platform): boolean {
  return platform === "win32" || platform === "windows";
}

/** True for macOS ("darwin" in both Node and Deno). */
export function isMacos(platform: Platform): boolean {
  return platform === "darwin" || platform === "macos";
}

/** A parsed path: an optional Windows prefix, a root flag, and the remaining components. */
interface ParsedPath {
  /** Windows prefix text as written (`C:`, `\\?\C:`, `\\server\share`, ...), "" when none. */
  prefix: string;
  /** Kind of the prefix (decides verbatim separators and implicit roots). */
  prefixKind: "none" | "disk" | "verbatimDisk" | "verbatim" | "verbatimUnc" | "unc" | "device";
  /** The path has a root directory (physical `\`/`/`, or implicit for UNC/device/verbatim). */
  hasRoot: boolean;
  /** Components after prefix and root: "." and ".." are kept as text. */
  parts: string[];
}

function isSepWin(c: string, verbatim: boolean): boolean {
  return verbatim ? c === "\\" : c === "\\" || c === "/";
}

/** Parse a Windows path prefix (std::sys::path::windows::parse_prefix, simplified to the forms zccache meets). */
function parseWindowsPrefix(p: string): { prefix: string; kind: ParsedPath["prefixKind"] } {
  if (p.startsWith("\\\\?\\")) {
    const rest = p.slice(4);
    if (rest.slice(0, 4).toUpperCase() === "UNC\\") {
      // \\?\UNC\server\share
      const after = rest.slice(4);
      const i = after.indexOf("\\");
      const server = i < 0 ? after : after.slice(0, i);
      const shareRest = i < 0 ? "" : after.slice(i + 1);
      const j = shareRest.indexOf("\\");
      const share = j < 0 ? shareRest : shareRest.slice(0, j);
      const text = `\\\\?\\${rest.slice(0, 4)}${server}${i < 0 ? "" : "\\" + share}`;
      return { prefix: text, kind: "verbatimUnc" };
    }
    if (/^[A-Za-z]:/.test(rest) && (rest.length === 2 || rest[2] === "\\")) {
      return { prefix: p.slice(0, 6), kind: "verbatimDisk" };
    }
    const i = rest.indexOf("\\");
    return { prefix: i < 0 ? p : p.slice(0, 4 + i), kind: "verbatim" };
  }
  if (p.length >= 4 && isSepWin(p[0], false) && isSepWin(p[1], false)) {
    if (p[2] === "." && isSepWin(p[3], false)) {
      // \\.\device
      const rest = p.slice(4);
      const m = rest.search(/[\\/]/);
      return { prefix: m < 0 ? p : p.slice(0, 4 + m), kind: "device" };
    }
    if (p[2] !== "?" || !isSepWin(p[3], false)) {
      // \\server\share
      const rest = p.slice(2);
      const i = rest.search(/[\\/]/);
      if (i > 0) {
        const shareRest = rest.slice(i + 1);
        const j = shareRest.search(/[\\/]/);
        const len = 2 + i + 1 + (j < 0 ? shareRest.length : j);
        return { prefix: p.slice(0, len), kind: "unc" };
      }
    }
  }
  if (/^[A-Za-z]:/.test(p)) return { prefix: p.slice(0, 2), kind: "disk" };
  return { prefix: "", kind: "none" };
}

function parse(path: string, platform: Platform): ParsedPath {
  if (!isWindows(platform)) {
    const hasRoot = path.startsWith("/");
    return { prefix: "", prefixKind: "none", hasRoot, parts: path.split("/") };
  }
  const { prefix, kind } = parseWindowsPrefix(path);
  const rest = path.slice(prefix.length);
  const verbatim = kind === "verbatim" || kind === "verbatimDisk" || kind === "verbatimUnc";
  const physicalRoot = rest.length > 0 && isSepWin(rest[0], verbatim);
  // UNC, device and verbatim (non-disk) prefixes carry an implicit root.
  const implicitRoot = kind === "unc" || kind === "device" || kind === "verbatim" ||
    kind === "verbatimUnc";
  const parts = verbatim ? rest.split("\\") : rest.split(/[\\/]/);
  return { prefix, prefixKind: kind, hasRoot: physicalRoot || implicitRoot, parts };
}

/** `Path::components()` without the prefix/root: empty and (non-leading) "." parts removed. */
function normalComponents(parsed: ParsedPath): string[] {
  const out: string[] = [];
  parsed.parts.forEach((c) => {
    // Rust keeps a leading "." of a relative path as CurDir; zccache's
    // normalize drops CurDir anyway, so dropping every "." is equivalent.
    if (c === "" || c === ".") return;
    out.push(c);
  });
  return out;
}

function assemble(parsed: ParsedPath, comps: string[], platform: Platform): string {
  const sep = isWindows(platform) ? "\\" : "/";
  let head = parsed.prefix;
  if (parsed.hasRoot) head += sep;
  if (comps.length === 0) return head;
  // `C:` followed by a relative component: Rust adds no separator ("C:x").
  return head + comps.join(sep);
}

/**
 * zccache `core::path::normalize` for `platform`: lexical, no symlink
 * resolution; `.` removed; `..` pops a preceding normal component or is
 * kept; repeated and trailing separators removed; Windows output uses `\`.
 */
export function normalizeLexical(path: string, platform: Platform): string {
  const parsed = parse(path, platform);
  const out: string[] = [];
  for (const c of normalComponents(parsed)) {
    if (c === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else out.push(c);
    } else {
      out.push(c);
    }
  }
  return assemble(parsed, out, platform);
}

/** Rust `Path::is_absolute` for `platform`. */
export function isAbsolute(path: string, platform: Platform): boolean {
  if (!isWindows(platform)) return path.startsWith("/");
  const parsed = parse(path, platform);
  if (parsed.prefixKind === "none") return false;
  if (parsed.prefixKind === "disk") return parsed.hasRoot;
  return true;
}

/**
 * Rust `Path::join(base, leaf)` for `platform` (`PathBuf::push` rules: an
 * absolute or prefixed `leaf` replaces `base`; on Windows a rooted `leaf`
 * keeps only `base`'s prefix; a bare drive `C:` gets no separator).
 */
export function joinPath(base: string, leaf: string, platform: Platform): string {
  if (!isWindows(platform)) {
    if (leaf.startsWith("/")) return leaf;
    if (base === "" || base.endsWith("/")) return base + leaf;
    return `${base}/${leaf}`;
  }
  const leafParsed = parse(leaf, platform);
  if (leafParsed.prefix !== "" || isAbsolute(leaf, platform)) return leaf;
  const baseParsed = parse(base, platform);
  if (leafParsed.hasRoot) return baseParsed.prefix + leaf;
  const last = base.length > 0 ? base[base.length - 1] : "";
  const driveOnly = baseParsed.prefixKind === "disk" && baseParsed.prefix.length === base.length;
  const needSep = base.length > 0 && last !== "\\" && last !== "/" && !driveOnly;
  return needSep ? `${base}\\${leaf}` : base + leaf;
}

/**
 * The lexically normalized parent of `path` (`normalize(path.parent())`),
 * `null` for a root, a bare prefix or an empty path. For a path whose last
 * component is a normal name this equals Rust's `Path::parent` followed by
 * zccache's `normalize`, which is how zccache uses it.
 */
export function normalizedParent(path: string, platform: Platform): string | null {
  const parsed = parse(normalizeLexical(path, platform), platform);
  const comps = normalComponents(parsed);
  if (comps.length === 0) return null;
  return assemble(parsed, comps.slice(0, -1), platform);
}

/** Rust `Path::file_name`: the last normal component, `null` if it is `..` or absent. */
export function fileName(path: string, platform: Platform): string | null {
  const comps = normalComponents(parse(path, platform));
  const last = comps.length > 0 ? comps[comps.length - 1] : null;
  return last === null || last === ".." ? null : last;
}

/** The volume root (prefix + root) of a path, as zccache's `volume_root`; `null` if not anchored. */
export function volumeRoot(path: string, platform: Platform): string | null {
  const parsed = parse(path, platform);
  if (parsed.prefix === "" && !parsed.hasRoot) return null;
  const sep = isWindows(platform) ? "\\" : "/";
  return parsed.prefix + (parsed.hasRoot ? sep : "");
}
