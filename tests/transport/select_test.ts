/** The single runtime/adapter choice and the ZCCACHE_TRANSPORT override. */

import assert from "node:assert/strict";
import process from "node:process";
import { isZccacheError } from "../../src/core/errors.ts";
import {
  availableTransports,
  currentRuntime,
  defaultTransport,
  transportByName,
} from "../../src/transport/select.ts";
import { runtime } from "../_harness.ts";
import { test } from "../_harness.ts";

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const old = process.env.ZCCACHE_TRANSPORT;
  if (value === undefined) delete process.env.ZCCACHE_TRANSPORT;
  else process.env.ZCCACHE_TRANSPORT = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.ZCCACHE_TRANSPORT;
    else process.env.ZCCACHE_TRANSPORT = old;
  }
}

test("currentRuntime() matches the test runner", () => {
  assert.equal(currentRuntime(), runtime);
});

test("defaultTransport() picks the native adapter of this runtime on Unix", () => {
  const t = withEnv(undefined, () => defaultTransport());
  assert.equal(t.name, process.platform === "win32" ? "node" : runtime);
});

test("ZCCACHE_TRANSPORT=node overrides the choice", () => {
  assert.equal(withEnv("node", () => defaultTransport()).name, "node");
});

test("ZCCACHE_TRANSPORT naming another runtime is an Endpoint error", () => {
  const other = runtime === "deno" ? "bun" : "deno";
  assert.throws(
    () => withEnv(other, () => defaultTransport()),
    (e) => isZccacheError(e, "Endpoint"),
  );
  assert.throws(() => transportByName("tcp"), (e) => isZccacheError(e, "Endpoint"));
});

test("availableTransports() lists the native adapter and node", () => {
  const names = availableTransports().map((t) => t.name);
  assert.deepEqual(names, process.platform === "win32" ? ["node"] : [runtime, "node"]);
});
