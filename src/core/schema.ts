/**
 * The zccache 1.12.2 message types, described once as data.
 *
 * Declaration order is byte order (bincode writes struct fields in order, no
 * names, no count); variant order is the bincode variant index. Field names
 * are the Rust snake_case names (the JSON `value` keys); the domain keys of
 * `messages.ts` are derived from them as camelCase. The bincode codec
 * (`bincode.ts`) and the vector JSON mapping (`json_value.ts`) are both
 * derived from these descriptors, and the type-level checks at the bottom of
 * this file prove that the descriptors describe exactly the `Request` and
 * `Response` types of `messages.ts`.
 *
 * Source: zccache@3eae627:crates/zccache/src/protocol/messages/
 * {mod.rs,artifact.rs,exec.rs,status.rs} (release 1.12.2).
 *
 * @module
 */
import type { Direction, Request, Response } from "./messages.ts";

/** Leaf types. `path` is a `NormalizedPath` (a string on the wire); `bytes32` is `[u8; 32]`. */
export type ScalarDesc = "u32" | "i32" | "u64" | "bool" | "string" | "path" | "bytes" | "bytes32";

/** `Option<T>`. */
export interface OptionDesc<T extends TypeDesc = TypeDesc> {
  readonly t: "option";
  readonly of: T;
}
/** `Vec<T>`. */
export interface VecDesc<T extends TypeDesc = TypeDesc> {
  readonly t: "vec";
  readonly of: T;
}
/** A tuple such as `(String, String)`. */
export interface TupleDesc<T extends readonly TypeDesc[] = readonly TypeDesc[]> {
  readonly t: "tuple";
  readonly of: T;
}
/** One struct field: `[snake_case_name, type]`. */
export type FieldDesc = readonly [name: string, type: TypeDesc];
/** A struct with named fields in declaration order. */
export interface StructDesc<F extends readonly FieldDesc[] = readonly FieldDesc[]> {
  readonly t: "struct";
  readonly name: string;
  readonly fields: F;
}
/** An enum whose variants are all unit variants (a string union in the domain). */
export interface UnitEnumDesc<V extends readonly string[] = readonly string[]> {
  readonly t: "units";
  readonly name: string;
  readonly variants: V;
}
/**
 * One variant of a tagged enum. `control` marks a top-level Request /
 * Response variant of zccache's prost *control slice* (`supported_control_*`
 * in wire_prost.rs): its value is the variant's position in zccache's
 * "only Ping, Status, ..." listings (1-based), so the error texts are
 * derived in zccache's order.
 */
export type VariantDesc =
  & (
    | { readonly name: string; readonly shape: "unit" }
    | { readonly name: string; readonly shape: "newtype"; readonly of: TypeDesc }
    | { readonly name: string; readonly shape: "struct"; readonly fields: readonly FieldDesc[] }
  )
  & { readonly control?: number };
/** An enum with data (a discriminated union on `kind` in the domain). */
export interface EnumDesc<V extends readonly VariantDesc[] = readonly VariantDesc[]> {
  readonly t: "enum";
  readonly name: string;
  readonly variants: V;
}
/** Any type descriptor. */
export type TypeDesc =
  | ScalarDesc
  | OptionDesc
  | VecDesc
  | TupleDesc
  | StructDesc
  | UnitEnumDesc
  | EnumDesc;

// ---------------------------------------------------------------------------
// Constructors (const generics keep the literal types for the checks below).

function option<const T extends TypeDesc>(of: T): OptionDesc<T> {
  return { t: "option", of };
}
function vec<const T extends TypeDesc>(of: T): VecDesc<T> {
  return { t: "vec", of };
}
function tuple<const T extends readonly TypeDesc[]>(...of: T): TupleDesc<T> {
  return { t: "tuple", of };
}
function struct<const F extends readonly FieldDesc[]>(name: string, fields: F): StructDesc<F> {
  return { t: "struct", name, fields };
}
function units<const V extends readonly string[]>(name: string, variants: V): UnitEnumDesc<V> {
  return { t: "units", name, variants };
}
function tagged<const V extends readonly VariantDesc[]>(name: string, variants: V): EnumDesc<V> {
  return { t: "enum", name, variants };
}
function unit<const N extends string>(name: N): { readonly name: N; readonly shape: "unit" } {
  return { name, shape: "unit" };
}
function newtype<const N extends string, const T extends TypeDesc>(
  name: N,
  of: T,
): { readonly name: N; readonly shape: "newtype"; readonly of: T } {
  return { name, shape: "newtype", of };
}
function fields<const N extends string, const F extends readonly FieldDesc[]>(
  name: N,
  f: F,
): { readonly name: N; readonly shape: "struct"; readonly fields: F } {
  return { name, shape: "struct", fields: f };
}

