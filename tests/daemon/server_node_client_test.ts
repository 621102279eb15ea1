/**
 * The daemon as a real process, reached from a Node.js client: the public
 * client library (`src/client/mod.ts`) is bundled for Node with
 * `bun build --target=node` and run by `node` itself, which sends Ping,
 * Status (auto wire: prost first) and Clear (forced bincode) over the real
 * Unix socket and prints what came back.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "../_harness.ts";
import { startDaemon, tempDir } from "./server_helpers.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

test(
  "a Node.js client (bundled client library) talks to the daemon on all control paths",
  async () => {
    const work = tempDir("zcnode-");
    const bundle = join(work, "client.mjs");
    const built = spawnSync(
      "bun",
      [
        "build",
        "--target=node",
        "--format=esm",
        join(REPO, "src/client/mod.ts"),
        "--outfile",
        bundle,
      ],
      { encoding: "utf8", cwd: REPO },
    );
    assert.equal(built.status, 0, built.stderr);
    const script = join(work, "main.mjs");
    writeFileSync(
      script,
      `import { daemonControlRoundtrip } from "./client.mjs";
const endpoint = process.argv[2];
const out = {};
const ping = await daemonControlRoundtrip(endpoint, { kind: "Ping" }, { env: {} });
out.ping = ping?.kind;
const status = await daemonControlRoundtrip(endpoint, { kind: "Status" }, { env: {} });
out.version = status?.kind === "Status" ? status.value.version : null;
out.endpoint = status?.kind === "Status" ? status.value.endpoint : null;
const clear = await daemonControlRoundtrip(endpoint, { kind: "Clear" }, {
  env: { ZCCACHE_DAEMON_WIRE: "bincode" },
});
out.clear = clear?.kind;
out.removed = clear?.kind === "Cleared" ? String(clear.artifactsRemoved) : null;
console.log(JSON.stringify(out));
`,
    );
    const d = await startDaemon();
    try {
      const r = spawnSync("node", [script, d.endpoint], { encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim());
      assert.deepEqual(got, {
        ping: "Pong",
        version: "1.12.2",
        endpoint: d.endpoint,
        clear: "Cleared",
        removed: "0",
      });
    } finally {
      await d.dispose();
    }
  },
  { ignore: !have("node") || !have("bun"), timeout: 60_000 },
);
