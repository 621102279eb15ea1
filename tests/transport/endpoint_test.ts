/**
 * Table-driven endpoint discovery tests: zccache 1.12.2 rules for Linux,
 * macOS and Windows inputs, evaluated on any OS (the platform is a
 * parameter). Expected values come from the reference (ipc-spec-1.12.2.md
 * §1.2/§1.3 examples, zccache's own unit tests) or were computed
 * independently (Python FNV-1a) where noted.
 */

import assert from "node:assert/strict";
import { test } from "../_harness.ts";
import {
  daemonNamespace,
  defaultEndpoint,
  endpointForCacheDir,
  endpointForPrivateDaemonName,
  endpointFromEnv,
  type EnvLike,
  fnvShortHash,
  identityFilePath,
  lockFilePath,
  normalizeForKey,
  pipeName,
  resolveCacheDir,
  runningProcessEndpoint,
  sanitizeDaemonNamespace,
  sanitizeIpcComponent,
  socketDirectory,
  stablePathId,
} from "../../src/transport/endpoint.ts";

interface Row {
  name: string;
  actual: () => unknown;
  expected: unknown;
}

const alice: EnvLike = { USER: "alice", HOME: "/home/alice" };
const aliceWin: EnvLike = { USERNAME: "alice", USERPROFILE: "C:\\Users\\alice" };
const long = "/home/alice/this/is/a/deep/private/zccache/cache/directory/that/would/exceed" +
  "/sockaddr_un/path/limits";
const dir88 = "/" + "a".repeat(87); // + "/daemon.sock" = 100 bytes
const dir89 = "/" + "a".repeat(88); // + "/daemon.sock" = 101 bytes

