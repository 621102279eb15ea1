import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import {
  BUSY_GROWTH_BYTES,
  exposedGc,
  GROWTH_BYTES,
  startIdleGc,
} from "../../src/daemon/idle_gc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  "idle GC: collects once after growth that has stopped, not while growing below the busy bound, never when steady",
  async () => {
    let rss = 100 * 1024 * 1024;
    let calls = 0;
    const stop = await startIdleGc({
      gc: () => {
        calls++;
        rss -= GROWTH_BYTES; // the collection returns the garbage
      },
      rss: () => rss,
    });
    try {
      await sleep(1300); // steady: nothing to collect
      assert.equal(calls, 0);
      const step = GROWTH_BYTES / 2; // a burst: growing every sample, below the busy bound
      assert.ok(2 * step < BUSY_GROWTH_BYTES);
      for (let i = 0; i < 2; i++) {
        rss += step;
        await sleep(500);
      }
      assert.equal(calls, 0, "not while growing");
      await sleep(1700); // quiet for about a second: one collection
      assert.equal(calls, 1);
      await sleep(1100);
      assert.equal(calls, 1, "the baseline moved to where the collection left RSS: no more");
    } finally {
      stop();
    }
  },
  { timeout: 15_000 },
);

test(
  "idle GC: sustained growth past the busy bound collects while requests keep coming",
  async () => {
    let rss = 100 * 1024 * 1024;
    let calls = 0;
    const stop = await startIdleGc({
      gc: () => {
        calls++;
        rss = 100 * 1024 * 1024;
      },
      rss: () => rss,
    });
    try {
      const step = BUSY_GROWTH_BYTES / 4;
      for (let i = 0; i < 7 && calls === 0; i++) { // never quiet
        rss += step;
        await sleep(500);
      }
      assert.equal(calls, 1, "collected under load once past the busy bound");
    } finally {
      stop();
    }
  },
  { timeout: 15_000 },
);

test("idle GC: gc is exposed under this runtime", async () => {
  assert.equal(typeof await exposedGc(), "function");
});
