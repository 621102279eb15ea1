/**
 * One test API for Deno (`deno test`) and Bun (`bun test`): test files import
 * `test` from here and assertions from `node:assert/strict`, so the same file
 * runs under both runners.
 */

type TestFn = () => void | Promise<void>;
interface TestOptions {
  /** Skip this test (e.g. a tool is not installed). */
  ignore?: boolean;
  /** Milliseconds; Bun's default per-test timeout is 5 s. */
  timeout?: number;
}

interface DenoLike {
  test(
    def: {
      name: string;
      fn: TestFn;
      ignore?: boolean;
      sanitizeOps?: boolean;
      sanitizeResources?: boolean;
    },
  ): void;
}

const deno = (globalThis as { Deno?: DenoLike }).Deno;
const bunSpecifier = "bun:test";
const bunTest = deno ? undefined : (await import(bunSpecifier)).test as (
  name: string,
  fn: TestFn,
  timeout?: number,
) => void & { skip: (name: string, fn: TestFn) => void };

/** The runtime executing the tests. */
export const runtime: "deno" | "bun" = deno ? "deno" : "bun";

/** Register a test under either runner. */
export function test(name: string, fn: TestFn, options: TestOptions = {}): void {
  if (deno) {
    deno.test({ name, fn, ignore: options.ignore, sanitizeOps: false, sanitizeResources: false });
  } else if (options.ignore) {
    (bunTest as unknown as { skip: (n: string, f: TestFn) => void }).skip(name, fn);
  } else {
    bunTest!(name, fn, options.timeout ?? 120_000);
  }
}
