import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { exposedGc, GROWTH_BYTES, startIdleGc } from "../../src/daemon/idle_gc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  "idle GC: collects once after growth that has stopped, never while growing or steady",
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
      for (let i = 0; i < 3; i++) { // a burst: growing every sample
        rss += GROWTH_BYTES;
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

test("idle GC: gc is exposed under this runtime", async () => {
  assert.equal(typeof await exposedGc(), "function");
});
