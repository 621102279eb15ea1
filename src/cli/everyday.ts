/**
 * The everyday commands ccache and sccache users reach for: `stats` (`-s`),
 * `zero` (`-z`), `clear` (`-C`, with or without a daemon), `max-size`
 * (`-M`), `evict`, `config` (`-p`, `config set`). Registered on the
 * commander program by `commands.ts`; loaded only off the wrapper path.
 *
 * Nothing here adds a wire request: a running daemon is asked through
 * files in the project directory and a `Status` round trip
 * (`src/daemon/handlers/maintenance.ts`); with none running the files are
 * changed directly.
 *
 * @module
 */
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { Command } from "commander";
import type { DaemonStatus } from "../core/messages.ts";
import { isZccacheError } from "../core/errors.ts";
import { queryStatus, roundtrip } from "../client/ensure_daemon.ts";
import { endpointFromEnv, resolveCacheDir } from "../transport/endpoint.ts";
import {
  configPath,
  displayValue,
  parseSize,
  readConfigFile,
  resolveSettings,
  setConfigValue,
} from "../daemon/config_env.ts";
import {
  EVICT_REQUEST,
  EVICT_RESULT,
  STATUS_SIDECAR,
  ZERO_REQUEST,
} from "../daemon/handlers/maintenance.ts";
import { PROJECT_SUBDIR } from "../daemon/paths.ts";
import type { CliIo } from "./io.ts";
import { formatBytes, formatStatus, hitRate, toWireJson } from "./format.ts";
import { PRODUCT_VERSION } from "./version.ts";

const json = (v: unknown): string => JSON.stringify(v) + "\n";

function cacheRoot(io: CliIo): string {
  return resolveCacheDir(io.env, undefined, process.platform, { cwd: io.cwd });
}

function projectDir(io: CliIo): string {
  return join(cacheRoot(io), PROJECT_SUBDIR);
}

/**
 * A session's remote-tier counters from the daemon's sidecar
 * (`<project dir>/sessions/<id>.json`), or null when it has none.
 */
export function sessionRemote(
  io: CliIo,
  id: string,
): { hits: number; misses: number; bytes_down: number } | null {
  if (!/^[0-9a-fA-F-]{32,36}$/.test(id)) return null;
  try {
    const j = JSON.parse(readFileSync(join(projectDir(io), "sessions", `${id}.json`), "utf8"));
    return {
      hits: Number(j.remote_hits) || 0,
      misses: Number(j.remote_misses) || 0,
      bytes_down: Number(j.remote_bytes_down) || 0,
    };
  } catch {
    return null;
  }
}

function endpointOf(io: CliIo): string {
  return endpointFromEnv(io.env, process.platform, { cwd: io.cwd, explicit: null });
}

/** Status of the running daemon, or null when none answers. */
async function liveStatus(io: CliIo): Promise<DaemonStatus | null> {
  try {
    return await queryStatus(endpointOf(io), { env: io.env });
  } catch (e) {
    if (isZccacheError(e)) return null;
    throw e;
  }
}

/** Bytes on disk of our blob store and how many blobs are compressed. */
export function storeDiskUsage(dir: string): { bytes: number; files: number; zst: number } {
  let bytes = 0;
  let files = 0;
  let zst = 0;
  const blobs = join(dir, "blobs");
  let subs: string[] = [];
  try {
    subs = readdirSync(blobs);
  } catch {
    return { bytes, files, zst };
  }
  for (const s of subs) {
    let names: string[] = [];
    try {
      names = readdirSync(join(blobs, s));
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        bytes += statSync(join(blobs, s, n)).size;
        files++;
        if (n.endsWith(".zst")) zst++;
      } catch {
        // raced
      }
    }
  }
  return { bytes, files, zst };
}

interface Sidecar {
  pid?: number;
  ephemeral_compiles?: number;
  max_size_bytes?: number | null;
  /** The shared remote tier's counters (`cache/remote.ts` `RemoteStats`), when configured. */
  remote?: {
    urls?: string[];
    readOnly?: boolean;
    hits?: number;
    misses?: number;
    errors?: number;
    bytesUp?: number;
    bytesDown?: number;
    queued?: number;
    dropped?: number;
    degraded?: boolean;
  } | null;
  /** rustc counters (`rust_lane.ts` `RustStats`). */
  rust?: {
    hits?: number;
    misses?: number;
    errors?: number;
    nonCacheable?: number;
    timeSavedMs?: number;
  } | null;
  /** Per-reason counts of misses and non-cacheable requests (`stats -v`). */
  reasons?: { miss?: Record<string, number>; non_cacheable?: Record<string, number> };
}