/** Mark a Request/Response variant as part of the prost control slice (see {@link VariantDesc}). */
function control<const V extends VariantDesc, const R extends number>(
  rank: R,
  v: V,
): V & { readonly control: R } {
  return { ...v, control: rank };
}

// ---------------------------------------------------------------------------
// The schema at 1.12.2.

const ENV_PAIR = tuple("string", "string");
const ENV = vec(ENV_PAIR);

/** `PrivateDaemonSessionOptions` (messages/mod.rs). */
export const PrivateDaemonSessionOptionsSchema = struct("PrivateDaemonSessionOptions", [
  ["daemon_name", option("string")],
  ["endpoint", option("string")],
  ["cache_dir", option("path")],
  ["owner_pids", vec("u32")],
  ["env", ENV],
]);

/** `ArtifactPayload` (artifact.rs): 0 `Bytes(Vec<u8>)`, 1 `Path(NormalizedPath)`. */
export const ArtifactPayloadSchema = tagged("ArtifactPayload", [
  newtype("Bytes", "bytes"),
  newtype("Path", "path"),
]);

/** `ArtifactOutput` (artifact.rs). */
export const ArtifactOutputSchema = struct("ArtifactOutput", [
  ["name", "string"],
  ["payload", ArtifactPayloadSchema],
]);

/** `ArtifactData` (artifact.rs). */
export const ArtifactDataSchema = struct("ArtifactData", [
  ["outputs", vec(ArtifactOutputSchema)],
  ["stdout", "bytes"],
  ["stderr", "bytes"],
  ["exit_code", "i32"],
]);

/** `LookupResult`: 0 `Hit { artifact }`, 1 `Miss`. */
export const LookupResultSchema = tagged("LookupResult", [
  fields("Hit", [["artifact", ArtifactDataSchema]]),
  unit("Miss"),
]);

/** `StoreResult`: 0 `Stored`, 1 `AlreadyExists`. */
export const StoreResultSchema = units("StoreResult", ["Stored", "AlreadyExists"]);

/** `ExecOutputStreams` (exec.rs). */
export const ExecOutputStreamsSchema = struct("ExecOutputStreams", [
  ["stdout", "bool"],
  ["stderr", "bool"],
]);

/** `ExecCachePolicy` (exec.rs): 0 `Normal`, 1 `Bypass`, 2 `ReadOnly`. */
export const ExecCachePolicySchema = units("ExecCachePolicy", ["Normal", "Bypass", "ReadOnly"]);

/** `RustArtifactInfo`. */
export const RustArtifactInfoSchema = struct("RustArtifactInfo", [
  ["cache_key", "string"],
  ["output_names", vec("string")],
  ["payload_count", "u64"],
]);

/** `PrivateDaemonOwnerStatus` (status.rs). */
export const PrivateDaemonOwnerStatusSchema = struct("PrivateDaemonOwnerStatus", [
  ["pid", "u32"],
  ["ref_count", "u64"],
]);

/** `PrivateDaemonStatus` (status.rs). */
export const PrivateDaemonStatusSchema = struct("PrivateDaemonStatus", [
  ["enabled", "bool"],
  ["owners", vec(PrivateDaemonOwnerStatusSchema)],
  ["private_env_keys", vec("string")],
]);

/** `DaemonStatus` (status.rs): 27 fields. */
export const DaemonStatusSchema = struct("DaemonStatus", [
  ["version", "string"],
  ["daemon_namespace", "string"],
  ["endpoint", "string"],
  ["private_daemon", PrivateDaemonStatusSchema],
  ["artifact_count", "u64"],
  ["cache_size_bytes", "u64"],
  ["metadata_entries", "u64"],
  ["uptime_secs", "u64"],
  ["cache_hits", "u64"],
  ["cache_misses", "u64"],
  ["total_compilations", "u64"],
  ["non_cacheable", "u64"],
  ["compile_errors", "u64"],
  ["compile_errors_cached", "u64"],
  ["time_saved_ms", "u64"],
  ["total_links", "u64"],
  ["link_hits", "u64"],
  ["link_misses", "u64"],
  ["link_non_cacheable", "u64"],
  ["dep_graph_contexts", "u64"],
  ["dep_graph_files", "u64"],
  ["sessions_total", "u64"],
  ["sessions_active", "u64"],
  ["cache_dir", "path"],
  ["dep_graph_version", "u32"],
  ["dep_graph_disk_size", "u64"],
  ["dep_graph_persisted", "bool"],
]);

