/**
 * `main(argv, io)`: the whole CLI as a function returning an exit code.
 *
 * Routing is by hand first, so the compiler-wrapper hot path never loads the
 * CLI library, the protobuf schema or daemon code:
 * - `zccache <compiler> ...` (first argument is not a known subcommand and
 *   does not start with `-`), `zccache cc ...`, `zccache wrap [--] <compiler> ...`
 *   go straight to {@link wrapCommand};
 * - `zccache daemon ...` goes to the daemon entry, `zccache wire ...` to the
 *   wire inspector (both loaded lazily);
 * - everything else loads commander lazily (`./commands.ts`).
 *
 * Before any of that, the name the program was invoked as (argv[0]) picks
 * the role, as zccache's multicall binary and ccache's symlink mode do:
 * `zccache-daemon` runs the daemon; a compiler name (`gcc`, `cc`, `g++`,
 * `c++`, `clang`, `clang++`, with a target prefix or version suffix such
 * as `x86_64-linux-gnu-gcc-12`) is **masquerade mode**: a symlink of that
 * name to the binary, first in `PATH`, wraps the real compiler found later
 * in `PATH` (the lookup skips this program's own executable).
 *
 * @module
 */
import type { CliIo } from "./io.ts";
import { wrapCommand } from "./wrap.ts";

/** Subcommand names that are never taken for a compiler. */
export const SUBCOMMANDS: ReadonlySet<string> = new Set([
  "start",
  "stop",
  "kill",
  "status",
  "clear",
  "session-start",
  "session-end",
  "session-stats",
  "daemon",
  "daemon-run",
  "wire",
  "wrap",
  "cc",
  "help",
  "stats",
  "zero",
  "max-size",
  "evict",
  "config",
  "fp",
  "exec",
  "release-handles",
  "cache-root",
  "explain",
]);

/** Subcommands with their own parser, loaded lazily (name -> module runner). */
const TOOL_COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  fp: async (argv, io) => (await import("./fp.ts")).fpCommand(argv, io),
  exec: async (argv, io) => (await import("./exec.ts")).execCommand(argv, io),
  "release-handles": async (argv, io) =>
    (await import("./handles.ts")).releaseHandlesCommand(argv, io),
  "cache-root": async (argv, io) => (await import("./handles.ts")).cacheRootCommand(argv, io),
  explain: async (argv, io) => (await import("./explain.ts")).cmdExplain(argv, io),
};

/** A compiler name masquerade mode answers to (optional target prefix and version suffix). */
const MASQUERADE_NAME =
  /^(?:[A-Za-z0-9_.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(?:-\d+(?:\.\d+)*)?$/;

/**
 * The role the invoked name (argv[0], e.g. `process.argv0`) selects:
 * `"daemon"` for `zccache-daemon`, `"masquerade"` for a compiler name,
 * `"cli"` otherwise (`zccache`, `deno`, `bun`, anything else).
 *
 * @example
 * ```ts
 * import { invokedRole } from "./main.ts";
 * console.log(invokedRole("/home/me/bin/gcc")); // "masquerade"
 * console.log(invokedRole("zccache")); // "cli"
 * ```
 */
export function invokedRole(argv0: string): "cli" | "daemon" | "masquerade" {
  const name = (argv0.split(/[\\/]/).pop() ?? "").replace(/\.exe$/i, "");
  if (name === "zccache-daemon") return "daemon";
  return MASQUERADE_NAME.test(name) ? "masquerade" : "cli";
}

/** True when `main(argv)` takes the wrapper hot path. */
export function isWrapInvocation(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return false;
  if (first === "cc" || first === "wrap") return true;
  return !SUBCOMMANDS.has(first) && !first.startsWith("-");
}

/**
 * Run the CLI on an explicit argv (without the executable name). `argv0`,
 * the name the program was invoked as, selects the role ({@link invokedRole});
 * omitted, it is the CLI.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * import { nodeIo } from "./node_io.ts";
 * const code = await main(["gcc", "-c", "a.c", "-o", "a.o"], nodeIo());
 * ```
 */
export async function main(argv: string[], io: CliIo, argv0?: string): Promise<number> {
  const role = argv0 === undefined ? "cli" : invokedRole(argv0);
  if (role === "masquerade") {
    // `gcc -c a.c` through a symlink: the name is the compiler, every argument is its own.
    const name = (argv0!.split(/[\\/]/).pop() ?? "").replace(/\.exe$/i, "");
    return await wrapCommand([name, ...argv], io);
  }
  if (role === "daemon") {
    const { daemonMain } = await import("../daemon/main.ts");
    return await daemonMain(argv, io.env);
  }
  const [first, ...rest] = argv;
  if (first === "cc") return await wrapCommand(["cc", ...rest], io);
  if (first === "--" && rest.length > 0) return await wrapCommand(rest, io); // `zccache -- gcc ...`
  if (first === "wrap") {
    const tool = rest[0] === "--" ? rest.slice(1) : rest;
    if (tool.length === 0 || (tool[0].startsWith("-") && rest[0] !== "--")) {
      await io.stderr("zccache: usage: zccache wrap -- <compiler> [args...]\n");
      return 2;
    }
    return await wrapCommand(tool, io);
  }
  if (isWrapInvocation(argv)) return await wrapCommand(argv, io);
  if (first === "wire") {
    const { wireCommand } = await import("./wire.ts");
    return await wireCommand(rest, io);
  }
  if (first === "daemon" || first === "daemon-run") {
    const { daemonMain } = await import("../daemon/main.ts");
    return await daemonMain(rest, io.env);
  }
  const tool = Object.hasOwn(TOOL_COMMANDS, first) ? TOOL_COMMANDS[first] : undefined;
  if (tool !== undefined) return await tool(rest, io);
  if (first === "help" && rest[0] !== undefined && Object.hasOwn(TOOL_COMMANDS, rest[0])) {
    return await TOOL_COMMANDS[rest[0]](["--help"], io);
  }
  const { runCommands } = await import("./commands.ts");
  return await runCommands(argv, io);
}
