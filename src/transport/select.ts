/**
 * THE one place the runtime and its transport adapter are picked.
 *
 * | Runtime          | Transport                                        |
 * |------------------|--------------------------------------------------|
 * | Bun (Unix)       | `bun.ts` (`Bun.connect`/`Bun.listen`, 18 µs rtt)  |
 * | Deno on Unix     | `deno.ts` (`Deno.connect`/`Deno.listen`)          |
 * | any on Windows   | `node.ts` (`node:net` named pipes; Deno >= 2.8)   |
 * | anything else    | `node.ts`                                         |
 *
 * `ZCCACHE_TRANSPORT=node|deno|bun` overrides the choice (tests and
 * benchmarks); naming a runtime we are not running on is an "Endpoint" error.
 *
 * @module
 */

import process from "node:process";
import { ZccacheError } from "../core/errors.ts";
import { bunTransport } from "./bun.ts";
import { denoTransport } from "./deno.ts";
import { nodeTransport } from "./node.ts";
import type { EnvLike } from "./endpoint.ts";
import type { Transport } from "./types.ts";

/** Names accepted by `ZCCACHE_TRANSPORT`. */
export const TRANSPORT_NAMES = ["node", "deno", "bun"] as const;
/** One of {@link TRANSPORT_NAMES}. */
export type TransportName = typeof TRANSPORT_NAMES[number];

/** The JavaScript runtime we are running on. */
export function currentRuntime(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}

/** Transports that work in this runtime on this OS (for tests and benchmarks). */
export function availableTransports(): Transport[] {
  const rt = currentRuntime();
  const out: Transport[] = [];
  if (process.platform !== "win32") {
    if (rt === "deno") out.push(denoTransport);
    if (rt === "bun") out.push(bunTransport);
  }
  out.push(nodeTransport);
  return out;
}

/**
 * The transport for a name, checked against the running runtime.
 *
 * @example
 * ```ts
 * import { transportByName } from "./select.ts";
 * transportByName("node").name; // "node"
 * ```
 */
export function transportByName(name: string): Transport {
  const rt = currentRuntime();
  switch (name) {
    case "node":
      return nodeTransport;
    case "deno":
      if (rt !== "deno") break;
      return denoTransport;
    case "bun":
      if (rt !== "bun") break;
      return bunTransport;
    default:
      throw new ZccacheError(
        "Endpoint",
        `Invalid ZCCACHE_TRANSPORT value ${JSON.stringify(name)}: expected node, deno or bun`,
      );
  }
  throw new ZccacheError(
    "Endpoint",
    `Cannot use ZCCACHE_TRANSPORT=${name}: running under ${rt}`,
  );
}

function readOverride(env: EnvLike | undefined): string | undefined {
  try {
    const v = (env ?? process.env)["ZCCACHE_TRANSPORT"];
    return v === undefined || v === "" ? undefined : v;
  } catch {
    return undefined; // Deno without --allow-env
  }
}

let chosen: Transport | null = null;

/**
 * The transport for this process: `ZCCACHE_TRANSPORT` if set, else Bun ->
 * Bun native, Deno on Unix -> Deno native, Windows -> `node:net` pipes,
 * otherwise `node:net`. The default choice is cached; an override is read
 * on every call, from `env` (default: `process.env`).
 *
 * @example
 * ```ts
 * import { defaultTransport } from "./select.ts";
 * const t = defaultTransport(); // e.g. "deno" under Deno on Linux
 * ```
 */
export function defaultTransport(env?: EnvLike): Transport {
  const override = readOverride(env);
  if (override !== undefined) return transportByName(override);
  if (chosen) return chosen;
  const rt = currentRuntime();
  if (process.platform === "win32") chosen = nodeTransport;
  else if (rt === "bun") chosen = bunTransport;
  else if (rt === "deno") chosen = denoTransport;
  else chosen = nodeTransport;
  return chosen;
}