/** `PhaseProfileSummary` at 1.12.2: 18 u64 (no `staged`). */
export const PhaseProfileSummarySchema = struct("PhaseProfileSummary", [
  ["hit_count", "u64"],
  ["miss_count", "u64"],
  ["parse_args_ns", "u64"],
  ["build_context_ns", "u64"],
  ["hash_source_ns", "u64"],
  ["hash_headers_ns", "u64"],
  ["depgraph_check_ns", "u64"],
  ["request_cache_lookup_ns", "u64"],
  ["cross_root_validate_ns", "u64"],
  ["artifact_lookup_ns", "u64"],
  ["write_output_ns", "u64"],
  ["bookkeeping_ns", "u64"],
  ["total_hit_ns", "u64"],
  ["compiler_exec_ns", "u64"],
  ["include_scan_ns", "u64"],
  ["hash_all_ns", "u64"],
  ["artifact_store_ns", "u64"],
  ["total_miss_ns", "u64"],
]);

/**
 * `SessionStats` at 1.12.2: 12 fields (no `lookup_outcomes`).
 * `#[serde(default)]` on `errors_cached` has no effect on bincode.
 */
export const SessionStatsSchema = struct("SessionStats", [
  ["duration_ms", "u64"],
  ["compilations", "u64"],
  ["hits", "u64"],
  ["misses", "u64"],
  ["non_cacheable", "u64"],
  ["errors", "u64"],
  ["errors_cached", "u64"],
  ["time_saved_ms", "u64"],
  ["unique_sources", "u64"],
  ["bytes_read", "u64"],
  ["bytes_written", "u64"],
  ["phase_profile", option(PhaseProfileSummarySchema)],
]);

/** `Request` at 1.12.2: 19 variants, index = position. */
export const RequestSchema = tagged("Request", [
  control(1, unit("Ping")),
  control(3, unit("Shutdown")),
  control(2, unit("Status")),
  fields("Lookup", [["cache_key", "string"]]),
  fields("Store", [["cache_key", "string"], ["artifact", ArtifactDataSchema]]),
  fields("SessionStart", [
    ["client_pid", "u32"],
    ["working_dir", "path"],
    ["log_file", option("path")],
    ["track_stats", "bool"],
    ["journal_path", option("path")],
    ["profile", "bool"],
    ["private_daemon", option(PrivateDaemonSessionOptionsSchema)],
  ]),
  fields("Compile", [
    ["session_id", "string"],
    ["args", vec("string")],
    ["cwd", "path"],
    ["compiler", "path"],
    ["env", option(ENV)],
    ["stdin", "bytes"],
  ]),
  fields("SessionEnd", [["session_id", "string"]]),
  control(4, unit("Clear")),
  fields("CompileEphemeral", [
    ["client_pid", "u32"],
    ["working_dir", "path"],
    ["compiler", "path"],
    ["args", vec("string")],
    ["cwd", "path"],
    ["env", option(ENV)],
    ["stdin", "bytes"],
  ]),
  fields("LinkEphemeral", [
    ["client_pid", "u32"],
    ["tool", "path"],
    ["args", vec("string")],
    ["cwd", "path"],
    ["env", option(ENV)],
  ]),
  fields("SessionStats", [["session_id", "string"]]),
  fields("FingerprintCheck", [
    ["cache_file", "path"],
    ["cache_type", "string"],
    ["root", "path"],
    ["extensions", vec("string")],
    ["include_globs", vec("string")],
    ["exclude", vec("string")],
  ]),
  fields("FingerprintMarkSuccess", [["cache_file", "path"]]),
  fields("FingerprintMarkFailure", [["cache_file", "path"]]),
  fields("FingerprintInvalidate", [["cache_file", "path"]]),
  unit("ListRustArtifacts"),
  fields("GenericToolExec", [
    ["tool", "path"],
    ["args", vec("string")],
    ["cwd", "path"],
    ["env", ENV],
    ["input_files", vec("path")],
    ["input_extra", "bytes"],
    ["output_streams", ExecOutputStreamsSchema],
    ["output_files", vec("path")],
    ["tool_hash", option("bytes32")],
    ["cache_policy", ExecCachePolicySchema],
    ["cwd_in_key", "bool"],
    ["include_scan_files", vec("path")],
    ["include_dirs", vec("path")],
    ["system_include_dirs", vec("path")],
    ["iquote_dirs", vec("path")],
    ["depfile", option("path")],
    ["non_deterministic", "bool"],
    ["key_args_filter", vec("string")],
  ]),
  control(5, fields("ReleaseWorktreeHandles", [["path", "path"]])),
]);

