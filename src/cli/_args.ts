/**
 * A small clap-like option parser for the tool subcommands (`fp`, `exec`,
 * `release-handles`, `cache-root`): `--name VALUE`, `--name=VALUE`, repeatable
 * options, boolean flags (`--flag`, `--flag=true|false`), `--help`/`-h`, and
 * positionals. An unknown option or a missing value is a usage error.
 *
 * @module
 */

/** How one option is read. */
export type OptionKind = "value" | "list" | "flag";

/** The parsed options of one command line. */
export interface ParsedOptions {
  values: Map<string, string>;
  lists: Map<string, string[]>;
  flags: Map<string, boolean>;
  positionals: string[];
  help: boolean;
  /** Arguments after a bare `--` (null without one). */
  rest: string[] | null;
}

/** A usage error: one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parse `argv` against `spec` (option name without `--` -> kind). Stops at
 * `--` (the rest is returned as is) or, when `stopAtPositional`, at the first
 * positional (returned with everything after it as positionals).
 */
export function parseOptions(
  argv: readonly string[],
  spec: Readonly<Record<string, OptionKind>>,
  stopAtPositional = false,
): ParsedOptions {
  const out: ParsedOptions = {
    values: new Map(),
    lists: new Map(),
    flags: new Map(),
    positionals: [],
    help: false,
    rest: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.rest = argv.slice(i + 1);
      break;
    }
    if (a === "--help" || a === "-h") {
      out.help = true;
      continue;
    }
    if (!a.startsWith("--") || a === "-") {
      if (a.startsWith("-") && a !== "-") throw new UsageError(`unexpected argument '${a}'`);
      out.positionals.push(a);
      if (stopAtPositional) {
        out.positionals.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unexpected argument '--${name}'`);
    if (kind === "flag") {
      const v = eq < 0 ? "true" : a.slice(eq + 1);
      if (v !== "true" && v !== "false") {
        throw new UsageError(`invalid value '${v}' for '--${name}': expected true or false`);
      }
      out.flags.set(name, v === "true");
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`a value is required for '--${name}'`);
      value = argv[++i];
    }
    if (kind === "value") {
      if (out.values.has(name)) throw new UsageError(`'--${name}' cannot be used multiple times`);
      out.values.set(name, value);
    } else {
      const list = out.lists.get(name) ?? [];
      list.push(value);
      out.lists.set(name, list);
    }
  }
  return out;
}
