/**
 * Transport layer: endpoint discovery (zccache 1.12.2 rules), the
 * `Conn`/`Listener`/`Transport` contract and one adapter per runtime.
 *
 * ```ts
 * import { defaultTransport, resolveEndpoint } from "./mod.ts";
 * const endpoint = resolveEndpoint();
 * const transport = defaultTransport();
 * // const conn = await transport.connect(endpoint, { timeoutMs: 500 });
 * ```
 *
 * Deno permissions: a Unix socket needs `--allow-net=unix:<exact socket
 * path>` plus `--allow-read` and `--allow-write` for that path (Deno >= 2.9;
 * a directory grant does not cover the sockets inside it).
 *
 * @module
 */

export type { Conn, ConnectOptions, Listener, Transport } from "./types.ts";
export {
  cacheDirOverride,
  daemonNamespace,
  daemonNamespaceLabel,
  daemonSocketName,
  DEFAULT_DAEMON_NAMESPACE,
  defaultEndpoint,
  DEV_DAEMON_NAMESPACE,
  endpointForCacheDir,
  endpointForPrivateDaemonName,
  endpointFromEnv,
  type EndpointOptions,
  type EnvLike,
  fnvShortHash,
  homeDir,
  identityFileName,
  identityFilePath,
  isPipeEndpoint,
  isWindows,
  lockFileName,
  lockFilePath,
  MAX_PORTABLE_UNIX_SOCKET_PATH_BYTES,
  normalizeForKey,
  PIPE_PREFIX,
  pipeName,
  type Platform,
  resolveCacheDir,
  type RunningProcessEndpoint,
  runningProcessEndpoint,
  sanitizeDaemonNamespace,
  sanitizeIpcComponent,
  socketDirectory,
  socketName,
  stablePathId,
} from "./endpoint.ts";
export { type DiscoveredPaths, discoverPaths, resolveEndpoint } from "./discover.ts";
export {
  connectTimeoutError,
  dialWithTimeout,
  isBusyError,
  isUnreachableError,
  osErrorCode,
  toTransportError,
  type TransportOp,
} from "./errors.ts";
export {
  ensurePrivateDir,
  type EnsurePrivateDirOptions,
  type EnsurePrivateDirResult,
  removeStaleSocket,
} from "./fs_perms.ts";
export {
  availableTransports,
  currentRuntime,
  defaultTransport,
  TRANSPORT_NAMES,
  transportByName,
  type TransportName,
} from "./select.ts";
export { createNodeTransport, NodeConn, NodeListener, nodeTransport } from "./node.ts";
export { DenoConn, DenoListener, denoTransport } from "./deno.ts";
export { BunConn, BunListener, bunTransport, createBunTransport } from "./bun.ts";
export { MemoryConn, MemoryListener, memoryPair, MemoryTransport } from "./memory.ts";