const rows: Row[] = [
  // --- stable_path_id / normalize_for_key (ipc-spec-1.12.2 §1.2) ---
  {
    name: 'stablePathId("/tmp/zccache-a") on Linux',
    actual: () => stablePathId("/tmp/zccache-a", "linux"),
    expected: "56a47853656cc4fd",
  },
  {
    name: 'stablePathId("/x/zc") on Linux',
    actual: () => stablePathId("/x/zc", "linux"),
    expected: "dac0c0751d76ba8c",
  },
  {
    name: 'stablePathId("/home/alice/zc/v1.12.18") on Linux',
    actual: () => stablePathId("/home/alice/zc/v1.12.18", "linux"),
    expected: "4a812d5dabfc7e98",
  },
  {
    name: "stablePathId() normalizes . .. and trailing slashes lexically",
    actual: () => stablePathId("/tmp/./x/..//zccache-a/", "linux"),
    expected: "56a47853656cc4fd",
  },
  {
    name: "stablePathId() keeps case on Linux",
    actual: () => stablePathId("/TMP/zccache-a", "linux") === "56a47853656cc4fd",
    expected: false,
  },
  {
    name: "stablePathId() folds Unicode case on macOS",
    actual: () => stablePathId("/TMP/ZCCACHE-A", "darwin"),
    expected: "56a47853656cc4fd",
  },
  {
    name: 'stablePathId("C:\\zc") on Windows (key c:/zc)',
    actual: () => stablePathId("C:\\zc", "win32"),
    expected: "5505c0f5bffad13a",
  },
  {
    name: "stablePathId() on Windows: forward slashes, case, trailing separator",
    actual: () => stablePathId("c:/ZC/", "win32"),
    expected: "5505c0f5bffad13a",
  },
  {
    name: "stablePathId() on Windows strips the \\\\?\\ verbatim prefix",
    actual: () => stablePathId("\\\\?\\C:\\zc", "win32"),
    expected: "5505c0f5bffad13a",
  },
  {
    name: "normalizeForKey() on Windows: verbatim path with .. equals the plain spelling",
    actual: () => normalizeForKey("\\\\?\\C:\\Work\\src\\..\\src\\main.cpp", "win32"),
    expected: "c:/work/src/main.cpp",
  },
  {
    name: "normalizeForKey() accepts Deno's platform name 'windows'",
    actual: () => normalizeForKey("C:\\Work", "windows"),
    expected: "c:/work",
  },
  // --- sanitizers (config.rs) ---
  {
    name: 'sanitizeDaemonNamespace("soldr dev")',
    actual: () => sanitizeDaemonNamespace("soldr dev"),
    expected: "soldr_dev",
  },
  {
    name: "sanitizeDaemonNamespace() trims",
    actual: () => sanitizeDaemonNamespace("  soldr-dev \n"),
    expected: "soldr-dev",
  },
  {
    name: "sanitizeDaemonNamespace() of blanks is null",
    actual: () => sanitizeDaemonNamespace(" \t "),
    expected: null,
  },
  {
    name: "sanitizeDaemonNamespace() does not trim U+FEFF (Rust trim, not JS trim)",
    actual: () => sanitizeDaemonNamespace("\uFEFFx"),
    expected: "_x",
  },
  {
    name: "sanitizeDaemonNamespace() trims U+0085 (Rust White_Space)",
    actual: () => sanitizeDaemonNamespace("\u0085x"),
    expected: "x",
  },
  {
    name: "sanitizeDaemonNamespace() replaces each non-ASCII char with one _",
    actual: () => sanitizeDaemonNamespace("ünïcode name"),
    expected: "_n_code_name",
  },
  {
    name: "sanitizeDaemonNamespace() shortens > 32 chars to prefix + fnv8 (Python-computed)",
    actual: () => sanitizeDaemonNamespace("a-very-long-namespace-name-that-exceeds-limit"),
    expected: "a-very-long-namespace-name-that--82c338b3",
  },
  {
    name: 'sanitizeIpcComponent("Zach Vorhies") (ipc-spec §1.2)',
    actual: () => sanitizeIpcComponent("Zach Vorhies"),
    expected: "Zach_Vorhies-0d204d7e",
  },
  {
    name: "sanitizeIpcComponent() keeps a safe name unchanged",
    actual: () => sanitizeIpcComponent("zackees"),
    expected: "zackees",
  },
  {
    name: 'fnvShortHash("Zach Vorhies")',
    actual: () => fnvShortHash("Zach Vorhies"),
    expected: "0d204d7e",
  },
  {
    name: "daemonNamespace(): empty env value is unset",
    actual: () => daemonNamespace({ ZCCACHE_DAEMON_NAMESPACE: "" }),
    expected: null,
  },
  // --- default endpoint, lock, identity: the reference's example table (§1.3) ---
  {
    name: "Linux, XDG_RUNTIME_DIR=/run/user/1000: endpoint",
    actual: () => defaultEndpoint({ ...alice, XDG_RUNTIME_DIR: "/run/user/1000" }, "linux"),
    expected: "/run/user/1000/zccache/sock",
  },
  {
    name: "Linux, XDG_RUNTIME_DIR=/run/user/1000: lock",
    actual: () => lockFilePath({ ...alice, XDG_RUNTIME_DIR: "/run/user/1000" }, "linux"),
    expected: "/run/user/1000/zccache/daemon.lock",
  },
  {
    name: "Linux, XDG_RUNTIME_DIR=/run/user/1000: identity is under ~/.zccache",
    actual: () => identityFilePath({ ...alice, XDG_RUNTIME_DIR: "/run/user/1000" }, "linux"),
    expected: "/home/alice/.zccache/daemon.running-process.json",
  },
  {
    name: "Linux, no XDG: endpoint",
    actual: () => defaultEndpoint(alice, "linux"),
    expected: "/tmp/zccache-alice/sock",
  },
  {
    name: "Linux, no XDG: lock",
    actual: () => lockFilePath(alice, "linux"),
    expected: "/tmp/zccache-alice/daemon.lock",
  },
  {
    name: "macOS, no XDG: endpoint (TMPDIR ignored)",
    actual: () => defaultEndpoint({ ...alice, TMPDIR: "/var/folders/xy/T/" }, "darwin"),
    expected: "/tmp/zccache-alice/sock",
  },
  {
    name: "macOS, no XDG: lock",
    actual: () => lockFilePath(alice, "darwin"),
    expected: "/tmp/zccache-alice/daemon.lock",
  },
  {
    name: "macOS, XDG_RUNTIME_DIR set: honoured on every Unix",
    actual: () => defaultEndpoint({ ...alice, XDG_RUNTIME_DIR: "/Users/alice/run" }, "darwin"),
    expected: "/Users/alice/run/zccache/sock",
  },
  {
    name: "macOS identity file",
    actual: () => identityFilePath({ USER: "alice", HOME: "/Users/alice" }, "darwin"),
    expected: "/Users/alice/.zccache/daemon.running-process.json",
  },
  {
    name: "Linux, XDG_RUNTIME_DIR set but empty: /zccache/sock",
    actual: () => defaultEndpoint({ ...alice, XDG_RUNTIME_DIR: "" }, "linux"),
    expected: "/zccache/sock",
  },
  {
    name: "Linux, XDG_RUNTIME_DIR with trailing slash: endpoint verbatim, lock normalized",
    actual: () => [
      defaultEndpoint({ ...alice, XDG_RUNTIME_DIR: "/run/user/1000/" }, "linux"),
      lockFilePath({ ...alice, XDG_RUNTIME_DIR: "/run/user/1000/" }, "linux"),
    ],
    expected: ["/run/user/1000//zccache/sock", "/run/user/1000/zccache/daemon.lock"],
  },
  {
    name: "Linux, USER unset: /tmp/zccache-unknown/sock",
    actual: () => defaultEndpoint({}, "linux"),
    expected: "/tmp/zccache-unknown/sock",
  },
  {
    name: "Namespace soldr-dev: endpoint",
    actual: () => defaultEndpoint({ ...alice, ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" }, "linux"),
    expected: "/tmp/zccache-alice/sock-soldr-dev",
  },
  {
    name: "Namespace soldr-dev: lock",
    actual: () => lockFilePath({ ...alice, ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" }, "linux"),
    expected: "/tmp/zccache-alice/daemon-soldr-dev.lock",
  },
  {
    name: "Namespace soldr-dev: identity",
    actual: () => identityFilePath({ ...alice, ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" }, "linux"),
    expected: "/home/alice/.zccache/daemon-soldr-dev.running-process.json",
  },
  {
    name: "Namespace 'soldr dev' is sanitized into the endpoint",
    actual: () =>
      defaultEndpoint(
        { ...alice, XDG_RUNTIME_DIR: "/run/user/1000", ZCCACHE_DAEMON_NAMESPACE: "soldr dev" },
        "linux",
      ),
    expected: "/run/user/1000/zccache/sock-soldr_dev",
  },
  {
    name: "Unix, ZCCACHE_CACHE_DIR=/x/zc: endpoint",
    actual: () => defaultEndpoint({ ...alice, ZCCACHE_CACHE_DIR: "/x/zc" }, "linux"),
    expected: "/x/zc/daemon.sock",
  },
  {
    name: "Unix, ZCCACHE_CACHE_DIR=/x/zc: lock",
    actual: () => lockFilePath({ ...alice, ZCCACHE_CACHE_DIR: "/x/zc" }, "linux"),
    expected: "/x/zc/daemon.lock",
  },
  {
    name: "Unix, ZCCACHE_CACHE_DIR=/x/zc: identity",
    actual: () => identityFilePath({ ...alice, ZCCACHE_CACHE_DIR: "/x/zc" }, "linux"),
    expected: "/x/zc/daemon.running-process.json",
  },
  {
    name: "Unix, ZCCACHE_CACHE_DIR=/x/zc with namespace: daemon-NS.sock and daemon-NS.lock",
    actual: () => {
      const env = { ...alice, ZCCACHE_CACHE_DIR: "/x/zc", ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" };
      return [defaultEndpoint(env, "linux"), lockFilePath(env, "linux")];
    },
    expected: ["/x/zc/daemon-soldr-dev.sock", "/x/zc/daemon-soldr-dev.lock"],
  },
  {
    name: "ZCCACHE_CACHE_DIR is normalized and has no version subdirectory",
    actual: () => defaultEndpoint({ ZCCACHE_CACHE_DIR: "/x/./y/../zc/" }, "linux"),
    expected: "/x/zc/daemon.sock",
  },
  {
    name: "ZCCACHE_CACHE_DIR empty means unset",
    actual: () => defaultEndpoint({ ...alice, ZCCACHE_CACHE_DIR: "" }, "linux"),
    expected: "/tmp/zccache-alice/sock",
  },
  {
    name: "ZCCACHE_CACHE_DIR relative is joined to cwd",
    actual: () => defaultEndpoint({ ZCCACHE_CACHE_DIR: "../zc" }, "linux", { cwd: "/work/proj" }),
    expected: "/work/zc/daemon.sock",
  },
  {
    name: "cache-dir socket of exactly 100 bytes stays in the cache dir",
    actual: () => endpointForCacheDir(dir88, null, "linux"),
    expected: `${dir88}/daemon.sock`,
  },
  {
    name: "cache-dir socket of 101 bytes falls back to the compact /tmp form",
    actual: () => endpointForCacheDir(dir89, null, "linux"),
    expected: `/tmp/zccache-${stablePathId(dir89)}-daemon.sock`,
  },
  {
    name: "long cache dir: compact endpoint (Python-computed id), lock stays in R",
    actual: () => {
      const env = { ZCCACHE_CACHE_DIR: long };
      return [defaultEndpoint(env, "linux"), lockFilePath(env, "linux")];
    },
    expected: ["/tmp/zccache-38d86f8b0c4b15de-daemon.sock", `${long}/daemon.lock`],
  },
  {
    name: "long cache dir with namespace: ...-daemon-soldr-dev.sock",
    actual: () => endpointForCacheDir(long, "soldr-dev", "linux"),
    expected: "/tmp/zccache-38d86f8b0c4b15de-daemon-soldr-dev.sock",
  },
  {
    name: "different cache roots get different endpoints",
    actual: () =>
      endpointForCacheDir("/tmp/zccache-a", null, "win32") ===
        endpointForCacheDir("/tmp/zccache-b", null, "win32"),
    expected: false,
  },
  // --- Windows ---
  {
    name: "Windows default: pipe",
    actual: () => defaultEndpoint(aliceWin, "win32"),
    expected: "\\\\.\\pipe\\zccache-alice",
  },
  {
    name: "Windows default: lock under USERPROFILE\\.zccache",
    actual: () => lockFilePath(aliceWin, "win32"),
    expected: "C:\\Users\\alice\\.zccache\\daemon.lock",
  },
  {
    name: "Windows default: identity",
    actual: () => identityFilePath(aliceWin, "win32"),
    expected: "C:\\Users\\alice\\.zccache\\daemon.running-process.json",
  },
  {
    name: "Windows: HOME wins over USERPROFILE",
    actual: () => lockFilePath({ ...aliceWin, HOME: "D:\\home\\al" }, "win32"),
    expected: "D:\\home\\al\\.zccache\\daemon.lock",
  },
  {
    name: "Windows, override C:\\zc: pipe",
    actual: () => defaultEndpoint({ ...aliceWin, ZCCACHE_CACHE_DIR: "C:\\zc" }, "win32"),
    expected: "\\\\.\\pipe\\zccache-5505c0f5bffad13a",
  },
  {
    name: "Windows, override C:\\zc: lock",
    actual: () => lockFilePath({ ...aliceWin, ZCCACHE_CACHE_DIR: "C:\\zc" }, "win32"),
    expected: "C:\\zc\\daemon.lock",
  },
  {
    name: "Windows, override C:\\zc: identity",
    actual: () => identityFilePath({ ...aliceWin, ZCCACHE_CACHE_DIR: "C:\\zc" }, "win32"),
    expected: "C:\\zc\\daemon.running-process.json",
  },
  {
    name: "Windows, override C:/zc (forward slashes) gives the same pipe and a \\ lock path",
    actual: () => {
      const env = { ...aliceWin, ZCCACHE_CACHE_DIR: "C:/zc" };
      return [defaultEndpoint(env, "win32"), lockFilePath(env, "win32")];
    },
    expected: ["\\\\.\\pipe\\zccache-5505c0f5bffad13a", "C:\\zc\\daemon.lock"],
  },
  {
    name: "Windows, override with namespace: pipe ends with -NS",
    actual: () =>
      defaultEndpoint(
        { ...aliceWin, ZCCACHE_CACHE_DIR: "C:\\zc", ZCCACHE_DAEMON_NAMESPACE: "soldr-dev" },
        "win32",
      ),
    expected: "\\\\.\\pipe\\zccache-5505c0f5bffad13a-soldr-dev",
  },
  {
    name: "Windows: unsafe USERNAME is sanitized with a hash",
    actual: () => defaultEndpoint({ USERNAME: "Zach Vorhies" }, "win32"),
    expected: "\\\\.\\pipe\\zccache-Zach_Vorhies-0d204d7e",
  },
  {
    name: "Windows: USERNAME unset -> unknown",
    actual: () => defaultEndpoint({}, "win32"),
    expected: "\\\\.\\pipe\\zccache-unknown",
  },
  {
    name: "Windows: blank USERNAME -> unknown",
    actual: () => pipeName("   ", null),
    expected: "\\\\.\\pipe\\zccache-unknown",
  },
  {
    name: "Windows: env names are case-insensitive",
    actual: () => defaultEndpoint({ Username: "bob" }, "win32"),
    expected: "\\\\.\\pipe\\zccache-bob",
  },
  {
    name: "Windows, relative override is joined to cwd",
    actual: () => lockFilePath({ ZCCACHE_CACHE_DIR: "zc" }, "win32", { cwd: "C:\\work" }),
    expected: "C:\\work\\zc\\daemon.lock",
  },
  {
    name: "Windows, ZCCACHE_COLOCATE with cwd on another drive (Python-computed fnv8)",
    actual: () =>
      resolveCacheDir(
        { ...aliceWin, ZCCACHE_COLOCATE: "1" },
        undefined,
        "win32",
        { cwd: "D:\\work\\proj" },
      ),
    expected: "D:\\.zccache-alice-0797d4dd",
  },
  {
    name: "Windows, ZCCACHE_COLOCATE on the same drive keeps ~/.zccache",
    actual: () =>
      resolveCacheDir({ ...aliceWin, ZCCACHE_COLOCATE: "1" }, undefined, "win32", {
        cwd: "c:\\work",
      }),
    expected: "C:\\Users\\alice\\.zccache",
  },
  {
    name: "Linux, ZCCACHE_COLOCATE never moves the root (one volume root /)",
    actual: () =>
      resolveCacheDir({ ...alice, ZCCACHE_COLOCATE: "1" }, undefined, "linux", { cwd: "/mnt/x" }),
    expected: "/home/alice/.zccache",
  },
  // --- other inputs ---
  {
    name: "no HOME/USERPROFILE: cache root is the relative .zccache",
    actual: () => resolveCacheDir({}, undefined, "linux"),
    expected: ".zccache",
  },
  {
    name: "resolveCacheDir() with an explicit home",
    actual: () => resolveCacheDir({}, "/home/bob/"),
    expected: "/home/bob/.zccache",
  },
  {
    name: "ZCCACHE_ENDPOINT overrides the endpoint, not the lock file",
    actual: () => {
      const env = { ...alice, ZCCACHE_ENDPOINT: "/tmp/custom.sock" };
      return [endpointFromEnv(env, "linux"), lockFilePath(env, "linux")];
    },
    expected: ["/tmp/custom.sock", "/tmp/zccache-alice/daemon.lock"],
  },
  {
    name: "ZCCACHE_ENDPOINT set to empty is used as is",
    actual: () => endpointFromEnv({ ...alice, ZCCACHE_ENDPOINT: "" }, "linux"),
    expected: "",
  },
  {
    name: "an explicit --endpoint beats ZCCACHE_ENDPOINT",
    actual: () =>
      endpointFromEnv({ ...alice, ZCCACHE_ENDPOINT: "/a" }, "linux", { explicit: "/b" }),
    expected: "/b",
  },
  {
    name: "private daemon name with a cache dir (zccache unit test)",
    actual: () => endpointForPrivateDaemonName("/x/zc", "soldr dev", alice, "linux"),
    expected: "/x/zc/daemon-soldr_dev.sock",
  },
  {
    name: "private daemon name that sanitizes to nothing uses 'dev'",
    actual: () => endpointForPrivateDaemonName(null, "  ", alice, "linux"),
    expected: "/tmp/zccache-alice/sock-dev",
  },
  {
    name: "private daemon name on Windows with a cache dir",
    actual: () => endpointForPrivateDaemonName("C:\\zc", "soldr dev", aliceWin, "win32"),
    expected: "\\\\.\\pipe\\zccache-5505c0f5bffad13a-soldr_dev",
  },
  {
    name: "runningProcessEndpoint() on Windows strips \\\\.\\pipe\\",
    actual: () => runningProcessEndpoint("\\\\.\\pipe\\zccache-alice", {}, "win32"),
    expected: { namespaceId: "default", path: "zccache-alice" },
  },
  {
    name: "runningProcessEndpoint() on Unix keeps the path and reports the namespace",
    actual: () =>
      runningProcessEndpoint("/tmp/zccache-alice/sock-x", { ZCCACHE_DAEMON_NAMESPACE: "x" }),
    expected: { namespaceId: "x", path: "/tmp/zccache-alice/sock-x" },
  },
  {
    name: "socketDirectory() of a Unix endpoint and of a pipe",
    actual:
      () => [socketDirectory("/tmp/zccache-alice/sock"), socketDirectory(pipeName("a", null))],
    expected: ["/tmp/zccache-alice", null],
  },
];

for (const row of rows) {
  test(`endpoint: ${row.name}`, () => {
    assert.deepEqual(row.actual(), row.expected);
  });
}
