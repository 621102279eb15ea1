/**
 * The one place that says what is in a cache key.
 *
 * - **Context key** (`zccache-ts-context-v2`): everything known before the
 *   compile runs: the driver's family and flavor, the invoked name, the
 *   compiler binary's content hash, the key arguments (output, depfile and
 *   target paths excluded unless the object records the command line), the
 *   cwd where it matters, whether diagnostics are coloured, and the
 *   allow-listed environment ({@link KEY_ENV_VARS}, present or absent).
 * - **Artifact key** (`zccache-ts-artifact-v2`): the context key plus the
 *   sorted (path, content hash) of every input the compile read.
 * - **Validity beyond inputs** (checked on every hit, see {@link TimeRule}):
 *   `__DATE__` binds an entry to the day it was made (in the client's time
 *   zone), `__TIMESTAMP__` to the mtime of each file using it, `__TIME__`
 *   is never stored (unless `SOURCE_DATE_EPOCH` pins all three); negative
 *   include entries (`compiler/includes.ts`) bind it to the candidates that
 *   did not exist.
 *
 * @module
 */
import { readlinkSync } from "node:fs";
import { KeyHasher } from "../hash.ts";
import type { ScanInfo } from "../compiler/includes.ts";

/** Environment variables that go into the context key. */
export const KEY_ENV_VARS: readonly string[] = [
  "CPATH",
  "C_INCLUDE_PATH",
  "CPLUS_INCLUDE_PATH",
  "OBJC_INCLUDE_PATH",
  "LIBRARY_PATH",
  "SOURCE_DATE_EPOCH",
  "SDKROOT",
  "MACOSX_DEPLOYMENT_TARGET",
  "LANG",
  "LC_ALL",
  "LC_MESSAGES",
  "LC_CTYPE",
  "GCC_EXEC_PREFIX",
  "COMPILER_PATH",
  "CCC_OVERRIDE_OPTIONS",
  "GCC_COMPARE_DEBUG",
  "GCC_COLORS",
  "GCC_URLS",
  "TERM_URLS",
];

/** Allow-listed variables whose value is a path list. */
export const PATH_ENV_VARS: ReadonlySet<string> = new Set([
  "CPATH",
  "C_INCLUDE_PATH",
  "CPLUS_INCLUDE_PATH",
  "OBJC_INCLUDE_PATH",
  "LIBRARY_PATH",
  "GCC_EXEC_PREFIX",
  "COMPILER_PATH",
]);

/** Fields of a context key, in order. */
export interface ContextFields {
  family: string;
  flavor: string;
  invokedName: string;
  compilerHash: string;
  /** The cwd, or null when it cannot change the result. */
  cwd: string | null;
  /** Diagnostic decoration forced on the run ("" when none). */
  colored: string;
  env: Record<string, string>;
  args: readonly string[];
  /** Driver-specific extra fields (e.g. the base-dir rewrite). */
  extra?: readonly string[];
}

/** Hex context key of one unit. */
export function contextKey(f: ContextFields): string {
  const h = new KeyHasher("zccache-ts-context-v2");
  h.field(f.family).field(f.flavor).field(f.invokedName).field(f.compilerHash);
  h.field(f.cwd === null ? "cwd-independent" : `cwd=${f.cwd}`);
  h.field(f.colored === "" ? "no-color" : f.colored);
  for (const name of KEY_ENV_VARS) {
    const v = f.env[name];
    h.field(v === undefined ? `${name}\0unset` : `${name}=${v}`);
  }
  for (const e of f.extra ?? []) h.field(e);
  h.field("args");
  for (const a of f.args) h.field(a);
  return h.hex();
}

/** Whether a relative path in an allow-listed path variable makes the cwd matter. */
export function envNeedsCwd(env: Record<string, string>): boolean {
  for (const name of PATH_ENV_VARS) {
    const v = env[name];
    if (v !== undefined && v.split(":").some((p) => p !== "" && !p.startsWith("/"))) return true;
  }
  return false;
}

/** Hex artifact key: the context key and the sorted (path, hash) inputs. */
export function artifactKey(ctx: string, inputs: readonly [string, string][]): string {
  const ak = new KeyHasher("zccache-ts-artifact-v2").field(ctx);
  for (const [p, hash] of inputs) ak.field(p).field(hash);
  return ak.hex();
}

