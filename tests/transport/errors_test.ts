/** Error mapping and the connect deadline helper, per runtime error shape. */

import assert from "node:assert/strict";
import { isZccacheError } from "../../src/core/errors.ts";
import { dialWithTimeout, osErrorCode, toTransportError } from "../../src/transport/errors.ts";
import { test } from "../_harness.ts";

function osError(code: string, name = "Error"): Error {
  const e = new Error(`${code} something`);
  Object.assign(e, { code });
  if (name !== "Error") Object.defineProperty(e, "name", { value: name });
  return e;
}

const table: Array<[string, Error, string]> = [
  ["ENOENT (node/bun missing socket)", osError("ENOENT"), "DaemonUnreachable"],
  ["ECONNREFUSED (stale socket)", osError("ECONNREFUSED"), "DaemonUnreachable"],
  ["EPIPE (broken pipe)", osError("EPIPE"), "DaemonUnreachable"],
  ["ECONNRESET", osError("ECONNRESET"), "DaemonUnreachable"],
  ["Deno NotFound", osError("ENOENT", "NotFound"), "DaemonUnreachable"],
  [
    "Deno ConnectionRefused without code",
    (() => {
      const e = new Error("refused");
      Object.defineProperty(e, "name", { value: "ConnectionRefused" });
      return e;
    })(),
    "DaemonUnreachable",
  ],
  ["Deno BrokenPipe", osError("EPIPE", "BrokenPipe"), "DaemonUnreachable"],
  ["ETIMEDOUT", osError("ETIMEDOUT"), "Timeout"],
  ["Deno TimedOut", osError("ETIMEDOUT", "TimedOut"), "Timeout"],
  ["EACCES stays Io", osError("EACCES"), "Io"],
  ["EAGAIN without a deadline stays Io (as zccache 1.12.2)", osError("EAGAIN"), "Io"],
];

for (const [name, err, code] of table) {
  test(`toTransportError(): ${name} -> ${code}`, () => {
    const mapped = toTransportError(err, "connect", "/tmp/x.sock");
    assert.equal(mapped.code, code);
    assert.equal(mapped.cause, err);
    assert.match(mapped.message, /^Cannot connect to daemon at \/tmp\/x\.sock: /);
  });
}

test("osErrorCode() looks through ZccacheError causes", () => {
  const mapped = toTransportError(osError("EADDRINUSE"), "listen", "/tmp/x.sock");
  assert.equal(mapped.code, "Io");
  assert.equal(osErrorCode(mapped), "EADDRINUSE");
});

test("dialWithTimeout(): a dial that never settles is Timeout and a late result is discarded", async () => {
  let resolveLate!: (v: string) => void;
  const discarded: string[] = [];
  await assert.rejects(
    dialWithTimeout(
      () => new Promise<string>((r) => (resolveLate = r)),
      (late) => discarded.push(late),
      "/tmp/x.sock",
      50,
    ),
    (e) => isZccacheError(e, "Timeout") && /timed out after 50 ms/.test((e as Error).message),
  );
  resolveLate("late-conn");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(discarded, ["late-conn"]);
});

test("dialWithTimeout(): EAGAIN is retried until the endpoint accepts", async () => {
  let attempts = 0;
  const got = await dialWithTimeout(
    () => {
      attempts++;
      return attempts < 3 ? Promise.reject(osError("EAGAIN")) : Promise.resolve("conn");
    },
    () => {},
    "/tmp/x.sock",
    5000,
  );
  assert.equal(got, "conn");
  assert.equal(attempts, 3);
});

test("dialWithTimeout(): EAGAIN until the deadline is Timeout", async () => {
  await assert.rejects(
    dialWithTimeout(() => Promise.reject(osError("EAGAIN")), () => {}, "/tmp/x.sock", 100),
    (e) => isZccacheError(e, "Timeout"),
  );
});

test("dialWithTimeout(): ENOENT is not retried", async () => {
  let attempts = 0;
  await assert.rejects(
    dialWithTimeout(
      () => {
        attempts++;
        return Promise.reject(osError("ENOENT"));
      },
      () => {},
      "/tmp/x.sock",
      1000,
    ),
    (e) => isZccacheError(e, "DaemonUnreachable"),
  );
  assert.equal(attempts, 1);
});