/** `Response` at 1.12.2: 18 variants, index = position. */
export const ResponseSchema = tagged("Response", [
  control(1, unit("Pong")),
  control(3, unit("ShuttingDown")),
  control(2, newtype("Status", DaemonStatusSchema)),
  newtype("LookupResult", LookupResultSchema),
  newtype("StoreResult", StoreResultSchema),
  fields("SessionStarted", [["session_id", "string"], ["journal_path", option("path")]]),
  fields("CompileResult", [
    ["exit_code", "i32"],
    ["stdout", "bytes"],
    ["stderr", "bytes"],
    ["cached", "bool"],
  ]),
  fields("SessionEnded", [["stats", option(SessionStatsSchema)]]),
  fields("LinkResult", [
    ["exit_code", "i32"],
    ["stdout", "bytes"],
    ["stderr", "bytes"],
    ["cached", "bool"],
    ["warning", option("string")],
  ]),
  control(5, fields("Error", [["message", "string"]])),
  control(
    4,
    fields("Cleared", [
      ["artifacts_removed", "u64"],
      ["metadata_cleared", "u64"],
      ["dep_graph_contexts_cleared", "u64"],
      ["on_disk_bytes_freed", "u64"],
    ]),
  ),
  fields("SessionStatsResult", [["stats", option(SessionStatsSchema)]]),
  fields("FingerprintCheckResult", [
    ["decision", "string"],
    ["reason", option("string")],
    ["changed_files", vec("string")],
  ]),
  unit("FingerprintAck"),
  fields("RustArtifactList", [["artifacts", vec(RustArtifactInfoSchema)]]),
  fields("GenericToolExecResult", [
    ["exit_code", "i32"],
    ["stdout", "bytes"],
    ["stderr", "bytes"],
    ["output_files", vec(ArtifactOutputSchema)],
    ["cached", "bool"],
    ["cache_key_hex", "string"],
  ]),
  fields("Backpressure", [
    ["queue_depth", "u32"],
    ["retry_after_ms", "u32"],
    ["reason", "string"],
  ]),
  control(
    6,
    fields("ReleaseWorktreeHandlesResult", [
      ["inspected", "u32"],
      ["released", "u32"],
      ["sessions_dropped", vec("string")],
      ["unreleased", vec("path")],
    ]),
  ),
]);

/** The root enum descriptor of a direction. */
export function rootSchema(direction: Direction): EnumDesc {
  if (direction === "request") return RequestSchema;
  if (direction === "response") return ResponseSchema;
  throw new TypeError(`direction must be "request" or "response", got ${String(direction)}`);
}

/** The variant kinds of a root enum that carry a `control` flag. */
type ControlKindOf<E> = E extends { variants: readonly (infer V)[] }
  ? V extends { name: infer N extends string; control: number } ? N : never
  : never;

/** The requests of the prost control slice (`Ping`, `Status`, `Shutdown`, `Clear`, `ReleaseWorktreeHandles`). */
export type ControlRequestKind = ControlKindOf<typeof RequestSchema>;
/** The responses of the prost control slice. */
export type ControlResponseKind = ControlKindOf<typeof ResponseSchema>;

/**
 * The control-slice variant names of a direction, in zccache's listing
 * order (the `control` rank).
 *
 * @example
 * ```ts
 * import { controlKinds } from "./schema.ts";
 * if (controlKinds("request").join() !== "Ping,Status,Shutdown,Clear,ReleaseWorktreeHandles") {
 *   throw new Error();
 * }
 * ```
 */