/** `stats -v`: misses and non-cacheable requests by reason, most frequent first. */
function formatReasons(r: NonNullable<Sidecar["reasons"]>): string {
  let out = "";
  for (
    const [title, counts] of [["Misses by reason", r.miss], [
      "Non-cacheable by reason",
      r.non_cacheable,
    ]] as const
  ) {
    const rows = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
    out += `${title}:${rows.length === 0 ? " none" : ""}\n`;
    const width = Math.max(0, ...rows.map(([, n]) => String(n).length));
    for (const [why, n] of rows) out += `  ${String(n).padStart(width)}  ${why}\n`;
  }
  return out;
}

/** The remote tier's lines of `zccache stats`. */
function formatRemote(r: NonNullable<Sidecar["remote"]>): string {
  const mode = r.readOnly ? ", read-only" : "";
  const state = r.degraded ? ", backing off (local-only)" : "";
  return `Remote:              ${(r.urls ?? []).join(", ")}${mode}${state}\n` +
    `  hits / misses:      ${r.hits ?? 0} / ${r.misses ?? 0}\n` +
    `  errors:             ${r.errors ?? 0}\n` +
    `  bytes up / down:    ${r.bytesUp ?? 0} / ${r.bytesDown ?? 0}\n` +
    `  uploads queued:     ${r.queued ?? 0} (dropped ${r.dropped ?? 0})\n`;
}

/** The rustc line of `zccache stats` (only once rustc was seen). */
function formatRust(r: NonNullable<Sidecar["rust"]>): string {
  const hits = r.hits ?? 0;
  const misses = r.misses ?? 0;
  if (hits + misses + (r.errors ?? 0) + (r.nonCacheable ?? 0) === 0) return "";
  const rate = hits + misses === 0 ? "n/a" : `${((100 * hits) / (hits + misses)).toFixed(1)}%`;
  return `Rust (rustc):        ${hits} hits, ${misses} misses, ${r.errors ?? 0} errors, ` +
    `${r.nonCacheable ?? 0} non-cacheable, hit rate ${rate}\n`;
}

function readSidecar(dir: string): Sidecar {
  try {
    return JSON.parse(readFileSync(join(dir, STATUS_SIDECAR), "utf8")) as Sidecar;
  } catch {
    return {};
  }
}

/** The size limit in effect (config/env), bytes; 0 = unlimited. */
function configuredMaxSize(io: CliIo): bigint {
  const { settings } = resolveSettings(io.env, readConfigFile(cacheRoot(io)), "zccache");
  const v = settings.find((s) => s.setting.key === "max_size")?.value as bigint | undefined;
  return v ?? 10n * 1024n ** 3n;
}

