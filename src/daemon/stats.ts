/**
 * Daemon statistics: the global counters behind `DaemonStatus` and the
 * per-session tracker behind `SessionStats`.
 *
 * Counting (the same rule for both): a cacheable request counts per unit
 * (source file), so `gcc -c a.c b.c` is two compilations; `hits`, `misses`
 * and `errors` are the engine's unit counts. A non-cacheable request counts
 * once in `non_cacheable` (and in `errors` if it failed). Every unit counts
 * in `compilations` (zccache's global `record_compilation` rule; its
 * session counter leaves failed fresh compiles out, which undercounts, so
 * this implementation does not).
 * `time_saved_ms` is the engine's own per-hit saving (the recorded duration
 * of the original compile minus the hit's latency), summed; zccache
 * estimates it as hits × (avg miss − avg hit) (daemon/stats.rs
 * `time_saved_ms`), which is used as a fallback when the engine reports 0.
 *
 * Source: zccache@3eae627:crates/zccache/src/daemon/stats.rs,
 * daemon/server/connection.rs (Status, SessionStats).
 *
 * @module
 */
import type { SessionStats } from "../core/messages.ts";
import { reasonCategory } from "./cache/why.ts";

/** How one compile request ended, as counted by the stats. */
export type CompileOutcome = "hit" | "miss" | "error" | "cachedError" | "nonCacheable";

/** What the stats need to know about one finished compile request. */
export interface CompileRecord {
  /** Summary outcome of the request (for logs and journals). */
  outcome: CompileOutcome;
  /** Units (sources) served from the cache with exit 0. */
  hits: number;
  /** Units compiled fresh and stored. */
  misses: number;
  /** Units compiled fresh that failed (and a failed non-cacheable run). */
  errors: number;
  /** Failed compiles replayed from the cache. */
  cachedErrors: number;
  /** 1 for a pass-through (non-cacheable) request, else 0. */
  nonCacheable: number;
  /** Daemon-side latency of the request, nanoseconds. */
  latencyNs: bigint;
  /** Engine's time saved by the hits, milliseconds. */
  timeSavedMs: number;
  bytesRead: number;
  bytesWritten: number;
  /** Sources touched by hits/misses (for `unique_sources`). */
  sources: string[];
}

/** The engine result fields the classification reads. */
export interface CompileResultLike {
  exitCode: number;
  cached: boolean;
  cacheable: boolean;
  timeSavedMs: number;
  bytesRead: number;
  bytesWritten: number;
  sourceKey?: string;
  kind?: "hit" | "miss" | "error" | "non_cacheable";
  unitHits?: number;
  unitMisses?: number;
  unitErrors?: number;
  sources?: string[];
}

/** Summary outcome of an engine result. */
export function classifyCompile(r: CompileResultLike): CompileOutcome {
  if (r.kind === "non_cacheable" || !r.cacheable) return "nonCacheable";
  if (r.cached) return r.exitCode === 0 ? "hit" : "cachedError";
  if (r.kind !== undefined) return r.kind === "hit" ? "hit" : r.kind;
  return r.exitCode === 0 ? "miss" : "error";
}

/** Turn an engine result into a stats record (per-unit counts when the engine has them). */
export function compileRecord(r: CompileResultLike, latencyNs: bigint): CompileRecord {
  const outcome = classifyCompile(r);
  const rec: CompileRecord = {
    outcome,
    hits: 0,
    misses: 0,
    errors: 0,
    cachedErrors: 0,
    nonCacheable: 0,
    latencyNs,
    timeSavedMs: r.timeSavedMs,
    bytesRead: r.bytesRead,
    bytesWritten: r.bytesWritten,
    sources: r.sources ?? (r.sourceKey !== undefined ? [r.sourceKey] : []),
  };
  if (outcome === "nonCacheable") {
    rec.nonCacheable = 1;
    if (r.exitCode !== 0) rec.errors = 1;
  } else if (outcome === "cachedError") {
    rec.cachedErrors = 1;
  } else if (r.unitHits !== undefined || r.unitMisses !== undefined || r.unitErrors !== undefined) {
    rec.hits = r.unitHits ?? 0;
    rec.misses = r.unitMisses ?? 0;
    rec.errors = r.unitErrors ?? 0;
  } else if (outcome === "hit") rec.hits = 1;
  else if (outcome === "miss") rec.misses = 1;
  else rec.errors = 1;
  return rec;
}

/** Counters shared by the global and the per-session view. */
class Counters {
  compilations = 0n;
  hits = 0n;
  misses = 0n;
  nonCacheable = 0n;
  errors = 0n;
  errorsCached = 0n;
  hitTimeNs = 0n;
  missTimeNs = 0n;
  engineTimeSavedMs = 0n;
  bytesRead = 0n;
  bytesWritten = 0n;

