/**
 * The codecs a short-lived process or a daemon start should not pay for
 * until a frame needs them, loaded once each by dynamic `import()`: the
 * schema-driven bincode codec (a compile round trip uses `compile_codec.ts`),
 * the prost and FrameV1 lanes and the dual dispatcher (protobuf descriptors,
 * ~10-20 ms to evaluate). Used by the client (`IpcConnection`) and the
 * daemon (`connection.ts`) alike.
 *
 * @module
 */

type ProstModule = typeof import("./prost.ts");
type FrameV1Module = typeof import("./frame_v1.ts");
type WireModule = typeof import("./wire.ts");
type BincodeModule = typeof import("./bincode.ts");
let bincodeModule: Promise<BincodeModule> | undefined;
let prostModule: Promise<ProstModule> | undefined;
let frameV1Module: Promise<FrameV1Module> | undefined;
let wireModule: Promise<WireModule> | undefined;

/**
 * Load the schema-driven `bincode.ts` once. A compile round trip does not
 * need it (`compile_codec.ts` encodes the request and decodes the reply);
 * every other request and any unusual reply does.
 */
export function loadBincode(): Promise<BincodeModule> {
  return bincodeModule ??= import("./bincode.ts");
}

/** Load `prost.ts` once (dynamic, keeps the bincode path lean). */
export function loadProst(): Promise<ProstModule> {
  return prostModule ??= import("./prost.ts");
}
/** Load `frame_v1.ts` once. */
export function loadFrameV1(): Promise<FrameV1Module> {
  return frameV1Module ??= import("./frame_v1.ts");
}
/** Load `wire.ts` (the dual dispatcher) once. */
export function loadWire(): Promise<WireModule> {
  return wireModule ??= import("./wire.ts");
}