/** `zccache stats` / `status` / `-s` / `--show-stats`. */
export async function cmdStats(
  io: CliIo,
  opts: { json?: boolean; verbose?: boolean },
): Promise<number> {
  const endpoint = endpointOf(io);
  const status = await liveStatus(io);
  if (status === null) {
    if (opts.json) {
      await io.stdout(json({ status: "error", endpoint, error: "daemon not running" }));
    } else await io.stderr(`daemon not running at ${endpoint}\n`);
    return 1;
  }
  const dir = projectDir(io);
  const side = readSidecar(dir);
  const disk = storeDiskUsage(dir);
  const max = side.max_size_bytes != null && side.max_size_bytes < Number.MAX_SAFE_INTEGER
    ? side.max_size_bytes
    : side.max_size_bytes != null
    ? 0
    : Number(configuredMaxSize(io));
  const stored = Number(status.cacheSizeBytes);
  const ratio = disk.bytes > 0 ? stored / disk.bytes : null;
  const ext = {
    ephemeralCompiles: side.ephemeral_compiles ?? null,
    maxSizeBytes: max,
    diskBytes: disk.bytes,
    compressionRatio: ratio,
    configFile: existsSync(configPath(cacheRoot(io))) ? configPath(cacheRoot(io)) : null,
  };
  if (opts.json) {
    const obj = toWireJson(status) as Record<string, unknown>;
    obj.hit_rate = hitRate(status.cacheHits, status.cacheMisses);
    obj.product_version = PRODUCT_VERSION;
    Object.assign(obj, toWireJson(ext));
    obj.remote = side.remote == null ? null : {
      urls: side.remote.urls ?? [],
      read_only: side.remote.readOnly ?? false,
      hits: side.remote.hits ?? 0,
      misses: side.remote.misses ?? 0,
      errors: side.remote.errors ?? 0,
      bytes_up: side.remote.bytesUp ?? 0,
      bytes_down: side.remote.bytesDown ?? 0,
      queued: side.remote.queued ?? 0,
      dropped: side.remote.dropped ?? 0,
      degraded: side.remote.degraded ?? false,
    };
    obj.rust = {
      hits: side.rust?.hits ?? 0,
      misses: side.rust?.misses ?? 0,
      errors: side.rust?.errors ?? 0,
      non_cacheable: side.rust?.nonCacheable ?? 0,
      time_saved_ms: Math.round(side.rust?.timeSavedMs ?? 0),
    };
    if (opts.verbose) {
      obj.miss_reasons = side.reasons?.miss ?? {};
      obj.non_cacheable_reasons = side.reasons?.non_cacheable ?? {};
    }
    await io.stdout(json(obj));
  } else {
    await io.stdout(formatStatus(status, PRODUCT_VERSION, ext));
    if (side.remote != null) await io.stdout(formatRemote(side.remote));
    if (side.rust != null) await io.stdout(formatRust(side.rust));
    if (opts.verbose) await io.stdout(formatReasons(side.reasons ?? {}));
  }
  return 0;
}

/** `zccache zero` / `-z` / `--zero-stats`: zero the counters, keep the cache. */
export async function cmdZero(io: CliIo, opts: { json?: boolean }): Promise<number> {
  const dir = projectDir(io);
  let running = false;
  if (existsSync(dir)) {
    writeFileSync(join(dir, ZERO_REQUEST), "");
    running = (await liveStatus(io)) !== null;
    rmSync(join(dir, ZERO_REQUEST), { force: true }); // no daemon: nothing left to zero later
  }
  if (opts.json) await io.stdout(json({ zeroed: true, daemon_running: running }));
  else await io.stderr("Statistics zeroed\n");
  return 0;
}

/**
 * True when `dir` is a real directory we own (not a symlink): the only
 * kind `clear` deletes from without a daemon.
 */
function ownDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) return false;
  const uid = process.getuid?.();
  return uid === undefined || st.uid === uid;
}

/** Our own files in the project directory (never the daemon's socket, lock or log). */
const STORE_FILES = ["blobs", "index.json", "index.wal", "index.wal.old", STATUS_SIDECAR];

/** `zccache clear` / `-C` / `--clear`, with or without a running daemon. */
export async function cmdClear(io: CliIo, opts: { json?: boolean }): Promise<number> {
  const endpoint = endpointOf(io);
  let r;
  try {
    r = await roundtrip(endpoint, { kind: "Clear" }, 30_000);
  } catch (e) {
    if (!isZccacheError(e, "DaemonUnreachable")) throw e;
    r = undefined;
  }
  let counts: { artifacts: bigint; bytes: bigint; daemon: boolean };
  if (r === undefined) {
    // No daemon: remove the store itself, only what is ours.
    const dir = projectDir(io);
    let artifacts = 0n;
    const before = storeDiskUsage(dir).bytes;
    if (ownDir(dir)) {
      try {
        const idx = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
        if (Array.isArray(idx?.artifacts)) artifacts = BigInt(idx.artifacts.length);
      } catch {
        // no index
      }
      for (const f of STORE_FILES) rmSync(join(dir, f), { recursive: true, force: true });
    }
    counts = { artifacts, bytes: BigInt(before), daemon: false };
  } else if (r?.kind === "Cleared") {
    counts = { artifacts: r.artifactsRemoved, bytes: r.onDiskBytesFreed, daemon: true };
  } else {
    const why = r === null
      ? "the daemon closed the connection"
      : r.kind === "Error"
      ? r.message
      : `unexpected ${r.kind} reply`;
    await io.stderr(`zccache: clear failed: ${why}\n`);
    return 1;
  }
  if (opts.json) {
    await io.stdout(json({
      artifacts_removed: Number(counts.artifacts),
      disk_bytes_freed: Number(counts.bytes),
      daemon_running: counts.daemon,
    }));
  } else {
    await io.stdout(
      `Cache cleared${counts.daemon ? "" : " (no daemon running)"}:\n` +
        `  Artifacts removed:  ${counts.artifacts}\n` +
        `  Disk freed:         ${formatBytes(Number(counts.bytes))}\n`,
    );
  }
  return 0;
}

