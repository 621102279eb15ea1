/**
 * Requests this daemon does not serve yet (`GenericToolExec`): a clear `Error` naming the
 * request, never a hang or a crash. The connection stays open.
 *
 * @module
 */
import type { RequestKind } from "../../core/messages.ts";
import type { HandlerResult } from "./context.ts";

/** The message for an unsupported request kind. */
export function unsupportedMessage(kind: RequestKind): string {
  return `unsupported request: ${kind} is not implemented by this daemon (zccache-ts serves ` +
    `Ping, Status, Shutdown, Clear, Lookup, Store, SessionStart, Compile, SessionEnd, ` +
    `SessionStats, CompileEphemeral, LinkEphemeral, Fingerprint*, ListRustArtifacts and ` +
    `ReleaseWorktreeHandles)`;
}

/** Answer an unsupported request. */
export function handleUnsupported(kind: RequestKind): HandlerResult {
  return { response: { kind: "Error", message: unsupportedMessage(kind) } };
}
