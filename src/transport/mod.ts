/**
 * Transport layer: endpoint discovery (zccache 1.12.2 rules), the
 * `Conn`/`Listener`/`Transport` contract and one adapter per runtime
 * (`node:net`, Deno, Bun, and an in-memory one for tests).
 *
 * Deno permissions: a Unix socket needs `--allow-net=unix:<exact socket
 * path>` plus `--allow-read` and `--allow-write` for that path (Deno >= 2.9;
 * a directory grant does not cover the sockets inside it).
 *
 * @example Where the daemon listens, and the transport for this runtime
 * ```ts
 * import { defaultTransport, endpointForCacheDir, resolveEndpoint } from "./mod.ts";
 *
 * const endpoint = resolveEndpoint(); // ZCCACHE_ENDPOINT, else the 1.12.2 default
 * const transport = defaultTransport(); // "deno" under Deno, "bun" under Bun
 * if (typeof endpoint !== "string" || transport.name === "") throw new Error();
 * // const conn = await transport.connect(endpoint, { timeoutMs: 500 });
 *
 * // A daemon bound to a cache directory listens beside it.
 * if (endpointForCacheDir("/srv/cache", null, "linux") !== "/srv/cache/daemon.sock") throw new Error();
 * ```
 *
 * @example Two ends of an in-memory connection
 * ```ts
 * import { MemoryTransport } from "./mod.ts";
 *
 * const t = new MemoryTransport();
 * const listener = await t.listen("/x.sock");
 * const client = await t.connect("/x.sock");
 * const server = (await listener.accept())!;
 * await client.write(new Uint8Array([7]));
 * if ((await server.read())?.[0] !== 7) throw new Error();
 * await client.close();
 * await server.close();
 * await listener.close();
 * ```
 *
 * @module
 */

export type { Conn, ConnectOptions, Listener, Transport } from "./types.ts";
export {
  cacheDirOverride,
  daemonNamespace,
  DEFAULT_DAEMON_NAMESPACE,
  defaultEndpoint,
  DEV_DAEMON_NAMESPACE,
  endpointForCacheDir,
  endpointForPrivateDaemonName,
  endpointFromEnv,
  type EndpointOptions,
  type EnvLike,
  identityFilePath,
  isPipeEndpoint,
  lockFilePath,
  type Platform,
  resolveCacheDir,
  type RunningProcessEndpoint,
  runningProcessEndpoint,
  stablePathId,
} from "./endpoint.ts";
export { type DiscoveredPaths, discoverPaths, resolveEndpoint } from "./discover.ts";
export { isBusyError, isUnreachableError } from "./errors.ts";
export {
  availableTransports,
  currentRuntime,
  defaultTransport,
  TRANSPORT_NAMES,
  transportByName,
  type TransportName,
} from "./select.ts";
export { createNodeTransport, nodeTransport, type NodeTransportOptions } from "./node.ts";
export { denoTransport } from "./deno.ts";
export { bunTransport, type BunTransportOptions, createBunTransport } from "./bun.ts";
export { MemoryTransport } from "./memory.ts";
