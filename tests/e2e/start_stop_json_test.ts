/** Issue 12: `zccache start --json` and `stop --json` against a real daemon. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { disposeWorld, makeWorld, runCli } from "./_e2e.ts";

test("start --json / stop --json: one JSON object each, exit 0", async () => {
  const w = makeWorld("ssjson");
  try {
    const endpoint = join(w.cacheDir, "daemon.sock");
    const run = async (args: string[]) => {
      const r = await runCli(args, { env: w.env });
      assert.equal(r.code, 0, r.err);
      return JSON.parse(r.out);
    };
    assert.deepEqual(await run(["start", "--json"]), { endpoint, outcome: "started" });
    assert.deepEqual(await run(["start", "--json"]), { endpoint, outcome: "running" });
    assert.deepEqual(await run(["stop", "--json"]), { endpoint, was_running: true });
    assert.deepEqual(await run(["stop", "--json"]), { endpoint, was_running: false });
  } finally {
    await disposeWorld(w);
  }
});
