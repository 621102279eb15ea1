/**
 * Linux /proc readings for the benchmark suite: processes carrying a marker
 * in their environment (a launcher's daemons), their CPU ticks and RSS, CPU
 * steal and load, and the peak RSS of one process tree (a small C helper).
 * node: modules only, so the library worker and `floor.ts` (Bun) share it.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

/** The peak-RSS helper: runs its arguments, prints `RUSAGE maxrss_kb=N exit=C` on stderr. */
const RUSAGE_C = `#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  pid_t p = fork();
  if (p == 0) { execvp(argv[1], argv + 1); _exit(127); }
  int st; struct rusage ru;
  if (wait4(p, &st, 0, &ru) < 0) return 2;
  struct rusage rc; getrusage(RUSAGE_CHILDREN, &rc);
  fprintf(stderr, "RUSAGE maxrss_kb=%ld exit=%d\\n", rc.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
  return 0;
}
`;

/** Build the peak-RSS helper into `dir` with gcc: its path, or the compiler's error. */
export function buildRusage(dir: string): { path: string } | { error: string } {
  const c = join(dir, "rusage.c");
  writeFileSync(c, RUSAGE_C);
  const out = join(dir, "rusage");
  const r = spawnSync("gcc", ["-O2", c, "-o", out], { encoding: "utf8" });
  return r.status === 0 ? { path: out } : { error: String(r.stderr ?? r.error).trim() };
}

/** The helper's line in a run's stderr: the process tree's peak RSS and exit code, or null. */
export function rusageOf(stderr: string): { maxrssKb: number; exit: number } | null {
  const m = /RUSAGE maxrss_kb=(\d+) exit=(\d+)/.exec(stderr);
  return m ? { maxrssKb: Number(m[1]), exit: Number(m[2]) } : null;
}