export function controlKinds(direction: Direction): readonly string[] {
  return direction === "request" ? CONTROL_REQUEST_KINDS : CONTROL_RESPONSE_KINDS;
}

function controlList(e: EnumDesc): readonly string[] {
  return e.variants.filter((v) => v.control !== undefined)
    .sort((a, b) => a.control! - b.control!).map((v) => v.name);
}
const CONTROL_REQUEST_KINDS = controlList(RequestSchema);
const CONTROL_RESPONSE_KINDS = controlList(ResponseSchema);
const CONTROL_SET = {
  request: new Set<string>(CONTROL_REQUEST_KINDS),
  response: new Set<string>(CONTROL_RESPONSE_KINDS),
};

/** Is `kind` a control-slice variant of `direction`? */
export function isControlKind(direction: Direction, kind: string): boolean {
  return CONTROL_SET[direction].has(kind);
}

/** `A`, `A or B`, `A, B, or C`: Rust-style English listing of names. */
export function listNames(names: readonly string[], conj: "and" | "or"): string {
  if (names.length <= 2) return names.join(` ${conj} `);
  return `${names.slice(0, -1).join(", ")}, ${conj} ${names[names.length - 1]}`;
}

/**
 * zccache `default_request_id`: the variant name in kebab-case, prefixed
 * `control-` for the control slice (`control-ping`, `session-start`).
 */
export function defaultRequestIdOf(kind: string): string {
  const kebab = kind.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "-") + c.toLowerCase());
  return isControlKind("request", kind) ? `control-${kebab}` : kebab;
}

/** `snake_case` -> `camelCase` (the domain key of a Rust field name). */
export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Smallest number of bincode bytes one value of `t` can take (used to bound
 * hostile element counts before allocating).
 */
export function minBincodeSize(t: TypeDesc): number {
  if (typeof t === "string") {
    switch (t) {
      case "u32":
      case "i32":
        return 4;
      case "u64":
      case "string":
      case "path":
      case "bytes":
        return 8;
      case "bool":
        return 1;
      case "bytes32":
        return 32;
    }
  }
  switch (t.t) {
    case "option":
      return 1;
    case "vec":
      return 8;
    case "tuple":
      return t.of.reduce((n, x) => n + minBincodeSize(x), 0);
    case "struct":
      return t.fields.reduce((n, [, x]) => n + minBincodeSize(x), 0);
    case "units":
    case "enum":
      return 4;
  }
}

// ---------------------------------------------------------------------------
// Type-level derivation of the domain types, checked against messages.ts.

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}`
  : S;
type Simplify<T> = { [K in keyof T]: T[K] } & unknown;
type FieldsOf<F extends readonly FieldDesc[]> = {
  -readonly [E in F[number] as Camel<E[0]>]: DomainOf<E[1]>;
};
type VariantOf<V> = V extends { name: infer N; shape: "unit" } ? { kind: N }
  : V extends { name: infer N; shape: "newtype"; of: infer O } ? { kind: N; value: DomainOf<O> }
  : V extends { name: infer N; shape: "struct"; fields: infer F extends readonly FieldDesc[] }
    ? Simplify<{ kind: N } & FieldsOf<F>>
  : never;

/** The domain (messages.ts) type a descriptor stands for. */
export type DomainOf<T> = T extends "u32" | "i32" ? number
  : T extends "u64" ? bigint
  : T extends "bool" ? boolean
  : T extends "string" | "path" ? string
  : T extends "bytes" | "bytes32" ? Uint8Array
  : T extends { t: "option"; of: infer O } ? DomainOf<O> | null
  : T extends { t: "vec"; of: infer O } ? DomainOf<O>[]
  : T extends { t: "tuple"; of: readonly [infer A, infer B] } ? [DomainOf<A>, DomainOf<B>]
  : T extends { t: "struct"; fields: infer F extends readonly FieldDesc[] } ? FieldsOf<F>
  : T extends { t: "units"; variants: readonly (infer V)[] } ? V
  : T extends { t: "enum"; variants: readonly (infer V)[] } ? VariantOf<V>
  : never;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/** Compile-time proof: the descriptors describe exactly `Request` and `Response`. */
export type SchemaMatchesMessages = [
  Assert<Same<DomainOf<typeof RequestSchema>, Request>>,
  Assert<Same<DomainOf<typeof ResponseSchema>, Response>>,
];
