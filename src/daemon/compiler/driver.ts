/**
 * The compiler-driver seam: one implementation per compiler family (gcc and
 * clang now; rustc, emcc, linkers and generic tools plug in here). A driver
 * turns a request into a plan — pass through, or one cacheable unit per
 * translation unit — and says, per unit: what goes into the context key,
 * how to run the compiler into private outputs, which outputs exist, and how
 * to find the inputs after a miss. The engine only orchestrates.
 *
 * @module
 */
import type { RunOptions, RunResult } from "./run.ts";

/** Runs one process (injectable, so engine tests can run without a compiler). */
export type ProcessRunner = (
  program: string,
  args: string[],
  opts: RunOptions,
) => Promise<RunResult>;

/** A compile request as a driver sees it. */
export interface DriverRequest {
  /** Resolved absolute path of the compiler. */
  compiler: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  /** The client's stderr is a terminal (diagnostics would be coloured). */
  stderrTty: boolean;
  /** Aborts when the client goes away. */
  signal?: AbortSignal;
}

/** Where a unit's outputs go. `discard`: the user named `/dev/null`. */
export interface OutputTarget {
  /** Absolute path, or null when discarded (`/dev/null`). */
  path: string | null;
}

/** Private paths for one run (in the daemon's own temporary directory). */
export interface PrivatePaths {
  dir: string;
  object: string;
  depfile: string;
  discovery: string;
}

/** How to run one unit. */
export interface RunPlan {
  args: string[];
  env: Record<string, string>;
  /** Where the compiler's own header list lands (null: none will be written). */
  headerList: "depfile" | "discovery" | "none";
  /** Arguments of a separate preprocessing-only run that writes `discovery`, if needed. */
  discoveryArgs: string[] | null;
  /**
   * True when the compiler writes straight to the user's paths (the object
   * records its command line, so nothing may be changed): the engine then
   * serialises compiles per output path and reads the outputs back.
   */
  inPlace: boolean;
}

/** One cacheable translation unit. */
export interface UnitPlan {
  /** Absolute source path. */
  source: string;
  /** The source as the compiler names it (relative to the cwd, or absolute). */
  sourceName: string;
  /** The user's own arguments for this unit alone (for running it uncached). */
  userArgs: string[];
  /** Context-key fields specific to this unit (arguments, cwd, extras). */
  keyArgs: string[];
  cwdRelevant: boolean;
  /** The user's object. */
  object: OutputTarget;
  /** The user's depfile, or null when none was asked for. */
  depfile: OutputTarget | null;
  /** The make targets the user's depfile names, as printed. */
  depTargets: string[];
  /** How to run this unit into `paths`. */
  run(paths: PrivatePaths): RunPlan;
  /** Files named by options that the compiler reads (as named: relative to the cwd, or absolute). */
  optionInputs: string[];
  /** `-include` files as written. */
  forcedIncludes: string[];
  /** Arguments for the include search probe, and its `-x` language (null: no preprocessing). */
  searchArgs: string[];
  searchLang: string | null;
  /** The source is assembled without the preprocessor (no depfile is ever written). */
  rawAssembly: boolean;
}

/** A driver's decision for a request. */
export type DriverPlan =
  | { kind: "passthrough"; reason: string }
  | {
    kind: "cacheable";
    family: string;
    /** `gcc` or `clang`: depfile printing, `.gch` lookup, colour flags. */
    flavor: "gcc" | "clang";
    compilerHash: string;
    /** Diagnostics are coloured (forced on the private run). */
    /** How diagnostics are decorated for this client ("" = plain; "color", "color+urls"). */
    colored: string;
    units: UnitPlan[];
  };

/** One compiler family. */
export interface CompilerDriver {
  /** Family name (`gcc`, `clang`, ...). */
  readonly family: string;
  /** True when this driver handles `compiler` (by name or identity). */
  handles(compiler: string): boolean;
  /** Classify the request and plan its units. */
  plan(req: DriverRequest): Promise<DriverPlan>;
}
