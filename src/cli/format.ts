/**
 * Output formatting of the CLI: durations, sizes, the status table and the
 * snake_case JSON of wire structs.
 *
 * @module
 */
import type { DaemonStatus, SessionStats } from "../core/messages.ts";

export { toWireJson } from "../core/wire_json.ts";

/** `uptime`-style duration: `1h 3m`, `5m 2s`, `12s`, `2d 4h`. */
export function formatDuration(totalSecs: number): string {
  const s = Math.max(0, Math.floor(totalSecs));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** Time saved: `~1m 12s`, `~3.2s`, `~250ms`, `0s`. */
export function formatSaved(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `~${Math.round(ms)}ms`;
  if (ms < 60_000) return `~${(ms / 1000).toFixed(1)}s`;
  return `~${formatDuration(ms / 1000)}`;
}

/** Bytes in binary units: `512 B`, `4.0 KiB`, `612.4 MiB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Hits over hits + misses, or null when nothing was looked up. */
export function hitRate(hits: bigint, misses: bigint): number | null {
  const total = hits + misses;
  return total === 0n ? null : Number(hits) / Number(total);
}

function pct(rate: number | null): string {
  return rate === null ? "n/a" : `${(rate * 100).toFixed(1)}%`;
}

/** Align `label: value` rows in two columns with a two-space indent. */
export function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `  ${(k + ":").padEnd(width + 1)}${v}\n`).join("");
}

/** What `zccache stats` adds to `DaemonStatus` (from local files). */
export interface StatusExtras {
  /** One-shot wrapper compiles (their internal sessions are in `sessions_total`). */
  ephemeralCompiles: number | null;
  /** Size limit in bytes, 0 = unlimited. */
  maxSizeBytes: number;
  /** Bytes the blob store takes on disk (compressed). */
  diskBytes: number;
  /** Stored (uncompressed) over on-disk bytes, or null when empty. */
  compressionRatio: number | null;
  /** The config file, when there is one. */
  configFile: string | null;
}

/** The human `zccache status` / `stats` text. */
export function formatStatus(
  s: DaemonStatus,
  productVersion: string,
  x: StatusExtras | null = null,
): string {
  const head = `zccache daemon v${s.version} (zccache-ts ${productVersion}) (${s.endpoint})\n` +
    `cache dir: ${s.cacheDir}\nnamespace: ${s.daemonNamespace}\n` +
    (x === null
      ? ""
      : `config: ${x.configFile ?? "defaults and environment (no zccache.conf)"}\n`) +
    "\n";
  const size = Number(s.cacheSizeBytes);
  const sizeText = x === null
    ? formatBytes(size)
    : x.maxSizeBytes > 0
    ? `${formatBytes(size)} of ${formatBytes(x.maxSizeBytes)} (${
      (100 * size / x.maxSizeBytes).toFixed(1)
    }% full)`
    : `${formatBytes(size)} (no limit)`;
  const ephemeral = x?.ephemeralCompiles ?? null;
  const explicitTotal = ephemeral === null ? s.sessionsTotal : s.sessionsTotal - BigInt(ephemeral);
  const rows: Array<[string, string]> = [
    ["Hits", String(s.cacheHits)],
    ["Misses", String(s.cacheMisses)],
    ["Hit rate", pct(hitRate(s.cacheHits, s.cacheMisses))],
    ["Non-cacheable", String(s.nonCacheable)],
    ["Errors", String(s.compileErrors)],
    ["Compilations", String(s.totalCompilations)],
  ];
  if (s.totalLinks > 0n) {
    rows.push([
      "Links",
      `${s.totalLinks} (${s.linkHits} hits, ${s.linkMisses} misses, ${s.linkNonCacheable} non-cacheable, hit rate ${
        pct(hitRate(s.linkHits, s.linkMisses))
      })`,
    ]);
  }
  rows.push(
    ["Time saved", formatSaved(Number(s.timeSavedMs))],
    ["Artifacts", String(s.artifactCount)],
    ["Cache size", sizeText],
  );
  if (x !== null) {
    rows.push([
      "On disk",
      x.compressionRatio === null
        ? formatBytes(x.diskBytes)
        : `${formatBytes(x.diskBytes)} (compression ratio ${x.compressionRatio.toFixed(2)}x)`,
    ]);
  }
  rows.push(
    ["Dep graph", `${s.depGraphContexts} contexts, ${s.depGraphFiles} files`],
    ["Metadata", `${s.metadataEntries} entries`],
    ["Sessions", `${s.sessionsActive} active / ${explicitTotal} total`],
  );
  if (ephemeral !== null) rows.push(["Wrapper compiles", String(ephemeral)]);
  rows.push(["Uptime", formatDuration(Number(s.uptimeSecs))]);
  return head + table(rows);
}

/** The human summary of one session's stats. */
export function formatSessionStats(id: string, st: SessionStats): string {
  const secs = Number(st.durationMs) / 1000;
  return `Session ${id} (${secs.toFixed(1)}s)\n` +
    table([
      ["Compilations", String(st.compilations)],
      ["Hits", String(st.hits)],
      ["Misses", String(st.misses)],
      ["Hit rate", pct(hitRate(st.hits, st.misses))],
      ["Non-cacheable", String(st.nonCacheable)],
      ["Errors", String(st.errors)],
      ["Cached errors", String(st.errorsCached)],
      ["Time saved", formatSaved(Number(st.timeSavedMs))],
      ["Unique sources", String(st.uniqueSources)],
    ]);
}
