/**
 * The lean core of the daemon client: one bincode v15 request/response on a
 * fresh {@link IpcConnection}, and THE test for "the daemon rejected our wire
 * version". Both the wrapper's compile send and every other daemon request
 * (`control.ts` `daemonRequest`) go through here, so connect, endpoint
 * verification, the broker lane, receive timeouts and the mismatch
 * heuristic are the same everywhere.
 *
 * Only `bincode.ts` is loaded statically (the wrapper's hot path imports
 * this module; `tests/cli/hot_path_imports_test.ts` checks it).
 *
 * @module
 */
import type { Request, Response } from "../core/messages.ts";
import { isWireMismatchMessage } from "../core/wire_env.ts";
import { IpcConnection } from "./ipc_connection.ts";
import type { ControlOptions } from "./types.ts";

/** Options of {@link bincodeRoundtrip} (the wire is always bincode here). */
export type RoundtripOptions = Omit<ControlOptions, "wire">;

/**
 * Send `request` as one bincode v15 frame on a NEW connection and receive
 * the bincode reply (`null`: the daemon closed without replying). Connect
 * failures throw "DaemonUnreachable" / "Timeout" / "Endpoint"; a reply on
 * another wire version throws "VersionMismatch"; a late reply "Timeout".
 *
 * @example
 * ```ts ignore
 * const reply = await bincodeRoundtrip("/tmp/zccache-alice/sock", { kind: "Ping" });
 * ```
 */
export async function bincodeRoundtrip(
  endpoint: string,
  request: Request,
  options: RoundtripOptions = {},
): Promise<Response | null> {
  const conn = await IpcConnection.connect(endpoint, {
    ...(options.transport !== undefined ? { transport: options.transport } : {}),
    ...(options.connectTimeoutMs !== undefined ? { timeoutMs: options.connectTimeoutMs } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  try {
    await conn.send(request);
    return await conn.recv(options.timeoutMs);
  } finally {
    await conn.close().catch(() => {});
  }
}

/**
 * True when a daemon's reply says it rejected our frame for its wire
 * version: an `Error` whose text passes zccache's
 * `control_wire_mismatch_message` ({@link isWireMismatchMessage}). The one
 * heuristic of the client: the control fallback and the wrapper's
 * replace-the-daemon decision both use it.
 *
 * @example
 * ```ts
 * import { isDaemonVersionRejection } from "./roundtrip.ts";
 * const r = isDaemonVersionRejection({ kind: "Error", message: "protocol version mismatch" });
 * if (!r) throw new Error();
 * ```
 */
export function isDaemonVersionRejection(
  resp: Response,
): resp is Extract<Response, { kind: "Error" }> {
  return resp.kind === "Error" && isWireMismatchMessage(resp.message);
}
