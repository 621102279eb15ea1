/**
 * Why a compile missed: the part of its key that differs from the nearest
 * entry (`ZCCACHE_LOG` lines, `zccache explain`).
 *
 * - Entries of the same context key differ only in their inputs: the nearest
 *   one (fewest changed inputs) names the changed header or source.
 * - With no entry of that context, the last context seen for the same
 *   (compiler, source) pair ({@link EntryOrigin}, kept in memory and on each
 *   index entry) names the field: a flag, an allow-listed variable, the
 *   compiler binary, the cwd, the terminal colouring.
 * - Neither: a new source.
 *
 * @module
 */
import { KEY_ENV_VARS } from "./key.ts";

/** The context fields of one unit, as recorded with its entries. */
export interface EntryOrigin {
  /** Resolved compiler path. */
  compiler: string;
  /** Absolute source path. */
  source: string;
  family: string;
  flavor: string;
  invokedName: string;
  compilerHash: string;
  cwd: string | null;
  colored: string;
  /** The allow-listed variables that were set. */
  env: Record<string, string>;
  args: string[];
}

/** The allow-listed variables of `env` that are set (what a context key reads). */
export function keyEnvOf(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEY_ENV_VARS) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

/** Memo key of a (compiler, source) pair. */
export function originKey(o: { compiler: string; source: string }): string {
  return `${o.compiler}\0${o.source}`;
}

/** True when `v` has the shape of an {@link EntryOrigin} (index validation). */
export function validOrigin(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  for (const f of ["compiler", "source", "family", "flavor", "invokedName", "compilerHash"]) {
    if (typeof o[f] !== "string") return false;
  }
  if (o.cwd !== null && typeof o.cwd !== "string") return false;
  if (typeof o.colored !== "string") return false;
  if (!Array.isArray(o.args) || !o.args.every((a) => typeof a === "string")) return false;
  if (typeof o.env !== "object" || o.env === null || Array.isArray(o.env)) return false;
  return Object.values(o.env).every((x) => typeof x === "string");
}

const MAX_SHOWN = 3;

function list(xs: string[]): string {
  const shown = xs.slice(0, MAX_SHOWN).join(" ");
  return xs.length > MAX_SHOWN ? `${shown} (+${xs.length - MAX_SHOWN} more)` : shown;
}

/** Multiset difference a - b, in a's order. */
function minus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

/** How the flags differ (`changed flag -O2 -> -O3`, `added flag -DX`, ...), or null. */
export function flagDifference(before: readonly string[], now: readonly string[]): string | null {
  const removed = minus(before, now);
  const added = minus(now, before);
  if (removed.length === 0 && added.length === 0) {
    return before.some((a, i) => a !== now[i]) ? "changed flag order" : null;
  }
  if (removed.length === 0) return `added flag${added.length > 1 ? "s" : ""} ${list(added)}`;
  if (added.length === 0) return `removed flag${removed.length > 1 ? "s" : ""} ${list(removed)}`;
  const s = removed.length === 1 && added.length === 1 ? "" : "s";
  return `changed flag${s} ${list(removed)} -> ${list(added)}`;
}

/** What differs between the context last seen and this one, or null when nothing does. */
export function contextDifference(before: EntryOrigin, now: EntryOrigin): string | null {
  if (before.compilerHash !== now.compilerHash || before.flavor !== now.flavor) {
    return "compiler changed";
  }
  if (before.invokedName !== now.invokedName || before.family !== now.family) {
    return `compiler changed (${before.invokedName} -> ${now.invokedName})`;
  }
  const env: string[] = [];
  for (const name of KEY_ENV_VARS) {
    if (before.env[name] !== now.env[name]) env.push(name);
  }
  if (env.length > 0) return `changed env ${list(env)}`;
  const flags = flagDifference(before.args, now.args);
  if (flags !== null) return flags;
  if (before.cwd !== now.cwd) {
    return `changed cwd ${before.cwd ?? "(any)"} -> ${now.cwd ?? "(any)"}`;
  }
  if (before.colored !== now.colored) return "changed terminal colouring";
  return null;
}

/**
 * The kind of a miss or non-cacheable reason, for per-reason counts
 * (`zccache stats -v`): paths and values dropped (`changed header`,
 * `changed flags`, `changed env`, `__TIME__ used`, ...).
 */
export function reasonCategory(reason: string): string {
  const m = /^(changed (?:header|source)|changed env|compiler changed|changed cwd)\b/.exec(reason);
  if (m !== null) return m[1];
  if (/^(?:added|removed|changed) flags?\b/.test(reason) || reason === "changed flag order") {
    return "changed flags";
  }
  return reason.replace(/ (?:in|of|at|for) \/.*$/, "").replace(/(^|\s)\/\S+/g, "$1<path>")
    .slice(0, 80);
}

/** Entries of one context compared for the nearest (most recently used first). */
const MAX_ENTRIES_COMPARED = 4;

/** One input of an entry whose content no longer matches. */
export interface InputChange {
  path: string;
  /** The current hash, or null when the file is gone. */
  now: string | null;
}

/**
 * The changed inputs of the nearest of `entries` (fewest changes first),
 * named as `changed source a.c` / `changed header inc/a.h (+1 more)`, or
 * null when some entry has all its inputs unchanged.
 */
export function inputDifference(
  entries: readonly { inputs: readonly [string, string][] }[],
  hashOf: (path: string) => string | null,
  isSource: (path: string) => boolean,
): string | null {
  let best: InputChange[] | null = null;
  // The most recently used few only: each input costs a stat (a miss compiles anyway).
  for (const e of entries.slice(0, MAX_ENTRIES_COMPARED)) {
    const changed: InputChange[] = [];
    for (const [p, h] of e.inputs) {
      const now = hashOf(p);
      if (now !== h) changed.push({ path: p, now });
      if (best !== null && changed.length >= best.length) break; // not nearer
    }
    if (changed.length === 0) return null;
    if (best === null || changed.length < best.length) best = changed;
  }
  if (best === null) return null;
  const first = best[0];
  const what = isSource(first.path) ? "source" : "header";
  const gone = first.now === null ? " (removed)" : "";
  const more = best.length > 1 ? ` (+${best.length - 1} more)` : "";
  return `changed ${what} ${first.path}${gone}${more}`;
}
