/**
 * The committed `src/core/gen/*_pb.ts` are exactly what `deno task gen:proto`
 * produces from `proto/*.proto` (buf 1.75.0 via npx + protoc-gen-es 2.17.0):
 * regenerate into a temporary directory and compare file by file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "../_harness.ts";
import { BUF_PACKAGE, generateProto, REPO_ROOT } from "../../scripts/gen_proto.ts";

// buf comes from the npm registry through npx: without npx (or without the
// registry and an empty npx cache) the regeneration cannot run at all.
const probe = spawnSync("npx", ["-y", BUF_PACKAGE, "--version"], {
  cwd: REPO_ROOT,
  encoding: "utf8",
});
const bufMissing = probe.status !== 0;
if (bufMissing) {
  console.warn(
    `proto_gen_test: skipped, \`npx -y ${BUF_PACKAGE} --version\` failed: ${
      (probe.stderr ?? String(probe.error)).trim().split("\n").pop()
    }`,
  );
}

test("gen:proto regenerates src/core/gen byte for byte", () => {
  const out = mkdtempSync(join(tmpdir(), "zccache-gen-"));
  try {
    const r = generateProto(out);
    assert.ok(r.ok, `buf generate failed: ${r.stderr}`);
    const committedDir = join(REPO_ROOT, "src/core/gen");
    const freshDir = join(out, "src/core/gen");
    const committed = readdirSync(committedDir).sort();
    const fresh = readdirSync(freshDir).sort();
    assert.deepEqual(fresh, committed);
    assert.ok(committed.includes("zccache_v1_pb.ts"));
    assert.ok(committed.includes("running_process_broker_v1_pb.ts"));
    for (const name of committed) {
      assert.equal(
        readFileSync(join(freshDir, name), "utf8"),
        readFileSync(join(committedDir, name), "utf8"),
        `${name} differs from a fresh generation: run \`deno task gen:proto\``,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, { ignore: bufMissing, timeout: 120_000 });
