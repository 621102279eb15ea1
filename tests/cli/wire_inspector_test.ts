import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "../_harness.ts";
import { loadVectors } from "../_vectors.ts";
import type { CliIo } from "../../src/cli/io.ts";
import { wireCommand } from "../../src/cli/wire.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function wire(args: string[], stdin = ""): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const dec = new TextDecoder();
  const io: CliIo = {
    stdout(d) {
      stdout += typeof d === "string" ? d : dec.decode(d);
      return Promise.resolve();
    },
    stderr(d) {
      stderr += typeof d === "string" ? d : dec.decode(d);
      return Promise.resolve();
    },
    readStdin: () => Promise.resolve(new TextEncoder().encode(stdin)),
    env: {},
    cwd: ".",
  };
  const code = await wireCommand(args, io);
  return { code, stdout, stderr };
}

const v = loadVectors();
const pick = <T extends { name: string }>(xs: T[], n: number): T[] =>
  xs.filter((_, i) => i % Math.ceil(xs.length / n) === 0);

for (const x of [...pick(v.bincode, 6), ...pick(v.prost, 6), ...pick(v.frame, 5)]) {
  test(`zccache wire decode (auto) prints ${x.name}`, async () => {
    const r = await wire(["decode", "--direction", x.direction, x.frame_hex]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.codec, x.codec);
    assert.deepEqual(out.value, x.value);
    assert.equal(out.consumed, x.frame_hex.length / 2);
    if (x.codec !== "bincode") assert.equal(out.request_id, x.request_id);
    if (x.codec === "frame") assert.equal(out.frame_id, x.frame_id);
    else assert.equal("frame_id" in out, false);
  });
  if (x.codec !== "frame") {
    test(`zccache wire decode --codec ${x.codec} prints ${x.name}`, async () => {
      const r = await wire(
        ["decode", `--codec=${x.codec}`, "--direction", x.direction],
        x.frame_hex + "\n",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).value, x.value);
    });
  }
  test(`zccache wire encode --codec ${x.codec} reproduces ${x.name}`, async () => {
    const args = ["encode", "--codec", x.codec, "--direction", x.direction];
    if ("request_id" in x) args.push("--request-id", x.request_id);
    if ("frame_id" in x) args.push("--frame-id", String(x.frame_id));
    const r = await wire(args, JSON.stringify(x.value));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, x.frame_hex + "\n");
  });
}

for (const c of v.decodeCases) {
  if (c.codec === "frame") continue; // frame-lane cases go through auto, covered below
  const codec = c.codec === "dispatch" ? "auto" : c.codec;
  test(`zccache wire decode --codec ${codec} reports decode case ${c.name}`, async () => {
    const r = await wire(["decode", "--codec", codec, "--direction", c.direction, c.frame_hex]);
    const out = JSON.parse(r.stdout);
    if (c.expect === "incomplete") {
      assert.equal(r.code, 3);
      assert.deepEqual(out, { incomplete: true });
    } else if (c.expect === "error") {
      assert.equal(r.code, 1);
      assert.equal(out.error.kind, c.error_kind);
      assert.equal(out.error.consumed, c.consumed);
      assert.equal(typeof out.error.message, "string");
    } else {
      assert.equal(r.code, 0);
      assert.deepEqual(out.value, c.decoded);
      assert.equal(out.consumed, c.consumed);
    }
  });
}

test("zccache wire decode: frame-lane decode cases through auto", async () => {
  for (const c of v.decodeCases.filter((x) => x.codec === "frame")) {
    const r = await wire(["decode", "--direction", c.direction, c.frame_hex]);
    assert.equal(r.code, { ok: 0, error: 1, incomplete: 3 }[c.expect], c.name);
    const out = JSON.parse(r.stdout);
    if (c.expect === "ok") {
      assert.equal(out.codec, "frame");
      assert.equal(out.frame_id, c.decoded_frame_id);
    }
    if (c.expect === "error") assert.equal(out.error.kind, c.error_kind, c.name);
  }
});

test("zccache wire decode --jsonl decodes one capture per line", async () => {
  const input = [
    v.bincode[0].frame_hex,
    "",
    "130000",
    "1300000012000000030000000300000000000000616263",
  ]
    .join("\n");
  const r = await wire(["decode", "--direction", "request", "--jsonl"], input);
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.equal(lines[0].value, "Ping");
  assert.deepEqual(lines[1], { incomplete: true });
  assert.equal(lines[2].error.kind, "VersionMismatch");
});

test("zccache wire encode --jsonl encodes one value per line", async () => {
  const r = await wire(
    ["encode", "--codec", "bincode", "--direction", "response", "--jsonl"],
    '"Pong"\n{"Error":{"message":"boom"}}\n',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split("\n"), [
    "080000000f00000000000000",
    "140000000f000000090000000400000000000000626f6f6d",
  ]);
});

test("zccache wire encode then decode round-trips a Compile request on every codec", async () => {
  const value = {
    Compile: {
      session_id: "s-1",
      args: ["-c", "a.c"],
      cwd: "/w",
      compiler: "/usr/bin/cc",
      env: [["K", "V"]],
      stdin: "00ff",
    },
  };
  for (const codec of ["bincode", "prost", "frame"]) {
    const enc = await wire(
      ["encode", "--codec", codec, "--direction", "request"],
      JSON.stringify(value),
    );
    assert.equal(enc.code, 0, enc.stderr);
    const dec = await wire(["decode", "--direction", "request"], enc.stdout);
    assert.equal(dec.code, 0, dec.stderr);
    const out = JSON.parse(dec.stdout);
    assert.equal(out.codec, codec);
    assert.deepEqual(out.value, value);
    if (codec !== "bincode") assert.equal(out.request_id, "compile");
    if (codec === "frame") assert.equal(out.frame_id, 1);
  }
});

test("zccache wire usage errors exit 2 with one line on stderr", async () => {
  for (
    const args of [
      [],
      ["bogus"],
      ["decode", "00"],
      ["decode", "--direction", "sideways", "00"],
      ["decode", "--direction", "request", "--codec", "frame", "00"],
      ["encode", "--direction", "request"],
      ["encode", "--codec", "bincode", "--direction", "request", "--frame-id", "-1"],
    ]
  ) {
    const r = await wire(args, "");
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trimEnd().split("\n").length, 1);
    assert.equal(r.stdout, "");
  }
});

test("zccache wire encode rejects an invalid value with exit 1", async () => {
  const r = await wire(["encode", "--codec", "bincode", "--direction", "request"], '{"Lookup":{}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing field "cache_key"/);
});

test("zccache wire decode reads hex from stdin in a real process", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const args = runtime === "deno" ? ["run", "-A", "cli.ts"] : ["cli.ts"];
  const r = spawnSync(process.execPath, [...args, "wire", "decode", "--direction", "response"], {
    cwd: root,
    input: "08000000 0f000000\n0d000000\n",
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    codec: "bincode",
    value: "FingerprintAck",
    consumed: 12,
  });
});
