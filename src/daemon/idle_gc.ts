/**
 * Idle-time garbage collection for the daemon (Deno).
 *
 * After a burst (e.g. 50k hostile frames) V8 keeps tens of MiB of garbage
 * (heap and off-heap buffers) it has not collected yet: the daemon's RSS
 * stays up until some later allocation triggers a major GC. Here, a 500 ms
 * timer watches RSS: once it has grown {@link GROWTH_BYTES} above where the
 * last collection left it and has stopped growing for about a second (the
 * burst is over), one full GC runs. Under sustained load (a build's
 * thousands of hits never leave the daemon quiet), growth of
 * {@link BUSY_GROWTH_BYTES} collects too, so the peak stays bounded (a full
 * collection of this heap takes a few ms). Bounded: at most one collection
 * per second, and only after growth, so a steady or idle daemon never
 * collects.
 *
 * `gc` comes from V8's `--expose-gc`, set at run time (`node:v8`
 * `setFlagsFromString`, then fetched from a fresh `node:vm` context), so no
 * spawn flag is needed; under Bun it is `Bun.gc(true)`. Where neither is
 * available, this does nothing.
 *
 * @module
 */
import process from "node:process";

/** RSS growth over the post-collection baseline that arms a collection. */
export const GROWTH_BYTES = 8 * 1024 * 1024;
/** RSS growth that collects even while requests keep coming. */
export const BUSY_GROWTH_BYTES = 24 * 1024 * 1024;
/** Sampling period (ms). */
const PERIOD_MS = 500;
/** RSS change between samples below which the daemon counts as quiet. */
const QUIET_BYTES = 1024 * 1024;
/** Quiet samples in a row before collecting (2 x 500 ms = about 1 s idle). */
const QUIET_SAMPLES = 2;

/** V8's `gc()` when it can be exposed in this runtime, else null. */
export async function exposedGc(): Promise<(() => void) | null> {
  const g = (globalThis as { gc?: unknown }).gc;
  if (typeof g === "function") return g as () => void;
  const bun = (globalThis as { Bun?: { gc?: (sync: boolean) => void } }).Bun;
  if (typeof bun?.gc === "function") return () => bun.gc!(true);
  if ((globalThis as { Deno?: unknown }).Deno === undefined) return null;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const fn = vm.runInNewContext("gc");
    return typeof fn === "function" ? fn as () => void : null;
  } catch {
    return null;
  }
}

/** Start the idle collector; returns a stop function (the timer never holds the process). */
export async function startIdleGc(
  opts: { gc?: (() => void) | null; rss?: () => number } = {},
): Promise<() => void> {
  const gc = opts.gc !== undefined ? opts.gc : await exposedGc();
  if (gc === null) return () => {};
  const rss = opts.rss ?? (() => process.memoryUsage.rss());
  let baseline = rss();
  let last = baseline;
  let quiet = 0;
  const timer = setInterval(() => {
    const now = rss();
    quiet = Math.abs(now - last) < QUIET_BYTES ? quiet + 1 : 0;
    last = now;
    if (now < baseline) baseline = now;
    const grown = now - baseline;
    if (grown < GROWTH_BYTES || (quiet < QUIET_SAMPLES && grown < BUSY_GROWTH_BYTES)) return;
    gc();
    baseline = last = rss();
    quiet = 0;
  }, PERIOD_MS);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
