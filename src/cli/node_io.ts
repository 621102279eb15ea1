/**
 * The real {@link CliIo}, built on `node:process` (works in Deno, Bun and Node).
 *
 * @module
 */
import process from "node:process";
import type { CliIo } from "./io.ts";

function writer(stream: NodeJS.WriteStream): (data: Uint8Array | string) => Promise<void> {
  return (data) =>
    new Promise((resolve, reject) => {
      stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
}

async function readAll(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** The process's own stdio, environment and cwd. */
export function nodeIo(): CliIo {
  return {
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    readStdin: readAll,
    env: process.env as Record<string, string>,
    cwd: process.cwd(),
  };
}