  record(r: CompileRecord): void {
    // One per unit, at least one per request.
    const units = r.hits + r.misses + r.errors + r.cachedErrors;
    this.compilations += BigInt(Math.max(1, r.nonCacheable > 0 ? 1 : units));
    this.hits += BigInt(r.hits);
    this.misses += BigInt(r.misses);
    this.errors += BigInt(r.errors);
    this.errorsCached += BigInt(r.cachedErrors);
    this.nonCacheable += BigInt(r.nonCacheable);
    if (r.outcome === "hit") this.hitTimeNs += r.latencyNs;
    if (r.outcome === "miss") this.missTimeNs += r.latencyNs;
    this.engineTimeSavedMs += BigInt(Math.max(0, Math.round(r.timeSavedMs)));
    this.bytesRead += BigInt(Math.max(0, r.bytesRead));
    this.bytesWritten += BigInt(Math.max(0, r.bytesWritten));
  }

  timeSavedMs(): bigint {
    if (this.engineTimeSavedMs > 0n) return this.engineTimeSavedMs;
    if (this.hits === 0n || this.misses === 0n) return 0n;
    const avgHit = this.hitTimeNs / this.hits;
    const avgMiss = this.missTimeNs / this.misses;
    const perHit = avgMiss > avgHit ? avgMiss - avgHit : 0n;
    return (this.hits * perHit) / 1_000_000n;
  }
}

/** A point-in-time copy of the global counters. */
export interface GlobalStatsSnapshot {
  compilations: bigint;
  hits: bigint;
  misses: bigint;
  nonCacheable: bigint;
  compileErrors: bigint;
  compileErrorsCached: bigint;
  timeSavedMs: bigint;
  bytesRead: bigint;
  bytesWritten: bigint;
  sessionsTotal: bigint;
  /** Of `sessionsTotal`, the internal sessions of one-shot (`CompileEphemeral`) compiles. */
  ephemeralCompiles: bigint;
}

/** Distinct reasons counted (more are counted as `other`). */
const MAX_REASONS = 64;

/** Global daemon counters since start (or since the last `Clear`). */
export class GlobalStats {
  #c = new Counters();
  #sessionsTotal = 0n;
  #ephemeral = 0n;
  #reasons = new Map<string, number>();

  /** Count one miss or non-cacheable request under its reason's kind ({@link reasonCategory}). */
  recordReason(kind: "miss" | "non_cacheable", reason: string): void {
    let key = `${kind}\0${reasonCategory(reason)}`;
    if (!this.#reasons.has(key) && this.#reasons.size >= MAX_REASONS) key = `${kind}\0other`;
    this.#reasons.set(key, (this.#reasons.get(key) ?? 0) + 1);
  }

  /** Per-reason counts of misses and non-cacheable requests. */
  reasonCounts(): { miss: Record<string, number>; non_cacheable: Record<string, number> } {
    const out = { miss: {} as Record<string, number>, non_cacheable: {} as Record<string, number> };
    for (const [k, n] of this.#reasons) {
      const [kind, reason] = k.split("\0");
      out[kind as "miss" | "non_cacheable"][reason] = n;
    }
    return out;
  }

  /** Count one finished compile request. */
  recordCompile(r: CompileRecord): void {
    this.#c.record(r);
  }

  /** Count one created session (explicit, or the internal one of an ephemeral compile). */
  recordSession(ephemeral = false): void {
    this.#sessionsTotal++;
    if (ephemeral) this.#ephemeral++;
  }

  /** Zero every counter (zccache's `Clear` resets stats). */
  reset(): void {
    this.#c = new Counters();
    this.#sessionsTotal = 0n;
    this.#ephemeral = 0n;
    this.#reasons.clear();
  }

  /** Copy the counters. */
  snapshot(): GlobalStatsSnapshot {
    const c = this.#c;
    return {
      compilations: c.compilations,
      hits: c.hits,
      misses: c.misses,
      nonCacheable: c.nonCacheable,
      compileErrors: c.errors,
      compileErrorsCached: c.errorsCached,
      timeSavedMs: c.timeSavedMs(),
      bytesRead: c.bytesRead,
      bytesWritten: c.bytesWritten,
      sessionsTotal: this.#sessionsTotal,
      ephemeralCompiles: this.#ephemeral,
    };
  }
}

/** Per-session counters (only for sessions started with `track_stats`). */
export class SessionStatsTracker {
  #c = new Counters();
  #sources = new Set<string>();

  /** Count one compile attributed to the session. */
  record(r: CompileRecord): void {
    this.#c.record(r);
    if (r.hits + r.misses > 0) { for (const src of r.sources) this.#sources.add(src); }
  }

  /** The wire `SessionStats` as of now. */
  finalize(createdAtMs: number, nowMs: number = Date.now()): SessionStats {
    const c = this.#c;
    return {
      durationMs: BigInt(Math.max(0, Math.floor(nowMs - createdAtMs))),
      compilations: c.compilations,
      hits: c.hits,
      misses: c.misses,
      nonCacheable: c.nonCacheable,
      errors: c.errors,
      errorsCached: c.errorsCached,
      timeSavedMs: c.timeSavedMs(),
      uniqueSources: BigInt(this.#sources.size),
      bytesRead: c.bytesRead,
      bytesWritten: c.bytesWritten,
      phaseProfile: null,
    };
  }
}
