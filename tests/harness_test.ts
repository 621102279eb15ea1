import assert from "node:assert/strict";
import { runtime, test } from "./_harness.ts";

test("harness runs under deno and bun", () => {
  assert.ok(runtime === "deno" || runtime === "bun");
});