/** `zccache max-size SIZE` / `-M SIZE`: persisted in `zccache.conf`. */
export async function cmdMaxSize(
  io: CliIo,
  size: string,
  opts: { json?: boolean },
): Promise<number> {
  const v = parseSize(size);
  if (v === null) {
    await io.stderr(
      `zccache: invalid size ${JSON.stringify(size)} (e.g. 10G, 500M, 1.5Gi, 0 = unlimited)\n`,
    );
    return 2;
  }
  setConfigValue(cacheRoot(io), "max_size", size);
  const overridden = io.env.ZCCACHE_MAX_SIZE !== undefined && io.env.ZCCACHE_MAX_SIZE.trim() !== "";
  await liveStatus(io); // a running daemon applies it now
  if (opts.json) {
    await io.stdout(json({ max_size_bytes: Number(v), config_file: configPath(cacheRoot(io)) }));
  } else {
    await io.stderr(
      `Set cache size limit to ${v === 0n ? "unlimited" : formatBytes(Number(v))}` +
        ` in ${configPath(cacheRoot(io))}` +
        (overridden
          ? ` (ZCCACHE_MAX_SIZE=${io.env.ZCCACHE_MAX_SIZE} in the environment wins)`
          : "") +
        "\n",
    );
  }
  return 0;
}

/** `7d`, `12h`, `30m`, `45s`, `2w` -> milliseconds, or null. */
export function parseAge(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (m === null) return null;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[
    m[2].toLowerCase() as "s"
  ];
  return Math.round(Number(m[1]) * unit);
}

/** `zccache evict --older-than 7d` / `--max-size 1G`: one-shot eviction. */
export async function cmdEvict(
  io: CliIo,
  opts: { olderThan?: string; maxSize?: string; json?: boolean },
): Promise<number> {
  if (opts.olderThan === undefined && opts.maxSize === undefined) {
    await io.stderr("zccache: evict needs --older-than AGE and/or --max-size SIZE\n");
    return 2;
  }
  const age = opts.olderThan === undefined ? undefined : parseAge(opts.olderThan);
  if (age === null) {
    await io.stderr(`zccache: invalid age ${JSON.stringify(opts.olderThan)} (e.g. 7d, 12h, 30m)\n`);
    return 2;
  }
  const size = opts.maxSize === undefined ? undefined : parseSize(opts.maxSize);
  if (size === null) {
    await io.stderr(`zccache: invalid size ${JSON.stringify(opts.maxSize)} (e.g. 1G, 500M)\n`);
    return 2;
  }
  const dir = projectDir(io);
  let result: { evicted: number; bytes_freed: number } | null = null;
  const id = `${process.pid}-${Date.now()}`;
  if (ownDir(dir)) {
    writeFileSync(
      join(dir, EVICT_REQUEST),
      JSON.stringify({ id, older_than_ms: age, max_size: size?.toString() }),
    );
    if ((await liveStatus(io)) !== null) {
      try {
        const r = JSON.parse(readFileSync(join(dir, EVICT_RESULT), "utf8"));
        if (r.id === id) result = r;
      } catch {
        // no result
      }
    }
    rmSync(join(dir, EVICT_REQUEST), { force: true });
    if (result === null) {
      // No daemon: evict in this process on the store itself.
      const { CompileEngine } = await import("../daemon/engine.ts");
      const engine = new CompileEngine({ cacheDir: dir, flushIntervalMs: 0 });
      const r = await engine.evict({ olderThanMs: age, maxSize: size });
      await engine.close();
      result = { evicted: r.evicted, bytes_freed: r.bytesFreed };
    }
  } else result = { evicted: 0, bytes_freed: 0 };
  if (opts.json) await io.stdout(json(result));
  else {
    await io.stdout(
      `Evicted ${result.evicted} artifact(s), ${formatBytes(result.bytes_freed)} freed\n`,
    );
  }
  return 0;
}

