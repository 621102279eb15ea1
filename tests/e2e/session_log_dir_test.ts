/**
 * Issue 12: a `SessionStart` whose log or journal is in a missing directory
 * is refused by the daemon at once (an `Error` reply), and no directory is
 * ever created for it; an existing directory works as before.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "../_harness.ts";
import { encodeBincodeFrame } from "../../src/core/bincode.ts";
import type { Request, Response } from "../../src/core/messages.ts";
import { RawClient, startDaemon, tempDir } from "../daemon/server_helpers.ts";

async function call(c: RawClient, req: Request): Promise<Response> {
  await c.send(encodeBincodeFrame("request", req));
  return (await c.recv(30_000)).message;
}

function start(work: string, logFile: string | null, journalPath: string | null): Request {
  return {
    kind: "SessionStart",
    clientPid: process.pid,
    workingDir: work,
    logFile,
    trackStats: false,
    journalPath,
    profile: false,
    privateDaemon: null,
  };
}

test("SessionStart: a log or journal in a missing directory is an error at start", async () => {
  const d = await startDaemon({ engine: false });
  const work = tempDir("zcsl-");
  try {
    const c = await RawClient.connect(d.endpoint);
    const log = await call(c, start(work, join(work, "no", "s.log"), null));
    assert.equal(log.kind, "Error");
    if (log.kind === "Error") {
      assert.equal(log.message, `session log directory ${join(work, "no")} does not exist`);
    }
    const journal = await call(c, start(work, null, join(work, "gone", "j.jsonl")));
    assert.equal(journal.kind, "Error");
    assert.equal(existsSync(join(work, "no")) || existsSync(join(work, "gone")), false);
    const ok = await call(c, start(work, join(work, "s.log"), join(work, "j.jsonl")));
    assert.equal(ok.kind, "SessionStarted");
    c.close();
  } finally {
    await d.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
