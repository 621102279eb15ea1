/**
 * Child process for transport tests: binds a `node:net` Unix socket with a
 * given backlog, prints "ready", then either exits without closing (leaving
 * a stale socket file) or stays until killed.
 *
 * Usage: <runtime> listen_child.ts <path> <backlog> <exit|stay>
 */
import * as net from "node:net";
import process from "node:process";

const [path, backlog, mode] = process.argv.slice(-3);
const server = net.createServer(() => {});
server.listen({ path, backlog: Number(backlog) }, () => {
  process.stdout.write("ready\n", () => {
    if (mode === "exit") process.exit(0);
  });
});