/** `zccache config` / `-p`: every setting, its value and where it came from. */
export async function cmdConfig(io: CliIo, opts: { json?: boolean }): Promise<number> {
  const root = cacheRoot(io);
  const { settings, warnings } = resolveSettings(io.env, readConfigFile(root), "zccache");
  for (const w of warnings) await io.stderr(w + "\n");
  if (opts.json) {
    await io.stdout(json({
      config_file: configPath(root),
      settings: settings.map((r) => ({
        key: r.setting.key,
        env: r.setting.env,
        value: displayValue(r.setting, r.text),
        origin: r.origin,
      })),
    }));
    return 0;
  }
  const rows = settings.map((r) => [
    r.setting.key ?? "-",
    r.setting.env,
    displayValue(r.setting, r.text),
    `(${r.origin})`,
  ]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((x) => x[i].length)));
  let out = `config file: ${configPath(root)}${existsSync(configPath(root)) ? "" : " (absent)"}\n`;
  for (const r of rows) {
    out += `  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}\n`;
  }
  await io.stdout(out);
  return 0;
}

/** `zccache config set KEY VALUE`. */
export async function cmdConfigSet(io: CliIo, key: string, value: string): Promise<number> {
  try {
    const s = setConfigValue(cacheRoot(io), key, value);
    await liveStatus(io); // a running daemon re-reads the file
    await io.stderr(`${s.key} = ${value} written to ${configPath(cacheRoot(io))}\n`);
    return 0;
  } catch (e) {
    await io.stderr(`zccache: config set: ${(e as Error).message}\n`);
    return 2;
  }
}

/** Register the commands above on `program`; `done` receives each exit code. */
export function registerEveryday(
  program: Command,
  io: CliIo,
  done: (code: number) => void,
): void {
  const sub = (name: string, desc: string): Command =>
    program.command(name).description(desc).allowExcessArguments(false);
  sub("stats", "show statistics: hits, misses, sizes, limit, compression (alias: status, -s)")
    .option("--json", "one JSON object")
    .option("-v, --verbose", "more detail")
    .action(async (o) => done(await cmdStats(io, o)));
  sub("zero", "zero the statistics, keep the cache (alias: -z, --zero-stats)")
    .option("--json", "print JSON")
    .action(async (o) => done(await cmdZero(io, o)));
  sub("max-size", "set the cache size limit (K M G T, Ki Mi Gi; 0 = unlimited) (alias: -M)")
    .argument("<size>", "size")
    .option("--json", "print JSON")
    .action(async (size, o) => done(await cmdMaxSize(io, size, o)));
  sub("evict", "evict now: --older-than 7d and/or --max-size 1G")
    .option("--older-than <age>", "entries unused for this long (s m h d w)")
    .option("--max-size <size>", "least recently used entries until this size remains")
    .option("--json", "print JSON")
    .action(async (o) => done(await cmdEvict(io, o)));
  const config = sub("config", "show every setting, its value and origin (alias: -p)")
    .option("--json", "print JSON")
    .action(async (o) => done(await cmdConfig(io, o)));
  config.command("set").description("set KEY = VALUE in <cache dir>/zccache.conf")
    .argument("<key>", "config key (e.g. max_size)").argument("<value>", "value")
    .action(async (key, value) => done(await cmdConfigSet(io, key, value)));
}

/** ccache spellings -> subcommands (`-s`, `-z`, `-C`, `-M SIZE`, `-p`, ...). */
export function ccacheAlias(argv: string[]): string[] {
  const map: Record<string, string> = {
    "-s": "stats",
    "--show-stats": "stats",
    "-z": "zero",
    "--zero-stats": "zero",
    "-C": "clear",
    "--clear": "clear",
    "-M": "max-size",
    "--max-size": "max-size",
    "-p": "config",
    "--show-config": "config",
  };
  const first = argv[0];
  if (first === undefined) return argv;
  if (first.startsWith("--max-size=")) return ["max-size", first.slice(11), ...argv.slice(1)];
  if (first === "-sv" || first === "-vs") return ["stats", "-v", ...argv.slice(1)]; // ccache -sv
  const to = map[first];
  return to === undefined ? argv : [to, ...argv.slice(1)];
}
