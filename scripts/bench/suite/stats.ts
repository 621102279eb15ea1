/**
 * Small statistics for the benchmark suite: medians, quartiles and ratios
 * paired by round. Pure functions (no I/O), shared by `all.ts` and the report.
 *
 * @module
 */

/** Median of `xs` (the mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The `q` quantile (0..1) of `xs`, linear between closest ranks; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Median, min, max and the interquartile range of a sample. */
export interface Summary {
  /** Number of samples. */
  n: number;
  /** Median. */
  median: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** First quartile. */
  q1: number;
  /** Third quartile. */
  q3: number;
}

/** {@link Summary} of `xs` (all NaN when empty). */
export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    median: median(xs),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
    q1: quantile(xs, 0.25),
    q3: quantile(xs, 0.75),
  };
}

/**
 * Paired ratio: for every round present in both maps, `a[round] / b[round]`
 * (each a per-round median); the median of those ratios. NaN when no round pairs.
 */
export function pairedRatio(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): number {
  const rs: number[] = [];
  for (const [r, x] of a) {
    const y = b.get(r);
    if (y !== undefined && y > 0 && Number.isFinite(x)) rs.push(x / y);
  }
  return median(rs);
}

/** Paired difference: the median over rounds of `a[round] - b[round]`. */
export function pairedDiff(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): number {
  const ds: number[] = [];
  for (const [r, x] of a) {
    const y = b.get(r);
    if (y !== undefined && Number.isFinite(x) && Number.isFinite(y)) ds.push(x - y);
  }
  return median(ds);
}

/** Round-robin order of `items` for round `r` (1-based): rotated by `r - 1`. */
export function rotate<T>(items: readonly T[], r: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const k = ((r - 1) % n + n) % n;
  return [...items.slice(k), ...items.slice(0, k)];
}
