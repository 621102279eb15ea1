/**
 * Unit tests of the CLI's pure parts: routing, exit-code mapping, PATH
 * resolution, JSON and table formatting, version handling, commander usage
 * errors (through `main()` with an in-memory CliIo).
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "../_harness.ts";
import { isWrapInvocation, main } from "../../src/cli/main.ts";
import { processExitCode, resolveTool } from "../../src/cli/wrap.ts";
import { formatBytes, formatDuration, formatStatus, toWireJson } from "../../src/cli/format.ts";
import { PRODUCT_VERSION, WIRE_RELEASE } from "../../src/cli/version.ts";
import {
  compareDaemonVersion,
  isDaemonVersionRejection,
  selfCommand,
} from "../../src/client/ensure_daemon.ts";
import type { CliIo } from "../../src/cli/io.ts";
import type { DaemonStatus } from "../../src/core/messages.ts";

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

function memIo(env: Record<string, string> = {}): CliIo & { out: string; err: string } {
  const dec = new TextDecoder();
  const io = {
    out: "",
    err: "",
    stdout(d: Uint8Array | string) {
      io.out += typeof d === "string" ? d : dec.decode(d);
      return Promise.resolve();
    },
    stderr(d: Uint8Array | string) {
      io.err += typeof d === "string" ? d : dec.decode(d);
      return Promise.resolve();
    },
    readStdin: () => Promise.resolve(new Uint8Array(0)),
    env,
    cwd: tmpdir(),
  };
  return io;
}

const ROUTES: Array<[string[], boolean]> = [
  [["gcc", "-c", "a.c"], true],
  [["/usr/bin/clang++", "--help"], true],
  [["cc", "-c", "a.c"], true],
  [["wrap", "--", "gcc"], true],
  [["status"], false],
  [["status", "--json"], false],
  [["--show-stats"], false],
  [["--version"], false],
  [["daemon"], false],
  [["wire", "decode"], false],
  [[], false],
];
for (const [argv, wrap] of ROUTES) {
  test(`isWrapInvocation(${JSON.stringify(argv)}) is ${wrap}`, () => {
    assert.equal(isWrapInvocation(argv), wrap);
  });
}

test("processExitCode() keeps the low byte but never turns failure into success", () => {
  assert.equal(processExitCode(0), 0);
  assert.equal(processExitCode(1), 1);
  assert.equal(processExitCode(255), 255);
  assert.equal(processExitCode(256), 1);
  assert.equal(processExitCode(257), 1);
  assert.equal(processExitCode(-1), 255);
});

test("resolveTool() searches PATH, keeps explicit paths, returns null when missing", () => {
  const dir = mkdtempSync(join(tmpdir(), "zc-resolve-"));
  try {
    const tool = join(dir, "mycc");
    writeFileSync(tool, "#!/bin/sh\n");
    chmodSync(tool, 0o755);
    writeFileSync(join(dir, "notexec"), "x");
    const env = { PATH: `/nonexistent:${dir}` };
    assert.equal(resolveTool("mycc", env, "/"), tool);
    assert.equal(resolveTool("notexec", env, "/"), null);
    assert.equal(resolveTool("nosuchtool-zc", env, "/"), null);
    assert.equal(resolveTool("./x/gcc", env, "/work"), "/work/x/gcc");
    symlinkSync(tool, join(dir, "mycc2"));
    assert.equal(resolveTool("mycc2", env, "/"), join(dir, "mycc2"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("toWireJson() uses snake_case names, numbers for u64, strings above 2^53, hex bytes", () => {
  assert.deepEqual(
    toWireJson({
      cacheHits: 3n,
      big: 9007199254740993n,
      depGraphVersion: 4,
      privateDaemon: { enabled: false, owners: [{ pid: 1, refCount: 2n }], privateEnvKeys: [] },
      raw: new Uint8Array([0, 255]),
      none: null,
    }),
    {
      cache_hits: 3,
      big: "9007199254740993",
      dep_graph_version: 4,
      private_daemon: { enabled: false, owners: [{ pid: 1, ref_count: 2 }], private_env_keys: [] },
      raw: "00ff",
      none: null,
    },
  );
});

test("formatDuration() and formatBytes()", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(75), "1m 15s");
  assert.equal(formatDuration(3780), "1h 3m");
  assert.equal(formatDuration(2 * 86400 + 3600 * 4), "2d 4h");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(4096), "4.0 KiB");
  assert.equal(formatBytes(1.5 * 1024 * 1024), "1.5 MiB");
});

test("formatStatus() prints an aligned table of the counters", () => {
  const s: DaemonStatus = {
    version: "1.12.2",
    daemonNamespace: "default",
    endpoint: "/tmp/x/daemon.sock",
    privateDaemon: { enabled: false, owners: [], privateEnvKeys: [] },
    artifactCount: 7n,
    cacheSizeBytes: 2048n,
    metadataEntries: 3n,
    uptimeSecs: 65n,
    cacheHits: 3n,
    cacheMisses: 1n,
    totalCompilations: 5n,
    nonCacheable: 1n,
    compileErrors: 0n,
    compileErrorsCached: 0n,
    timeSavedMs: 1500n,
    totalLinks: 0n,
    linkHits: 0n,
    linkMisses: 0n,
    linkNonCacheable: 0n,
    depGraphContexts: 1n,
    depGraphFiles: 2n,
    sessionsTotal: 0n,
    sessionsActive: 0n,
    cacheDir: "/tmp/x",
    depGraphVersion: 1,
    depGraphDiskSize: 0n,
    depGraphPersisted: false,
  };
  const text = formatStatus(s, "0.1.0");
  assert.match(text, /^ {2}Hits: +3$/m);
  assert.match(text, /^ {2}Misses: +1$/m);
  assert.match(text, /^ {2}Hit rate: +75\.0%$/m);
  assert.match(text, /^ {2}Non-cacheable: +1$/m);
  assert.match(text, /^ {2}Time saved: +~1\.5s$/m);
  assert.match(text, /^ {2}Cache size: +2\.0 KiB$/m);
  assert.match(text, /^ {2}Uptime: +1m 5s$/m);
  const rows = text.split("\n").filter((l) => l.startsWith("  "));
  assert.ok(rows.length > 8);
  const valueCol = new Set(
    rows.map((l) => l.indexOf(":") + 1 + l.slice(l.indexOf(":") + 1).search(/\S/)),
  );
  assert.equal(valueCol.size, 1, "values are aligned in one column");
});

test("PRODUCT_VERSION matches deno.json and package.json", () => {
  const deno = JSON.parse(readFileSync(join(REPO, "deno.json"), "utf8"));
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
  assert.equal(PRODUCT_VERSION, deno.version);
  assert.equal(PRODUCT_VERSION, pkg.version);
  assert.equal(WIRE_RELEASE, "1.12.2");
});

test("compareDaemonVersion() accepts same/newer, replaces older or unparseable", () => {
  assert.equal(compareDaemonVersion("1.12.2"), "same");
  assert.equal(compareDaemonVersion("1.12.18"), "newer");
  assert.equal(compareDaemonVersion("2.0.0"), "newer");
  assert.equal(compareDaemonVersion("1.11.21"), "older");
  assert.equal(compareDaemonVersion("1.12.2-rc1"), "older");
  assert.equal(compareDaemonVersion("zccache-ts"), "older");
});

test("isDaemonVersionRejection() recognises the mismatch reply", () => {
  assert.ok(isDaemonVersionRejection({
    kind: "Error",
    message: "protocol version mismatch: daemon zccache v1.12.18 (protocol v19) received ...",
  }));
  assert.ok(!isDaemonVersionRejection({ kind: "Error", message: "compile failed" }));
  assert.ok(!isDaemonVersionRejection({ kind: "Pong" }));
  // The same heuristic as the control fallback (zccache `control_wire_mismatch_message`).
  assert.ok(isDaemonVersionRejection({ kind: "Error", message: "Expected V15, received v16" }));
  assert.ok(isDaemonVersionRejection({ kind: "Error", message: "bad PROTOCOL_VERSION" }));
  // ASCII lowercasing only, as Rust's `to_ascii_lowercase`.
  assert.ok(!isDaemonVersionRejection({ kind: "Error", message: "PROTOCOL VERSİON MISMATCH" }));
});

test("selfCommand() re-runs this program in daemon mode", () => {
  const { command, args } = selfCommand(["daemon"]);
  assert.ok(command.length > 0);
  assert.equal(args.at(-1), "daemon");
  assert.ok(args.some((a) => a.endsWith("cli.ts")), args.join(" "));
});

test("main(): --version prints the product and the wire version", async () => {
  const io = memIo();
  assert.equal(await main(["--version"], io), 0);
  assert.equal(io.out, `zccache-ts ${PRODUCT_VERSION}\nwire: zccache 1.12.2\n`);
});

test("main(): --help lists the subcommands and exits 0", async () => {
  const io = memIo();
  assert.equal(await main(["--help"], io), 0);
  for (const c of ["start", "stop", "status", "clear", "session-start", "session-end"]) {
    assert.match(io.out, new RegExp(`\\b${c}\\b`));
  }
});

const USAGE_ERRORS: string[][] = [
  ["--bogus"],
  ["status", "--bogus"],
  ["session-end"],
  ["status", "extra"],
  ["wrap"],
];
for (const argv of USAGE_ERRORS) {
  test(`main(${JSON.stringify(argv)}) is a usage error: exit 2, one line`, async () => {
    const io = memIo();
    assert.equal(await main(argv, io), 2);
    assert.equal(io.err.trim().split("\n").length, 1, io.err);
    assert.equal(io.out, "");
  });
}

test("main(): no arguments prints help on stderr and exits 1", async () => {
  const io = memIo();
  assert.equal(await main([], io), 1);
  assert.match(io.err, /Usage: zccache/);
});