/** What the time macros found in a compile's inputs require of its entry. */
export type TimeRule =
  | { store: false; reason: string }
  | {
    store: true;
    /** `__DATE__` as the compiler would expand it now, or null when unused. */
    date: string | null;
    /** Files using `__TIMESTAMP__` (their mtime is checked on every hit). */
    stampFiles: string[];
  };

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

let systemZone: string | null | undefined;

/** The IANA zone of /etc/localtime, or null. */
function localZone(): string | null {
  if (systemZone !== undefined) return systemZone;
  systemZone = null;
  try {
    const link = readlinkSync("/etc/localtime");
    const at = link.indexOf("zoneinfo/");
    if (at >= 0) systemZone = link.slice(at + 9);
  } catch {
    systemZone = "UTC";
  }
  return systemZone;
}

/**
 * `__DATE__` ("Mmm dd yyyy", day space-padded) for a compile with this
 * environment at `nowMs`, or null when the client's time zone cannot be
 * known (then a `__DATE__` compile is not stored).
 */
export function compileDate(env: Record<string, string>, nowMs: number): string | null {
  let zone: string | null;
  const tz = env.TZ;
  if (tz === undefined || tz === "") zone = localZone();
  else zone = tz.startsWith(":") ? tz.slice(1) : tz;
  if (zone === null) return null;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
    }).formatToParts(new Date(nowMs));
  } catch {
    return null; // a POSIX TZ string Intl does not know
  }
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const day = get("day");
  return `${MONTHS[get("month") - 1]} ${day < 10 ? " " : ""}${day} ${get("year")}`;
}

/** Decide what the time macros in `scans` mean for storing the compile. */
export function timeRule(
  files: readonly string[],
  scans: ReadonlyMap<string, ScanInfo>,
  env: Record<string, string>,
  nowMs: number,
): TimeRule {
  if (env.SOURCE_DATE_EPOCH !== undefined && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) {
    return { store: true, date: null, stampFiles: [] }; // all three are pinned
  }
  let date: string | null = null;
  const stampFiles: string[] = [];
  for (const f of files) {
    const s = scans.get(f);
    if (!s) continue;
    if (s.time) return { store: false, reason: `__TIME__ used in ${f}` };
    if (s.date && date === null) {
      date = compileDate(env, nowMs);
      if (date === null) return { store: false, reason: `__DATE__ with an unknown time zone` };
    }
    if (s.timestamp) stampFiles.push(f);
  }
  return { store: true, date, stampFiles };
}

/** Environment variables that go into a link key (besides {@link KEY_ENV_VARS}). */
export const LINK_ENV_VARS: readonly string[] = ["LD_RUN_PATH", "LDEMULATION", "AR_FLAGS"];

/** Fields of a link key (`zccache-ts-link-v1`). */
export interface LinkKeyFields {
  family: string;
  invokedName: string;
  toolHash: string;
  /** Key arguments in order; inputs stand as `<in:N>`. */
  args: readonly string[];
  /** (name as written, content hash) of every input, in order. */
  inputs: readonly [string, string][];
  /** Content hash of the archive a replace operation starts from, "absent", or null (not an archive). */
  prior: string | null;
  /** The cwd, or null when it cannot reach the output. */
  cwd: string | null;
  env: Record<string, string>;
}

/**
 * Hex link key: the tool binary's hash, the flags in order, the ordered
 * (name, content hash) of every input and resolved library (an archive
 * records member names; a map file, input paths), the archive being
 * replaced into, and the allow-listed environment.
 */
export function linkKey(f: LinkKeyFields): string {
  const h = new KeyHasher("zccache-ts-link-v1");
  h.field(f.family).field(f.invokedName).field(f.toolHash);
  h.field(f.cwd === null ? "cwd-independent" : `cwd=${f.cwd}`);
  h.field(f.prior === null ? "no-prior" : `prior=${f.prior}`);
  for (const name of [...KEY_ENV_VARS, ...LINK_ENV_VARS]) {
    const v = f.env[name];
    h.field(v === undefined ? `${name}\0unset` : `${name}=${v}`);
  }
  h.field("args");
  for (const a of f.args) h.field(a);
  h.field("inputs");
  for (const [p, hash] of f.inputs) h.field(p).field(hash);
  return h.hex();
}

