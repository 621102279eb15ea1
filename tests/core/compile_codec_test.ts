import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import { decodeBincodeFrame, encodeBincodeFrame } from "../../src/core/bincode.ts";
import { fromHex, toHex } from "../../src/core/bytes.ts";
import {
  decodeCompileReplyFrame,
  decodeCompileRequestFrame,
  encodeCompileRequestFrame,
  REQUEST_INDEX,
  RESPONSE_INDEX,
} from "../../src/core/compile_codec.ts";
import { fromJsonValue } from "../../src/core/json_value.ts";
import type { Request, Response } from "../../src/core/messages.ts";
import { RequestSchema, ResponseSchema } from "../../src/core/schema.ts";
import { prng } from "./_prng.ts";

test("compile_codec's variant indices are the schema's", () => {
  for (const [name, index] of Object.entries(REQUEST_INDEX)) {
    assert.equal(RequestSchema.variants.findIndex((v) => v.name === name), index, name);
  }
  for (const [name, index] of Object.entries(RESPONSE_INDEX)) {
    assert.equal(ResponseSchema.variants.findIndex((v) => v.name === name), index, name);
  }
  // The field lists the straight-line code writes, in order.
  const fields = (
    schema: typeof RequestSchema | typeof ResponseSchema,
    name: string,
  ): string[] => {
    const v = (schema.variants as readonly {
      name: string;
      fields?: readonly (readonly [string, unknown])[];
    }[])
      .find((x) => x.name === name)!;
    return (v.fields ?? []).map(([n]) => n);
  };
  assert.deepEqual(fields(RequestSchema, "Compile"), [
    "session_id",
    "args",
    "cwd",
    "compiler",
    "env",
    "stdin",
  ]);
  assert.deepEqual(fields(RequestSchema, "CompileEphemeral"), [
    "client_pid",
    "working_dir",
    "compiler",
    "args",
    "cwd",
    "env",
    "stdin",
  ]);
  assert.deepEqual(fields(RequestSchema, "LinkEphemeral"), [
    "client_pid",
    "tool",
    "args",
    "cwd",
    "env",
  ]);
  assert.deepEqual(fields(ResponseSchema, "CompileResult"), [
    "exit_code",
    "stdout",
    "stderr",
    "cached",
  ]);
  assert.deepEqual(fields(ResponseSchema, "LinkResult"), [
    "exit_code",
    "stdout",
    "stderr",
    "cached",
    "warning",
  ]);
});

test("compile_codec encodes every 1.12.2 compile/link request vector byte for byte", () => {
  const vs = loadVectors("v1.12.2").bincode.filter((v) =>
    v.direction === "request" &&
    (v.variant === "Compile" || v.variant === "CompileEphemeral" ||
      v.variant === "LinkEphemeral")
  );
  assert.ok(vs.length >= 3, `vectors found: ${vs.length}`);
  for (const v of vs) {
    const msg = fromJsonValue("request", v.value) as Request;
    assert.equal(toHex(encodeCompileRequestFrame(msg)!), v.frame_hex, v.name);
  }
});

const long = "x".repeat(70);
const requests: Request[] = [
  {
    kind: "CompileEphemeral",
    clientPid: 4_000_000_000,
    workingDir: "/a/./b//c/../d",
    compiler: "/usr/bin/gcc",
    args: ["-c", "é.c", "-o", "x.o", "", long + "ü"],
    cwd: "rel/dir/",
    env: [["PATH", long], ["LANG", "ça"], ["EMPTY", ""]],
    stdin: new Uint8Array([0, 1, 2, 255]),
  },
  {
    kind: "CompileEphemeral",
    clientPid: 0,
    workingDir: "/",
    compiler: "gcc",
    args: [],
    cwd: "/",
    env: null,
    stdin: new Uint8Array(0),
  },
  {
    kind: "Compile",
    sessionId: "0f3c",
    args: ["-c", "a.c"],
    cwd: "/w",
    compiler: "/usr/bin/cc",
    env: [["A", "😀"]],
    stdin: new Uint8Array(3000).fill(7),
  },
  {
    kind: "LinkEphemeral",
    clientPid: 12,
    tool: "/usr/bin/ar",
    args: ["rcs", "lib.a", "a.o"],
    cwd: "/tmp/../tmp",
    env: [],
  },
];

test("compile_codec request frames equal encodeBincodeFrame's", () => {
  for (const req of requests) {
    assert.equal(
      toHex(encodeCompileRequestFrame(req)!),
      toHex(encodeBincodeFrame("request", req)),
      req.kind,
    );
  }
  // A big environment grows the buffer.
  const env: [string, string][] = [];
  for (let i = 0; i < 500; i++) env.push([`VAR_${i}`, "v".repeat(i)]);
  const big: Request = { ...requests[1], env } as Request;
  assert.equal(toHex(encodeCompileRequestFrame(big)!), toHex(encodeBincodeFrame("request", big)));
});

test("compile_codec leaves other requests and invalid values to bincode.ts", () => {
  assert.equal(encodeCompileRequestFrame({ kind: "Ping" }), undefined);
  assert.equal(encodeCompileRequestFrame({ kind: "Lookup", cacheKey: "k" }), undefined);
  const base = requests[1] as Extract<Request, { kind: "CompileEphemeral" }>;
  const bad: unknown[] = [
    { ...base, clientPid: -1 },
    { ...base, clientPid: 2 ** 32 },
    { ...base, clientPid: 1.5 },
    { ...base, args: ["ok", 3] },
    { ...base, env: [["A"]] },
    { ...base, stdin: [1, 2] },
    { ...base, cwd: undefined },
  ];
  for (const b of bad) {
    assert.equal(encodeCompileRequestFrame(b as Request), undefined, JSON.stringify(b));
    assert.throws(() => encodeBincodeFrame("request", b as Request));
  }
});

