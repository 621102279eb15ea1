/**
 * `main(argv, io)`: the whole CLI as a function returning an exit code.
 *
 * @module
 */
import type { CliIo } from "./io.ts";

/** Run the CLI on an explicit argv (without the executable name). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "wire") {
    const { wireCommand } = await import("./wire.ts");
    return await wireCommand(rest, io);
  }
  await io.stderr(`zccache: unknown command ${JSON.stringify(first ?? "")}\n`);
  return 2;
}
