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
  /**
   * Deno's op and resource sanitizers (a test that leaks a timer, a socket
   * or a file fails). Default: on for tests/core (sans-IO), tests/client
   * and the harness itself; off elsewhere, where tests start daemons and
   * processes that outlive one test on purpose.
   */
  sanitize?: boolean;
}

/** The file that called {@link test} (from the stack), for the sanitizer default. */
function callerFile(): string {
  const lines = (new Error().stack ?? "").split("\n");
  for (const l of lines.slice(1)) {
    if (!l.includes("_harness.ts")) return l;
  }
  return "";
}

function sanitizeByDefault(): boolean {
  const f = callerFile();
  return f.includes("/tests/core/") || f.includes("/tests/harness_test.ts") ||
    f.includes("/tests/client/");
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
    const sanitize = options.sanitize ?? sanitizeByDefault();
    deno.test({
      name,
      fn,
      ignore: options.ignore,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
    });
  } else if (options.ignore) {
    (bunTest as unknown as { skip: (n: string, f: TestFn) => void }).skip(name, fn);
  } else {
    bunTest!(name, fn, options.timeout ?? 120_000);
  }
}
