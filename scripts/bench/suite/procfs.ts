/**
 * Linux /proc readings for the benchmark suite: processes carrying a marker
 * in their environment (a launcher's daemons), their CPU ticks and RSS, CPU
 * steal and load. node:fs only, so the library worker (Bun or Deno) shares it.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** Tools of the harness itself: never counted as a launcher's daemon. */
const NOT_DAEMONS = new Set([
  "bash",
  "sh",
  "make",
  "hyperfine",
  "gcc",
  "cc1",
  "as",
  "collect2",
  "ld",
  "cpp",
  "sleep",
  "deno",
  "bun",
]);

/** PIDs of live processes whose environment holds `key=value` (harness tools excluded). */
export function pidsWithEnv(key: string, value: string): number[] {
  const want = `${key}=${value}`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, "latin1").split("\0");
      if (!env.includes(want)) continue;
      const comm = readFileSync(`/proc/${d}/comm`, "utf8").trim();
      if (NOT_DAEMONS.has(comm)) continue;
      out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** utime + stime + cutime + cstime of `pid`, in clock ticks (0 when gone). */
export function cpuTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // fields after "(comm) ": state is f[0]; utime is field 14 of stat => f[11]
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

/** VmRSS and VmHWM of `pid` in KiB, or null when gone. */
export function rssOf(pid: number): { rss_kb: number; hwm_kb: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /VmRSS:\s+(\d+)/.exec(s);
    const hwm = /VmHWM:\s+(\d+)/.exec(s);
    if (!rss || !hwm) return null;
    return { rss_kb: Number(rss[1]), hwm_kb: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/** Total and steal jiffies of the `cpu` line of /proc/stat. */
export function stealSnap(): [number, number] {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return [v.reduce((a, b) => a + b, 0), v[7] ?? 0];
  } catch {
    return [0, 0];
  }
}

/** Steal % between two {@link stealSnap} readings. */
export function stealPct(a: [number, number], b: [number, number]): number {
  const t = b[0] - a[0];
  return t > 0 ? (100 * (b[1] - a[1])) / t : 0;
}

/** The 1, 5 and 15 minute load averages. */
export function loadAvg(): number[] {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return [NaN, NaN, NaN];
  }
}
