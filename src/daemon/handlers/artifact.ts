/**
 * Direct artifact access: `Lookup{cache_key}` and `Store{cache_key, artifact}`,
 * answered through the compile engine's `lookup`/`store`. (zccache 1.12.2
 * stubs both: Lookup always `Miss`, Store always `Stored`; here they reach
 * the real store. Without an engine, they answer like zccache's stubs.)
 *
 * @module
 */
import type { RequestOf } from "../../core/messages.ts";
import type { HandlerContext, HandlerResult } from "./context.ts";

/** `Lookup` -> `LookupResult(Hit|Miss)`. */
export async function handleLookup(
  ctx: HandlerContext,
  req: RequestOf<"Lookup">,
): Promise<HandlerResult> {
  if (ctx.engine === null) return { response: { kind: "LookupResult", value: { kind: "Miss" } } };
  try {
    const artifact = await ctx.engine.lookup(req.cacheKey);
    return {
      response: {
        kind: "LookupResult",
        value: artifact === null ? { kind: "Miss" } : { kind: "Hit", artifact },
      },
    };
  } catch (err) {
    ctx.log.error("lookup", err);
    return { response: { kind: "Error", message: `lookup failed: ${messageOf(err)}` } };
  }
}

/** `Store` -> `StoreResult(Stored|AlreadyExists)`. */
export async function handleStore(
  ctx: HandlerContext,
  req: RequestOf<"Store">,
): Promise<HandlerResult> {
  if (ctx.engine === null) return { response: { kind: "StoreResult", value: "Stored" } };
  try {
    return {
      response: {
        kind: "StoreResult",
        value: await ctx.engine.store(req.cacheKey, req.artifact),
      },
    };
  } catch (err) {
    ctx.log.error("store", err);
    return { response: { kind: "Error", message: `store failed: ${messageOf(err)}` } };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `ListRustArtifacts` -> `RustArtifactList` (the index entries with Rust outputs). */
export async function handleListRustArtifacts(ctx: HandlerContext): Promise<HandlerResult> {
  const artifacts = (await ctx.engine?.rustArtifacts?.()) ?? [];
  return { response: { kind: "RustArtifactList", artifacts } };
}
