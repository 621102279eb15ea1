/**
 * Runs the transport contract over REAL Unix sockets for every adapter this
 * runtime offers (deno + node under Deno, bun + node under Bun), and over
 * the in-memory transport.
 */

import * as path from "node:path";
import process from "node:process";
import type { Conn } from "../../src/transport/types.ts";
import { MemoryTransport } from "../../src/transport/memory.ts";
import { availableTransports } from "../../src/transport/select.ts";
import { runtime } from "../_harness.ts";
import { connContract } from "./_contract.ts";
import { makeStaleSocket, startListenChild, tempDir, waitExit } from "./_helpers.ts";
import type { Transport } from "../../src/transport/types.ts";

let dir: string | null = null;
let counter = 0;
async function socketPath(): Promise<string> {
  dir ??= await tempDir();
  return path.join(dir, `s${counter++}.sock`);
}

function busyListener(transport: Transport) {
  return async (p: string): Promise<() => Promise<void>> => {
    // A listener with backlog 1 in a stopped process: the kernel queue fills
    // up and further connects get EAGAIN.
    const child = await startListenChild(p, 1, "stay");
    child.kill("SIGSTOP");
    const held: Conn[] = [];
    for (let i = 0; i < 16; i++) {
      try {
        held.push(await transport.connect(p));
      } catch {
        break; // backlog full
      }
    }
    return async () => {
      for (const c of held) await c.close();
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await waitExit(child);
    };
  };
}

const unix = process.platform !== "win32";
if (unix) {
  for (const transport of availableTransports()) {
    connContract({
      label: `${transport.name} (${runtime})`,
      transport,
      newPath: socketPath,
      makeStale: makeStaleSocket,
      socketFiles: true,
      makeBusy: runtime === "bun"
        ? "Bun reports a full Unix accept backlog (EAGAIN) as ECONNREFUSED, so a busy " +
          "endpoint cannot be told from a dead one"
        : busyListener(transport),
    });
  }
}

const memory = new MemoryTransport();
let memCounter = 0;
connContract({
  label: `memory (${runtime})`,
  transport: memory,
  newPath: () => Promise.resolve(`/memory/ep${memCounter++}`),
  socketFiles: false,
  makeStale: async (p) => {
    const l = await memory.listen(p);
    await l.close();
  },
  makeBusy: async (p) => {
    const l = await memory.listen(p);
    memory.busy.add(p);
    return async () => {
      memory.busy.delete(p);
      await l.close();
    };
  },
});
