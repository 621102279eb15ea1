/** Helpers for transport tests: temp dirs and a child process holding a socket. */

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { runtime } from "../_harness.ts";

/** A fresh temp dir (short path, so socket paths stay under 100 bytes). */
export async function tempDir(prefix = "zcts-"): Promise<string> {
  return await fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

const CHILD = new URL("./_fixtures/listen_child.ts", import.meta.url).pathname;

/** Start the listening child; resolves once it printed "ready". */
export function startListenChild(
  socketPath: string,
  backlog: number,
  mode: "exit" | "stay",
): Promise<ChildProcess> {
  const args = runtime === "deno"
    ? ["run", "-A", CHILD, socketPath, String(backlog), mode]
    : [CHILD, socketPath, String(backlog), mode];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (out.includes("ready")) resolve(child);
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (!out.includes("ready")) reject(new Error(`listen child exited with ${code}`));
    });
  });
}

/** Wait for a child to exit. */
export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Leave a stale socket file (a listener that exited without closing) at `socketPath`. */
export async function makeStaleSocket(socketPath: string): Promise<void> {
  const child = await startListenChild(socketPath, 16, "exit");
  await waitExit(child);
}
