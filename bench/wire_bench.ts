/**
 * Wire codec benchmarks: a realistic `Compile` request and a `CompileResult`
 * with 64 KiB of stderr, encoded and decoded as whole frames on the v15
 * bincode lane and the v16 prost lane, plus the same protobuf messages
 * through `@bufbuild/protobuf` alone (no domain mapping, no frame) as the
 * baseline.
 *
 * `deno bench -A bench/wire_bench.ts` runs them under Deno's bench runner;
 * `deno run -A bench/wire_bench.ts --table` prints a markdown table with
 * MB/s and msgs/s (the one in BENCHMARKS.md).
 *
 * @module
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { decodeBincodeFrame, encodeBincodeFrame } from "../src/core/bincode.ts";
import type { Request, Response } from "../src/core/messages.ts";
import { decodeProstFrame, encodeProstFrame, toProst } from "../src/core/prost.ts";
import * as pb from "../src/core/gen/zccache_v1_pb.ts";

const enc = new TextEncoder();

const compile: Request = {
  kind: "Compile",
  sessionId: "2f1c3a9e-6b7d-4e21-9a0b-5c6d7e8f9012",
  args: [
    "-c",
    "src/engine/render/pipeline.cpp",
    "-o",
    "build/obj/engine/render/pipeline.o",
    "-std=c++20",
    "-O2",
    "-g",
    "-fPIC",
    "-Wall",
    "-Wextra",
    "-Werror=return-type",
    "-DNDEBUG",
    '-DENGINE_VERSION="4.2.1"',
    "-Iinclude",
    "-Isrc",
    "-Ithird_party/glm",
    "-Ithird_party/fmt/include",
    "-isystem",
    "/usr/include/vulkan",
    "-MD",
    "-MF",
    "build/obj/engine/render/pipeline.d",
    "-fdiagnostics-color=always",
  ],
  cwd: "/home/dev/src/engine",
  compiler: "/usr/bin/g++",
  env: [
    ["PATH", "/usr/local/bin:/usr/bin:/bin"],
    ["HOME", "/home/dev"],
    ["LANG", "C.UTF-8"],
    ["CCACHE_DIR", "/home/dev/.cache/ccache"],
    ["CFLAGS", "-O2 -g"],
    ["CXXFLAGS", "-O2 -g -std=c++20"],
    ["PKG_CONFIG_PATH", "/usr/lib/x86_64-linux-gnu/pkgconfig"],
    ["SOURCE_DATE_EPOCH", "1700000000"],
  ],
  stdin: new Uint8Array(0),
};

const line =
  "src/engine/render/pipeline.cpp:123:45: warning: unused variable 'x' [-Wunused-variable]\n";
const stderr = enc.encode(line.repeat(Math.ceil(65536 / line.length))).subarray(0, 65536);
const result: Response = {
  kind: "CompileResult",
  exitCode: 0,
  stdout: new Uint8Array(0),
  stderr,
  cached: true,
};

const bincodeReq = encodeBincodeFrame("request", compile);
const bincodeResp = encodeBincodeFrame("response", result);
const prostReq = encodeProstFrame("request", compile);
const prostResp = encodeProstFrame("response", result, "compile");
const pbReq = toProst("request", compile, "compile");
const pbResp = toProst("response", result, "compile");
const pbReqBytes = toBinary(pb.RequestSchema, pbReq);
const pbRespBytes = toBinary(pb.ResponseSchema, pbResp);

interface Case {
  name: string;
  group: string;
  bytes: number;
  fn: () => unknown;
}

const cases: Case[] = [
  {
    group: "Compile",
    name: "bincode encode",
    bytes: bincodeReq.length,
    fn: () => encodeBincodeFrame("request", compile),
  },
  {
    group: "Compile",
    name: "bincode decode",
    bytes: bincodeReq.length,
    fn: () => decodeBincodeFrame(bincodeReq, "request"),
  },
  {
    group: "Compile",
    name: "prost encode",
    bytes: prostReq.length,
    fn: () => encodeProstFrame("request", compile),
  },
  {
    group: "Compile",
    name: "prost decode",
    bytes: prostReq.length,
    fn: () => decodeProstFrame(prostReq, "request"),
  },
  {
    group: "Compile",
    name: "protobuf-es toBinary",
    bytes: pbReqBytes.length,
    fn: () => toBinary(pb.RequestSchema, pbReq),
  },
  {
    group: "Compile",
    name: "protobuf-es fromBinary",
    bytes: pbReqBytes.length,
    fn: () => fromBinary(pb.RequestSchema, pbReqBytes),
  },
  {
    group: "CompileResult 64 KiB",
    name: "bincode encode",
    bytes: bincodeResp.length,
    fn: () => encodeBincodeFrame("response", result),
  },
  {
    group: "CompileResult 64 KiB",
    name: "bincode decode",
    bytes: bincodeResp.length,
    fn: () => decodeBincodeFrame(bincodeResp, "response"),
  },
  {
    group: "CompileResult 64 KiB",
    name: "prost encode",
    bytes: prostResp.length,
    fn: () => encodeProstFrame("response", result, "compile"),
  },
  {
    group: "CompileResult 64 KiB",
    name: "prost decode",
    bytes: prostResp.length,
    fn: () => decodeProstFrame(prostResp, "response"),
  },
  {
    group: "CompileResult 64 KiB",
    name: "protobuf-es toBinary",
    bytes: pbRespBytes.length,
    fn: () => toBinary(pb.ResponseSchema, pbResp),
  },
  {
    group: "CompileResult 64 KiB",
    name: "protobuf-es fromBinary",
    bytes: pbRespBytes.length,
    fn: () => fromBinary(pb.ResponseSchema, pbRespBytes),
  },
];

for (const c of cases) {
  Deno.bench({
    name: `${c.group}: ${c.name} (${c.bytes} B)`,
    group: c.group,
    fn: () => void c.fn(),
  });
}

function measure(c: Case): { perSec: number; mbPerSec: number } {
  // Warm up, then time batches for ~300 ms.
  for (let i = 0; i < 2000; i++) c.fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < 300) {
    for (let i = 0; i < 200; i++) c.fn();
    n += 200;
    now = performance.now();
  }
  const perSec = n / ((now - start) / 1000);
  return { perSec, mbPerSec: (perSec * c.bytes) / 1e6 };
}

if (import.meta.main && Deno.args.includes("--table")) {
  console.log(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log("| message | codec | frame bytes | msgs/s | MB/s |");
  console.log("|---|---|---:|---:|---:|");
  for (const c of cases) {
    const m = measure(c);
    console.log(
      `| ${c.group} | ${c.name} | ${c.bytes} | ${Math.round(m.perSec).toLocaleString("en-US")} | ${
        m.mbPerSec.toFixed(1)
      } |`,
    );
  }
}
