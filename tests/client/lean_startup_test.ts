/**
 * The bincode path (`IpcConnection.send`/`recv`, `connectDaemon`) must not
 * statically load prost, FrameV1, the dispatcher or generated protobuf code:
 * walk the static (non-dynamic) import graph that `deno info --json` reports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runtime, test } from "../_harness.ts";

interface InfoModule {
  specifier: string;
  dependencies?: Array<{ specifier: string; code?: { specifier?: string }; isDynamic?: boolean }>;
}

test("the bincode client path statically imports no protobuf code", () => {
  const entry = fileURLToPath(new URL("../../src/client/ipc_connection.ts", import.meta.url));
  const r = spawnSync("deno", ["info", "--json", entry], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { roots: string[]; modules: InfoModule[] };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpec.get(s)?.dependencies ?? []) {
      if (d.isDynamic || d.code?.specifier === undefined) continue;
      stack.push(d.code.specifier);
    }
  }
  const heavy = [...seen].filter((s) =>
    /\/core\/(prost|frame_v1|wire)\.ts$|\/core\/gen\/|@bufbuild\/protobuf|\/client\/broker\.ts$/
      .test(s)
  );
  assert.deepEqual(heavy, []);
  assert.ok([...seen].some((s) => s.endsWith("/core/compile_codec.ts")));
}, { ignore: runtime !== "deno" });