/** Fields of a generic tool key (`zccache-ts-exec-v1`, `GenericToolExec`). */
export interface ExecKeyFields {
  /** Content hash of the tool binary, or the caller's `tool_hash` (hex). */
  toolHash: string;
  /** Arguments after the `key_args_filter` removed its matches, in order. */
  args: readonly string[];
  /** The declared environment (sorted by name here). */
  env: readonly (readonly [string, string])[];
  /** The cwd when `cwd_in_key`, else null. */
  cwd: string | null;
  /** (absolute path, content hash) of every declared input and scanned header. */
  inputs: readonly [string, string][];
  scanned: readonly [string, string][];
  /** Declared output names (sorted here). */
  outputs: readonly string[];
  extra: Uint8Array;
}

/**
 * Hex primary key of a generic tool run, field for field zccache's
 * `compose_primary_key` (handle_exec_key.rs): tool hash, filtered args,
 * sorted env, cwd (optional), sorted (path, hash) inputs, scanned headers,
 * sorted output names, extra bytes.
 */
export function execKey(f: ExecKeyFields): string {
  const h = new KeyHasher("zccache-ts-exec-v1");
  h.field(f.toolHash).field("args").field(String(f.args.length));
  for (const a of f.args) h.field(a);
  const env = [...f.env].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  h.field("env").field(String(env.length));
  for (const [k, v] of env) h.field(k).field(v);
  h.field(f.cwd === null ? "cwd:omitted" : `cwd:${f.cwd}`);
  for (const [tag, pairs] of [["inputs", f.inputs], ["scan", f.scanned]] as const) {
    const sorted = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    h.field(tag).field(String(sorted.length));
    for (const [p, hash] of sorted) h.field(p).field(hash);
  }
  const outs = [...f.outputs].sort();
  h.field("outs").field(String(outs.length));
  for (const o of outs) h.field(o);
  return h.field("extra").field(f.extra).hex();
}

/** The full key: the primary key plus the (path, hash) of every depfile dependency. */
export function execFullKey(primary: string, deps: readonly [string, string][]): string {
  const h = new KeyHasher("zccache-ts-exec-full-v1").field(primary).field(String(deps.length));
  for (const [p, hash] of [...deps].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h.field(p).field(hash);
  return h.hex();
}

/** Fields of a rustc context key (`zccache-ts-rustc-context-v1`). */
export interface RustContextFields {
  /** Toolchain identity (`compiler/rustc.ts` `RustcIdentities`). */
  identity: string;
  /** The invoked compiler path (a rustup proxy and its toolchain differ in name only). */
  compiler: string;
  /** rustc records the cwd (debuginfo) and the paths as given: always keyed. */
  cwd: string;
  /** Every argument, verbatim (source, `--out-dir`, `-C`, `--cfg`, lints, `--remap-path-prefix`...). */
  args: readonly string[];
  /** `CARGO_*` (less the directory ones) and the rustc variables, unset as null. */
  env: readonly [string, string | null][];
  /** Diagnostics forced to colour (the client's terminal would have had them coloured). */
  color: boolean;
  /** (name as written, content hash or "sysroot") of every `--extern`. */
  externs: readonly [string, string][];
  /** (path, content hash) of native libraries, `-C link-arg` files and the linker. */
  files: readonly [string, string][];
}

/**
 * Hex rustc context key: everything known before rustc runs. The artifact
 * key then adds the source and every dep-info input ({@link artifactKey}),
 * and each entry the `env!` values it was made with.
 */
export function rustContextKey(f: RustContextFields): string {
  const h = new KeyHasher("zccache-ts-rustc-context-v1");
  h.field(f.identity).field(f.compiler).field(`cwd=${f.cwd}`).field(f.color ? "color" : "plain");
  h.field("args").field(String(f.args.length));
  for (const a of f.args) h.field(a);
  h.field("env").field(String(f.env.length));
  for (const [k, v] of f.env) h.field(v === null ? `${k}\0unset` : `${k}=${v}`);
  h.field("externs").field(String(f.externs.length));
  for (const [n, hash] of f.externs) h.field(n).field(hash);
  h.field("files").field(String(f.files.length));
  for (const [p, hash] of f.files) h.field(p).field(hash);
  return h.hex();
}