const replies: Response[] = [
  {
    kind: "CompileResult",
    exitCode: 0,
    stdout: new Uint8Array(0),
    stderr: new Uint8Array(0),
    cached: true,
  },
  {
    kind: "CompileResult",
    exitCode: -7,
    stdout: new TextEncoder().encode("out"),
    stderr: new TextEncoder().encode("a.c:1: error: é\n"),
    cached: false,
  },
  {
    kind: "LinkResult",
    exitCode: 1,
    stdout: new Uint8Array([1]),
    stderr: new Uint8Array(0),
    cached: false,
    warning: null,
  },
  {
    kind: "LinkResult",
    exitCode: 0,
    stdout: new Uint8Array(0),
    stderr: new Uint8Array(0),
    cached: true,
    warning: "non-deterministic ✓",
  },
  { kind: "Error", message: "daemon error: nope" },
];

test("compile_codec decodes CompileResult, LinkResult and Error as decodeBincodeFrame does", () => {
  for (const resp of replies) {
    const frame = encodeBincodeFrame("response", resp);
    const two = new Uint8Array(frame.length * 2);
    two.set(frame);
    two.set(frame, frame.length);
    const fast = decodeCompileReplyFrame(two);
    const slow = decodeBincodeFrame(two, "response");
    assert.ok(fast && slow);
    assert.deepEqual(fast, slow, resp.kind);
    for (let n = 0; n < frame.length; n++) {
      assert.equal(decodeCompileReplyFrame(frame.subarray(0, n)), null, `${resp.kind} prefix ${n}`);
    }
  }
  // Other replies and versions: not ours.
  assert.equal(
    decodeCompileReplyFrame(encodeBincodeFrame("response", { kind: "Pong" })),
    undefined,
  );
  assert.equal(decodeCompileReplyFrame(fromHex("0800000010000000" + "09000000")), undefined);
});

test("compile_codec fuzz: a reply it decodes is what bincode.ts decodes; what bincode.ts rejects it leaves alone", () => {
  const rand = prng(0xc0de);
  const rng = { next: () => Math.floor(rand() * 4294967296) };
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = encodeBincodeFrame("response", replies[i % replies.length]);
    const buf = Uint8Array.from(base);
    const flips = 1 + (rng.next() % 3);
    for (let f = 0; f < flips; f++) {
      const at = 4 + (rng.next() % (buf.length - 4)); // keep the length so frames stay whole
      buf[at] = rng.next() & 0xff;
    }
    const fast = decodeCompileReplyFrame(buf);
    let slow: unknown;
    try {
      slow = decodeBincodeFrame(buf, "response");
    } catch {
      slow = "error";
    }
    if (fast === undefined) continue;
    decoded++;
    assert.notEqual(slow, "error", `fast decoded what bincode.ts rejects: ${toHex(buf)}`);
    assert.deepEqual(fast, slow, toHex(buf));
  }
  assert.ok(decoded > 1000, `decoded ${decoded}`);
});

test("compile_codec decodes the compile/link requests as decodeBincodeFrame does", () => {
  const vs = loadVectors("v1.12.2").bincode.filter((v) =>
    v.direction === "request" &&
    (v.variant === "Compile" || v.variant === "CompileEphemeral" ||
      v.variant === "LinkEphemeral")
  );
  const frames = [
    ...vs.map((v) => fromHex(v.frame_hex)),
    ...requests.map((r) => encodeBincodeFrame("request", r)),
  ];
  for (const frame of frames) {
    const fast = decodeCompileRequestFrame(frame);
    assert.ok(fast);
    assert.deepEqual(fast, decodeBincodeFrame(frame, "request"));
    for (let n = 0; n < frame.length; n += 7) {
      assert.equal(decodeCompileRequestFrame(frame.subarray(0, n)), null);
    }
  }
  assert.equal(
    decodeCompileRequestFrame(encodeBincodeFrame("request", { kind: "Ping" })),
    undefined,
  );
  assert.equal(
    decodeCompileRequestFrame(encodeBincodeFrame("request", { kind: "Status" })),
    undefined,
  );
});

test("compile_codec request fuzz: what it decodes is what bincode.ts decodes; what bincode.ts rejects it leaves alone", () => {
  const rand = prng(0xbeef);
  const next = () => Math.floor(rand() * 4294967296);
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const buf = Uint8Array.from(encodeBincodeFrame("request", requests[i % requests.length]));
    for (let f = 1 + (next() % 3); f > 0; f--) buf[4 + (next() % (buf.length - 4))] = next() & 0xff;
    const fast = decodeCompileRequestFrame(buf);
    let slow: unknown;
    try {
      slow = decodeBincodeFrame(buf, "request");
    } catch {
      slow = "error";
    }
    if (fast === undefined) continue;
    decoded++;
    assert.notEqual(slow, "error", toHex(buf));
    assert.deepEqual(fast, slow, toHex(buf));
  }
  assert.ok(decoded > 1000, `decoded ${decoded}`);
});
