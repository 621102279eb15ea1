/**
 * Hit-path cost of zstd-compressed artifacts: `LocalArtifactStore.get()`
 * (read, decompress, SHA-256 check) of one object, raw vs zstd level 3,
 * and the cost of `put()` (compress). Usage:
 * `deno run -A bench/artifact_compression.ts big.o` or `bun bench/artifact_compression.ts big.o`.
 */
import process from "node:process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalArtifactStore } from "../src/daemon/cache/artifact_store.ts";
const obj = new Uint8Array(readFileSync(process.argv[2]));
const d = mkdtempSync(join(tmpdir(), "zb-"));
const z = new LocalArtifactStore(join(d, "z"), join(d, "t"));
const r = new LocalArtifactStore(join(d, "r"), join(d, "t"), { enabled: false });
const hz = await z.put(obj);
await r.put(obj);
const { statSync, readdirSync } = await import("node:fs");
const zf = join(d, "z", hz.slice(0, 2), readdirSync(join(d, "z", hz.slice(0, 2)))[0]);
for (const [name, s] of [["raw", r], ["zstd", z]] as const) {
  for (let i = 0; i < 50; i++) await s.get(hz);
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await s.get(hz);
  console.log(name, ((performance.now() - t0) / n).toFixed(3), "ms/get");
}
console.log(
  "size",
  obj.length,
  "->",
  statSync(zf).size,
  "ratio",
  (obj.length / statSync(zf).size).toFixed(2),
);
const t0 = performance.now();
for (let i = 0; i < 50; i++) await z.remove(hz), await z.put(obj);
console.log("put zstd", ((performance.now() - t0) / 50).toFixed(3), "ms");
