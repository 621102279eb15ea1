/**
 * zccache-ts: a compiler cache for Deno and Bun that speaks the daemon wire of
 * zccache 1.12.2 byte for byte.
 *
 * This entry re-exports the pieces a build script needs: the wire core
 * (frames, v15 bincode, v16 prost, the FrameV1 lane), the client
 * (`IpcConnection`, `daemonControlRoundtrip`) and endpoint discovery. Subpaths
 * `./core`, `./client` and `./transport` export the full sets.
 *
 * @example Ask a running daemon for its status (any zccache 1.12.2 daemon, or ours)
 * ```ts ignore
 * import { daemonControlRoundtrip, resolveEndpoint } from "./mod.ts";
 *
 * const reply = await daemonControlRoundtrip(resolveEndpoint(), { kind: "Status" });
 * if (reply?.kind === "Status") console.log(reply.value.cacheHits);
 * ```
 *
 * @example Encode and decode a frame without any I/O
 * ```ts
 * import { decodeWireMessage, encodeBincodeFrame } from "./mod.ts";
 *
 * const frame = encodeBincodeFrame("request", { kind: "Ping" });
 * const decoded = decodeWireMessage(frame, "request");
 * if (decoded?.lane !== "bincode" || decoded.message.kind !== "Ping") throw new Error();
 * ```
 *
 * @module
 */

export * from "./src/core/mod.ts";
export {
  daemonControlRoundtrip,
  IpcConnection,
  type IpcConnectOptions,
  releaseWorktreeHandles,
} from "./src/client/mod.ts";
export { resolveEndpoint } from "./src/transport/discover.ts";
export type { Conn, Listener, Transport } from "./src/transport/types.ts";
